// The page in real headless Chromium: a real drop of fixture files and a folder, both file
// pickers driven from the keyboard, verdicts and findings against tests/fixtures/expected.tsv,
// the JSON and SARIF downloads, cancel, and screenshots (light, dark, phone) as artifacts.

import { cliPath } from '../../wasm/test/helpers.mjs';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FIXTURES,
  REPO,
  artifact,
  expectedVerdicts,
  launch,
  readResults,
  recordRequests,
  assertOnlyOwnAssets,
  requireBuiltPage,
  startServer,
  waitForScans,
} from './helpers.mjs';

/** Loose files for the drop, by fixture path. */
const LOOSE = [
  'tensorflow/malicious/module_read_file.zip',
  'onnx/benign/add.onnx',
  'pickle/malicious/global_os_system_p0.pkl',
  'containers/invalid/npy_header_not_dict.npy',
];

/** The dropped folder: path inside `model-repo/` → fixture. `.git` must be skipped, `.hidden` not. */
const FOLDER = {
  'config.pkl': 'pickle/benign/numpy_float32_p2.pkl',
  'model.safetensors': 'safetensors/benign/with_metadata.safetensors',
  '.hidden/payload.pkl': 'pickle/malicious/inst_os_system_p0.pkl',
  'weights/model.onnx': 'onnx/benign/add.onnx',
  'weights/evil.pkl': 'pickle/malicious/obj_os_system_p1.pkl',
  '.git/objects/skipped.pkl': 'pickle/malicious/global_os_system_p0.pkl',
};

/** The order the CLI walks the folder in (depth first, names sorted), `.git` left out. */
const FOLDER_ORDER = ['.hidden/payload.pkl', 'config.pkl', 'model.safetensors', 'weights/evil.pkl', 'weights/model.onnx'];

const expected = expectedVerdicts();
let server;
let browser;
let tmp;
let repo;

