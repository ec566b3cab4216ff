// Gate mode in real workerd, in front of a real origin on 127.0.0.1 that records what it
// receives: clean uploads arrive byte-identical and the origin's answer is relayed; dangerous
// ones (payload at the start, in the middle, in the zip central directory at the very end, in
// one part of a multipart body) never arrive complete and the client gets 422 with the report.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { statePickle, writeSparseTorchZip } from '../../wasm/test/torchzip.mjs';
import { CLEAN_PICKLE, EVIL_PICKLE, REPO, fileBody, sha256File, skip, startOrigin, startWorker, writeZip } from './helpers.mjs';

const MB = 1 << 20;
let worker;
let origin;
let scratch;

before(async () => {
  if (skip) return;
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-gate-'));
  origin = await startOrigin();
  worker = await startWorker({ ORIGIN: origin.url });
});

after(async () => {
  await worker?.stop();
  await origin?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** PUTs the file at `path` to /upload/<name>, streamed from disk with its length. */
async function upload(path, name) {
  const size = statSync(path).size;
  const before = origin.requests.length;
  const response = await fetch(`${worker.base}/upload/${name}`, {
    method: 'PUT',
    headers: { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' },
    body: await fileBody(path),
    duplex: 'half',
  });
  const body = await response.text();
  await origin.settled();
  const received = origin.requests.slice(before).filter((r) => r.url === `/upload/${name}`);
  return { response, body, size, received };
}

/** Asserts the origin never got the whole of a `size`-byte upload. */
function neverComplete(received, size, label) {
  for (const r of received) {
    assert.equal(r.complete, false, `${label}: the origin received a complete request`);
    assert.ok(r.bytes < size, `${label}: the origin received ${r.bytes} of ${size} bytes`);
  }
}

test('a clean upload arrives byte-identical and the origin answer is relayed', { skip }, async () => {
  for (const path of ['samples/torch_state_dict.pt', 'samples/random_forest.pkl']) {
    const name = `clean/${path.split('/').pop()}`;
    const { response, body, size, received } = await upload(join(REPO, path), name);
    assert.equal(response.status, 201, body);
    assert.equal(response.headers.get('x-modelsieve-verdict'), 'clean');
    assert.equal(response.headers.get('x-origin'), 'recorder');
    assert.equal(received.length, 1);
    assert.equal(received[0].complete, true);
    assert.equal(received[0].method, 'PUT');
    assert.equal(received[0].bytes, size);
    assert.equal(received[0].sha256, await sha256File(join(REPO, path)));
    assert.equal(JSON.parse(body).sha256, received[0].sha256);
  }
  // A 64 MiB checkpoint streamed through.
  const big = join(scratch, 'clean64.pt');
  await writeSparseTorchZip(big, { numel: 16 * MB });
  const { response, received } = await upload(big, 'clean/big.pt');
  assert.equal(response.status, 201);
  assert.equal(received[0].sha256, await sha256File(big));
});

test('a dangerous upload never arrives complete: payload at the start, middle and end', { skip }, async () => {
  const cases = [];
  // Start: torch.save layout whose data.pkl (the first record) calls os.system.
  const start = join(scratch, 'start.pt');
  const evilState = new Uint8Array([...statePickle('w', 8 * MB).slice(0, -1), ...EVIL_PICKLE.slice(2, -1), 0x30, 0x2e]);
  await writeSparseTorchZip(start, { numel: 8 * MB, pickle: evilState });
  cases.push(['start', start]);
  // Middle: a zip whose second member, between two 16 MiB members, is a malicious pickle.
  const middle = join(scratch, 'middle.zip');
  await writeZip(middle, [{ name: 'a.bin', zeros: 16 * MB }, { name: 'evil.pkl', data: EVIL_PICKLE }, { name: 'b.bin', zeros: 16 * MB }]);
  cases.push(['middle', middle]);
  // End: every local header is harmless; only the central directory, in the last bytes of the
  // file, renames a member to a path that climbs out of the extraction folder.
  const end = join(scratch, 'end.zip');
  await writeZip(end, [
    { name: 'data.pkl', data: CLEAN_PICKLE },
    { name: 'b.bin', zeros: 32 * MB },
    { name: 'z.pkl', data: CLEAN_PICKLE, centralName: '../../../etc/cron.d/x' },
  ]);
  cases.push(['end', end]);
  // A small file: one chunk, so the origin gets nothing of it.
  cases.push(['small', join(REPO, 'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl')]);

  for (const [label, path] of cases) {
    const { response, body, size, received } = await upload(path, `evil/${label}`);
    assert.equal(response.status, 422, `${label}: ${body}`);
    assert.equal(response.headers.get('x-modelsieve-verdict'), 'dangerous', label);
    const document = JSON.parse(body);
    assert.equal(document.schema_version, 1);
    assert.equal(document.files[0].verdict, 'dangerous', label);
    neverComplete(received, size, label);
    if (label === 'end') assert.ok(document.files[0].findings.some((f) => f.rule === 'archive.unsafe-path'), label);
    assert.equal(document.files[0].path, `evil/${label}`, label);
    if (label !== 'small') {
      // The bytes before the held-back chunk did stream through before the verdict, announced
      // with the upload's length, so the origin sees a short request.
      assert.equal(received.length, 1, label);
      assert.ok(received[0].bytes > 16 * MB, `${label}: the origin got ${received[0].bytes} bytes`);
      assert.equal(received[0].headers['content-length'], String(size), label);
      console.log(`gate ${label}: origin got ${received[0].bytes} of ${size} bytes, then the request was aborted`);
    }
  }
});

test('uploads without a Content-Length (chunked) are gated the same way', { skip }, async () => {
  const chunked = async (bytes, name) => {
    const before = origin.requests.length;
    const stream = new ReadableStream({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 1000) controller.enqueue(bytes.subarray(at, at + 1000));
        controller.close();
      },
    });
    const response = await fetch(`${worker.base}/upload/${name}`, { method: 'PUT', body: stream, duplex: 'half' });
    const text = await response.text();
    await origin.settled();
    return { response, text, received: origin.requests.slice(before) };
  };
  const clean = readFileSync(join(REPO, 'samples/random_forest.pkl'));
  const ok = await chunked(clean, 'chunked/clean.pkl');
  assert.equal(ok.response.status, 201, ok.text);
  assert.equal(ok.received[0].headers['content-length'], undefined);
  assert.equal(ok.received[0].sha256, createHash('sha256').update(clean).digest('hex'));
  const middle = join(scratch, 'middle-chunked.zip');
  await writeZip(middle, [{ name: 'a.bin', zeros: 4 * MB }, { name: 'evil.pkl', data: EVIL_PICKLE }, { name: 'b.bin', zeros: 4 * MB }]);
  const evil = readFileSync(middle);
  const refused = await chunked(evil, 'chunked/evil.zip');
  assert.equal(refused.response.status, 422, refused.text);
  neverComplete(refused.received, evil.length, 'chunked');
});

/** A multipart body (as bytes) with the given files, and its content type. */
function multipart(files) {
  const boundary = `----modelsieve${Math.random().toString(16).slice(2)}`;
  const enc = new TextEncoder();
  const pieces = [];
  for (const [name, bytes] of files) {
    pieces.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    pieces.push(bytes, enc.encode('\r\n'));
  }
  pieces.push(enc.encode(`--${boundary}--\r\n`));
  return { body: Buffer.concat(pieces), type: `multipart/form-data; boundary=${boundary}` };
}

test('multipart uploads are gated per file part', { skip }, async () => {
  const clean = readFileSync(join(REPO, 'samples/torch_state_dict.pt'));
  const good = multipart([
    ['a.pt', clean],
    ['b.pkl', readFileSync(join(REPO, 'samples/random_forest.pkl'))],
  ]);
  let before = origin.requests.length;
  const ok = await fetch(`${worker.base}/upload/form`, { method: 'POST', headers: { 'Content-Type': good.type }, body: good.body });
  assert.equal(ok.status, 201, await ok.clone().text());
  await ok.arrayBuffer();
  await origin.settled();
  const got = origin.requests.slice(before);
  assert.equal(got.length, 1);
  assert.equal(got[0].sha256, createHash('sha256').update(good.body).digest('hex'));

  const bad = multipart([
    ['a.pt', clean],
    ['evil.pkl', readFileSync(join(REPO, 'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl'))],
  ]);
  before = origin.requests.length;
  const refused = await fetch(`${worker.base}/upload/form`, { method: 'POST', headers: { 'Content-Type': bad.type }, body: bad.body });
  assert.equal(refused.status, 422);
  const document = await refused.json();
  assert.deepEqual(document.files.map((r) => [r.path, r.verdict]), [
    ['a.pt', 'clean'],
    ['evil.pkl', 'dangerous'],
  ]);
  await origin.settled();
  neverComplete(origin.requests.slice(before), bad.body.length, 'multipart');
});

test('16 concurrent gated uploads all get the right answer', { skip }, async () => {
  const clean = readFileSync(join(REPO, 'samples/torch_state_dict.pt'));
  const evil = readFileSync(join(REPO, 'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl'));
  const statuses = await Promise.all(
    Array.from({ length: 16 }, async (_, i) => {
      const response = await fetch(`${worker.base}/upload/many/${i}`, { method: 'PUT', body: i % 2 ? evil : clean });
      await response.arrayBuffer();
      return response.status;
    }),
  );
  assert.deepEqual(statuses, Array.from({ length: 16 }, (_, i) => (i % 2 ? 422 : 201)));
  await origin.settled();
  for (let i = 0; i < 16; i++) {
    const got = origin.requests.filter((r) => r.url === `/upload/many/${i}`);
    if (i % 2) neverComplete(got, evil.length, `many/${i}`);
    else assert.equal(got[0]?.complete, true, `many/${i}`);
  }
});

test('gate errors: origin down is a 502 that leaks nothing', { skip }, async () => {
  const down = await startWorker({ ORIGIN: 'http://127.0.0.1:9' });
  try {
    const response = await fetch(`${down.base}/upload/x`, { method: 'PUT', body: readFileSync(join(REPO, 'samples/random_forest.pkl')) });
    assert.equal(response.status, 502);
    const body = await response.json();
    assert.equal(body.error.code, 'origin_unreachable');
    assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|ECONNREFUSED|\.js:\d+/);
  } finally {
    await down.stop();
  }
});
