// The module Web Worker that runs scans, so the page's UI thread never parses a model.
//
// Protocol (one run id per scan; a worker runs one scan at a time, the pool queues the rest):
//   page → worker  { type: 'scan', id, source, options }   source: a File/Blob, or { url }
//                  { type: 'cancel', id }
//   worker → page  { type: 'ready', version }               once the WASM is compiled
//                  { type: 'fatal', message }               the WASM could not be loaded
//                  { type: 'progress', id, bytesRead, size }
//                  { type: 'done', id, report }
//                  { type: 'error', id, error: { name, message } }
//
// A File posted here is not copied: it is a handle on the user's file, and `scanBlob` reads only
// the slices the scanner asks for. Nothing is sent anywhere but back to the page.

import { init, scanBlob, scanUrl, version } from './vendor/modelsieve/index.js';

/** At most one progress message per this many milliseconds per scan (the last one always goes). */
const PROGRESS_INTERVAL_MS = 50;

/** Abort controllers of the scans in flight, by run id. */
const running = new Map();

const ready = init().then(
  () => {
    self.postMessage({ type: 'ready', version: version() });
    return true;
  },
  (e) => {
    self.postMessage({ type: 'fatal', message: `the scanner could not be loaded: ${e?.message ?? e}` });
    return false;
  },
);

/** Runs one scan and answers with its report or its error. */
async function runScan({ id, source, options = {} }) {
  const controller = new AbortController();
  running.set(id, controller);
  let last = 0;
  const onProgress = ({ bytesRead, size }) => {
    const now = performance.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    self.postMessage({ type: 'progress', id, bytesRead, size: size ?? null });
  };
  try {
    if (!(await ready)) throw new Error('the scanner could not be loaded');
    const opts = { ...options, onProgress, signal: controller.signal };
    const report =
      source && typeof source.url === 'string' ? await scanUrl(source.url, opts) : await scanBlob(source, opts);
    self.postMessage({ type: 'progress', id, bytesRead: report.bytes_read, size: report.size ?? null });
    self.postMessage({ type: 'done', id, report });
  } catch (e) {
    self.postMessage({
      type: 'error',
      id,
      error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) },
    });
  } finally {
    running.delete(id);
  }
}

self.onmessage = ({ data }) => {
  if (data?.type === 'scan') {
    runScan(data);
  } else if (data?.type === 'cancel') {
    running.get(data.id)?.abort(new DOMException('The scan was cancelled.', 'AbortError'));
  }
};
