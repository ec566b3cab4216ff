#!/usr/bin/env node
// A tiny static server for the modelsieve page, with no dependencies.
//
// It exists so that the page can be tried and tested exactly as it would be deployed: it listens
// on 127.0.0.1 only, sends the strict Content-Security-Policy with every response, serves
// `.wasm` as `application/wasm` (streaming compilation refuses anything else) and honours HTTP
// Range requests (the `<model-sieve>` element reads hosted models a range at a time).
//
// It answers GET and HEAD only and writes nothing to disk: a request body has nowhere to go.
//
//   node web/serve.mjs [--port N] [--root DIR] [--mount /prefix=DIR]... [--log]
//
// `--port 0` (or PORT=0) picks a free port. The URL is printed on stdout as its own line.

import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The policy sent with every response. `default-src 'none'` blocks every kind of load that is not
 * listed; the page's own scripts, styles, images, worker and `.wasm` are the only things allowed.
 * `'wasm-unsafe-eval'` lets WebAssembly compile without allowing `eval`. No `report-uri`: a
 * violation report would itself be a request leaving the page.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self'",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** MIME types by extension; anything else is served as opaque bytes. */
const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/** Headers every response carries, whatever its status. */
function securityHeaders(csp) {
  const headers = {
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=()',
    'Cache-Control': 'no-cache',
  };
  if (csp) headers['Content-Security-Policy'] = csp;
  return headers;
}

/**
 * Parses a single `bytes=` range against a file of `size` bytes.
 * Returns `null` when the header should be ignored (absent, malformed, several ranges: the whole
 * file is then sent with 200, as RFC 9110 allows), `'unsatisfiable'` for a range past the end,
 * or `{ start, end }` inclusive.
 */
export function parseRange(header, size) {
  if (typeof header !== 'string') return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    // suffix range: the last N bytes
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  let end = m[2] === '' ? Infinity : Number(m[2]);
  if (!Number.isSafeInteger(start) || end < start) return null;
  if (start >= size) return 'unsatisfiable';
  if (end >= size) end = size - 1;
  return { start, end };
}

/**
 * Maps a URL path onto a file under one of the mounts, or `null` when it names nothing servable.
 * Percent-decoding happens once, `..` and NUL are refused, and the real path (after symlinks) must
 * stay inside the mount's directory.
 */
async function resolveFile(mounts, urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split('/').includes('..')) return null;
  // longest prefix first, so `/models/x` goes to a `/models` mount and not to `/`
  for (const { prefix, dir } of mounts) {
    if (!(decoded === prefix || decoded.startsWith(prefix.endsWith('/') ? prefix : prefix + '/'))) continue;
    let file = join(dir, decoded.slice(prefix.length));
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        file = join(file, 'index.html');
        info = await stat(file);
      }
      if (!info.isFile()) return null;
      const real = await realpath(file);
      if (real !== dir && !real.startsWith(dir + sep)) return null;
      return { file: real, size: info.size, mtime: info.mtime };
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Starts the server. `root` is served at `/`; `mounts` maps further URL prefixes onto directories.
 * `csp: false` drops the policy header (only for demonstrating a host that does not send one).
 * `onRequest` sees every request (method, path, range, status, bytes received and sent) once answered.
 * Resolves to `{ server, url, close }`.
 */
export async function serve({ root, port = 0, mounts = {}, csp = CSP, onRequest } = {}) {
  const table = [];
  for (const [prefix, dir] of Object.entries({ ...mounts, '/': root })) {
    const clean = prefix === '/' ? '/' : '/' + prefix.replace(/^\/+|\/+$/g, '');
    table.push({ prefix: clean, dir: await realpath(resolve(dir)) });
  }
  table.sort((a, b) => b.prefix.length - a.prefix.length);

  const server = createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk) => {
      bodyBytes += chunk.length;
    });
    res.on('finish', () => {
      onRequest?.({
        method: req.method,
        path: req.url,
        range: req.headers.range ?? null,
        status: res.statusCode,
        bodyBytes,
        sentBytes: req.method === 'HEAD' ? 0 : Number(res.getHeader('Content-Length') ?? 0),
      });
    });
    handle(req, res, table, csp).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, securityHeaders(csp));
      }
      res.end();
    });
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  const close = () =>
    new Promise((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    });
  return { server, url, close };
}

/** Answers one request. */
async function handle(req, res, mounts, csp) {
  const base = securityHeaders(csp);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...base, Allow: 'GET, HEAD', 'Content-Length': 0 });
    res.end();
    return;
  }
  const path = new URL(req.url, 'http://x').pathname;
  const found = await resolveFile(mounts, path);
  if (!found) {
    const body = 'not found\n';
    res.writeHead(404, { ...base, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  const headers = {
    ...base,
    'Content-Type': MIME[extname(found.file).toLowerCase()] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    'Last-Modified': found.mtime.toUTCString(),
  };
  const range = parseRange(req.headers.range, found.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${found.size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  let start = 0;
  let end = found.size - 1;
  if (range) {
    ({ start, end } = range);
    res.writeHead(206, {
      ...headers,
      'Content-Range': `bytes ${start}-${end}/${found.size}`,
      'Content-Length': end - start + 1,
    });
  } else {
    res.writeHead(200, { ...headers, 'Content-Length': found.size });
  }
  if (req.method === 'HEAD' || found.size === 0) {
    res.end();
    return;
  }
  await new Promise((ok, fail) => {
    const stream = createReadStream(found.file, { start, end });
    stream.on('error', fail);
    res.on('close', () => {
      stream.destroy();
      ok();
    });
    stream.pipe(res);
  });
}

/** Command-line options: `--port N`, `--root DIR`, `--mount /prefix=DIR`, `--log`, `--no-csp`. */
function parseArgs(argv) {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const opts = { root: here, port: process.env.PORT ?? '8000', mounts: {}, log: false, csp: CSP };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--port' || arg === '-p') opts.port = value();
    else if (arg === '--root') opts.root = value();
    else if (arg === '--mount') {
      const v = value();
      const eq = v.indexOf('=');
      if (eq <= 0) throw new Error(`--mount wants /prefix=DIR, got ${v}`);
      opts.mounts[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (arg === '--log') opts.log = true;
    else if (arg === '--no-csp') opts.csp = false;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: node web/serve.mjs [--port N] [--root DIR] [--mount /prefix=DIR]... [--log]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port ${opts.port}`);
  opts.port = port;
  return opts;
}

/** Runs the server from the command line until interrupted. */
async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`serve.mjs: ${e.message}\n`);
    process.exit(2);
  }
  const onRequest = opts.log ? (r) => process.stdout.write(JSON.stringify(r) + '\n') : undefined;
  let started;
  try {
    started = await serve({ ...opts, onRequest });
  } catch (e) {
    if (e.code !== 'EADDRINUSE' || opts.port === 0) throw e;
    process.stderr.write(`serve.mjs: port ${opts.port} is in use; picking a free one\n`);
    started = await serve({ ...opts, port: 0, onRequest });
  }
  process.stdout.write(`modelsieve web page: ${started.url}\n`);
  process.stdout.write(`<model-sieve> example: ${started.url}model-sieve.html (Ctrl-C stops the server)\n`);
  const stop = () => started.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main();
}
