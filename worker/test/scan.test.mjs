// POST /scan in real workerd: every fixture, raw and multipart, gives the CLI's report; bad
// requests get the documented errors; CORS; 16 concurrent scans are all answered correctly.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { cliReports, comparable, corpus, loadPackage, runCli } from '../../wasm/test/helpers.mjs';
import { REPO, skip, startWorker } from './helpers.mjs';

let worker;
let limited;
let modelsieve;

before(async () => {
  if (skip) return;
  modelsieve = await loadPackage();
  worker = await startWorker();
  limited = await startWorker({ MAX_BYTES: '100000', SCAN_TOKEN: 's3cret', FAIL_ON: 'high', CORS_ORIGIN: 'https://example.test', POLICY });
});

after(async () => {
  await worker?.stop();
  await limited?.stop();
});

/** A report as the CLI writes it for `path`, from its stdin (size unknown, as a part's is). */
function cliStdin(path) {
  const result = runCli(['scan', '--format', 'json', '-'], { input: readFileSync(join(REPO, path)) });
  return { ...JSON.parse(result.stdout).files[0], path };
}

test('GET / answers version and health', { skip }, async () => {
  const response = await fetch(`${worker.base}/`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.status, 'ok');
  assert.equal(body.version, modelsieve.version());
  assert.equal(body.failOn, 'medium');
  assert.equal(body.gate, false);
});