before(async () => {
  requireBuiltPage();
  tmp = mkdtempSync(join(tmpdir(), 'modelsieve-web-'));
  repo = join(tmp, 'model-repo');
  for (const [inside, fixture] of Object.entries(FOLDER)) {
    const dest = join(repo, inside);
    mkdirSync(join(dest, '..'), { recursive: true });
    cpSync(join(FIXTURES, fixture), dest);
  }
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** The fixture (and so the expected.tsv row) behind a path shown on the page. */
function fixtureOf(shownPath) {
  if (shownPath.startsWith('model-repo/')) return FOLDER[shownPath.slice('model-repo/'.length)];
  return LOOSE.find((f) => f.endsWith('/' + shownPath));
}

/** Checks every shown result against its expected.tsv row: verdict, and evidence tokens. */
function checkAgainstExpected(results) {
  for (const r of results) {
    const row = expected.get(fixtureOf(r.path));
    assert.ok(row, `no expected.tsv row for ${r.path}`);
    assert.equal(r.state, row.verdict, `${r.path}: verdict`);
    assert.match(r.badge, new RegExp(row.verdict, 'i'), `${r.path}: badge says the verdict in words`);
    for (const token of row.evidence) {
      assert.ok(
        r.findings.some((f) => [f.rule, f.message, f.evidence ?? ''].some((s) => s.includes(token))),
        `${r.path}: no finding mentions ${token}`,
      );
    }
    if (row.verdict !== 'clean') {
      const worst = r.findings[0];
      assert.ok(worst, `${r.path}: findings shown`);
      assert.ok(['medium', 'high', 'critical'].includes(worst.severity), `${r.path}: worst finding first`);
    }
  }
}

/**
 * Drops `paths` (files and folders) on `selector` the way the operating system does: Chromium's
 * drag-and-drop input (CDP Input.dispatchDragEvent) with file paths, so the page gets trusted
 * dragenter/dragover/drop events whose DataTransfer holds real files and directory entries.
 */
async function dropPaths(page, selector, paths) {
  const box = await page.locator(selector).boundingBox();
  const cdp = await page.context().newCDPSession(page);
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  const data = { items: [], files: paths, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop']) {
    await cdp.send('Input.dispatchDragEvent', { type, x, y, data });
  }
  await cdp.detach();
}


/**
 * The page's JSON report against `modelsieve scan --format json` over the same files, laid out
 * as they were dropped: the same document, except `bytes_read`, which depends on the driver (the
 * CLI's seeking reads and the page's Blob slices differ in size).
 */
function compareWithCli(doc, shown) {
  const bin = cliPath();
  const dir = join(tmp, 'as-dropped');
  mkdirSync(dir, { recursive: true });
  for (const f of LOOSE) cpSync(join(FIXTURES, f), join(dir, f.split('/').pop()));
  cpSync(repo, join(dir, 'model-repo'), { recursive: true });
  const args = [...new Set(shown.map((p) => p.split('/')[0]))];
  const run = spawnSync(bin, ['scan', '--format', 'json', ...args], { cwd: dir, encoding: 'utf8' });
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  const strip = (d) => ({ ...d, files: d.files.map(({ bytes_read, ...rest }) => rest) });
  assert.deepEqual(strip(doc), strip(JSON.parse(run.stdout)), 'the page and the CLI write the same report');
}

/** Clicks a download button and returns the downloaded text. */
async function downloadText(page, button) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  const path = artifact(download.suggestedFilename());
  await download.saveAs(path);
  return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

test('a real drop of fixture files and a folder shows the right verdicts and findings', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  const requests = recordRequests(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url);
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await page.evaluate(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
    window.__drops = [];
    document.addEventListener('drop', (e) => window.__drops.push({ trusted: e.isTrusted, files: e.dataTransfer.files.length }), true);
  });

  await dropPaths(page, '#drop-zone', [...LOOSE.map((f) => join(FIXTURES, f)), repo]);
  await waitForScans(page);

  const drops = await page.evaluate(() => window.__drops);
  assert.deepEqual(drops, [{ trusted: true, files: LOOSE.length + 1 }], 'one trusted drop event with the files and the folder');

  const results = await readResults(page);
  const shown = results.map((r) => r.path);
  const loose = LOOSE.map((f) => f.split('/').pop());
  // one list in the CLI's order: sorted by path component by component, .git left out
  const want = [...loose, ...FOLDER_ORDER.map((p) => 'model-repo/' + p)].sort((a, b) =>
    a.split('/').join('\0') < b.split('/').join('\0') ? -1 : 1,
  );
  assert.deepEqual(shown, want);
  checkAgainstExpected(results);

  // findings carry severity, rule, place (member path, offset), message; evidence folds open
  const tf = results.find((r) => r.path === 'module_read_file.zip');
  const readFile = tf.findings.find((f) => f.evidence?.includes('ReadFile') || f.message.includes('ReadFile'));
  assert.ok(readFile, 'the ReadFile finding is listed');
  assert.match(readFile.place, /saved_model\.pb/, 'the member path inside the zip is shown');
  assert.match(readFile.place, /offset \d+ \(0x[0-9a-f]+\)/);
  const evidence = page.locator('#results > li[data-path="module_read_file.zip"] details.evidence').first();
  await evidence.locator('summary').click();
  assert.equal(await evidence.evaluate((d) => d.open), true);

  // summary counts
  const counts = await page.evaluate(() =>
    Object.fromEntries(['dangerous', 'suspicious', 'clean', 'other'].map((k) => [k, Number(document.getElementById(`count-${k}`).textContent)])),
  );
  const byVerdict = (v) => results.filter((r) => r.state === v).length;
  assert.deepEqual(counts, { dangerous: byVerdict('dangerous'), suspicious: byVerdict('suspicious'), clean: byVerdict('clean'), other: 0 });
  assert.ok(counts.dangerous >= 4 && counts.suspicious === 1 && counts.clean >= 4);

  // the JSON download is the schema-v1 document, in the CLI's shape
  const json = await downloadText(page, '#download-json');
  assert.equal(json.name, 'modelsieve-report.json');
  const doc = JSON.parse(json.text);
  assert.deepEqual(Object.keys(doc), ['schema_version', 'files']);
  assert.equal(doc.schema_version, 1);
  assert.deepEqual(doc.files.map((f) => f.path), shown);
  for (const file of doc.files) {
    assert.deepEqual(Object.keys(file), ['path', 'format', 'verdict', 'bytes_read', 'size', 'findings']);
    assert.equal(file.verdict, expected.get(fixtureOf(file.path)).verdict);
    for (const f of file.findings) {
      assert.deepEqual(Object.keys(f), ['rule', 'severity', 'member', 'offset', 'message', 'evidence']);
    }
  }
  assert.ok(json.text.endsWith('}\n') && json.text.includes('\n  "files": ['), 'pretty-printed like the CLI');
  compareWithCli(doc, shown);

  // SARIF from the package's toSarif
  const sarif = await downloadText(page, '#download-sarif');
  assert.equal(sarif.name, 'modelsieve-report.sarif');
  const log = JSON.parse(sarif.text);
  assert.equal(log.version, '2.1.0');
  const sarifResults = log.runs.flatMap((r) => r.results ?? []);
  const ruleIds = new Set(sarifResults.map((r) => r.ruleId));
  assert.ok(ruleIds.has('tf.dangerous-op') && ruleIds.has('pickle.dangerous-global'), [...ruleIds].join(','));

  // downloads are blob: URLs made in the page: nothing but the page's own assets was requested
  assertOnlyOwnAssets(assert, requests, server.origin);
  assert.deepEqual(errors, []);
  // the page itself lives within its policy: nothing of its own was blocked
  assert.deepEqual(await page.evaluate(() => window.__violations), []);
  assert.deepEqual(consoleErrors, []);

  await page.screenshot({ path: artifact('results-desktop-light.png'), fullPage: true });
  await context.close();
});

