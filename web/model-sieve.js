// <model-sieve>: a custom element for model registry pages. It scans a hosted model file by HTTP
// Range requests (reading only what the scanner asks for, not the tensors) and shows a verdict
// badge with the findings folded under it.
//
//   <script type="module" src="/static/modelsieve/model-sieve.js"></script>
//   <model-sieve src="/models/bert/pytorch_model.bin"></model-sieve>
//
// Attributes:
//   src      the file to scan (any URL the page may fetch; cross-origin needs CORS, see README)
//   name     the path written into the report (default: src as written)
//   fail-on  info|low|medium|high|critical: sets the report's `failed` flag (default medium)
//   mode     worker (default: scan in a module Web Worker) | inline (scan on the page's thread)
// Reflected while and after scanning: state=scanning|done|error, verdict=clean|suspicious|dangerous.
// Events (bubbling, composed): `scan-complete` (detail: the report), `scan-error` (detail: {error}).
// Property `report`; methods `scan()` (re-scan; resolves to the report) and `cancel()`.
//
// The element needs, next to this file: pool.js, scan-worker.js, report.js, findings-view.js,
// model-sieve.css and vendor/modelsieve/ (the npm package). `configure()` points elsewhere.

import { ScanPool } from './pool.js';
import { h, verdictBadge, findingsSummary, renderFinding } from './findings-view.js';
import { VERDICT_LABEL, findingsWorstFirst, formatBytes, sanitize } from './report.js';

/** Where the element finds the package, the worker and its stylesheet; see `configure`. */
const config = {
  packageUrl: new URL('./vendor/modelsieve/index.js', import.meta.url),
  workerUrl: new URL('./scan-worker.js', import.meta.url),
  styleUrl: new URL('./model-sieve.css', import.meta.url),
  poolSize: 2,
};

/**
 * Overrides where the package (`packageUrl`, the npm package's index.js), the worker script
 * (`workerUrl`) and the stylesheet (`styleUrl`) are, and the worker count (`poolSize`).
 * Call before the first element scans.
 */
export function configure(options) {
  Object.assign(config, options);
}

/** One pool for every element on the page: a registry listing may show dozens of files. */
let pool = null;
function sharedPool() {
  pool ??= new ScanPool({ workerUrl: config.workerUrl, size: config.poolSize });
  return pool;
}

/** The package, imported only when an element scans inline (or its worker could not start). */
let pkg = null;
function loadPackage() {
  pkg ??= import(String(config.packageUrl)).then(async (m) => {
    await m.init();
    return m;
  });
  return pkg;
}

/** The `<model-sieve>` element. */
export class ModelSieveElement extends HTMLElement {
  static observedAttributes = ['src', 'name', 'fail-on', 'mode'];

  #controller = null;
  #report = null;
  #pending = false;
  #view;

  constructor() {
    super();
    const shadow = this.attachShadow({ mode: 'open' });
    // An external stylesheet, so a page with `style-src 'self'` needs no 'unsafe-inline'.
    shadow.append(h('link', { rel: 'stylesheet', href: String(config.styleUrl) }));
    this.#view = h('div', { class: 'ms', part: 'container' });
    shadow.append(this.#view);
  }

  /** The last report, or `null` before the first scan completes. */
  get report() {
    return this.#report;
  }

  connectedCallback() {
    this.#schedule();
  }

  disconnectedCallback() {
    this.cancel();
  }

  attributeChangedCallback(_name, oldValue, newValue) {
    if (oldValue !== newValue && this.isConnected) this.#schedule();
  }

  /** Stops the scan in progress, if any. */
  cancel() {
    this.#controller?.abort(new DOMException('The scan was cancelled.', 'AbortError'));
    this.#controller = null;
  }

  /** Scans `src` again; resolves to the report (rejects on failure, or when superseded). */
  scan() {
    this.cancel();
    const src = this.getAttribute('src');
    if (!src) {
      this.#show('idle', 'No src to scan.');
      return Promise.reject(new Error('<model-sieve> has no src attribute'));
    }
    const controller = new AbortController();
    this.#controller = controller;
    const url = new URL(src, document.baseURI).href;
    const options = { name: this.getAttribute('name') ?? src, failOn: this.getAttribute('fail-on') ?? undefined };
    const onProgress = ({ bytesRead, size }) => {
      if (this.#controller === controller) this.#show('scanning', `Scanning\u2026 read ${formatBytes(bytesRead)}${size ? ` of ${formatBytes(size)}` : ''}`);
    };
    this.#report = null;
    this.setAttribute('state', 'scanning');
    this.removeAttribute('verdict');
    this.#show('scanning', 'Scanning\u2026');
    return this.#run(url, { ...options, onProgress, signal: controller.signal }).then(
      (report) => {
        if (this.#controller !== controller) throw new DOMException('superseded', 'AbortError');
        this.#controller = null;
        this.#report = report;
        this.setAttribute('state', 'done');
        this.setAttribute('verdict', report.verdict);
        this.#showReport(report);
        this.dispatchEvent(new CustomEvent('scan-complete', { detail: report, bubbles: true, composed: true }));
        return report;
      },
      (error) => {
        if (this.#controller === controller) {
          this.#controller = null;
          this.setAttribute('state', 'error');
          this.#show('error', `Could not scan: ${sanitize(error?.message ?? error)}`);
          this.dispatchEvent(new CustomEvent('scan-error', { detail: { error }, bubbles: true, composed: true }));
        }
        throw error;
      },
    );
  }

  /** Runs the scan in the shared worker pool, or inline when asked to or when workers fail. */
  async #run(url, options) {
    if (this.getAttribute('mode') !== 'inline' && typeof Worker === 'function') {
      try {
        return await sharedPool().scan({ url }, options);
      } catch (error) {
        if (!error?.workerFailed) throw error;
        // The worker script could not start (not deployed, or the page's CSP has no worker-src):
        // scanning inline still works.
      }
    }
    const m = await loadPackage();
    return m.scanUrl(url, options);
  }

  /** Coalesces attribute changes made in one task into one scan. */
  #schedule() {
    if (this.#pending) return;
    this.#pending = true;
    queueMicrotask(() => {
      this.#pending = false;
      if (this.isConnected) this.scan().catch(() => {});
    });
  }

  /** Shows a state badge and a line of text. */
  #show(state, text) {
    this.#view.replaceChildren(
      h('div', { class: 'line' }, verdictBadge(state), h('span', { class: 'meta', part: 'meta', text })),
    );
  }

  /** Shows the verdict; the findings unfold from the badge line. */
  #showReport(report) {
    const label = VERDICT_LABEL[report.verdict];
    const findings = findingsWorstFirst(report.findings ?? []);
    const meta = `${report.format} \u00b7 ${findingsSummary(findings)} \u00b7 read ${formatBytes(report.bytes_read)}${
      report.size != null ? ` of ${formatBytes(report.size)}` : ''
    }`;
    const line = h(
      'span',
      { class: 'line' },
      verdictBadge(report.verdict),
      h('span', { class: 'meta', part: 'meta', text: meta }),
    );
    if (findings.length === 0) {
      this.#view.replaceChildren(h('div', { title: label?.blurb ?? '' }, line));
      return;
    }
    this.#view.replaceChildren(
      h(
        'details',
        { part: 'details', title: label?.blurb ?? '' },
        h('summary', { part: 'summary' }, line),
        h('ul', { class: 'finding-list', part: 'findings' }, findings.map(renderFinding)),
      ),
    );
  }
}

if (!customElements.get('model-sieve')) customElements.define('model-sieve', ModelSieveElement);
