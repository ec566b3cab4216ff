// The page: takes files from a drop or the pickers, scans them in the worker pool, and shows a
// verdict, progress and findings per file, summary counts, and JSON/SARIF downloads.
//
// Nothing here reads file contents: Files go to the workers as handles, and the workers read only
// what the scanner asks for. Nothing here talks to the network either; the page's CSP would stop
// it if it tried.

import { ScanPool } from './pool.js';
import { filesFromDrop, filesFromInput } from './files.js';
import { h, verdictBadge, renderFindings } from './findings-view.js';
import { VERDICTS, coreReport, countBy, formatBytes, reportJson, sanitize } from './report.js';

const $ = (id) => document.getElementById(id);

// Workers start from blob: URLs so that they inherit this page's policy, meta tag included.
const pool = new ScanPool({
  inheritPolicy: true,
  onReady: (version) => ($('version').textContent = `modelsieve ${version}`),
});

/** Every file of this session, in scan order: `{ path, file, state, bytesRead, report, error, … }`. */
let entries = [];
/** Aborts every scan of the current batch at once ("Cancel all"); renewed after use. */
let batch = new AbortController();

/** Adds files to the list and starts scanning them. */
function addFiles(items) {
  if (items.length === 0) {
    status('No files found in what was dropped.');
    return;
  }
  $('run').hidden = false;
  for (const { file, path } of items) {
    const entry = {
      path,
      file,
      size: file.size,
      state: 'queued',
      bytesRead: 0,
      report: null,
      error: null,
      controller: new AbortController(),
    };
    entry.view = entryView(entry);
    entry.view.update();
    $('results').append(entry.view.root);
    entries.push(entry);
    scan(entry);
  }
  status(`${items.length} file${items.length === 1 ? '' : 's'} added.`);
  refresh();
}

/** Scans one entry in the pool and records the outcome. */
async function scan(entry) {
  const signal = anySignal([batch.signal, entry.controller.signal]);
  try {
    const report = await pool.scan(entry.file, {
      name: entry.path,
      signal,
      onStart: () => {
        entry.state = 'scanning';
        schedule(entry);
      },
      onProgress: ({ bytesRead }) => {
        entry.state = 'scanning';
        entry.bytesRead = bytesRead;
        schedule(entry);
      },
    });
    entry.report = report;
    entry.bytesRead = report.bytes_read;
    entry.state = report.verdict;
  } catch (e) {
    entry.state = e?.name === 'AbortError' ? 'cancelled' : 'error';
    entry.error = e?.message ?? String(e);
  }
  entry.file = null; // the report is all that is kept
  schedule(entry);
  refresh();
}

/** `AbortSignal.any` where available, else a controller that follows every signal. */
function anySignal(signals) {
  if (AbortSignal.any) return AbortSignal.any(signals);
  const c = new AbortController();
  for (const s of signals) s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  return c.signal;
}

/** Builds the list item of one file; `update` redraws it from the entry. */
function entryView(entry) {
  const badge = h('span', { class: 'badge-slot' }, verdictBadge('queued'));
  const meta = h('span', { class: 'meta' });
  const cancel = h('button', {
    type: 'button',
    class: 'cancel',
    'aria-label': `Cancel scanning ${sanitize(entry.path)}`,
    text: 'Cancel',
    onclick: () => entry.controller.abort(new DOMException('The scan was cancelled.', 'AbortError')),
  });
  const progress = h('progress', {
    class: 'file-progress',
    max: Math.max(entry.size, 1),
    value: 0,
    'aria-label': `Bytes read of ${sanitize(entry.path)}`,
  });
  const progressText = h('p', { class: 'progress-text' });
  const details = h('div', { class: 'file-body' });
  const root = h(
    'li',
    { class: 'file', 'data-path': entry.path },
    h('div', { class: 'file-head' }, badge, h('div', { class: 'file-name' }, h('span', { class: 'path', text: sanitize(entry.path) }), meta), cancel),
    progress,
    progressText,
    details,
  );
  let shown = null;
  const update = () => {
    const { state, report } = entry;
    root.dataset.state = state;
    root.dataset.bytesRead = String(entry.bytesRead);
    if (shown !== state) {
      badge.replaceChildren(verdictBadge(state));
      shown = state;
    }
    const done = state !== 'queued' && state !== 'scanning';
    cancel.hidden = done;
    progress.value = done ? progress.max : Math.min(entry.bytesRead, entry.size);
    const read = `read ${formatBytes(entry.bytesRead)} of ${formatBytes(entry.size)}`;
    meta.textContent = report ? `${report.format} \u00b7 ${formatBytes(entry.size)}` : formatBytes(entry.size);
    if (state === 'queued') progressText.textContent = 'Waiting for a worker\u2026';
    else if (state === 'scanning') progressText.textContent = `Scanning: ${read}`;
    else if (report) {
      const share = entry.size > 0 ? ` (${((100 * entry.bytesRead) / entry.size).toFixed(entry.bytesRead < entry.size / 100 ? 3 : 0)}%)` : '';
      progressText.textContent = `Done: ${read}${share}`;
    } else if (state === 'cancelled') progressText.textContent = `Cancelled after ${read}`;
    else progressText.textContent = `Could not scan: ${sanitize(entry.error)}`;
    if (done && !details.firstChild && report) details.append(renderFindings(report));
  };
  return { root, update };
}

