// modelsieve: tells whether loading a machine-learning model file can run code, without
// loading it. The scanner is the Rust core compiled to WebAssembly; this module does the I/O
// around it, reading only what the scanner asks for.
//
// Runs unchanged in browsers, Node 20+ and Workers-style runtimes: nothing Node-specific is
// imported at the top level (Node's file system is imported lazily, only by init() in Node).

import initWasm, {
  initSync as initWasmSync,
  Scanner,
  scanBytes as wasmScanBytes,
  rules as wasmRules,
  toSarif as wasmToSarif,
  version as wasmVersion,
} from './pkg/modelsieve_wasm.js';

export { Scanner };

/// The first read of a seeking scan; after a jump, the driver reads what the scanner asks for.
const MIN_READ = 64 * 1024;
/// Largest read from a Blob: bounds memory whatever length the scanner suggests.
const MAX_BLOB_READ = 1 << 20;
/// Largest HTTP range: sequential reads double up to this, to keep round trips few.
const MAX_RANGE_READ = 8 << 20;
/// How many times in a row the scanner may ask for the same offset (with a different length)
/// before the driver decides it is stuck, as the CLI's seeking driver does.
const MAX_SAME_OFFSET = 4;
const WASM_FILE = './pkg/modelsieve_wasm_bg.wasm';
const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];

let ready = false;
let loading = null;

/**
 * Loads the WebAssembly module. Call once before scanBytes (the async scans call it for you).
 * - no argument: the browser fetches the .wasm next to this file; Node reads it from disk;
 * - a WebAssembly.Module (workerd: `import wasm from 'modelsieve/pkg/modelsieve_wasm_bg.wasm'`),
 *   the .wasm bytes, a URL, a Request or a Response.
 */
export function init(input) {
  if (ready) return Promise.resolve();
  if (loading === null) {
    loading = load(input).then(
      () => {
        ready = true;
      },
      (error) => {
        loading = null;
        throw error;
      },
    );
  }
  return loading;
}

/** Synchronous init from a WebAssembly.Module or the .wasm bytes (Workers, tests). */
export function initSync(module) {
  if (!ready) {
    initWasmSync({ module });
    ready = true;
  }
}

async function load(input) {
  if (input !== undefined) {
    await initWasm({ module_or_path: input });
    return;
  }
  const url = new URL(WASM_FILE, import.meta.url);
  if (url.protocol === 'file:' && isNode()) {
    // fetch() cannot read file: URLs in Node; read the bytes instead.
    const { readFile } = await import('node:fs/promises');
    await initWasm({ module_or_path: await readFile(url) });
  } else {
    await initWasm({ module_or_path: url });
  }
}

function isNode() {
  return typeof process !== 'undefined' && process.versions != null && process.versions.node != null;
}

function requireReady() {
  if (!ready) throw new Error('modelsieve: call `await init()` before scanBytes');
}

/** The options the Rust side reads; the rest (onProgress, signal) stay in JavaScript. */
function coreOptions(options, size, defaultName) {
  const name = options.name ?? defaultName ?? '';
  return { policy: options.policy, failOn: options.failOn, name: String(name), size };
}

function throwIfAborted(signal) {
  if (signal?.aborted) throw signal.reason ?? abortError();
}

function abortError() {
  return new DOMException('The scan was aborted', 'AbortError');
}

/** Resolves like `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable(promise, signal) {
  if (!signal) return promise;
  if (signal.aborted) {
    // The read already started: its own rejection is not news.
    promise.catch(() => {});
    return Promise.reject(signal.reason ?? abortError());
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? (signal.reason ?? abortError()) : error);
      },
    );
  });
}

function progress(options, bytesRead, size) {
  if (typeof options.onProgress === 'function') {
    options.onProgress({ bytesRead, size: size ?? undefined });
  }
}

function toBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('modelsieve: expected a Uint8Array, an ArrayBuffer or a typed array view');
}

/** Scans a whole file held in memory. Synchronous; call `await init()` first. */
export function scanBytes(bytes, options = {}) {
  requireReady();
  throwIfAborted(options.signal);
  const view = toBytes(bytes);
  const report = wasmScanBytes(view, coreOptions(options, undefined));
  progress(options, view.length, view.length);
  return report;
}

/**
 * Drives `scanner` like the CLI's seeking driver: reads what want() names through
 * `read(offset, len)` until the scanner is done, the file ends, or the scanner stops making
 * progress. Sequential reads grow (up to `maxRead`) so a scan that reads everything takes few
 * round trips; a jump starts small again. Returns the bytes read.
 */
