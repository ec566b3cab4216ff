// Shared helpers of the browser tests: the static server (the real web/serve.mjs, as a child
// process on 127.0.0.1:0), headless Chromium through playwright-core, request recording, the
// fixture table, and where artifacts (screenshots, downloads) go.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { statePickle, writeSparseTorchZip } from '../../wasm/test/torchzip.mjs';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(WEB, '..');
export const FIXTURES = join(REPO, 'tests', 'fixtures');
export const ARTIFACTS = join(REPO, 'target', 'web-artifacts');

/** The launch flags seen to work on the build machines (see TOOLCHAIN.md). */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts headless Chromium. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
}

/** Fails early, with the command to run, when the package has not been built into web/. */
export function requireBuiltPage() {
  const pkg = join(WEB, 'vendor', 'modelsieve', 'index.js');
  if (!existsSync(pkg)) {
    throw new Error(`${pkg} is missing: run scripts/build-web.sh first`);
  }
}

/**
 * Starts `node web/serve.mjs --port 0 --log` with extra arguments. Resolves to `{ url, origin,
 * log, stop }`: `log` fills with the server's record of every request it answered.
 */
export async function startServer(args = []) {
  const child = spawn(process.execPath, [join(WEB, 'serve.mjs'), '--port', '0', '--log', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const log = [];
  let buffered = '';
  const url = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`serve.mjs exited with ${code}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^modelsieve web page: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(line);
        if (m) ok(m[1]);
        else if (line.startsWith('{')) log.push(JSON.parse(line));
      }
    });
  });
  const stop = () =>
    new Promise((ok) => {
      if (child.exitCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    });
  return { url, origin: new URL(url).origin, log, stop, pid: child.pid };
}

/**
 * Records every request the browser context makes (pages and their workers): URL, method,
 * resource type and whether it carried a body.
 */
export function recordRequests(context) {
  const requests = [];
  const byRequest = new Map();
  context.on('request', (r) => {
    const entry = { url: r.url(), method: r.method(), type: r.resourceType(), body: r.postDataBuffer(), failure: null };
    byRequest.set(r, entry);
    requests.push(entry);
  });
  // a request the browser refused (CSP) shows up here with its reason, e.g. net::ERR_BLOCKED_BY_CSP
  context.on('requestfailed', (r) => {
    const entry = byRequest.get(r);
    if (entry) entry.failure = r.failure()?.errorText ?? 'failed';
  });
  return requests;
}

/**
 * Asserts through `assert` that every recorded request went to `origin`, was a GET without a
 * body, and named a file that exists under one of `roots` (URL prefix → directory): the page's
 * own assets, nothing else. `blob:` URLs of the same origin (the worker bootstrap and the
 * downloads, made in the page from its own memory) are allowed; they never reach a network.
 */
export function assertOnlyOwnAssets(assert, requests, origin, roots = { '/': WEB }) {
  for (const r of requests) {
    if (r.url.startsWith('blob:')) {
      assert.equal(new URL(r.url).origin, origin, `blob: URL of another origin: ${r.url}`);
      assert.equal(r.method, 'GET');
      continue;
    }
    const u = new URL(r.url);
    assert.equal(u.origin, origin, `request to another origin: ${r.url}`);
    assert.equal(r.method, 'GET', `${r.method} ${r.url}`);
    assert.equal(r.body, null, `request with a body: ${r.url}`);
    assert.equal(u.search, '', `request with a query string: ${r.url}`);
    const path = decodeURIComponent(u.pathname);
    const [prefix, dir] = Object.entries(roots)
      .sort((a, b) => b[0].length - a[0].length)
      .find(([p]) => path.startsWith(p)) ?? ['/', WEB];
    let file = join(dir, path.slice(prefix.length));
    if (path.endsWith('/')) file = join(file, 'index.html');
    assert.ok(existsSync(file) && statSync(file).isFile(), `not a page asset: ${r.url}`);
  }
}

/** Rows of tests/fixtures/expected.tsv: `{ path, verdict, evidence: [...] }` by path. */
export function expectedVerdicts() {
  const rows = new Map();
  const lines = readFileSync(join(FIXTURES, 'expected.tsv'), 'utf8').split('\n').slice(1);
  for (const line of lines) {
    if (!line.trim()) continue;
    const [path, verdict, evidence] = line.split('\t');
    rows.set(path, { path, verdict, evidence: evidence ? evidence.split(';').filter(Boolean) : [] });
  }
  return rows;
}

/** The artifacts folder (target/web-artifacts), created on first use. */
export function artifact(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** Waits until the page says every scan has finished. */
export async function waitForScans(page, timeout = 60_000) {
  await page.waitForFunction(() => document.body.dataset.scan === 'done', null, { timeout });
}

/** The results list as data: `{ path, state, bytesRead, findings: [{ rule, severity, ... }] }`. */
export function readResults(page) {
  return page.$$eval('#results > li', (items) =>
    items.map((li) => ({
      path: li.dataset.path,
      state: li.dataset.state,
      badge: li.querySelector('.badge')?.textContent ?? '',
      bytesRead: Number(li.dataset.bytesRead),
      findings: [...li.querySelectorAll('.finding')].map((f) => ({
        rule: f.dataset.rule,
        severity: f.dataset.severity,
        place: f.querySelector('.place')?.textContent ?? '',
        message: f.querySelector('.message')?.textContent ?? '',
        evidence: f.querySelector('.evidence pre')?.textContent ?? null,
      })),
    })),
  );
}

/**
 * Writes a sparse `torch.save` checkpoint (wasm/test/torchzip.mjs) whose float32 tensor of
 * `storageBytes` is a hole. With `payload`, data.pkl also sets `config = posix.system('id')`:
 * the injected call of a poisoned checkpoint, after the state dict is built and before STOP.
 * Resolves to the file's size.
 */
export function writeSparseCheckpoint(path, { storageBytes, payload = false }) {
  const numel = Math.floor(storageBytes / 4);
  const name = 'model.embed_tokens.weight';
  let pickle = statePickle(name, numel);
  if (payload) {
    const enc = new TextEncoder();
    const str = (s) => {
      const b = enc.encode(s);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, b.length, true);
      return [0x58, ...len, ...b]; // BINUNICODE
    };
    const call = [
      ...str('config'),
      ...enc.encode('cposix\nsystem\n'), // GLOBAL posix.system: os.system as pickled on Linux
      ...str('id'),
      0x85, // TUPLE1
      0x52, // REDUCE: posix.system('id')
      0x73, // SETITEM on the state dict
      0x2e, // STOP
    ];
    pickle = Uint8Array.from([...pickle.subarray(0, pickle.length - 1), ...call]);
  }
  return writeSparseTorchZip(path, { numel, name, pickle });
}
