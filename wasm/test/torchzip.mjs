// Writes a PyTorch checkpoint (torch.save's zip layout) of any size as a sparse file: the
// headers, data.pkl and the central directory are written, the tensor data is a hole left by
// ftruncate. A 20 GiB checkpoint takes a few KiB of disk.
//
// The layout follows libtorch's PyTorchStreamWriter (miniz) as tests/fixtures/fixturelib.py's
// TorchZipWriter emulates it: records stored under `<folder>/`, local headers with version 0,
// flags 0x0808 (data descriptor, UTF-8), CRC and sizes 0, an 'FB' extra field padding the data
// to 64 bytes, a data descriptor after the data, and zip64 end records. Records of 4 GiB or
// more, and records past 4 GiB, get zip64 extended-information extra fields as miniz writes
// them (sizes in the local header's, sizes and offset in the central entry's).

import { open } from 'node:fs/promises';

const ALIGN = 64;
const U32_MAX = 0xffffffff;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (zlib's) of `bytes`. */
export function crc32(bytes, crc = 0) {
  let c = ~crc >>> 0;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A 32×32 GF(2) matrix (column i = image of bit i) applied to `v`. */
function apply(matrix, v) {
  let out = 0;
  for (let i = 0; v !== 0; i++, v >>>= 1) if (v & 1) out ^= matrix[i];
  return out >>> 0;
}

/** CRC-32 of `n` zero bytes, in O(log n): the register's update on a zero byte is linear. */
export function crc32Zeros(n) {
  let step = Array.from({ length: 32 }, (_, i) => {
    const s = (1 << i) >>> 0;
    return (CRC_TABLE[s & 0xff] ^ (s >>> 8)) >>> 0;
  });
  let state = 0xffffffff;
  let left = BigInt(n);
  while (left > 0n) {
    if (left & 1n) state = apply(step, state);
    step = step.map((column) => apply(step, column));
    left >>= 1n;
  }
  return ~state >>> 0;
}

/** A little-endian byte writer. */
class Bytes {
  constructor() {
    this.parts = [];
  }
  u8(...values) {
    this.parts.push(Uint8Array.from(values));
    return this;
  }
  u16(v) {
    return this.raw(le(v, 2));
  }
  u32(v) {
    return this.raw(le(v, 4));
  }
  u64(v) {
    return this.raw(le(v, 8));
  }
  raw(bytes) {
    this.parts.push(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
    return this;
  }
  get length() {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }
  bytes() {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

function le(value, width) {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = 0; i < width; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/**
 * data.pkl of `torch.save(OrderedDict({name: tensor}))` for one contiguous float32 tensor of
 * `numel` elements in storage '0': the opcodes CPython's pickler emits at protocol 2.
 */
export function statePickle(name, numel) {
  const p = new Bytes();
  let memo = 0;
  const put = () => p.u8(0x71, memo++); // BINPUT
  const str = (s) => {
    const b = new TextEncoder().encode(s);
    p.u8(0x58).u32(b.length).raw(b); // BINUNICODE
    put();
  };
  const int = (v) => {
    if (v < 0x100) p.u8(0x4b, v); // BININT1
    else if (v < 0x10000) p.u8(0x4d).u16(v); // BININT2
    else if (v < 0x80000000) p.u8(0x4a).u32(v); // BININT
    else {
      // LONG1: the shortest little-endian two's complement encoding.
      const bytes = [];
      let left = BigInt(v);
      do {
        bytes.push(Number(left & 0xffn));
        left >>= 8n;
      } while (left > 0n || (bytes[bytes.length - 1] & 0x80) !== 0);
      p.u8(0x8a, bytes.length, ...bytes);
    }
  };
  p.u8(0x80, 2); // PROTO 2
  p.raw('ccollections\nOrderedDict\n');
  put(); // memo 0
  p.u8(0x29, 0x52); // EMPTY_TUPLE REDUCE
  put();
  p.u8(0x28); // MARK (SETITEMS)
  str(name);
  p.raw('ctorch._utils\n_rebuild_tensor_v2\n');
  put();
  p.u8(0x28, 0x28); // MARK MARK
  str('storage');
  p.raw('ctorch\nFloatStorage\n');
  put();
  str('0');
  str('cpu');
  int(numel);
  p.u8(0x74); // TUPLE
  put();
  p.u8(0x51); // BINPERSID
  int(0); // storage offset
  int(numel);
  p.u8(0x85); // TUPLE1 (size)
  put();
  int(1);
  p.u8(0x85); // TUPLE1 (stride)
  put();
  p.u8(0x89); // NEWFALSE (requires_grad)
  p.u8(0x68, 0); // BINGET 0: OrderedDict() for backward hooks
  p.u8(0x29, 0x52); // EMPTY_TUPLE REDUCE
  put();
  p.u8(0x74); // TUPLE
  put();
  p.u8(0x52); // REDUCE
  put();
  p.u8(0x75); // SETITEMS
  // state._metadata = OrderedDict({'': {'version': 1}}), set by BUILD.
  p.u8(0x7d); // EMPTY_DICT
  put();
  str('_metadata');
  p.u8(0x68, 0, 0x29, 0x52); // BINGET 0, EMPTY_TUPLE, REDUCE
  put();
  p.u8(0x28); // MARK
  str('');
  p.u8(0x7d); // EMPTY_DICT
  put();
  str('version');
  int(1);
  p.u8(0x73); // SETITEM
  p.u8(0x75); // SETITEMS
  p.u8(0x73); // SETITEM
  p.u8(0x62); // BUILD
  p.u8(0x2e); // STOP
  return p.bytes();
}

/**
 * Writes `path`: `torch.save({name: torch.zeros(numel)})` in the zip layout, with the tensor's
 * `numel * 4` bytes as a hole. `pickle` replaces data.pkl (web/test uses it to add a payload).
 * Returns the file's size.
 */
export async function writeSparseTorchZip(
  path,
  { numel, name = 'layer0.weight', folder = 'archive', pickle = statePickle(name, numel) },
) {
  const handle = await open(path, 'w');
  let pos = 0;
  const central = [];
  const write = async (bytes) => {
    await handle.write(bytes, 0, bytes.length, pos);
    pos += bytes.length;
  };
  const record = async (recordName, data, hole = 0) => {
    const full = new TextEncoder().encode(`${folder}/${recordName}`);
    const size = data ? data.length : hole;
    const offset = pos;
    const big = size >= U32_MAX;
    const zip64Local = big ? new Bytes().u16(1).u16(16).u64(size).u64(size).bytes() : new Uint8Array(0);
    const start = offset + 30 + full.length + zip64Local.length + 4;
    const pad = (ALIGN - (start % ALIGN)) % ALIGN;
    const extra = new Bytes().raw(zip64Local).raw('FB').u16(pad).raw('Z'.repeat(pad)).bytes();
    const flags = size ? 0x0808 : 0x0800;
    await write(
      new Bytes()
        .u32(0x04034b50)
        .u16(big ? 45 : 0)
        .u16(flags)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(0)
        .u32(big ? U32_MAX : 0)
        .u32(big ? U32_MAX : 0)
        .u16(full.length)
        .u16(extra.length)
        .raw(full)
        .raw(extra)
        .bytes(),
    );
    let crc;
    if (data) {
      await write(data);
      crc = crc32(data);
    } else {
      pos += hole;
      crc = crc32Zeros(hole);
    }
    if (size) {
      const dd = new Bytes().u32(0x08074b50).u32(crc);
      if (big) dd.u64(size).u64(size);
      else dd.u32(size).u32(size);
      await write(dd.bytes());
    }
    central.push({ full, crc, size, offset, flags });
  };

  await record('data.pkl', pickle);
  await record('.format_version', new TextEncoder().encode('1'));
  await record('.storage_alignment', new TextEncoder().encode('64'));
  await record('byteorder', new TextEncoder().encode('little'));
  await record('data/0', null, numel * 4);
  await record('version', new TextEncoder().encode('3\n'));
  await record('.data/serialization_id', new TextEncoder().encode('1234567890123456789012345678901234567890'));

  const cdStart = pos;
  for (const { full, crc, size, offset, flags } of central) {
    const z = new Bytes();
    if (size >= U32_MAX) z.u64(size).u64(size);
    if (offset >= U32_MAX) z.u64(offset);
    const zip64 = z.length ? new Bytes().u16(1).u16(z.length).raw(z.bytes()).bytes() : new Uint8Array(0);
    await write(
      new Bytes()
        .u32(0x02014b50)
        .u16(zip64.length ? 45 : 0)
        .u16(zip64.length ? 45 : 0)
        .u16(flags)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(crc)
        .u32(size >= U32_MAX ? U32_MAX : size)
        .u32(size >= U32_MAX ? U32_MAX : size)
        .u16(full.length)
        .u16(zip64.length)
        .u16(0)
        .u16(0)
        .u16(0)
        .u32(0)
        .u32(offset >= U32_MAX ? U32_MAX : offset)
        .raw(full)
        .raw(zip64)
        .bytes(),
    );
  }
  const cdSize = pos - cdStart;
  const n = central.length;
  const eocd64At = pos;
  await write(
    new Bytes()
      .u32(0x06064b50)
      .u64(44)
      .u16(0x031e)
      .u16(45)
      .u32(0)
      .u32(0)
      .u64(n)
      .u64(n)
      .u64(cdSize)
      .u64(cdStart)
      .bytes(),
  );
  await write(new Bytes().u32(0x07064b50).u32(0).u64(eocd64At).u32(1).bytes());
  await write(
    new Bytes()
      .u32(0x06054b50)
      .u16(0)
      .u16(0)
      .u16(Math.min(n, 0xffff))
      .u16(Math.min(n, 0xffff))
      .u32(Math.min(cdSize, U32_MAX))
      .u32(Math.min(cdStart, U32_MAX))
      .u16(0)
      .bytes(),
  );
  await handle.truncate(pos);
  await handle.close();
  return pos;
}
