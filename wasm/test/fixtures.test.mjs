// Every committed fixture (tests/fixtures/expected.tsv) and every file of the conformance corpus
// (../shared/conformance/manifest.tsv): the package's scanBytes, scanBlob and scanStream give
// the report `modelsieve scan --format json` gives (format, verdict, findings; bytes_read
// differs between drivers, as in the core's drivers test).

import assert from 'node:assert/strict';
import { openAsBlob, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { REPO, cliReports, comparable, corpus, couldNotSeekBack, fails, loadPackage } from './helpers.mjs';

const { fixtures, conformance, all } = corpus();
let modelsieve;
let expected;

before(async () => {
  modelsieve = await loadPackage();
  expected = cliReports(all);
});

test('the corpus is there', () => {
  assert.ok(fixtures.length >= 500, `only ${fixtures.length} fixture rows`);
  assert.ok(conformance.length >= 100, `only ${conformance.length} conformance rows (../shared/conformance)`);
  assert.equal(expected.size, new Set(all).size, 'the CLI reported every file once');
});

async function eachFile(drive) {
  let checked = 0;
  for (const path of all) {
    const cli = expected.get(path);
    assert.ok(cli, `no CLI report for ${path}`);
    await drive(path, cli);
    checked += 1;
  }
  assert.equal(checked, all.length);
}

describe('same reports as the CLI', () => {
  test('scanBytes', async () => {
    await eachFile(async (path, cli) => {
      const report = modelsieve.scanBytes(readFileSync(join(REPO, path)), { name: path });
      assert.deepEqual(comparable(report), comparable(cli), path);
      assert.equal(report.size, cli.size, `${path}: size`);
      assert.equal(report.failed, fails(cli), `${path}: failed`);
    });
  });

  test('scanBlob (reads only what the scanner asks for)', async () => {
    await eachFile(async (path, cli) => {
      const blob = await openAsBlob(join(REPO, path));
      const report = await modelsieve.scanBlob(blob, { name: path });
      assert.deepEqual(comparable(report), comparable(cli), path);
      assert.equal(report.size, cli.size, `${path}: size`);
      assert.ok(report.bytes_read <= cli.size, `${path}: read ${report.bytes_read} of ${cli.size} bytes`);
    });
  });

  test('scanStream with the size known', async () => {
    await eachFile(async (path, cli) => {
      const blob = await openAsBlob(join(REPO, path));
      const report = await modelsieve.scanStream(blob.stream(), { name: path, size: blob.size });
      assert.deepEqual(comparable(report), comparable(cli), path);
    });
  });

  test('scanStream without the size (a pipe), from a Node stream', async () => {
    const { createReadStream } = await import('node:fs');
    let diverged = 0;
    await eachFile(async (path, cli) => {
      const report = await modelsieve.scanStream(createReadStream(join(REPO, path)), { name: path });
      assert.equal(report.size, null);
      if (couldNotSeekBack(report) > couldNotSeekBack(cli)) {
        // The documented divergence: a member the central directory places in bytes that had
        // already streamed past. It must never leave the file clean.
        diverged += 1;
        assert.notEqual(report.verdict, 'clean', `${path}: an unreachable member left the file clean`);
        return;
      }
      assert.deepEqual(comparable(report), comparable(cli), path);
    });
    assert.ok(diverged < all.length / 10, `${diverged} streamed reports diverged`);
  });
});
