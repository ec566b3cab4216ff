// A small pool of scan workers (web/scan-worker.js) with a queue, progress and cancellation.
//
// Each worker runs one scan at a time; further scans wait in a FIFO queue. Cancelling a queued
// scan just drops it; cancelling a running scan asks its worker to abort (the scanner stops at its
// next read) and, if the worker does not answer promptly (a long CPU-bound step), terminates it
// and starts a fresh one, so a cancel always frees the slot.

/** How long a running scan may take to acknowledge a cancel before its worker is terminated. */
const CANCEL_GRACE_MS = 1000;

/** The default number of workers: a few, never more than the machine has cores for. */
export function defaultPoolSize() {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
  return Math.min(4, Math.max(2, cores - 1));
}

/** The rejection an aborted scan gets: the signal's reason, or an AbortError. */
function abortReason(signal) {
  return signal?.reason ?? new DOMException('The scan was cancelled.', 'AbortError');
}

/** Rebuilds a worker's `{ name, message }` into an Error the caller can inspect. */
function toError({ name, message }) {
  if (name === 'AbortError') return new DOMException(message, 'AbortError');
  const e = new Error(message);
  e.name = name;
  return e;
}

/** The error of a worker that never started: callers may fall back to scanning inline. */
function workerFailure(message) {
  const e = new Error(message || 'the scan worker could not be started');
  e.workerFailed = true;
  return e;
}

/** A pool of module workers running `scan-worker.js`. */
export class ScanPool {
  /**
   * `workerUrl`: the worker script (default: scan-worker.js next to this module).
   * `size`: how many workers at most (they start lazily, on the first scans).
   * `onReady(version)`: called when a worker has loaded the scanner.
   * `inheritPolicy`: start each worker from a one-line blob: module that imports `workerUrl`.
   *   A blob: worker inherits the page's Content-Security-Policy, including one set by a
   *   `<meta>` tag, whereas a worker loaded from a URL gets only the policy in that script's
   *   response headers. With it, the page's meta policy binds the workers on any static host
   *   (the policy's worker-src must then allow `blob:`).
   */
  constructor({
    workerUrl = new URL('./scan-worker.js', import.meta.url),
    size = defaultPoolSize(),
    onReady,
    inheritPolicy = false,
  } = {}) {
    this.workerUrl = workerUrl;
    this.onReady = onReady;
    this.inheritPolicy = inheritPolicy;
    this.version = null;
    this.size = Math.max(1, size);
    this.slots = [];
    this.queue = [];
    this.nextId = 1;
  }

