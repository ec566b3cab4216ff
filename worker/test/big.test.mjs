// A big upload through the worker in real workerd: a PyTorch checkpoint (torch.save zip layout,
// one large tensor) streamed from disk to POST /scan (raw and multipart) and through gate mode.
// workerd's resident memory is sampled from /proc during each upload and must stay flat (under
// 64 MiB above idle); the throughput is printed. 1 GiB by default (~16 s on 2 cores; the file is
// sparse, a few KiB on disk); MODELSIEVE_BIG_MB=<n> sets another size (e.g. 256 on a slow
// machine). Also prints the CPU time per request for typical model files.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { writeSparseTorchZip } from '../../wasm/test/torchzip.mjs';
import { REPO, cpuMs, fileBody, rss, sampleRss, sha256File, skip, startOrigin, startWorker } from './helpers.mjs';

const MB = 1 << 20;
const SIZE_MB = Number(process.env.MODELSIEVE_BIG_MB ?? 1024);
const FLAT_LIMIT = 64 * MB;

let worker;
let origin;
let scratch;
let file;
let size;
let idle;

before(async () => {
  if (skip) return;
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-big-'));
  file = join(scratch, 'big.pt');
  size = await writeSparseTorchZip(file, { numel: (SIZE_MB * MB) / 4 });
  origin = await startOrigin();
  worker = await startWorker({ ORIGIN: origin.url });
  // Warm up (compile paths, first allocations), then take the idle figure.
  const warm = await fetch(`${worker.base}/scan`, { method: 'POST', body: readFileSync(join(REPO, 'samples/torch_state_dict.pt')) });
  await warm.arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 300));
  idle = rss(worker.pid);
});

after(async () => {
  await worker?.stop();
  await origin?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs `send()` while sampling workerd's RSS; returns { response, body, seconds, peak, cpu }. */
async function measured(send) {
  const sampler = sampleRss(worker.pid, 25);
  const cpu0 = cpuMs(worker.pid);
  const t0 = performance.now();
  const response = await send();
  const body = await response.text();
  const seconds = (performance.now() - t0) / 1000;
  const peak = sampler.stop();
  return { response, body, seconds, peak, cpu: cpuMs(worker.pid) - cpu0 };
}

function log(label, { seconds, peak, cpu }) {
  const rate = size / MB / seconds;
  console.log(
    `${label}: ${(size / MB).toFixed(0)} MiB in ${seconds.toFixed(2)} s = ${rate.toFixed(0)} MiB/s; ` +
      `workerd RSS idle ${(idle / MB).toFixed(1)} MiB, peak ${(peak / MB).toFixed(1)} MiB (+${((peak - idle) / MB).toFixed(1)}); ` +
      `workerd CPU ${(cpu / 1000).toFixed(2)} s`,
  );
}

test(`POST /scan: a ${SIZE_MB} MiB checkpoint streamed raw, memory flat`, { skip, timeout: 600_000 }, async () => {
  const m = await measured(async () =>
    fetch(`${worker.base}/scan?name=big.pt`, {
      method: 'POST',
      headers: { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' },
      body: await fileBody(file),
      duplex: 'half',
    }),
  );
  assert.equal(m.response.status, 200, m.body);
  const report = JSON.parse(m.body).files[0];
  assert.equal(report.format, 'pytorch-zip');
  assert.equal(report.verdict, 'clean', m.body);
  log('scan raw', m);
  assert.ok(m.peak - idle < FLAT_LIMIT, `workerd grew by ${((m.peak - idle) / MB).toFixed(1)} MiB`);
});

test(`POST /scan: the ${SIZE_MB} MiB checkpoint as a multipart part, memory flat`, { skip, timeout: 600_000 }, async () => {
  const { Readable } = await import('node:stream');
  const { createReadStream } = await import('node:fs');
  const boundary = 'modelsieve-big-boundary';
  async function* parts() {
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pt"\r\n\r\n`);
    yield* createReadStream(file, { highWaterMark: MB });
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  const m = await measured(async () =>
    fetch(`${worker.base}/scan`, {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body: Readable.toWeb(Readable.from(parts())),
      duplex: 'half',
    }),
  );
  assert.equal(m.response.status, 200, m.body);
  const report = JSON.parse(m.body).files[0];
  assert.equal(report.path, 'big.pt');
  assert.equal(report.verdict, 'clean', m.body);
  log('scan multipart', m);
  assert.ok(m.peak - idle < FLAT_LIMIT, `workerd grew by ${((m.peak - idle) / MB).toFixed(1)} MiB`);
});

test(`gate mode: the ${SIZE_MB} MiB checkpoint reaches the origin intact, memory flat`, { skip, timeout: 600_000 }, async () => {
  const m = await measured(async () =>
    fetch(`${worker.base}/upload/big.pt`, {
      method: 'PUT',
      headers: { 'Content-Length': String(size) },
      body: await fileBody(file),
      duplex: 'half',
    }),
  );
  assert.equal(m.response.status, 201, m.body);
  assert.equal(m.response.headers.get('x-modelsieve-verdict'), 'clean');
  log('gate', m);
  assert.ok(m.peak - idle < FLAT_LIMIT, `workerd grew by ${((m.peak - idle) / MB).toFixed(1)} MiB`);
  await origin.settled();
  const got = origin.requests.find((r) => r.url === '/upload/big.pt');
  assert.equal(got.complete, true);
  assert.equal(got.bytes, size);
  assert.equal(got.sha256, await sha256File(file));
});

test('CPU time per /scan request for typical model files', { skip }, async () => {
  const files = [
    'samples/torch_state_dict.pt',
    'samples/pytorch_model.bin',
    'samples/random_forest.pkl',
    'samples/embeddings.npy',
    'samples/nested_archive.tar.gz',
    'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl',
  ];
  const rounds = 40;
  for (const path of files) {
    const body = readFileSync(join(REPO, path));
    const cpu0 = cpuMs(worker.pid);
    for (let i = 0; i < rounds; i++) {
      const response = await fetch(`${worker.base}/scan`, { method: 'POST', body });
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
    const per = (cpuMs(worker.pid) - cpu0) / rounds;
    console.log(`cpu ${path} (${statSync(join(REPO, path)).size} bytes): ${per.toFixed(2)} ms of workerd CPU per request`);
  }
});