test('the file pickers work from the keyboard (Enter and Space), folders included', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  // Playwright turns file-chooser interception on asynchronously when the first listener is
  // added; adding one up front (and a round trip) makes sure the key press's dialog is caught.
  page.on('filechooser', () => {});
  await page.evaluate(() => 0);

  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'pick-files', 'first Tab stop is the picker');
  const [files] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Enter')]);
  assert.equal(files.isMultiple(), true);
  await files.setFiles([
    join(FIXTURES, 'pickle/malicious/indirect_partial_os_system_p2.pkl'),
    join(FIXTURES, 'safetensors/benign/f32_matrix.safetensors'),
  ]);
  await waitForScans(page);
  let results = await readResults(page);
  assert.deepEqual(
    results.map((r) => [r.path, r.state]),
    [
      ['f32_matrix.safetensors', 'clean'],
      ['indirect_partial_os_system_p2.pkl', 'dangerous'],
    ],
  );
  const partial = results[1].findings.map((f) => `${f.rule} ${f.message} ${f.evidence}`).join('\n');
  assert.match(partial, /functools\.partial/);
  assert.match(partial, /os\.system/);

  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'pick-folder');
  const [folder] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
  await folder.setFiles(repo);
  await page.waitForFunction(() => document.querySelectorAll('#results > li').length === 7);
  await waitForScans(page);
  results = await readResults(page);
  assert.deepEqual(
    results.slice(2).map((r) => r.path),
    FOLDER_ORDER.map((p) => 'model-repo/' + p),
    'the folder picker gives paths under the folder, in the CLI order, without .git',
  );
  checkAgainstExpected(results.slice(2));

  // the result details are reachable and operable by keyboard too
  const summary = page.locator('#results > li[data-state="dangerous"] details.findings > summary').first();
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), false, 'Enter folds the findings');
  await context.close();
});

