#!/usr/bin/env node
// modelsieve's npm package (WebAssembly) as a command, for bench/compare.py: scans each file
// given (folders recursively) with scanBlob, prints `{"files": [report, ...]}` and exits 1 when a
// file's verdict is not clean, like `modelsieve scan --format json`. Needs wasm/pkg/ (run
// scripts/build-wasm.sh first).
//
//   node bench/wasm-scan.mjs PATH...
//
// The blob is a FileHandle read at offsets, not fs.openAsBlob: Node 20's openAsBlob gets the
// size of files of 4 GiB and more wrong. Files are scanned one after another.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { scanBlob } from '../wasm/index.js';

/** A Blob-like view of [start, end) of an open file: what scanBlob uses (size, slice, arrayBuffer). */
function fileBlob(handle, start, end, name) {
  return {
    name,
    size: end - start,
    slice(from = 0, to = end - start) {
      const a = start + Math.max(0, Math.min(from, end - start));
      const b = start + Math.max(0, Math.min(to, end - start));
      return fileBlob(handle, a, Math.max(a, b), name);
    },
    async arrayBuffer() {
      const buf = new Uint8Array(end - start);
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.buffer.slice(0, done);
    },
  };
}

async function* walk(path) {
  const st = await stat(path);
  if (!st.isDirectory()) {
    yield path;
    return;
  }
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) yield* walk(join(path, e.name));
}

const files = [];
let flagged = false;
for (const arg of process.argv.slice(2)) {
  for await (const path of walk(arg)) {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const report = await scanBlob(fileBlob(handle, 0, size, path), { name: path });
      files.push(report);
      if (report.verdict !== 'clean') flagged = true;
    } finally {
      await handle.close();
    }
  }
}
process.stdout.write(JSON.stringify({ files }) + '\n');
process.exitCode = flagged ? 1 : 0;
