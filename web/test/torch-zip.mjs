// Writes a `torch.save` zip whose tensor storage is a hole: a file of several GB that takes a
// few KB of disk. The layout follows libtorch's PyTorchStreamWriter (miniz) as
// tests/fixtures/fixturelib.py TorchZipWriter reproduces it: records stored under `archive/`,
// local headers with version 0 and flags 0x0808 (data descriptor, UTF-8), an 'FB' extra field
// padding data to 64 bytes, a descriptor after each non-empty record, zip64 end records always.
// Records of 4 GiB or more, and records that start past 4 GiB, carry zip64 extra fields (miniz
// adds them once the archive is zip64), with 8-byte sizes in their descriptors.
//
// The pickle is what torch.save writes for `{'weight': torch.zeros(numel)}` (protocol 2,
// persistent id ('storage', FloatStorage, '0', 'cpu', numel)); `payload: true` adds a key whose
// value is `posix.system('id')`, the classic injected __reduce__.

import { open } from 'node:fs/promises';

const ALIGN = 64;
const U32_MAX = 0xffffffff;

// --- CRC-32 (IEEE, reflected), with a fast path for runs of zeros -----------------------------

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `bytes`. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** a·b modulo the CRC polynomial (reflected bit order), as zlib's multmodp. */
function multmodp(a, b) {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ 0xedb88320 : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) modulo the polynomial for k = 0..31 (zlib's x2n_table). */
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multmodp(p, p);
  return t;
})();

/** CRC-32 of `n` zero bytes, without touching them: the register times x^(8n). */
export function crc32Zeros(n) {
  let p = 0x80000000; // x^0
  let k = 3; // 2^3 bits per byte
  let rest = n;
  while (rest > 0) {
    if (rest % 2 === 1) p = multmodp(X2N[k & 31], p);
    rest = Math.floor(rest / 2);
    k++;
  }
  return (multmodp(p, 0xffffffff) ^ 0xffffffff) >>> 0;
}

// --- the pickle ---------------------------------------------------------------------------------

const enc = new TextEncoder();

/** Pickle byte builder with the handful of opcodes torch.save's data.pkl uses. */
class Pickle {
  parts = [];
  memo = 0;
  raw(...bytes) {
    this.parts.push(Uint8Array.from(bytes));
    return this;
  }
  str(s) {
    const b = enc.encode(s);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, b.length, true);
    return this.raw(0x58).push(len).push(b).put(); // BINUNICODE
  }
  global(module, name) {
    return this.raw(0x63).push(enc.encode(`${module}\n${name}\n`)).put(); // GLOBAL
  }
  int(n) {
    if (n >= 0 && n < 256) return this.raw(0x4b, n); // BININT1
    const b = new Uint8Array(5);
    b[0] = 0x4a; // BININT
    new DataView(b.buffer).setInt32(1, n, true);
    return this.push(b);
  }
  put() {
    return this.raw(0x71, this.memo++ & 0xff); // BINPUT
  }
  push(bytes) {
    this.parts.push(bytes);
    return this;
  }
  bytes() {
    return Buffer.concat(this.parts);
  }
}

/** data.pkl of `{'weight': <float32 tensor of numel elements in storage '0'>}`. */
export function statePickle(numel, { payload = false } = {}) {
  const p = new Pickle();
  p.raw(0x80, 2); // PROTO 2
  p.raw(0x7d).put(); // EMPTY_DICT
  p.raw(0x28); // MARK (SETITEMS)
  p.str('weight');
  p.global('torch._utils', '_rebuild_tensor_v2');
  p.raw(0x28); // MARK (args tuple)
  p.raw(0x28); // MARK (persistent id)
  p.str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel);
  p.raw(0x74).put(); // TUPLE
  p.raw(0x51); // BINPERSID
  p.int(0); // storage offset
  p.int(numel).raw(0x85).put(); // size (TUPLE1)
  p.int(1).raw(0x85).put(); // stride
  p.raw(0x89); // NEWFALSE: requires_grad
  p.global('collections', 'OrderedDict').raw(0x29, 0x52).put(); // OrderedDict() backward hooks
  p.raw(0x74).put(); // TUPLE
  p.raw(0x52).put(); // REDUCE
  p.raw(0x75); // SETITEMS
  if (payload) {
    p.str('config');
    p.global('posix', 'system');
    p.str('id').raw(0x85).put(); // ('id',)
    p.raw(0x52).put(); // REDUCE
    p.raw(0x73); // SETITEM
  }
  p.raw(0x2e); // STOP
  return p.bytes();
}

// --- the zip ------------------------------------------------------------------------------------