async function seek(scanner, size, read, maxRead, options, alreadyRead = 0, nextOffset = -1) {
  let bytesRead = alreadyRead;
  let previous;
  let sameOffset = 0;
  let chunk = MIN_READ;
  for (;;) {
    const want = scanner.want();
    if (want === undefined) break;
    const { offset, len } = want;
    if (previous !== undefined) {
      if (previous.offset === offset && previous.len === len) break;
      if (previous.offset === offset) {
        sameOffset += 1;
        if (sameOffset >= MAX_SAME_OFFSET) break;
      } else {
        sameOffset = 0;
      }
    }
    previous = want;
    if (size !== undefined && offset >= size) break;
    // A jump reads what the scanner asks for: a reader asks for 64 KiB, the search for an HDF5
    // superblock after a user block for the 8 bytes at each power of two of the file.
    chunk = offset === nextOffset ? Math.min(chunk * 2, maxRead) : Math.max(len, 1);
    let n = Math.min(Math.max(len, chunk, 1), maxRead);
    if (size !== undefined) n = Math.min(n, size - offset);
    throwIfAborted(options.signal);
    const bytes = await abortable(read(offset, n), options.signal);
    if (bytes.length === 0) break;
    scanner.feed(offset, bytes);
    bytesRead += bytes.length;
    nextOffset = offset + bytes.length;
    progress(options, bytesRead, size);
  }
  return bytesRead;
}

/**
 * Scans a Blob or File by reading only the slices the scanner asks for, so a 20 GB file is
 * judged from a few reads. The report's path is `options.name`, else the File's name.
 */
export async function scanBlob(blob, options = {}) {
  await init();
  throwIfAborted(options.signal);
  const size = blob.size;
  const scanner = new Scanner(coreOptions(options, size, blob.name));
  try {
    await seek(
      scanner,
      size,
      async (offset, len) => new Uint8Array(await blob.slice(offset, offset + len).arrayBuffer()),
      MAX_BLOB_READ,
      options,
    );
    throwIfAborted(options.signal);
    return scanner.finish();
  } finally {
    scanner.free();
  }
}

/**
 * Scans a stream (a web ReadableStream, or any async iterable of Uint8Array such as a Node
 * Readable) by feeding every chunk in order. Pass `options.size` when the length is known:
 * the scan can then stop as soon as the scanner has what it needs.
 */
export async function scanStream(stream, options = {}) {
  await init();
  throwIfAborted(options.signal);
  const size = options.size ?? undefined;
  const scanner = new Scanner(coreOptions(options, size));
  try {
    await feedStream(scanner, stream, size, options, 0);
    throwIfAborted(options.signal);
    return scanner.finish();
  } finally {
    scanner.free();
  }
}

/** Feeds every chunk of `stream` to `scanner`; returns the bytes fed. */
async function feedStream(scanner, stream, size, options, alreadyRead) {
  let offset = 0;
  let bytesRead = alreadyRead;
  const { signal } = options;
  const chunks = iterate(stream);
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await abortable(chunks.next(), signal);
      if (done) break;
      const bytes = toBytes(value);
      if (bytes.length === 0) continue;
      scanner.feed(offset, bytes);
      offset += bytes.length;
      bytesRead += bytes.length;
      progress(options, bytesRead, size);
      // Only a stream of known size may stop early: without the size, where the input ends is
      // part of the verdict (a truncated file), so every byte must be seen.
      if (size !== undefined && scanner.want() === undefined) break;
    }
  } finally {
    // Stops the download or file read when the scan ended early or was aborted.
    await chunks.return?.().catch(() => {});
  }
  return bytesRead;
}

/** An async iterator over a ReadableStream (with or without async iteration) or an iterable. */
function iterate(stream) {
  if (stream && typeof stream.getReader === 'function') {
    const reader = stream.getReader();
    return {
      next: () => reader.read(),
      return: async () => {
        await reader.cancel().catch(() => {});
        reader.releaseLock();
        return { done: true };
      },
    };
  }
  if (stream && typeof stream[Symbol.asyncIterator] === 'function') return stream[Symbol.asyncIterator]();
  if (stream && typeof stream[Symbol.iterator] === 'function') return stream[Symbol.iterator]();
  throw new TypeError('modelsieve: expected a ReadableStream or an async iterable of Uint8Array');
}

/**
 * Scans a file served over HTTP with Range requests: a hosted 10 GB checkpoint is judged from
 * a few small ranges. Falls back to streaming the body when the server ignores ranges (answers
 * 200). Extra request headers (an Authorization for a private registry) go in
 * `options.headers`; `options.fetch` replaces the global fetch (a Workers service binding).
 */
