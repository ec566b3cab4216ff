// The core's pickle benchmark (core/benches/pickle.rs) through the WASM build in Node:
// scanBytes on the ~108 MB protocol-4 pickle of 3.5 million small tuples, and the same file
// through a Scanner fed 64 KiB at a time. Compare with `cargo bench -p modelsieve-core --bench
// pickle` (pickle/tuples_100mb and pickle/tuples_100mb_64k_chunks).
//
//     scripts/build-wasm.sh && node wasm/bench/pickle.mjs [--runs 10] [--tuples 3500000]
//
// The input is generated here, byte for byte what core/examples/gen_bench_pickle.rs writes
// (CPython's `pickle.dumps([(i, f"name_{i}", i * 0.5) for i in range(n)], protocol=4)`):
// `--check FILE` compares with a file that example wrote.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { Scanner, init, scanBytes } from '../index.js';

const FRAME_SIZE_TARGET = 64 * 1024;
const FRAME_SIZE_MIN = 4;
const FRAME_HEADER_SIZE = 9;
const BATCH_SIZE = 1000;

/** The framing parts of CPython's C pickler, as gen_bench_pickle.rs transcribes them. */
class Pickler {
  constructor(capacity) {
    this.out = new Uint8Array(capacity);
    this.len = 0;
    this.frameStart = -1;
    this.view = new DataView(this.out.buffer);
  }

  reserve(n) {
    if (this.len + n <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.len + n));
    grown.set(this.out.subarray(0, this.len));
    this.out = grown;
    this.view = new DataView(grown.buffer);
  }

  /** Opens a frame on the first write after a commit. */
  open(n) {
    if (this.frameStart < 0) {
      this.frameStart = this.len;
      this.reserve(FRAME_HEADER_SIZE);
      this.out.fill(0xfe, this.len, this.len + FRAME_HEADER_SIZE);
      this.len += FRAME_HEADER_SIZE;
    }
    this.reserve(n);
  }

  byte(...values) {
    this.open(values.length);
    for (const v of values) this.out[this.len++] = v;
  }

  boundary() {
    if (this.frameStart >= 0 && this.len - this.frameStart - FRAME_HEADER_SIZE >= FRAME_SIZE_TARGET) this.commit();
  }

  commit() {
    if (this.frameStart < 0) return;
    const start = this.frameStart;
    this.frameStart = -1;
    const len = this.len - start - FRAME_HEADER_SIZE;
    if (len >= FRAME_SIZE_MIN) {
      this.out[start] = 0x95; // FRAME
      this.view.setBigUint64(start + 1, BigInt(len), true);
    } else {
      this.out.copyWithin(start, start + FRAME_HEADER_SIZE, this.len);
      this.len -= FRAME_HEADER_SIZE;
    }
  }

  int(v) {
    this.boundary();
    if (v >= 0x10000) {
      this.open(5);
      this.out[this.len++] = 0x4a; // BININT
      this.view.setInt32(this.len, v, true);
      this.len += 4;
    } else if (v >= 0x100) {
      this.byte(0x4d, v & 0xff, v >> 8); // BININT2
    } else {
      this.byte(0x4b, v); // BININT1
    }
  }

  shortAscii(s) {
    this.boundary();
    this.open(s.length + 3);
    this.out[this.len++] = 0x8c; // SHORT_BINUNICODE
    this.out[this.len++] = s.length;
    for (let i = 0; i < s.length; i++) this.out[this.len++] = s.charCodeAt(i);
    this.out[this.len++] = 0x94; // MEMOIZE
  }

  float(v) {
    this.boundary();
    this.open(9);
    this.out[this.len++] = 0x47; // BINFLOAT
    this.view.setFloat64(this.len, v, false);
    this.len += 8;
  }
}

/** `pickle.dumps([(i, f"name_{i}", i * 0.5) for i in range(n)], protocol=4)`. */
export function generate(n) {
  const p = new Pickler(n * 32 + 64);
  p.out[0] = 0x80; // PROTO 4, before framing starts
  p.out[1] = 4;
  p.len = 2;
  p.boundary();
  p.byte(0x5d, 0x94); // EMPTY_LIST MEMOIZE
  const item = (i) => {
    p.boundary();
    p.int(i);
    p.shortAscii(`name_${i}`);
    p.float(i * 0.5);
    p.byte(0x87, 0x94); // TUPLE3 MEMOIZE
  };
  if (n === 1) {
    item(0);
    p.byte(0x61); // APPEND
  } else if (n > 1) {
    for (let i = 0; i < n; ) {
      p.byte(0x28); // MARK
      const end = Math.min(i + BATCH_SIZE, n);
      for (; i < end; i++) item(i);
      p.byte(0x65); // APPENDS
    }
  }
  p.byte(0x2e); // STOP
  p.commit();
  return p.out.subarray(0, p.len);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(runs, f) {
  f(); // warm-up (compiles the hot paths)
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    f();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { median: median(times), min: Math.min(...times), max: Math.max(...times) };
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    tuples: { type: 'string', default: '3500000' },
    check: { type: 'string' },
  },
});

await init();
const t0 = performance.now();
const bytes = generate(Number(values.tuples));
const sha = createHash('sha256').update(bytes).digest('hex');
console.log(`generated ${bytes.length} bytes in ${((performance.now() - t0) / 1000).toFixed(1)} s, sha256 ${sha}`);
if (values.check) {
  const other = createHash('sha256').update(readFileSync(values.check)).digest('hex');
  console.log(`${values.check}: ${other === sha ? 'identical' : `DIFFERENT (${other})`}`);
  if (other !== sha) process.exit(1);
}

const report = scanBytes(bytes);
console.log(`verdict ${report.verdict}, ${report.findings.length} findings`);
const runs = Number(values.runs);
const mb = bytes.length / 1e6;
const show = (name, t) =>
  console.log(
    `${name}: median ${(t.median * 1000).toFixed(0)} ms (${(mb / t.median).toFixed(0)} MB/s; min ${(t.min * 1000).toFixed(0)}, max ${(t.max * 1000).toFixed(0)} ms, ${runs} runs)`,
  );
show('wasm scanBytes tuples_100mb', time(runs, () => scanBytes(bytes)));
show(
  'wasm Scanner 64 KiB chunks',
  time(runs, () => {
    const scanner = new Scanner({ size: bytes.length });
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      scanner.feed(offset, bytes.subarray(offset, offset + 65536));
    }
    scanner.finish();
    scanner.free();
  }),
);
