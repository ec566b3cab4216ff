// Gate mode: PUT|POST /upload/... is forwarded to ORIGIN while it is scanned. Every chunk of the
// body goes on to the origin as it arrives, except the last one, which is held back until the
// verdict: a clean upload is completed and the origin's answer relayed; a failing one is
// aborted upstream, so the origin never receives the whole body, and the client gets 422.

import { reportDocument } from '../../web/report.js';
import { declaredLength } from './body.js';
import { checkBody, scanBody, summary } from './scan.js';
import { HttpError, json } from './errors.js';

/** Request headers not forwarded: hop-by-hop ones, the length (set anew) and our own. */
const DROP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-connection',
  'host',
  'content-length',
  'x-modelsieve-token',
  'x-modelsieve-policy',
]);

/** The headers to send upstream. */
function upstreamHeaders(request) {
  const headers = new Headers();
  for (const [key, value] of request.headers) {
    if (!DROP.has(key.toLowerCase()) && !key.toLowerCase().startsWith('cf-')) headers.set(key, value);
  }
  return headers;
}

/** The report's path for an upload: the path after /upload/, percent-decoded when valid. */
function uploadName(pathname) {
  const rest = pathname.replace(/^\/upload\/?/, '');
  try {
    return decodeURIComponent(rest) || 'upload';
  } catch {
    return rest;
  }
}

/** PUT|POST /upload/...: scan while forwarding; complete only a passing upload. */
export async function handleGate(request, config) {
  if (config.origin === null) throw new HttpError(503, 'no_origin', 'gate mode is off: ORIGIN is not set');
  checkBody(request, config.maxBytes);
  const url = new URL(request.url);
  const target = config.origin + url.pathname + url.search;
  const length = declaredLength(request);

  // The origin reads from `readable` while we write to `writable`. With a known length the
  // request goes out with that Content-Length, so an aborted upload is visibly short. workerd's
  // own streams (FixedLengthStream, IdentityTransformStream) resolve a write once the bytes are
  // consumed, so the body's buffers can be reused and memory stays flat; a JS TransformStream
  // (other runtimes) does not, so there every chunk is a fresh buffer.
  let pipe;
  let chunkMode = 'pair';
  if (typeof FixedLengthStream === 'function' && length !== undefined) pipe = new FixedLengthStream(length);
  else if (typeof IdentityTransformStream === 'function') pipe = new IdentityTransformStream();
  else {
    pipe = new TransformStream();
    chunkMode = 'fresh';
  }
  const writer = pipe.writable.getWriter();
  // Aborting the fetch itself drops the upstream connection. Erroring the body stream alone is
  // not enough: workerd then ends a chunked (length-less) request with its final empty chunk,
  // which the origin would take for a complete upload.
  const cancel = new AbortController();
  const upstream = fetch(target, {
    signal: cancel.signal,
    method: request.method,
    headers: upstreamHeaders(request),
    body: pipe.readable,
    duplex: 'half',
    redirect: 'manual',
  });
  // Settled later; an early failure (origin down) must not be an unhandled rejection.
  upstream.catch(() => {});

  let held = null;
  let upstreamBroken = false;
  const forward = async (chunk) => {
    if (held !== null && !upstreamBroken) {
      try {
        await writer.write(held);
      } catch {
        // The origin stopped reading (it answered early or went away): keep scanning, the
        // client still gets the verdict; the origin's answer is relayed below.
        upstreamBroken = true;
      }
    }
    held = chunk;
  };

  let reports;
  try {
    reports = await scanBody(request, {
      maxBytes: config.maxBytes,
      failOn: config.failOn,
      policy: config.policy,
      name: uploadName(url.pathname),
      allParts: true,
      onChunk: forward,
      chunkMode,
    });
  } catch (error) {
    cancel.abort();
    await writer.abort(error).catch(() => {});
    throw error;
  }

  const { verdict, failed } = summary(reports);
  if (failed) {
    cancel.abort();
    await writer.abort(new Error('modelsieve: upload refused')).catch(() => {});
    await upstream.then((r) => r.body?.cancel()).catch(() => {});
    return json(reportDocument(reports), 422, { 'X-Modelsieve-Verdict': verdict, 'X-Modelsieve-Failed': 'true' });
  }
  try {
    if (held !== null && !upstreamBroken) await writer.write(held);
    if (!upstreamBroken) await writer.close();
  } catch {
    // The origin answered before reading everything; its answer is what the client gets.
  }
  let response;
  try {
    response = await upstream;
  } catch (error) {
    console.error('modelsieve-worker: origin request failed:', error?.message ?? String(error));
    throw new HttpError(502, 'origin_unreachable', 'the origin could not be reached or failed');
  }
  const out = new Response(response.body, response);
  out.headers.set('X-Modelsieve-Verdict', verdict);
  out.headers.set('X-Modelsieve-Failed', 'false');
  return out;
}