function u16(n) {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

/** The zip64 extended-information extra field holding only the values given. */
function zip64Extra(values) {
  if (values.length === 0) return Buffer.alloc(0);
  return Buffer.concat([u16(0x0001), u16(8 * values.length), ...values.map(u64)]);
}

/**
 * Writes `path`: an `archive/` torch zip with data.pkl, byteorder, data/0 (`storageBytes` zero
 * bytes, left as a hole), version and `.data/serialization_id`. Returns `{ size, dataOffset }`.
 */
export async function writeSparseTorchZip(path, { storageBytes, payload = false }) {
  const numel = Math.floor(storageBytes / 4);
  const records = [
    { name: 'data.pkl', data: statePickle(numel, { payload }) },
    { name: 'byteorder', data: Buffer.from('little') },
    { name: 'data/0', hole: numel * 4 },
    { name: 'version', data: Buffer.from('3\n') },
    // libtorch writes 40 digits of two hashes; their value matters to nobody reading the zip.
    { name: '.data/serialization_id', data: Buffer.from('0'.repeat(40)) },
  ];
  const fh = await open(path, 'w');
  let pos = 0;
  const write = async (buf) => {
    await fh.write(buf, 0, buf.length, pos);
    pos += buf.length;
  };
  const central = [];
  try {
    for (const rec of records) {
      const full = Buffer.from(`archive/${rec.name}`);
      const size = rec.hole ?? rec.data.length;
      const crc = rec.hole !== undefined ? crc32Zeros(rec.hole) : crc32(rec.data);
      const offset = pos;
      const big = size >= U32_MAX;
      const far = offset >= U32_MAX;
      // Local zip64 extra: sizes, present when the record is 4 GiB or more (the header's sizes
      // are then 0xFFFFFFFF; with a descriptor miniz still records the real sizes here).
      const localZip64 = big ? zip64Extra([size, size]) : Buffer.alloc(0);
      const start = offset + 30 + full.length + localZip64.length + 4;
      const pad = (ALIGN - (start % ALIGN)) % ALIGN;
      const extra = Buffer.concat([localZip64, Buffer.from('FB'), u16(pad), Buffer.alloc(pad, 'Z')]);
      const flags = size ? 0x0808 : 0x0800;
      const sizeField = big ? U32_MAX : 0;
      await write(
        Buffer.concat([
          Buffer.from('PK\x03\x04', 'latin1'),
          u16(big ? 45 : 0), u16(flags), u16(0), u16(0), u16(0),
          u32(0), u32(sizeField), u32(sizeField), u16(full.length), u16(extra.length),
          full, extra,
        ]),
      );
      const dataOffset = pos;
      if (rec.hole !== undefined) pos += rec.hole; // never written: a hole
      else await write(rec.data);
      if (size) {
        await write(
          Buffer.concat([
            Buffer.from('PK\x07\x08', 'latin1'),
            u32(crc),
            ...(big ? [u64(size), u64(size)] : [u32(size), u32(size)]),
          ]),
        );
      }
      central.push({ full, crc, size, offset, flags, big, far, dataOffset });
    }
    const cdStart = pos;
    for (const c of central) {
      const extra = zip64Extra([...(c.big ? [c.size, c.size] : []), ...(c.far ? [c.offset] : [])]);
      await write(
        Buffer.concat([
          Buffer.from('PK\x01\x02', 'latin1'),
          u16(c.big || c.far ? 45 : 0), u16(c.big || c.far ? 45 : 0), u16(c.flags), u16(0), u16(0), u16(0),
          u32(c.crc), u32(c.big ? U32_MAX : c.size), u32(c.big ? U32_MAX : c.size),
          u16(c.full.length), u16(extra.length), u16(0), u16(0), u16(0), u32(0),
          u32(c.far ? U32_MAX : c.offset),
          c.full, extra,
        ]),
      );
    }
    const cdSize = pos - cdStart;
    const n = central.length;
    const eocd64At = pos;
    await write(
      Buffer.concat([
        Buffer.from('PK\x06\x06', 'latin1'), u64(44), u16(0x031e), u16(45), u32(0), u32(0),
        u64(n), u64(n), u64(cdSize), u64(cdStart),
      ]),
    );
    await write(Buffer.concat([Buffer.from('PK\x06\x07', 'latin1'), u32(0), u64(eocd64At), u32(1)]));
    await write(
      Buffer.concat([
        Buffer.from('PK\x05\x06', 'latin1'), u16(0), u16(0), u16(n), u16(n),
        u32(Math.min(cdSize, U32_MAX)), u32(cdStart >= U32_MAX ? U32_MAX : cdStart), u16(0),
      ]),
    );
    return { size: pos, dataOffset: central[2].dataOffset };
  } finally {
    await fh.close();
  }
}
