// Shared by worker/test/*.test.mjs: starts the worker in real workerd (worker/workerd.capnp) on
// 127.0.0.1 with a given environment, a recording origin server, zip writers for test uploads,
// and workerd's memory and CPU from /proc.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { PKG_WASM, REPO } from '../../wasm/test/helpers.mjs';
import { crc32, crc32Zeros } from '../../wasm/test/torchzip.mjs';

export { REPO };
export const CONFIG = join(REPO, 'worker', 'workerd.capnp');

const require = createRequire(join(REPO, 'package.json'));
let bin = null;
try {
  bin = join(require.resolve('workerd/package.json'), '..', 'bin', 'workerd');
  statSync(bin);
} catch {
  bin = null;
}
/** The workerd binary, or null when the npm package is not installed. */
export const WORKERD = bin;
/** A node:test `skip` value: why the workerd tests cannot run, or false. */
export const skip =
  WORKERD === null
    ? 'npm package workerd not installed (npm ci at the repository root)'
    : !existsSync(PKG_WASM)
      ? 'wasm/pkg is missing: run scripts/build-wasm.sh'
      : false;

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `workerd serve worker/workerd.capnp` on a free port with `env` (ORIGIN, FAIL_ON, …)
 * and waits until it answers. Returns `{ base, pid, stop(), stderr() }`.
 */
export async function startWorker(env = {}) {
  const port = await freePort();
  const childEnv = { ...process.env };
  for (const key of ['ORIGIN', 'FAIL_ON', 'MAX_BYTES', 'POLICY', 'SCAN_TOKEN', 'CORS_ORIGIN']) delete childEnv[key];
  Object.assign(childEnv, env);
  const child = spawn(WORKERD, ['serve', CONFIG, '--socket-addr', `http=127.0.0.1:${port}`], {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${base}/`);
      await r.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`workerd did not start: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    base,
    pid: child.pid,
    stderr: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * An HTTP origin on 127.0.0.1 that records every request: `{ method, url, headers, bytes,
 * sha256, complete }` where `complete` is true only when the request's body ended normally.
 * Answers 201 with what it received. `requests` lists the records; `settled()` waits until
 * every request seen so far has ended or been aborted.
 */
export async function startOrigin() {
  const requests = [];
  const pending = new Set();
  const server = createServer((req, res) => {
    const record = { method: req.method, url: req.url, headers: req.headers, bytes: 0, sha256: null, complete: false };
    requests.push(record);
    const hash = createHash('sha256');
    let done;
    const finished = new Promise((resolve) => {
      done = resolve;
    });
    pending.add(finished);
    req.on('data', (chunk) => {
      record.bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      record.complete = true;
      record.sha256 = hash.digest('hex');
      res.writeHead(201, { 'Content-Type': 'application/json', 'X-Origin': 'recorder' });
      res.end(JSON.stringify({ received: record.bytes, sha256: record.sha256 }));
      done();
    });
    req.on('error', () => done());
    req.on('close', () => done());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    settled: async () => {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 200))]);
        if (requests.length > 0) {
          await Promise.race([Promise.all([...pending]), new Promise((r) => setTimeout(r, 500))]);
          return;
        }
      }
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** SHA-256 of a file, hex. */
export async function sha256File(path) {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk);
  } finally {
    await handle.close().catch(() => {});
  }
  return hash.digest('hex');
}

/** Resident memory of a process in bytes (VmRSS), or 0 when unreadable. */
export function rss(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) of a process in milliseconds. */
export function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Samples `pid`'s RSS every `ms` until stopped; `stop()` returns the peak. */
export function sampleRss(pid, ms = 50) {
  let peak = rss(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rss(pid));
  }, ms);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rss(pid));
    },
  };
}

/** Little-endian fields. */
function le(values) {
  const out = [];
  for (const [v, width] of values) {
    let x = BigInt(v);
    for (let i = 0; i < width; i++, x >>= 8n) out.push(Number(x & 0xffn));
  }
  return Uint8Array.from(out);
}

/**
 * Writes a stored (uncompressed) zip at `path`: members `{ name, data }` or `{ name, zeros }`
 * (a hole of that many zero bytes: sparse on disk). `centralName` gives a member another name
 * in the central directory than in its local header. Returns the file's size.
 */
export async function writeZip(path, members) {
  const handle = await open(path, 'w');
  const enc = new TextEncoder();
  let pos = 0;
  const write = async (bytes) => {
    await handle.write(bytes, 0, bytes.length, pos);
    pos += bytes.length;
  };
  const central = [];
  for (const m of members) {
    const name = enc.encode(m.name);
    const size = m.data ? m.data.length : m.zeros;
    const crc = m.data ? crc32(m.data) : crc32Zeros(m.zeros);
    const offset = pos;
    await write(le([[0x04034b50, 4], [20, 2], [0, 2], [0, 2], [0, 2], [0, 2], [crc, 4], [size, 4], [size, 4], [name.length, 2], [0, 2]]));
    await write(name);
    if (m.data) await write(m.data);
    else pos += m.zeros;
    central.push({ name: enc.encode(m.centralName ?? m.name), crc, size, offset });
  }
  const cdStart = pos;
  for (const c of central) {
    await write(
      le([[0x02014b50, 4], [20, 2], [20, 2], [0, 2], [0, 2], [0, 2], [0, 2], [c.crc, 4], [c.size, 4], [c.size, 4], [c.name.length, 2], [0, 2], [0, 2], [0, 2], [0, 2], [0, 4], [c.offset, 4]]),
    );
    await write(c.name);
  }
  const cdSize = pos - cdStart;
  await write(le([[0x06054b50, 4], [0, 2], [0, 2], [central.length, 2], [central.length, 2], [cdSize, 4], [cdStart, 4], [0, 2]]));
  await handle.truncate(pos);
  await handle.close();
  return pos;
}

/** A pickle that calls os.system('id') (protocol 2). */
export const EVIL_PICKLE = Uint8Array.from([
  0x80, 0x02, ...new TextEncoder().encode('cos\nsystem\n'), 0x58, 2, 0, 0, 0, ...new TextEncoder().encode('id'), 0x85, 0x52, 0x2e,
]);
/** A harmless pickle: the dict {'a': 1} (protocol 2). */
export const CLEAN_PICKLE = Uint8Array.from([0x80, 0x02, 0x7d, 0x58, 1, 0, 0, 0, 0x61, 0x4b, 1, 0x73, 0x2e]);

/**
 * Streams a file from disk as a request body (a web ReadableStream; never all in memory), or
 * a Node Readable for fetch's `duplex: 'half'`.
 */
export async function fileBody(path) {
  const { createReadStream } = await import('node:fs');
  const { Readable } = await import('node:stream');
  return Readable.toWeb(createReadStream(path, { highWaterMark: 1 << 20 }));
}
