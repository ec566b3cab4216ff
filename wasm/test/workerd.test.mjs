// The package inside workerd (the Cloudflare Workers runtime): the worker imports index.js as
// an ES module and the .wasm as a compiled WebAssembly.Module, calls initSync, and scans
// request bodies (scanStream) and a URL served by a local range server (scanUrl). Reports
// equal the CLI's. Needs the npm package `workerd` (a root devDependency); skipped without it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, WASM_DIR, cliReports, comparable, loadPackage } from './helpers.mjs';

const require = createRequire(join(REPO, 'package.json'));
let workerdBin = null;
try {
  workerdBin = join(require.resolve('workerd/package.json'), '..', 'bin', 'workerd');
  statSync(workerdBin);
} catch {
  workerdBin = null;
}
const skip = workerdBin === null ? 'npm package workerd not installed (npm ci at the repo root)' : false;

const FILES = [
  'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl',
  'samples/torch_state_dict.pt',
  'samples/nested_archive.tar.gz',
  'samples/random_forest.pkl',
];

const WORKER = `
import { initSync, scanStream, scanUrl, toSarif, version } from './modelsieve/index.js';
import wasm from './modelsieve/pkg/modelsieve_wasm_bg.wasm';

initSync(wasm);

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const name = url.searchParams.get('name') ?? '';
    const target = url.searchParams.get('url');
    let report;
    if (target !== null) {
      report = await scanUrl(target, { name });
    } else {
      const size = Number(request.headers.get('content-length')) || undefined;
      report = await scanStream(request.body, { size, name });
    }
    return Response.json({ version: version(), report, sarif: toSarif([report]) });
  },
};
`;

const CONFIG = (port) => `
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "modelsieve/index.js", esModule = embed "index.js"),
    (name = "modelsieve/pkg/modelsieve_wasm.js", esModule = embed "modelsieve_wasm.js"),
    (name = "modelsieve/pkg/modelsieve_wasm_bg.wasm", wasm = embed "modelsieve_wasm_bg.wasm"),
  ],
  compatibilityDate = "2024-09-23",
  globalOutbound = "loopback",
);
`;

let scratch;
let workerd;
let base;
let fileServer;
let modelsieve;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  if (skip) return;
  modelsieve = await loadPackage();
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-workerd-'));
  cpSync(join(WASM_DIR, 'index.js'), join(scratch, 'index.js'));
  cpSync(join(WASM_DIR, 'pkg', 'modelsieve_wasm.js'), join(scratch, 'modelsieve_wasm.js'));
  cpSync(join(WASM_DIR, 'pkg', 'modelsieve_wasm_bg.wasm'), join(scratch, 'modelsieve_wasm_bg.wasm'));
  writeFileSync(join(scratch, 'worker.js'), WORKER);
  const port = await freePort();
  writeFileSync(join(scratch, 'config.capnp'), CONFIG(port));
  workerd = spawn(workerdBin, ['serve', join(scratch, 'config.capnp')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  workerd.stderr.on('data', (d) => {
    stderr += d;
  });
  base = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await fetch(base, { method: 'POST', body: new Uint8Array(0) });
      break;
    } catch {
      if (Date.now() > deadline || workerd.exitCode !== null) throw new Error(`workerd did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // Serves repository files with single-range support, for scanUrl inside the worker.
  fileServer = createServer((req, res) => {
    const path = join(REPO, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    const size = statSync(path).size;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range === null || Number(range[1]) >= size) {
      res.writeHead(200, { 'Content-Length': String(size) });
      createReadStream(path).pipe(res);
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), size - 1);
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': String(end - start + 1) });
    createReadStream(path, { start, end }).pipe(res);
  });
  await new Promise((resolve) => fileServer.listen(0, '127.0.0.1', resolve));
});

after(() => {
  workerd?.kill('SIGTERM');
  if (fileServer) {
    fileServer.closeAllConnections();
    fileServer.close();
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test('in workerd: request bodies and URLs give the CLI reports', { skip }, async () => {
  const expected = cliReports(FILES);
  const filesBase = `http://127.0.0.1:${fileServer.address().port}/`;
  for (const path of FILES) {
    const body = readFileSync(join(REPO, path));
    const upload = await fetch(`${base}?name=${encodeURIComponent(path)}`, { method: 'POST', body });
    assert.equal(upload.status, 200, await upload.clone().text());
    const uploaded = await upload.json();
    assert.equal(uploaded.version, modelsieve.version());
    assert.deepEqual(comparable(uploaded.report), comparable(expected.get(path)), `${path} (body)`);
    assert.equal(uploaded.sarif.runs[0].results.length, uploaded.report.findings.length);

    const target = filesBase + path;
    const remote = await fetch(`${base}?name=${encodeURIComponent(path)}&url=${encodeURIComponent(target)}`);
    assert.equal(remote.status, 200, await remote.clone().text());
    assert.deepEqual(comparable((await remote.json()).report), comparable(expected.get(path)), `${path} (url)`);
  }
});
