// A streaming multipart/form-data parser (RFC 7578 / RFC 2046): bytes go in chunk by chunk as
// they arrive, part bodies come out as they are found, and nothing is buffered beyond a
// delimiter's length of body bytes (a boundary may straddle two chunks) and one part's header
// block (bounded). A part is never held whole.

import { HttpError } from './errors.js';

/** Largest header block of one part. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Most parts in one body. */
export const MAX_PARTS = 256;

const CR = 13;
const LF = 10;
const DASH = 45;

const bad = (message) => new HttpError(400, 'bad_multipart', `malformed multipart body: ${message}`);

/** The boundary of a `multipart/form-data` content type, or null when it has none. */
export function boundaryOf(contentType) {
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType ?? '');
  if (match === null) return null;
  return match[1] ?? match[2];
}

/**
 * The parser. `onPart(headers)` is called at the start of each part with its headers (a Map of
 * lower-case names) and returns a sink `{ data(bytes), end() }` or null to skip the part; the
 * bytes handed to `data` are views valid only during the call.
 */
export class MultipartParser {
  constructor(boundary, onPart) {
    this.delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
    this.onPart = onPart;
    // The body is parsed as if it began with CRLF, so the first boundary is a delimiter too.
    this.carry = Uint8Array.of(CR, LF);
    this.state = 'preamble';
    this.headerBytes = [];
    this.headerLength = 0;
    this.sink = null;
    this.parts = 0;
  }

  /** Parses the next chunk of the body. */
  push(chunk) {
    let data = chunk;
    if (this.carry.length > 0) {
      data = new Uint8Array(this.carry.length + chunk.length);
      data.set(this.carry, 0);
      data.set(chunk, this.carry.length);
      this.carry = new Uint8Array(0);
    }
    let at = 0;
    while (at < data.length) {
      if (this.state === 'preamble' || this.state === 'body') {
        const found = this.find(data, at);
        if (found >= 0) {
          if (this.state === 'body') this.emit(data.subarray(at, found));
          this.endPart();
          at = found + this.delimiter.length;
          this.state = 'after-delimiter';
          continue;
        }
        // No whole delimiter: keep the tail that could start one, emit the rest.
        const keep = this.partialTail(data, at);
        if (this.state === 'body') this.emit(data.subarray(at, data.length - keep));
        this.carry = data.slice(data.length - keep);
        return;
      }
      if (this.state === 'after-delimiter') {
        // "--" ends the body; otherwise optional whitespace, then CRLF, then a part's headers.
        if (data.length - at < 2) {
          this.carry = data.slice(at);
          return;
        }
        if (data[at] === DASH && data[at + 1] === DASH) {
          this.state = 'epilogue';
          return;
        }
        if (data[at] === 32 || data[at] === 9) {
          at += 1;
          continue;
        }
        if (data[at] !== CR || data[at + 1] !== LF) throw bad('no CRLF after a boundary');
        at += 2;
        this.startHeaders();
        continue;
      }
      if (this.state === 'headers') {
        at = this.headers(data, at);
        continue;
      }
      // Epilogue: ignored.
      return;
    }
  }

  /** Ends the body: it must have been closed by the final boundary. */
  end() {
    if (this.state !== 'epilogue') {
      throw bad(this.parts === 0 && this.state === 'preamble' ? 'no boundary found' : 'the body ends before the final boundary');
    }
  }

  /** Index of the delimiter in `data` from `from`, or -1. */
  find(data, from) {
    const d = this.delimiter;
    let i = data.indexOf(CR, from);
    while (i >= 0 && i + d.length <= data.length) {
      let j = 1;
      while (j < d.length && data[i + j] === d[j]) j += 1;
      if (j === d.length) return i;
      i = data.indexOf(CR, i + 1);
    }
    return -1;
  }

  /** Length of the longest tail of `data` (after `from`) that is a prefix of the delimiter. */
  partialTail(data, from) {
    const d = this.delimiter;
    const start = Math.max(from, data.length - d.length + 1);
    for (let i = start; i < data.length; i++) {
      if (data[i] !== CR) continue;
      let j = 1;
      while (i + j < data.length && data[i + j] === d[j]) j += 1;
      if (i + j === data.length) return data.length - i;
    }
    return 0;
  }

  startHeaders() {
    this.parts += 1;
    if (this.parts > MAX_PARTS) throw new HttpError(413, 'too_many_parts', `more than ${MAX_PARTS} parts`);
    this.state = 'headers';
    this.headerBytes = [];
    this.headerLength = 0;
  }

  /** Collects header bytes up to the blank line; returns where the part's body starts. */
  headers(data, at) {
    const end = Math.min(data.length, at + MAX_HEADER_BYTES + 4);
    for (let i = at; i < end; i++) {
      this.headerBytes.push(data[i]);
      this.headerLength += 1;
      const n = this.headerLength;
      const h = this.headerBytes;
      if (n >= 2 && h[n - 1] === LF && h[n - 2] === CR && (n === 2 || (n >= 4 && h[n - 3] === LF && h[n - 4] === CR))) {
        this.beginPart(new Uint8Array(h));
        return i + 1;
      }
      if (n > MAX_HEADER_BYTES) throw bad(`a part's headers exceed ${MAX_HEADER_BYTES} bytes`);
    }
    return end;
  }

  beginPart(raw) {
    const headers = new Map();
    const text = new TextDecoder('utf-8').decode(raw);
    for (const line of text.split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw bad('a part header without a colon');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.sink = this.onPart(headers) ?? null;
    this.state = 'body';
  }

  emit(bytes) {
    if (bytes.length > 0 && this.sink !== null) this.sink.data(bytes);
  }

  endPart() {
    if (this.sink !== null) this.sink.end();
    this.sink = null;
  }
}

/** `{ name, filename }` of a part from its Content-Disposition (filename* per RFC 5987). */
export function disposition(headers) {
  const value = headers.get('content-disposition') ?? '';
  const param = (key) => {
    const match = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, 'i').exec(value);
    if (match === null) return undefined;
    return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
  };
  let filename = param('filename');
  const extended = param('filename\\*');
  if (extended !== undefined) {
    const m = /^([\w-]+)'[^']*'(.*)$/.exec(extended);
    if (m !== null) {
      try {
        filename = decodeURIComponent(m[2]);
      } catch {
        // Keep the plain filename when the extended one is not valid percent-encoding.
      }
    }
  }
  return { name: param('name'), filename };
}