export async function scanUrl(url, options = {}) {
  await init();
  const { signal } = options;
  throwIfAborted(signal);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const href = String(url);
  const name = options.name ?? href;
  const get = async (range) => {
    const headers = new Headers(options.headers ?? {});
    if (range !== undefined) headers.set('Range', range);
    try {
      return await fetchFn(href, { headers, signal });
    } catch (error) {
      throwIfAborted(signal);
      throw error;
    }
  };

  const first = await get(`bytes=0-${MIN_READ - 1}`);
  if (first.status === 200) return streamResponse(first, { ...options, name }, 0);
  if (first.status === 416) {
    // Nothing to satisfy a range from: an empty file (`bytes */0`), or a server that needs a
    // plain GET.
    await first.body?.cancel().catch(() => {});
    return streamResponse(await checked(await get(undefined), href), { ...options, name }, 0);
  }
  if (first.status !== 206) throw httpError(first, href);
  const range = parseContentRange(first.headers.get('Content-Range'));
  let size = range?.total;
  if (range === null || range.start !== 0 || size === undefined) {
    // Content-Range missing (a cross-origin response that does not expose it) or without a
    // total: without the size an archive cannot be read from its end, so read the stream.
    await first.body?.cancel().catch(() => {});
    return streamResponse(await checked(await get(undefined), href), { ...options, name }, 0);
  }
  const etag = first.headers.get('ETag');
  const head = await readBody(first, MIN_READ, signal);
  const scanner = new Scanner(coreOptions(options, size, name));
  let restart = null;
  try {
    if (head.length > 0) scanner.feed(0, head);
    progress(options, head.length, size);
    const read = async (offset, len) => {
      const response = await get(`bytes=${offset}-${offset + len - 1}`);
      if (response.status === 200) {
        // The server stopped honouring ranges: start over from the whole body.
        restart = response;
        return new Uint8Array(0);
      }
      if (response.status !== 206) throw httpError(response, href);
      const got = parseContentRange(response.headers.get('Content-Range'));
      const tag = response.headers.get('ETag');
      if (got === null || got.start !== offset || got.total !== size || (etag && tag && tag !== etag)) {
        await response.body?.cancel().catch(() => {});
        throw new Error(`modelsieve: ${href} changed or answered another range than asked during the scan`);
      }
      return readBody(response, len, signal);
    };
    const total = await seek(scanner, size, read, MAX_RANGE_READ, options, head.length, head.length);
    if (restart === null) {
      throwIfAborted(signal);
      return scanner.finish();
    }
    return streamResponse(restart, { ...options, name }, total);
  } finally {
    scanner.free();
  }
}

/** Scans a 200 response's body as a stream, with its length when the server gave it. */
async function streamResponse(response, options, alreadyRead) {
  const length = response.headers.get('Content-Length');
  // A compressed body's length is not the file's.
  const encoded = (response.headers.get('Content-Encoding') ?? 'identity') !== 'identity';
  const size = length !== null && !encoded && /^\d+$/.test(length) ? Number(length) : undefined;
  const scanner = new Scanner(coreOptions(options, size));
  try {
    if (response.body) await feedStream(scanner, response.body, size, options, alreadyRead);
    throwIfAborted(options.signal);
    return scanner.finish();
  } finally {
    scanner.free();
  }
}

async function checked(response, href) {
  if (!response.ok) throw httpError(response, href);
  return response;
}

function httpError(response, href) {
  response.body?.cancel().catch(() => {});
  return new Error(`modelsieve: HTTP ${response.status} ${response.statusText} for ${href}`);
}

/** `bytes START-END/TOTAL` (TOTAL may be `*`) → `{ start, end, total }`, or null. */
function parseContentRange(value) {
  const match = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (match === null) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (total !== undefined && end >= total)) return null;
  return { start, end, total };
}

/** Reads at most `max` bytes of a response body, then cancels the rest (a hostile server may
 *  send more than the range asked for). */
async function readBody(response, max, signal) {
  if (!response.body) return new Uint8Array(await response.arrayBuffer()).subarray(0, max);
  const reader = response.body.getReader();
  const parts = [];
  let total = 0;
  try {
    while (total < max) {
      throwIfAborted(signal);
      const { done, value } = await abortable(reader.read(), signal);
      if (done) break;
      parts.push(value);
      total += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(total, max));
  let at = 0;
  for (const part of parts) {
    const take = Math.min(part.length, out.length - at);
    out.set(part.subarray(0, take), at);
    at += take;
    if (at === out.length) break;
  }
  return out;
}

/**
 * SARIF 2.1.0 for reports (an array of reports, one report, or `{ schema_version, files }`),
 * as `modelsieve scan --format sarif` writes it. `options.policy` sets the rule levels.
 */
export function toSarif(reports, options = {}) {
  requireReady();
  let files;
  if (Array.isArray(reports)) files = reports;
  else if (reports && Array.isArray(reports.files)) files = reports.files;
  else files = [reports];
  return wasmToSarif({ schema_version: 1, files }, { policy: options.policy });
}

/** The rule catalogue: `[{ id, severity, title, summary }]`. */
export function rules() {
  requireReady();
  return wasmRules();
}

/** The scanner's version. */
export function version() {
  requireReady();
  return wasmVersion();
}

/** Severity names, lowest first. */
export const severities = Object.freeze([...SEVERITIES]);
