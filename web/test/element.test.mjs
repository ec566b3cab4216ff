// <model-sieve> against web/serve.mjs (which honours Range): the badge, the findings, the
// `scan-complete` event and its report, in a worker and inline, a 4 GiB hosted checkpoint read
// by a few ranges, an unreachable file, and the example page with the repository's samples.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FIXTURES,
  REPO,
  WEB,
  artifact,
  assertOnlyOwnAssets,
  launch,
  recordRequests,
  requireBuiltPage,
  startServer,
  writeSparseCheckpoint,
} from './helpers.mjs';

let tmp;
let server;
let browser;
let bigSize;

before(async () => {
  requireBuiltPage();
  tmp = mkdtempSync(join(tmpdir(), 'modelsieve-element-'));
  bigSize = await writeSparseCheckpoint(join(tmp, 'big-payload.pt'), { storageBytes: 4 * 1024 ** 3, payload: true });
  server = await startServer([
    '--mount', `/samples=${join(REPO, 'samples')}`,
    '--mount', `/fixtures=${FIXTURES}`,
    '--mount', `/hosted=${tmp}`,
  ]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const ROOTS = () => ({ '/': WEB, '/samples/': join(REPO, 'samples'), '/fixtures/': FIXTURES, '/hosted/': tmp });

/**
 * Adds `<model-sieve>` with `attrs` to the page and resolves to what its `scan-complete` (or
 * `scan-error`) event carried, plus what the element shows.
 */
function addElement(page, attrs) {
  return page.evaluate(
    (attrs) =>
      new Promise((resolve) => {
        const el = document.createElement('model-sieve');
        for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
        const shown = () => ({
          state: el.getAttribute('state'),
          verdict: el.getAttribute('verdict'),
          badge: el.shadowRoot.querySelector('.badge')?.textContent ?? '',
          meta: el.shadowRoot.querySelector('.meta')?.textContent ?? '',
          rules: [...el.shadowRoot.querySelectorAll('.finding')].map((f) => f.dataset.rule),
        });
        document.body.addEventListener('scan-complete', function on(e) {
          if (e.target !== el) return;
          document.body.removeEventListener('scan-complete', on);
          resolve({ event: 'scan-complete', bubbled: true, composed: e.composed, report: e.detail, sameAsProperty: el.report === e.detail, ...shown() });
        });
        el.addEventListener('scan-error', (e) => resolve({ event: 'scan-error', message: e.detail.error.message, ...shown() }));
        document.body.append(el);
      }),
    attrs,
  );
}

test('<model-sieve> scans a hosted file by Range requests and fires scan-complete with the report', async () => {
  const context = await browser.newContext();
  const requests = recordRequests(context);
  const page = await context.newPage();
  await page.goto(`${server.url}model-sieve.html`);
  const served = server.log.length;

  const got = await addElement(page, { src: '/fixtures/tensorflow/malicious/module_read_file.zip' });
  assert.equal(got.event, 'scan-complete');
  assert.equal(got.composed, true);
  assert.equal(got.sameAsProperty, true, 'el.report is the event detail');
  assert.equal(got.report.path, '/fixtures/tensorflow/malicious/module_read_file.zip');
  assert.equal(got.report.verdict, 'dangerous');
  assert.equal(got.report.format, 'zip');
  assert.equal(got.report.failed, true, 'failed: a finding at or above fail-on (medium)');
  assert.ok(got.report.findings.some((f) => f.rule === 'tf.dangerous-op' && f.evidence === 'ReadFile'));
  assert.equal(got.state, 'done');
  assert.equal(got.verdict, 'dangerous', 'the verdict is reflected as an attribute');
  assert.match(got.badge, /Dangerous/);
  assert.ok(got.rules.includes('tf.dangerous-op'), 'findings listed under the badge');

  // it was read with Range requests, answered 206, and the scan ran in a worker
  const hits = server.log.slice(served).filter((e) => e.path === '/fixtures/tensorflow/malicious/module_read_file.zip');
  assert.ok(hits.length >= 1);
  for (const h of hits) {
    assert.match(h.range ?? '', /^bytes=\d+-\d+$/);
    assert.equal(h.status, 206);
  }
  assert.ok(page.workers().length >= 1, 'scanned in a worker');

  // keyboard: the badge is a disclosure
  const summary = page.locator('model-sieve[src$="module_read_file.zip"]').locator('summary[part=summary]');
  await summary.focus();
  await page.keyboard.press('Enter');
  assert.equal(await summary.evaluate((s) => s.parentElement.open), true);

  const clean = await addElement(page, { src: '/fixtures/onnx/benign/add.onnx', name: 'add.onnx', 'fail-on': 'low' });
  assert.equal(clean.report.verdict, 'clean');
  assert.equal(clean.report.path, 'add.onnx', 'name= sets the report path');
  assert.equal(clean.report.failed, false);
  assert.match(clean.badge, /Clean/);

  assertOnlyOwnAssets(assert, requests, server.origin, ROOTS());
  await page.screenshot({ path: artifact('model-sieve-example.png'), fullPage: true });
  await context.close();
});

test('<model-sieve> judges a hosted 4 GiB checkpoint from a few ranges, in a worker and inline', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}model-sieve.html`);
  for (const mode of ['worker', 'inline']) {
    const served = server.log.length;
    const got = await addElement(page, { src: '/hosted/big-payload.pt', mode });
    assert.equal(got.event, 'scan-complete', mode);
    assert.equal(got.report.verdict, 'dangerous');
    assert.equal(got.report.format, 'pytorch-zip');
    assert.equal(got.report.size, bigSize);
    assert.ok(got.report.findings.some((f) => f.evidence === 'posix.system' && f.member === 'archive/data.pkl'));
    assert.ok(got.report.bytes_read < 1_000_000, `${mode}: bytes_read ${got.report.bytes_read}`);
    const hits = server.log.slice(served).filter((e) => e.path === '/hosted/big-payload.pt');
    const sent = hits.reduce((sum, e) => sum + e.sentBytes, 0);
    assert.ok(hits.every((e) => e.status === 206), 'only ranges were served');
    assert.ok(sent < 20_000_000, `${mode}: the server sent ${sent} bytes of ${bigSize}`);
  }
  await context.close();
});

test('<model-sieve> reports a file it cannot fetch with scan-error', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}model-sieve.html`);
  const got = await addElement(page, { src: '/fixtures/no-such-file.bin' });
  assert.equal(got.event, 'scan-error');
  assert.match(got.message, /404/);
  assert.equal(got.state, 'error');
  assert.equal(got.verdict, null);
  await context.close();
});

test('the example page scans the repository samples', async () => {
  const context = await browser.newContext({ colorScheme: 'dark' });
  const page = await context.newPage();
  await page.goto(`${server.url}model-sieve.html`);
  await page.waitForFunction(() => [...document.querySelectorAll('model-sieve')].every((el) => el.getAttribute('state') === 'done'));
  const verdicts = await page.$$eval('#example-files model-sieve', (els) => els.map((el) => [el.getAttribute('src'), el.getAttribute('verdict')]));
  // the CLI's verdicts for the same files (`modelsieve scan samples/`)
  assert.deepEqual(verdicts, [
    ['samples/pytorch_model.bin', 'dangerous'],
    ['samples/torch_state_dict.pt', 'clean'],
    ['samples/tokenizer_state.pkl', 'suspicious'],
    ['samples/random_forest.pkl', 'clean'],
    ['samples/nested_archive.tar.gz', 'dangerous'],
    ['samples/embeddings.npy', 'dangerous'],
  ]);
  assert.equal(await page.locator('#event-log li').count(), 6);
  await page.screenshot({ path: artifact('model-sieve-example-dark.png'), fullPage: true });
  await context.close();
});
