// The streaming multipart parser in plain Node: whatever the chunking (byte by byte, random
// splits, a boundary straddling two chunks), the parts and their bytes are the same, and no
// part is ever held whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_HEADER_BYTES, MultipartParser, boundaryOf, disposition } from '../src/multipart.js';

const enc = new TextEncoder();

/** A multipart body with `parts` ([headers text, bytes]) and preamble/epilogue. */
function body(boundary, parts) {
  const pieces = [enc.encode('preamble to ignore\r\n')];
  for (const [headers, bytes] of parts) {
    pieces.push(enc.encode(`--${boundary}\r\n${headers}\r\n\r\n`), bytes, enc.encode('\r\n'));
  }
  pieces.push(enc.encode(`--${boundary}--\r\nepilogue`));
  return Buffer.concat(pieces);
}

/** Parses `bytes` split at `cuts`; returns [{ headers, bytes, largestPiece }]. */
function parse(boundary, bytes, cuts) {
  const out = [];
  const parser = new MultipartParser(boundary, (headers) => {
    const part = { headers, chunks: [] };
    out.push(part);
    return { data: (b) => part.chunks.push(Buffer.from(b)), end: () => (part.ended = true) };
  });
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(at, cut));
    at = cut;
  }
  parser.end();
  return out.map((p) => ({ headers: Object.fromEntries(p.headers), bytes: Buffer.concat(p.chunks), ended: p.ended }));
}

/** Bytes full of near-boundaries: CRs, CRLF--, and prefixes of the delimiter. */
function nasty(boundary, n) {
  const d = `\r\n--${boundary}`;
  const bytes = [];
  let seed = 7;
  while (bytes.length < n) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const k = seed % 5;
    if (k === 0) bytes.push(...enc.encode(d.slice(0, 1 + (seed % (d.length - 1)))));
    else if (k === 1) bytes.push(13);
    else bytes.push(seed & 0xff);
  }
  return Uint8Array.from(bytes.slice(0, n));
}

test('parts come out the same for every chunking', () => {
  const boundary = 'XyZ-boundary-42';
  const a = nasty(boundary, 3000);
  const b = nasty(boundary.slice(0, -1), 5000);
  const parts = [
    ['Content-Disposition: form-data; name="file"; filename="a.pt"\r\nContent-Type: application/octet-stream', a],
    ['Content-Disposition: form-data; name="note"', enc.encode('hello')],
    ['Content-Disposition: form-data; name="file"; filename="b.pkl"', b],
    ['Content-Disposition: form-data; name="empty"; filename="e"', new Uint8Array(0)],
  ];
  const bytes = body(boundary, parts);
  const whole = parse(boundary, bytes, []);
  assert.equal(whole.length, 4);
  assert.deepEqual(whole.map((p) => p.bytes), parts.map(([, x]) => Buffer.from(x)));
  assert.ok(whole.every((p) => p.ended));
  assert.equal(whole[0].headers['content-type'], 'application/octet-stream');
  const single = parse(boundary, bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1));
  assert.deepEqual(single, whole);
  let seed = 1;
  for (let round = 0; round < 200; round++) {
    const cuts = [];
    let at = 0;
    for (;;) {
      seed = (seed * 48271) % 0x7fffffff;
      at += 1 + (seed % 97);
      if (at >= bytes.length) break;
      cuts.push(at);
    }
    assert.deepEqual(parse(boundary, bytes, cuts), whole, `round ${round}`);
  }
});

test('a part is streamed, not held: bytes come out before the part ends', () => {
  const boundary = 'b';
  const parser = new MultipartParser(boundary, () => ({ data: (x) => (seen += x.length), end: () => {} }));
  let seen = 0;
  parser.push(enc.encode('--b\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n'));
  for (let i = 0; i < 100; i++) parser.push(new Uint8Array(1 << 16).fill(7));
  // Everything but at most a delimiter's length is out already.
  assert.ok(seen >= 100 * (1 << 16) - 4, `${seen}`);
});

test('malformed bodies are errors, not hangs or crashes', () => {
  const cases = [
    ['no boundary at all', 'just some bytes'],
    ['ends inside a part', '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\nabc'],
    ['garbage after a boundary', '--bXX\r\n'],
    ['a header without a colon', '--b\r\nnonsense\r\n\r\nx\r\n--b--'],
  ];
  for (const [label, text] of cases) {
    assert.throws(
      () => {
        const parser = new MultipartParser('b', () => null);
        parser.push(enc.encode(text));
        parser.end();
      },
      (error) => error.status === 400 && error.code === 'bad_multipart',
      label,
    );
  }
  const huge = new MultipartParser('b', () => null);
  assert.throws(() => huge.push(enc.encode(`--b\r\nX-Long: ${'a'.repeat(MAX_HEADER_BYTES + 10)}\r\n\r\n`)), /exceed/);
});

test('boundary and Content-Disposition parameters', () => {
  assert.equal(boundaryOf('multipart/form-data; boundary=----abc'), '----abc');
  assert.equal(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b:c"'), 'a b:c');
  assert.equal(boundaryOf('multipart/form-data'), null);
  const h = (v) => new Map([['content-disposition', v]]);
  assert.deepEqual(disposition(h('form-data; name="file"; filename="m\\"x.pt"')), { name: 'file', filename: 'm"x.pt' });
  assert.deepEqual(disposition(h("form-data; name=f; filename*=UTF-8''mod%C3%A8le.pt")), { name: 'f', filename: 'modèle.pt' });
  assert.deepEqual(disposition(h('form-data; name="note"')), { name: 'note', filename: undefined });
});
