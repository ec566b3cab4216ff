// A 4 GiB PyTorch checkpoint whose tensor is a hole (a few KB on disk), picked in the page: the
// verdict is right, the scanner reads under 1 MB of it, and the tab's memory stays small, so the
// browser never loaded the file. A second copy carries an injected posix.system call.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifact, launch, readResults, requireBuiltPage, startServer, waitForScans, writeSparseCheckpoint } from './helpers.mjs';

const GiB = 1024 ** 3;
const MB = 1000 * 1000;

let tmp;
let server;
let browser;
const files = {};

before(async () => {
  requireBuiltPage();
  tmp = mkdtempSync(join(tmpdir(), 'modelsieve-sparse-'));
  for (const [name, payload] of [['llama-4g.pt', false], ['llama-4g-payload.pt', true]]) {
    const path = join(tmp, name);
    const size = await writeSparseCheckpoint(path, { storageBytes: 4 * GiB, payload });
    files[name] = { path, size };
  }
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Resident and peak resident memory of a process, in bytes, from /proc. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

test('a 4 GiB sparse PyTorch zip scans to the right verdict reading under 1 MB, in little memory', async (t) => {
  const onDisk = Object.values(files).reduce((sum, f) => sum + statSync(f.path).blocks * 512, 0);
  if (onDisk > 64 * MB) {
    t.skip(`the temp file system does not keep holes (${onDisk} bytes on disk)`);
    return;
  }
  for (const f of Object.values(files)) assert.ok(f.size > 4 * GiB);

  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(server.url, { waitUntil: 'networkidle' });
  // Warm up: the workers and the .wasm, so the measurement below is the scan alone.
  await page.setInputFiles('#file-input', { name: 'warm.pkl', mimeType: 'application/octet-stream', buffer: Buffer.from([0x80, 2, 0x4e, 0x2e]) });
  await waitForScans(page);
  await page.click('#clear');

  // the renderer processes of this browser: the page and its dedicated workers live in one
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  const renderers = processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
  assert.ok(renderers.length >= 1);
  const before = Object.fromEntries(renderers.map((pid) => [pid, memoryOf(pid)]));
  const pageCdp = await context.newCDPSession(page);
  await pageCdp.send('Performance.enable');

  // Playwright hands a local browser the paths (DOM.setFileInputFiles): the page gets
  // disk-backed Files and nothing is read into this process either.
  const started = Date.now();
  await page.setInputFiles('#file-input', Object.values(files).map((f) => f.path));
  await waitForScans(page);
  const seconds = (Date.now() - started) / 1000;
  assert.ok(process.memoryUsage().rss < 1024 * MB, 'the test process did not read the files');

  const results = await readResults(page);
  const byName = Object.fromEntries(results.map((r) => [r.path, r]));
  assert.equal(byName['llama-4g.pt'].state, 'clean');
  assert.equal(byName['llama-4g-payload.pt'].state, 'dangerous');
  const payload = byName['llama-4g-payload.pt'].findings.find((f) => f.evidence === 'posix.system');
  assert.ok(payload, 'the posix.system call is reported');
  assert.match(payload.place, /archive\/data\.pkl/);

  // bytes_read, as shown on the page and as written in the JSON report
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
  const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
  for (const report of doc.files) {
    assert.equal(report.format, 'pytorch-zip');
    assert.equal(report.size, files[report.path].size);
    assert.ok(report.bytes_read < 1 * MB, `${report.path}: bytes_read ${report.bytes_read}`);
    assert.equal(byName[report.path].bytesRead, report.bytes_read);
  }

  // memory: the page's JS heap, and how far the renderer's peak resident memory rose
  const { metrics } = await pageCdp.send('Performance.getMetrics');
  const heap = metrics.find((m) => m.name === 'JSHeapUsedSize').value;
  const rises = renderers.map((pid) => {
    const now = memoryOf(pid);
    return { pid, before: before[pid].rss, peak: now.peak, rise: now.peak - before[pid].rss };
  });
  const worst = Math.max(...rises.map((r) => r.rise));
  assert.ok(heap < 50 * MB, `page JS heap ${heap}`);
  assert.ok(worst < 150 * MB, `renderer peak memory rose by ${worst} bytes`);

  const measurement = {
    files: doc.files.map((r) => ({ path: r.path, size: r.size, bytes_read: r.bytes_read, verdict: r.verdict })),
    seconds,
    page_js_heap_bytes: heap,
    renderer_memory: rises,
  };
  writeFileSync(artifact('sparse-4g-measurement.json'), JSON.stringify(measurement, null, 2) + '\n');
  t.diagnostic(JSON.stringify(measurement));
  await page.screenshot({ path: artifact('sparse-4g.png'), fullPage: true });
  await context.close();
});
