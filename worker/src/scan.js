// POST /scan: scans the body as it arrives (raw bytes: one file; multipart/form-data: one report
// per file part) and answers the schema-v1 report document the CLI's `--format json` writes.

import { reportDocument } from '../../web/report.js';
import { FileScan, declaredLength, readChunks, tooLarge } from './body.js';
import { parseFailOn, policyProblem } from './config.js';
import { HttpError, json } from './errors.js';
import { MultipartParser, boundaryOf, disposition } from './multipart.js';

/** Largest policy given in a request (header or form field). */
const MAX_POLICY_BYTES = 64 * 1024;
/** Content types read as one raw file. */
const RAW_TYPES = ['application/octet-stream', 'application/x-binary', 'binary/octet-stream'];

/** The media type of a Content-Type header, lower-case, without parameters ('' when absent). */
export function mediaType(request) {
  return (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
}

/** Compares two strings in time independent of where they differ. */
function sameSecret(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return diff === 0;
}

function checkPolicy(policy) {
  const problem = policyProblem(policy);
  if (problem !== null) throw new HttpError(400, 'bad_policy', `the policy is not valid: ${problem}`);
  return policy;
}

/** The worst verdict of `reports` and whether any failed. */
export function summary(reports) {
  const order = ['clean', 'suspicious', 'dangerous'];
  let worst = 'clean';
  for (const r of reports) if (order.indexOf(r.verdict) > order.indexOf(worst)) worst = r.verdict;
  return { verdict: worst, failed: reports.some((r) => r.failed) };
}

/** Parts of a multipart body that are files: a filename, or a non-text content type. */
export function isFilePart(headers) {
  const { filename } = disposition(headers);
  if (filename !== undefined) return true;
  const type = (headers.get('content-type') ?? 'text/plain').toLowerCase();
  return !type.startsWith('text/');
}

/**
 * Feeds `request`'s body to scanners as it arrives: one for a raw body, one per part of a
 * multipart body (`allParts`: every part, else file parts only). `onChunk(bytes)` sees every
 * raw chunk first (gate mode forwards them; `chunkMode` says how long a chunk stays valid, see
 * readChunks; 'fresh' by default when there is an `onChunk`).
 * A policy form field (before any file part) replaces `policy` when `allowPolicyField`.
 * Returns the reports in body order.
 */
export async function scanBody(request, options) {
  const { maxBytes, failOn, name, allParts = false, allowPolicyField = false, onChunk, chunkMode } = options;
  let { policy } = options;
  const type = mediaType(request);
  const scans = [];
  let feed;
  let finish;
  if (type === 'multipart/form-data') {
    const boundary = boundaryOf(request.headers.get('content-type'));
    if (boundary === null) throw new HttpError(400, 'bad_multipart', 'multipart/form-data without a boundary parameter');
    let policyField = null;
    const parser = new MultipartParser(boundary, (headers) => {
      const { name: field, filename } = disposition(headers);
      if (allowPolicyField && field === 'policy' && filename === undefined) {
        if (scans.length > 0) throw new HttpError(400, 'bad_policy', 'the policy field must come before the files');
        policyField = [];
        let size = 0;
        return {
          data(bytes) {
            size += bytes.length;
            if (size > MAX_POLICY_BYTES) throw new HttpError(400, 'bad_policy', `the policy is over ${MAX_POLICY_BYTES} bytes`);
            policyField.push(bytes.slice());
          },
          end() {
            const all = new Uint8Array(size);
            let at = 0;
            for (const b of policyField) {
              all.set(b, at);
              at += b.length;
            }
            policy = checkPolicy(new TextDecoder().decode(all));
          },
        };
      }
      if (!allParts && !isFilePart(headers)) return null;
      const scan = new FileScan({ name: filename ?? field ?? `part${scans.length + 1}`, policy, failOn });
      scans.push(scan);
      return scan;
    });
    feed = (bytes) => parser.push(bytes);
    finish = () => {
      parser.end();
      if (scans.length === 0) throw new HttpError(400, 'no_files', 'the multipart body has no file part');
    };
  } else {
    const scan = new FileScan({ name, policy, failOn, size: declaredLength(request) });
    scans.push(scan);
    feed = (bytes) => scan.data(bytes);
    finish = () => {};
  }
  try {
    const total = await readChunks(
      request.body,
      maxBytes,
      async (bytes) => {
        if (onChunk) await onChunk(bytes);
        feed(bytes);
      },
      { mode: chunkMode ?? (onChunk === undefined ? 'reuse' : 'fresh') },
    );
    if (total === 0) throw new HttpError(400, 'missing_body', 'the request has an empty body');
    finish();
    return scans.map((scan) => scan.end());
  } finally {
    for (const scan of scans) scan.dispose();
  }
}

/** Checks what can be checked before reading a body: present, and not declared too large. */
export function checkBody(request, maxBytes) {
  if (request.body === null) throw new HttpError(400, 'missing_body', 'the request has no body: send the model file');
  const length = declaredLength(request);
  if (length === 0) throw new HttpError(400, 'missing_body', 'the request has an empty body');
  if (length !== undefined && length > maxBytes) throw tooLarge(maxBytes);
}

/** POST /scan. */
export async function handleScan(request, config) {
  if (config.token !== null && !sameSecret(request.headers.get('x-modelsieve-token') ?? '', config.token)) {
    throw new HttpError(401, 'unauthorized', 'missing or wrong X-Modelsieve-Token header');
  }
  const url = new URL(request.url);
  let failOn = config.failOn;
  const failParam = url.searchParams.get('fail_on');
  if (failParam !== null) failOn = parseFailOn(failParam, (m) => new HttpError(400, 'bad_fail_on', m.replace('FAIL_ON', 'fail_on')));
  let policy = config.policy;
  const policyHeader = request.headers.get('x-modelsieve-policy');
  if (policyHeader !== null) {
    if (policyHeader.length > MAX_POLICY_BYTES) throw new HttpError(400, 'bad_policy', `the policy is over ${MAX_POLICY_BYTES} bytes`);
    policy = checkPolicy(policyHeader);
  }
  const type = mediaType(request);
  if (type !== '' && type !== 'multipart/form-data' && !RAW_TYPES.includes(type)) {
    throw new HttpError(
      415,
      'unsupported_content_type',
      `unsupported Content-Type ${type}: send the file as application/octet-stream (or no Content-Type), or as multipart/form-data`,
    );
  }
  checkBody(request, config.maxBytes);
  const name = url.searchParams.get('name') ?? 'upload';
  const reports = await scanBody(request, { maxBytes: config.maxBytes, failOn, policy, name, allowPolicyField: true });
  const { verdict, failed } = summary(reports);
  return json(reportDocument(reports), 200, { 'X-Modelsieve-Verdict': verdict, 'X-Modelsieve-Failed': String(failed) });
}