  /**
   * Scans `source` (a File or Blob, or `{ url }` for a hosted file read by Range requests).
   * Options are those of the package's scan functions (`name`, `policy`, `failOn`), plus
   * `onStart()` (a worker took the scan), `onProgress({ bytesRead, size })` and `signal` (an
   * AbortSignal). Resolves to the report.
   */
  scan(source, { onStart, onProgress, signal, ...options } = {}) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const job = { id: this.nextId++, source, options, onStart, onProgress, signal, resolve, reject, slot: null };
      job.onAbort = () => this.cancel(job);
      signal?.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      this.pump();
    });
  }

  /** Terminates every worker and rejects every pending scan. */
  destroy() {
    const jobs = [...this.queue, ...this.slots.map((s) => s.job).filter(Boolean)];
    // emptied first, so that settling a job cannot start the next one
    this.queue = [];
    for (const slot of this.slots) {
      clearTimeout(slot.timer);
      if (slot.blobUrl) URL.revokeObjectURL(slot.blobUrl);
      slot.worker.terminate();
    }
    this.slots = [];
    for (const job of jobs) this.settle(job, null, new DOMException('The scanner was shut down.', 'AbortError'));
  }

  /** Starts queued jobs on idle workers, starting workers up to `size`. */
  pump() {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.size) return;
        try {
          slot = this.spawn();
        } catch (e) {
          // Workers are unavailable here (a CSP without worker-src, or no Worker at all).
          const job = this.queue.shift();
          this.settle(job, null, workerFailure(e?.message ?? String(e)));
          continue;
        }
      }
      const job = this.queue.shift();
      job.slot = slot;
      slot.job = job;
      slot.worker.postMessage({ type: 'scan', id: job.id, source: job.source, options: job.options });
      job.onStart?.();
    }
  }

  /** Starts one worker and wires its messages to the job it runs. */
  spawn() {
    let url = this.workerUrl;
    if (this.inheritPolicy) {
      const source = `import ${JSON.stringify(String(new URL(this.workerUrl, location.href)))};\n`;
      url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    }
    let worker;
    try {
      worker = new Worker(url, { type: 'module', name: 'modelsieve-scan' });
    } catch (e) {
      if (url !== this.workerUrl) URL.revokeObjectURL(url);
      throw e;
    }
    const slot = { worker, job: null, fatal: null, timer: null, started: false, blobUrl: url !== this.workerUrl ? url : null };
    // The blob: URL is kept until the worker has loaded (it is fetched asynchronously).
    const revoke = () => {
      if (slot.blobUrl) URL.revokeObjectURL(slot.blobUrl);
      slot.blobUrl = null;
    };
    worker.onmessage = ({ data }) => {
      if (data?.type === 'ready' || data?.type === 'fatal') revoke();
      if (data?.type === 'ready') {
        slot.started = true;
        this.version = data.version;
        this.onReady?.(data.version);
        return;
      }
      if (data?.type === 'fatal') {
        slot.fatal = data.message;
        if (slot.job) this.settle(slot.job, null, new Error(data.message));
        return;
      }
      const job = slot.job;
      if (!job || data?.id !== job.id) return;
      if (data.type === 'progress') {
        job.onProgress?.({ bytesRead: data.bytesRead, size: data.size });
      } else if (data.type === 'done') {
        this.settle(job, data.report, null);
      } else if (data.type === 'error') {
        this.settle(job, null, job.signal?.aborted ? abortReason(job.signal) : toError(data.error));
      }
    };
    // A worker that fails to load (a CSP or MIME problem) or dies takes its scan down with it.
    worker.onerror = (event) => {
      event.preventDefault?.();
      if (slot.job) {
        this.settle(
          slot.job,
          null,
          slot.started ? new Error(event.message || 'the scan worker failed') : workerFailure(event.message),
        );
      }
      this.replace(slot);
    };
    this.slots.push(slot);
    return slot;
  }

  /** Terminates a slot's worker and forgets it; the next pump starts a fresh one if needed. */
  replace(slot) {
    clearTimeout(slot.timer);
    if (slot.blobUrl) URL.revokeObjectURL(slot.blobUrl);
    slot.worker.terminate();
    this.slots = this.slots.filter((s) => s !== slot);
    this.pump();
  }

  /** Cancels a job: drops it from the queue, or asks its worker to stop. */
  cancel(job) {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, null, abortReason(job.signal));
      return;
    }
    const slot = job.slot;
    if (!slot || slot.job !== job) return;
    slot.worker.postMessage({ type: 'cancel', id: job.id });
    slot.timer = setTimeout(() => {
      if (slot.job === job) {
        this.settle(job, null, abortReason(job.signal));
        this.replace(slot);
      }
    }, CANCEL_GRACE_MS);
  }

  /** Resolves or rejects a job exactly once and frees its worker. */
  settle(job, report, error) {
    if (job.settled) return;
    job.settled = true;
    job.signal?.removeEventListener('abort', job.onAbort);
    const slot = job.slot;
    if (slot && slot.job === job) {
      clearTimeout(slot.timer);
      slot.job = null;
    }
    if (error) job.reject(error);
    else job.resolve(report);
    if (slot?.fatal) this.replace(slot);
    else this.pump();
  }
}
