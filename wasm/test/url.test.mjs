// scanUrl against local HTTP servers (127.0.0.1 only): one honouring Range requests, one
// ignoring them (the package falls back to streaming), and misbehaving ones.

import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { REPO, cliReports, comparable, corpus, loadPackage, runCli } from './helpers.mjs';
import { writeSparseTorchZip } from './torchzip.mjs';

let modelsieve;
let scratch;
const servers = [];

before(async () => {
  modelsieve = await loadPackage();
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-url-'));
});

after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Serves files under `root` (the URL path is the file's path below it). `mode`: 'ranges'
 * honours single byte ranges (206, Content-Range, ETag); 'ignore' answers every request 200
 * with the whole file; 'overflow' answers ranges 206 but sends the whole rest of the file;
 * 'first-only' honours the first range request and ignores the later ones.
 * `stats` counts requests and body bytes sent.
 */
async function serve(root, mode) {
  const stats = { requests: 0, rangeRequests: 0, bodyBytes: 0, ranges: [] };
  const server = createServer((req, res) => {
    stats.requests += 1;
    const path = join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
    let size;
    try {
      size = statSync(path).size;
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    const send = (status, headers, start, end) => {
      res.writeHead(status, { 'Content-Type': 'application/octet-stream', ...headers });
      if (end < start) {
        res.end();
        return;
      }
      const body = createReadStream(path, { start, end });
      body.on('data', (chunk) => {
        stats.bodyBytes += chunk.length;
      });
      body.pipe(res);
      res.on('close', () => body.destroy());
    };
    const range = /^bytes=(\d+)-(\d+)?$/.exec(req.headers.range ?? '');
    if (mode === 'ignore' || range === null || (mode === 'first-only' && stats.requests > 1)) {
      send(200, { 'Content-Length': String(size), 'Accept-Ranges': 'none' }, 0, size - 1);
      return;
    }
    stats.rangeRequests += 1;
    const start = Number(range[1]);
    if (start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    const end = Math.min(range[2] === undefined ? size - 1 : Number(range[2]), size - 1);
    stats.ranges.push([start, end - start + 1]);
    const sentEnd = mode === 'overflow' ? size - 1 : end;
    send(
      206,
      {
        'Content-Range': `bytes ${start}-${end}/${size}`,
        'Content-Length': String(sentEnd - start + 1),
        ETag: '"v1"',
      },
      start,
      sentEnd,
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const base = `http://127.0.0.1:${server.address().port}/`;
  return { base, stats };
}

describe('scanUrl with Range requests', () => {
  test('a 20 GiB checkpoint is judged from a few small ranges', async () => {
    const path = join(scratch, 'big.pt');
    const size = await writeSparseTorchZip(path, { numel: 5 * 2 ** 30 });
    const { base, stats } = await serve(scratch, 'ranges');
    const progress = [];
    const report = await modelsieve.scanUrl(`${base}big.pt`, { onProgress: (p) => progress.push(p) });
    assert.equal(report.path, `${base}big.pt`);
    assert.equal(report.format, 'pytorch-zip');
    assert.equal(report.verdict, 'clean');
    assert.deepEqual(report.findings, []);
    assert.equal(report.size, size);
    assert.equal(stats.requests, stats.rangeRequests, 'every request asked for a range');
    assert.ok(stats.bodyBytes < 512 * 1024, `sent ${stats.bodyBytes} bytes in ${stats.requests} requests`);
    // The reader's few ranges, plus eight bytes at each power of two past the first read:
    // libhdf5 looks there for a superblock after a user block, and a file can be both.
    const probes = stats.ranges.filter(([start, len]) => len === 8 && Number.isInteger(Math.log2(start)));
    let head = 0;
    for (const [start, len] of stats.ranges) if (start === head) head += len;
    const powers = [];
    for (let p = 2 ** Math.ceil(Math.log2(head)); p + 8 <= size; p *= 2) powers.push(p);
    assert.deepEqual(probes.map(([start]) => start), powers, JSON.stringify(stats.ranges));
    assert.ok(stats.requests - probes.length <= 8, `${stats.requests} requests`);
    assert.equal(progress.at(-1).bytesRead, stats.bodyBytes);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].bytesRead > progress[i - 1].bytesRead);
    const cli = JSON.parse(runCli(['scan', '--format', 'json', path]).stdout).files[0];
    assert.deepEqual({ ...comparable(report), path: '' }, { ...comparable(cli), path: '' });
  });

  test('every corpus file: the same report as the CLI, through ranges and through the fallback', async () => {
    const { all } = corpus();
    const expected = cliReports(all);
    // Served from the repository's parent, which holds both the repo and ../shared.
    const root = dirname(REPO);
    const ranged = await serve(root, 'ranges');
    const ignored = await serve(root, 'ignore');
    for (const path of all) {
      const below = relative(root, join(REPO, path));
      const url = (base) => base + below.split(sep).map(encodeURIComponent).join('/');
      const viaRanges = await modelsieve.scanUrl(url(ranged.base), { name: path });
      assert.deepEqual(comparable(viaRanges), comparable(expected.get(path)), `${path} (ranges)`);
      const viaStream = await modelsieve.scanUrl(url(ignored.base), { name: path });
      assert.deepEqual(comparable(viaStream), comparable(expected.get(path)), `${path} (fallback)`);
    }
    assert.equal(ignored.stats.requests, all.length, 'the fallback streams the first response');
    assert.ok(ranged.stats.rangeRequests >= all.length);
  });
});

describe('scanUrl fallbacks and failures', () => {
  test('a server ignoring ranges: the body is streamed, the report is the same', async () => {
    const path = join(scratch, 'small.pt');
    await writeSparseTorchZip(path, { numel: 2 ** 20 });
    const { base, stats } = await serve(scratch, 'ignore');
    const report = await modelsieve.scanUrl(`${base}small.pt`, { name: 'small.pt' });
    const cli = JSON.parse(runCli(['scan', '--format', 'json', path]).stdout).files[0];
    assert.deepEqual({ ...comparable(report), path: '' }, { ...comparable(cli), path: '' });
    assert.equal(stats.requests, 1);
    assert.equal(report.size, statSync(path).size);
  });

  test('a server that stops honouring ranges midway: the scan starts over from the body', async () => {
    const path = join(scratch, 'midway.pt');
    await writeSparseTorchZip(path, { numel: 2 ** 20 });
    const { base, stats } = await serve(scratch, 'first-only');
    const progress = [];
    const report = await modelsieve.scanUrl(`${base}midway.pt`, { onProgress: (p) => progress.push(p.bytesRead) });
    const cli = JSON.parse(runCli(['scan', '--format', 'json', path]).stdout).files[0];
    assert.deepEqual({ ...comparable(report), path: '' }, { ...comparable(cli), path: '' });
    assert.equal(stats.requests, 2);
    assert.equal(stats.rangeRequests, 1);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i] > progress[i - 1]);
  });

  test('an empty file (416 to a range request)', async () => {
    writeFileSync(join(scratch, 'empty.pkl'), '');
    const { base } = await serve(scratch, 'ranges');
    const report = await modelsieve.scanUrl(`${base}empty.pkl`, { name: 'empty.pkl' });
    assert.deepEqual(report.findings, modelsieve.scanBytes(new Uint8Array(0)).findings);
    assert.equal(report.size, 0);
  });

  test('a server sending more than the range asked for is read only as far as asked', async () => {
    const path = join(scratch, 'over.pt');
    const size = await writeSparseTorchZip(path, { numel: 16 * 2 ** 20 });
    const { base, stats } = await serve(scratch, 'overflow');
    const report = await modelsieve.scanUrl(`${base}over.pt`);
    assert.equal(report.verdict, 'clean');
    assert.deepEqual(report.findings, []);
    assert.ok(report.bytes_read < 1024 * 1024, `fed ${report.bytes_read} bytes`);
    assert.ok(stats.bodyBytes < size, 'the rest of each oversized body was cancelled');
  });

  test('HTTP errors reject', async () => {
    const { base } = await serve(scratch, 'ranges');
    await assert.rejects(modelsieve.scanUrl(`${base}missing.pt`), /HTTP 404/);
  });

  test('an AbortSignal aborts a download in progress', async () => {
    const server = createServer((req, res) => {
      // Headers, one chunk of a pickle, then nothing: a stalled download.
      res.writeHead(200, { 'Content-Length': '1000000' });
      res.write(Buffer.from([0x80, 0x04, 0x95]));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const controller = new AbortController();
    const pending = modelsieve.scanUrl(`http://127.0.0.1:${server.address().port}/x.pkl`, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await assert.rejects(pending, { name: 'AbortError' });
  });
});