test('Cancel all stops every scan of the batch; cancelled files stay out of the report', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  // many files so that most are still queued when Cancel all is pressed
  const many = join(tmp, 'many');
  mkdirSync(many, { recursive: true });
  for (let i = 0; i < 60; i++) writeFileSync(join(many, `f${String(i).padStart(2, '0')}.pkl`), readFileSync(join(FIXTURES, 'pickle/benign/numpy_float32_p2.pkl')));
  await page.setInputFiles('#folder-input', many);
  await page.click('#cancel-all');
  await waitForScans(page);
  const results = await readResults(page);
  assert.equal(results.length, 60);
  const cancelled = results.filter((r) => r.state === 'cancelled').length;
  assert.ok(cancelled > 0, 'some scans were cancelled');
  assert.ok(results.every((r) => r.state === 'cancelled' || r.state === 'clean'));
  assert.equal(Number(await page.textContent('#count-other')), cancelled);
  // the report holds only the files that were scanned
  if (cancelled < 60) {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    const doc = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(doc.files.length, 60 - cancelled);
  } else {
    assert.equal(await page.isDisabled('#download-json'), true);
  }
  await context.close();
});

/**
 * A gzip of a pickle holding 2 GB of zeros: about 9 MB on disk that the scanner must inflate
 * whole (a compressed stream cannot be skipped), so its scan runs for a while, reading as it goes.
 */
async function writeLongScan(path) {
  const n = 2e9;
  const head = Buffer.alloc(11);
  head.set([0x80, 4, 0x8e]); // PROTO 4, BINBYTES8
  head.writeBigUInt64LE(BigInt(n), 3);
  const gz = createGzip({ level: 1 });
  const out = createWriteStream(path);
  const finished = new Promise((ok, fail) => out.on('finish', ok).on('error', fail));
  gz.pipe(out);
  gz.write(head);
  const zeros = Buffer.alloc(16 << 20);
  for (let left = n; left > 0; left -= zeros.length) {
    if (!gz.write(zeros.subarray(0, Math.min(left, zeros.length)))) await new Promise((ok) => gz.once('drain', ok));
  }
  gz.end(Buffer.from('.')); // STOP
  await finished;
}

test('a running scan shows its progress and stops when cancelled', async () => {
  const path = join(tmp, 'long-scan.pkl.gz');
  await writeLongScan(path);
  const size = statSync(path).size;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(server.url);
  await page.setInputFiles('#file-input', path);
  const row = page.locator('#results > li').first();
  // wait until some, not all, of the file has been read
  await page.waitForFunction(
    (size) => {
      const li = document.querySelector('#results > li');
      const read = Number(li?.dataset.bytesRead);
      return li?.dataset.state === 'scanning' && read > 0 && read < size;
    },
    size,
    { polling: 10 },
  );
  const bar = await row.locator('progress').evaluate((p) => ({ value: p.value, max: p.max }));
  assert.equal(bar.max, size);
  assert.ok(bar.value > 0 && bar.value < size, `per-file progress ${bar.value} of ${bar.max}`);
  assert.match(await row.locator('.progress-text').textContent(), /^Scanning: read .+ of 8\.\d+ MB$/);
  const overall = await page.evaluate(() => document.getElementById('overall-progress').value);
  assert.ok(overall > 0 && overall < 1, `overall progress ${overall}`);

  const cancelledAt = Date.now();
  await row.getByRole('button', { name: /^Cancel scanning/ }).click();
  await waitForScans(page, 5000);
  assert.ok(Date.now() - cancelledAt < 2000, 'the cancel took effect promptly');
  const [result] = await readResults(page);
  assert.equal(result.state, 'cancelled');
  assert.ok(result.bytesRead < size);
  assert.match(result.badge, /Cancelled/);
  await context.close();
});

test('readable in dark mode and on a phone (screenshots as artifacts)', async () => {
  for (const [name, options] of [
    ['results-desktop-dark.png', { colorScheme: 'dark', viewport: { width: 1100, height: 900 } }],
    ['results-phone-light.png', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
    ['results-phone-dark.png', { colorScheme: 'dark', viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }],
  ]) {
    const context = await browser.newContext(options);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.setInputFiles('#file-input', LOOSE.map((f) => join(FIXTURES, f)));
    await waitForScans(page);
    // nothing may overflow sideways on a narrow screen
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: page scrolls sideways by ${overflow}px`);
    if (options.colorScheme === 'dark') {
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, 'rgb(15, 18, 22)', 'dark background in dark mode');
    }
    await page.screenshot({ path: artifact(name), fullPage: true });
    await context.close();
  }
});
