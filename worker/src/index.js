// modelsieve at the edge: a Workers-style ES-module worker that scans model files as they
// stream through. Routes:
//   GET  /            version and health
//   POST /scan        scan the body (raw or multipart) → schema-v1 report document
//   PUT|POST /upload/...  gate mode: forward to ORIGIN while scanning; refuse with 422
//   OPTIONS *         CORS preflight

import { initSync, version } from '../../wasm/index.js';
import wasm from '../../wasm/pkg/modelsieve_wasm_bg.wasm';
import { config } from './config.js';
import { preflight, withCors } from './cors.js';
import { HttpError, errorResponse, json } from './errors.js';
import { handleGate } from './gate.js';
import { handleScan } from './scan.js';

initSync(wasm);

/** Routes one request. */
async function route(request, cfg) {
  const { pathname } = new URL(request.url);
  const method = request.method;
  if (pathname === '/' || pathname === '/health') {
    if (method !== 'GET' && method !== 'HEAD') throw notAllowed('GET');
    return json({ name: 'modelsieve-worker', version: version(), status: 'ok', gate: cfg.origin !== null, failOn: cfg.failOn, maxBytes: cfg.maxBytes });
  }
  if (pathname === '/scan') {
    if (method !== 'POST') throw notAllowed('POST');
    return handleScan(request, cfg);
  }
  if (pathname === '/upload' || pathname.startsWith('/upload/')) {
    if (method !== 'PUT' && method !== 'POST') throw notAllowed('PUT, POST');
    return handleGate(request, cfg);
  }
  throw new HttpError(404, 'not_found', 'no such endpoint: use GET /, POST /scan or PUT|POST /upload/...');
}

function notAllowed(allow) {
  const error = new HttpError(405, 'method_not_allowed', `method not allowed here; use ${allow}`);
  return error;
}

export default {
  async fetch(request, env) {
    let cfg;
    try {
      cfg = config(env);
    } catch (error) {
      return errorResponse(error);
    }
    if (request.method === 'OPTIONS') return preflight(cfg);
    let response;
    try {
      response = await route(request, cfg);
    } catch (error) {
      response = errorResponse(error);
    }
    return withCors(response, cfg);
  },
};