test('raw bodies: every fixture gives the CLI report', { skip }, async () => {
  const { fixtures } = corpus();
  const expected = cliReports(fixtures);
  for (const path of fixtures) {
    const body = readFileSync(join(REPO, path));
    const response = await fetch(`${worker.base}/scan?name=${encodeURIComponent(path)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
    });
    if (body.length === 0) {
      // An empty raw body is refused (an empty file part in a multipart body is scanned).
      assert.equal(response.status, 400, path);
      assert.equal((await response.json()).error.code, 'missing_body');
      continue;
    }
    assert.equal(response.status, 200, path);
    const document = await response.json();
    assert.equal(document.schema_version, 1);
    assert.equal(document.files.length, 1);
    const want = expected.get(path);
    // bytes_read legitimately differs: the CLI seeks past what a stream must read through.
    assert.deepEqual({ ...comparable(document.files[0]), size: document.files[0].size }, { ...comparable(want), size: want.size }, path);
    assert.equal(response.headers.get('x-modelsieve-verdict'), want.verdict, path);
  }
});

test('multipart bodies: one report per file part, as the CLI reads the file from stdin', { skip }, async () => {
  const { fixtures } = corpus();
  const batch = 24;
  for (let i = 0; i < fixtures.length; i += batch) {
    const paths = fixtures.slice(i, i + batch);
    const form = new FormData();
    form.append('comment', 'text fields are not files');
    for (const path of paths) form.append('file', new Blob([readFileSync(join(REPO, path))]), path);
    const response = await fetch(`${worker.base}/scan`, { method: 'POST', body: form });
    assert.equal(response.status, 200);
    const document = await response.json();
    assert.deepEqual(document.files.map((r) => r.path), paths);
    for (const [k, path] of paths.entries()) {
      assert.deepEqual(comparable(document.files[k]), comparable(cliStdin(path)), path);
    }
  }
});

const POLICY = JSON.stringify({ severity: { 'pickle.malformed': 'low' }, deny: ['builtins.print'] });
const POLICY_FILE = 'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl';

/** The CLI's report for POLICY_FILE under POLICY. */
function cliWithPolicy() {
  const file = join(mkdtempSync(join(tmpdir(), 'modelsieve-policy-')), 'policy.json');
  writeFileSync(file, POLICY);
  return cliReports([POLICY_FILE], ['--policy', file]).get(POLICY_FILE);
}

test('a request policy (header or form field) gives the CLI report under that policy', { skip }, async () => {
  const want = comparable(cliWithPolicy());
  assert.equal(want.findings.find((f) => f.rule === 'pickle.malformed')?.severity, 'low');
  const body = readFileSync(join(REPO, POLICY_FILE));
  const header = await fetch(`${worker.base}/scan?name=${encodeURIComponent(POLICY_FILE)}`, {
    method: 'POST',
    headers: { 'X-Modelsieve-Policy': POLICY },
    body,
  });
  assert.deepEqual(comparable((await header.json()).files[0]), want);
  const form = new FormData();
  form.append('policy', POLICY);
  form.append('file', new Blob([body]), POLICY_FILE);
  const field = await fetch(`${worker.base}/scan`, { method: 'POST', body: form });
  assert.deepEqual(comparable((await field.json()).files[0]), want);
  // The POLICY variable does the same for every request.
  const configured = await fetch(`${limited.base}/scan?name=${encodeURIComponent(POLICY_FILE)}`, {
    method: 'POST',
    headers: { 'X-Modelsieve-Token': 's3cret' },
    body,
  });
  assert.deepEqual(comparable((await configured.json()).files[0]), want);
});

/** POST /scan to `base` and the parsed error. */
async function error(base, init, query = '') {
  const response = await fetch(`${base}/scan${query}`, { method: 'POST', ...init });
  const body = await response.json();
  return { status: response.status, code: body.error?.code, message: body.error?.message, response };
}

test('bad requests get the documented errors', { skip }, async () => {
  const base = worker.base;
  assert.deepEqual((await error(base, {})).code, 'missing_body');
  assert.equal((await error(base, {})).status, 400);
  assert.equal((await error(base, { body: new Uint8Array(0) })).code, 'missing_body');
  const json = await error(base, { body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(json.status, 415);
  assert.equal(json.code, 'unsupported_content_type');
  const policy = await error(base, { body: 'x', headers: { 'X-Modelsieve-Policy': '{not json' } });
  assert.equal(policy.status, 400);
  assert.equal(policy.code, 'bad_policy');
  const failOn = await error(base, { body: 'x' }, '?fail_on=sometimes');
  assert.equal(failOn.status, 400);
  assert.equal(failOn.code, 'bad_fail_on');
  const noBoundary = await error(base, { body: 'x', headers: { 'Content-Type': 'multipart/form-data' } });
  assert.equal(noBoundary.code, 'bad_multipart');
  const truncated = await error(base, {
    body: '--b\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\nabc',
    headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(truncated.status, 400);
  assert.equal(truncated.code, 'bad_multipart');
  const noFiles = await error(base, {
    body: '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nabc\r\n--b--\r\n',
    headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
  });
  assert.equal(noFiles.code, 'no_files');
  const get = await fetch(`${base}/scan`);
  assert.equal(get.status, 405);
  assert.equal((await get.json()).error.code, 'method_not_allowed');
  const missing = await fetch(`${base}/nothing`);
  assert.equal(missing.status, 404);
  await missing.arrayBuffer();
  const gate = await fetch(`${base}/upload/%E0%A4%A`, { method: 'PUT', body: 'x' });
  assert.equal(gate.status, 503);
  assert.equal((await gate.json()).error.code, 'no_origin');
});

test('MAX_BYTES, the shared secret and CORS', { skip }, async () => {
  const base = limited.base;
  const token = { 'X-Modelsieve-Token': 's3cret' };
  const unauthorized = await error(base, { body: 'x' });
  assert.equal(unauthorized.status, 401);
  assert.equal((await error(base, { body: 'x', headers: { 'X-Modelsieve-Token': 'wrong' } })).status, 401);
  // Declared too large: refused before reading.
  const big = await error(base, { body: new Uint8Array(100001), headers: token });
  assert.equal(big.status, 413);
  assert.equal(big.code, 'body_too_large');
  // Too large without a declared length: refused while streaming.
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 4; i++) controller.enqueue(new Uint8Array(40000));
      controller.close();
    },
  });
  const streamed = await error(base, { body: stream, duplex: 'half', headers: token });
  assert.equal(streamed.status, 413);
  const ok = await fetch(`${base}/scan`, { method: 'POST', body: new Uint8Array(100000), headers: token });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://example.test');
  assert.match(ok.headers.get('access-control-expose-headers'), /X-Modelsieve-Verdict/);
  await ok.arrayBuffer();
  const pre = await fetch(`${base}/scan`, {
    method: 'OPTIONS',
    headers: { Origin: 'https://example.test', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(pre.status, 204);
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.match(pre.headers.get('access-control-allow-headers'), /X-Modelsieve-Token/);
  // The configured threshold: FAIL_ON=high.
  const health = await (await fetch(`${base}/`)).json();
  assert.equal(health.failOn, 'high');
  assert.equal(health.maxBytes, 100000);
});

test('a misconfigured worker says which variable, and nothing internal', { skip }, async () => {
  const bad = await startWorker({ MAX_BYTES: 'lots' });
  try {
    const response = await fetch(`${bad.base}/`);
    assert.equal(response.status, 500);
    const body = await response.json();
    assert.equal(body.error.code, 'misconfigured');
    assert.match(body.error.message, /MAX_BYTES/);
    assert.doesNotMatch(JSON.stringify(body), /at \w+ \(|\.js:\d+/);
  } finally {
    await bad.stop();
  }
});

test('16 concurrent scans all get their own correct report', { skip }, async () => {
  const paths = corpus().fixtures.filter((_, i) => i % 37 === 0).slice(0, 16);
  const expected = cliReports(paths);
  const answers = await Promise.all(
    paths.map(async (path) => {
      const response = await fetch(`${worker.base}/scan?name=${encodeURIComponent(path)}`, {
        method: 'POST',
        body: readFileSync(join(REPO, path)),
      });
      return (await response.json()).files[0];
    }),
  );
  for (const [i, path] of paths.entries()) assert.deepEqual(answers[i], expected.get(path), path);
});
