// Configuration from the worker's environment variables (wrangler.toml [vars], secrets, or the
// bindings of workerd.capnp). Read once per isolate and cached: env does not change while an
// isolate lives.

import { HttpError } from './errors.js';
import { Scanner } from '../../wasm/index.js';

/** Severity names, lowest first (core `Severity::ALL`). */
export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];

/** Default upper bound of a request body: 10 GiB. */
export const DEFAULT_MAX_BYTES = 10 * 1024 ** 3;

/**
 * @typedef {object} Config
 * @property {string|null} origin gate mode's upstream base URL (no trailing slash), or null
 * @property {string} failOn the severity at or above which an upload is refused
 * @property {number} maxBytes largest body accepted, in bytes
 * @property {string|undefined} policy policy JSON text (as the CLI's --policy takes it)
 * @property {string|null} token shared secret /scan requires in X-Modelsieve-Token, or null
 * @property {string|null} corsOrigin the Access-Control-Allow-Origin value, null for `*`
 */

let cached = null;
let cachedEnv = null;

/** The configuration for `env`. A bad variable is a 500 that names it (no secret in it). */
export function config(env = {}) {
  if (cached !== null && cachedEnv === env) return cached;
  // Unset variables arrive as undefined (wrangler) or null (workerd fromEnvironment).
  const get = (key) => (env[key] === undefined || env[key] === null || env[key] === '' ? undefined : env[key]);
  const misconfigured = (message) => new HttpError(500, 'misconfigured', `worker misconfigured: ${message}`);

  let origin = null;
  if (get('ORIGIN') !== undefined) {
    let url;
    try {
      url = new URL(env.ORIGIN);
    } catch {
      throw misconfigured('ORIGIN is not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw misconfigured('ORIGIN must be http(s)');
    origin = url.href.replace(/\/+$/, '');
  }

  const failOn = parseFailOn(get('FAIL_ON') ?? 'medium', misconfigured);

  let maxBytes = DEFAULT_MAX_BYTES;
  if (get('MAX_BYTES') !== undefined) {
    const text = String(env.MAX_BYTES);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) === 0) {
      throw misconfigured('MAX_BYTES must be a positive integer (bytes)');
    }
    maxBytes = Number(text);
  }

  let policy;
  if (get('POLICY') !== undefined) {
    policy = typeof env.POLICY === 'string' ? env.POLICY : JSON.stringify(env.POLICY);
    const problem = policyProblem(policy);
    if (problem !== null) throw misconfigured(`POLICY is not a valid policy: ${problem}`);
  }

  const token = get('SCAN_TOKEN') !== undefined ? String(env.SCAN_TOKEN) : null;
  const corsOrigin = get('CORS_ORIGIN') !== undefined ? String(env.CORS_ORIGIN) : null;
  cached = Object.freeze({ origin, failOn, maxBytes, policy, token, corsOrigin });
  cachedEnv = env;
  return cached;
}

/** A severity name, or the error `fail` makes. */
export function parseFailOn(value, fail) {
  const name = String(value).trim().toLowerCase();
  if (!SEVERITIES.includes(name)) throw fail(`FAIL_ON must be one of ${SEVERITIES.join(', ')}`);
  return name;
}

/** Why `policy` (JSON text) is not a policy the scanner accepts, or null when it is. */
export function policyProblem(policy) {
  try {
    new Scanner({ policy }).free();
    return null;
  } catch (error) {
    return String(error?.message ?? error).slice(0, 500);
  }
}