/** Entries whose view needs a redraw, flushed once per animation frame. */
const dirty = new Set();
function schedule(entry) {
  dirty.add(entry);
  if (dirty.size === 1) requestAnimationFrame(flush);
}
function flush() {
  for (const entry of dirty) entry.view.update();
  dirty.clear();
  refresh();
}

/** Redraws the overall progress, the counts and the buttons. */
function refresh() {
  const total = entries.length;
  const pending = entries.filter((e) => e.state === 'queued' || e.state === 'scanning');
  const finished = total - pending.length;
  // Finished files count whole; a running one counts by the share of its bytes read so far.
  const partial = pending.reduce((sum, e) => sum + (e.size > 0 ? Math.min(1, e.bytesRead / e.size) : 0), 0);
  const bar = $('overall-progress');
  bar.max = Math.max(total, 1);
  bar.value = finished + partial;
  const reports = entries.filter((e) => e.report);
  const counts = countBy(reports, VERDICTS, (e) => e.report.verdict);
  for (const v of VERDICTS) {
    $(`count-${v}`).textContent = String(counts[v]);
    $(`count-${v}`).parentElement.classList.toggle('zero', counts[v] === 0);
  }
  $('count-other').textContent = String(finished - reports.length);
  $('count-other').parentElement.hidden = finished === reports.length;
  const read = entries.reduce((sum, e) => sum + (e.bytesRead || 0), 0);
  const size = entries.reduce((sum, e) => sum + (e.size || 0), 0);
  $('overall-text').textContent =
    pending.length > 0
      ? `Scanning: ${finished} of ${total} files done (read ${formatBytes(read)} of ${formatBytes(size)})`
      : `${total} file${total === 1 ? '' : 's'} scanned: read ${formatBytes(read)} of ${formatBytes(size)}`;
  $('cancel-all').disabled = pending.length === 0;
  $('download-json').disabled = reports.length === 0;
  $('download-sarif').disabled = reports.length === 0;
  document.body.dataset.scan = total === 0 ? 'idle' : pending.length > 0 ? 'running' : 'done';
}

/** Says something to screen readers and sighted users alike. */
function status(text) {
  $('status-line').textContent = text;
}

/** The finished reports, in scan order. */
function finishedReports() {
  return entries.filter((e) => e.report).map((e) => e.report);
}

/** Offers `text` as a file download; a blob: URL never leaves the browser. */
function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The package on the UI thread, loaded only to render SARIF (never to scan). */
let pkg = null;
async function loadPackage() {
  if (!pkg) {
    pkg = import('./vendor/modelsieve/index.js').then(async (m) => {
      await m.init();
      return m;
    });
  }
  return pkg;
}

function cancelAll() {
  batch.abort(new DOMException('The scan was cancelled.', 'AbortError'));
  batch = new AbortController();
}

function wire() {
  const fileInput = $('file-input');
  const folderInput = $('folder-input');
  $('pick-files').addEventListener('click', () => fileInput.click());
  $('pick-folder').addEventListener('click', () => folderInput.click());
  for (const input of [fileInput, folderInput]) {
    input.addEventListener('change', () => {
      addFiles(filesFromInput(input.files));
      input.value = '';
    });
  }

  // Dropping anywhere on the page scans; without this the browser would open the file instead.
  const zone = $('drop-zone');
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types?.includes('Files')) return;
    e.preventDefault();
    depth++;
    zone.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) zone.classList.remove('dragging');
  });
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    if (!e.dataTransfer) return;
    status('Reading the dropped files\u2026');
    filesFromDrop(e.dataTransfer, {
      onError: (path, err) => status(`Could not read ${sanitize(path)}: ${err?.message ?? err}`),
    }).then(addFiles);
  });

  $('cancel-all').addEventListener('click', cancelAll);
  $('hide-clean').addEventListener('change', (e) => {
    $('results').classList.toggle('hide-clean', e.target.checked);
  });
  $('clear').addEventListener('click', () => {
    cancelAll();
    entries = [];
    $('results').replaceChildren();
    $('run').hidden = true;
    status('');
    refresh();
  });
  $('download-json').addEventListener('click', () => {
    download('modelsieve-report.json', reportJson(finishedReports()), 'application/json');
  });
  $('download-sarif').addEventListener('click', async () => {
    try {
      const m = await loadPackage();
      const sarif = m.toSarif(finishedReports().map(coreReport));
      download('modelsieve-report.sarif', JSON.stringify(sarif, null, 2) + '\n', 'application/sarif+json');
    } catch (e) {
      status(`Could not write SARIF: ${e?.message ?? e}`);
    }
  });
  refresh();
}

wire();
