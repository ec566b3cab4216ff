// The package's API: options (policy, failOn, onProgress, signal), the Scanner class, toSarif,
// rules and version against the CLI, a 20 GiB checkpoint judged from a few reads, the type
// declarations, and the module's portability (nothing Node-only imported at the top level).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  PKG_WASM,
  REPO,
  WASM_DIR,
  cliReports,
  comparable,
  corpus,
  fileBlob,
  loadPackage,
  runCli,
} from './helpers.mjs';
import { writeSparseTorchZip } from './torchzip.mjs';

const EVIL = 'tests/fixtures/pickle/malicious/broken_no_stop_after_payload.pkl';
const TORCH = 'samples/torch_state_dict.pt';
const GIB = 2 ** 30;

let modelsieve;
let scratch;

before(async () => {
  modelsieve = await loadPackage();
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-api-'));
});

after(() => rmSync(scratch, { recursive: true, force: true }));

const bytesOf = (path) => readFileSync(join(REPO, path));

/** A stream that yields `chunks` and then never ends (a stalled download). */
function stalledStream(chunks) {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
  });
}

describe('options', () => {
  test('failOn sets report.failed like --fail-on sets the exit code', () => {
    const bytes = bytesOf(EVIL);
    assert.equal(modelsieve.scanBytes(bytes).failed, true);
    assert.equal(modelsieve.scanBytes(bytes, { failOn: 'critical' }).failed, true);
    for (const [threshold, status] of [
      ['critical', 1],
      ['info', 1],
    ]) {
      assert.equal(runCli(['scan', '--fail-on', threshold, EVIL]).status, status);
    }
    const clean = bytesOf(TORCH);
    assert.equal(modelsieve.scanBytes(clean).failed, false);
    assert.equal(modelsieve.scanBytes(clean, { failOn: 'info' }).failed, false);
    // A file whose worst finding is low: failed only from failOn 'low' down, as the CLI's exit.
    const { all } = corpus();
    const reports = cliReports(all);
    const lowOnly = [...reports.values()].find(
      (r) => r.findings.length > 0 && r.findings.every((f) => f.severity === 'low'),
    );
    assert.ok(lowOnly, 'the corpus has a file whose findings are all low');
    const low = bytesOf(lowOnly.path);
    assert.equal(modelsieve.scanBytes(low).failed, false);
    assert.equal(modelsieve.scanBytes(low, { failOn: 'low' }).failed, true);
    assert.equal(runCli(['scan', '--fail-on', 'low', lowOnly.path]).status, 1);
    assert.equal(runCli(['scan', '--fail-on', 'medium', lowOnly.path]).status, 0);
    assert.throws(() => modelsieve.scanBytes(low, { failOn: 'severe' }), /failOn must be one of/);
  });

  test('policy (object or JSON text) gives what --policy gives', () => {
    const policy = { deny: [{ path: 'collections.OrderedDict', severity: 'high', reason: 'test' }] };
    const file = join(scratch, 'policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const cli = cliReports([TORCH], ['--policy', file]).get(TORCH);
    assert.equal(cli.verdict, 'dangerous');
    for (const given of [policy, JSON.stringify(policy)]) {
      const report = modelsieve.scanBytes(bytesOf(TORCH), { name: TORCH, policy: given });
      assert.deepEqual(comparable(report), comparable(cli));
    }
    const regraded = modelsieve.scanBytes(bytesOf(EVIL), {
      policy: { severity: { 'pickle.dangerous-global': 'low', 'pickle.malformed': 'info' } },
    });
    assert.equal(regraded.verdict, 'clean');
    assert.ok(regraded.findings.some((f) => f.rule === 'pickle.dangerous-global' && f.severity === 'low'));
    assert.throws(() => modelsieve.scanBytes(bytesOf(TORCH), { policy: { nonsense: 1 } }), /invalid policy/);
    assert.throws(() => modelsieve.scanBytes(bytesOf(TORCH), { policy: '{' }), /invalid policy/);
  });

  test('onProgress reports increasing bytesRead up to what the scan read', async () => {
    const path = join(scratch, 'progress.pt');
    const size = await writeSparseTorchZip(path, { numel: 3 * 2 ** 20 });
    for (const scan of [
      async (options) => modelsieve.scanBlob(await openAsBlob(path), options),
      async (options) => {
        const blob = await openAsBlob(path);
        return modelsieve.scanStream(blob.stream(), { ...options, size: blob.size });
      },
    ]) {
      const seen = [];
      const report = await scan({ onProgress: (p) => seen.push(p) });
      assert.ok(seen.length >= 2, `${seen.length} progress calls`);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i].bytesRead > seen[i - 1].bytesRead);
      assert.ok(seen.every((p) => p.size === size));
      assert.ok(seen.at(-1).bytesRead >= report.bytes_read);
      assert.ok(seen.at(-1).bytesRead <= size);
    }
    const bytes = bytesOf(TORCH);
    const seen = [];
    modelsieve.scanBytes(bytes, { onProgress: (p) => seen.push(p) });
    assert.deepEqual(seen, [{ bytesRead: bytes.length, size: bytes.length }]);
  });

  test('an AbortSignal aborts with its reason', async () => {
    const controller = new AbortController();
    const stream = stalledStream([bytesOf(EVIL).subarray(0, 10)]);
    const pending = modelsieve.scanStream(stream, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(pending, (error) => error.name === 'AbortError' && error instanceof DOMException);

    const reason = new Error('stop now');
    const early = new AbortController();
    early.abort(reason);
    await assert.rejects(modelsieve.scanBlob(new Blob([bytesOf(EVIL)]), { signal: early.signal }), (e) => e === reason);
    assert.throws(() => modelsieve.scanBytes(bytesOf(EVIL), { signal: early.signal }), (e) => e === reason);

    // Aborted between two reads of a seeking scan.
    const path = join(scratch, 'abort.pt');
    await writeSparseTorchZip(path, { numel: 2 ** 20 });
    const midway = new AbortController();
    const blob = await openAsBlob(path);
    const seen = [];
    await assert.rejects(
      modelsieve.scanBlob(blob, {
        signal: midway.signal,
        onProgress: (p) => {
          seen.push(p);
          midway.abort();
        },
      }),
      { name: 'AbortError' },
    );
    assert.equal(seen.length, 1);
  });
});

describe('scanBlob on a 20 GiB checkpoint', () => {
  test('reads a few KiB, like the CLI', async () => {
    const path = join(scratch, 'big.pt');
    const size = await writeSparseTorchZip(path, { numel: 5 * GIB });
    assert.ok(size > 20 * GIB);
    // Not fs.openAsBlob: Node 20 reports its size modulo 2^32 for files this big.
    const blob = await fileBlob(path, 'big.pt');
    let report;
    try {
      report = await modelsieve.scanBlob(blob);
    } finally {
      await blob.close();
    }
    assert.equal(report.path, 'big.pt');
    assert.equal(report.format, 'pytorch-zip');
    assert.equal(report.verdict, 'clean');
    assert.deepEqual(report.findings, []);
    assert.equal(report.size, size);
    const read = blob.reads.reduce((total, [, n]) => total + n, 0);
    assert.equal(read, report.bytes_read);
    assert.ok(read < 256 * 1024, `read ${read} bytes in ${blob.reads.length} slices`);
    const cli = runCli(['scan', '--format', 'json', path]);
    assert.deepEqual(comparable(report), { ...comparable(JSON.parse(cli.stdout).files[0]), path: 'big.pt' });
  });
});

describe('Scanner', () => {
  test('want/feed/finish drive a scan by hand', () => {
    const bytes = bytesOf(TORCH);
    const scanner = new modelsieve.Scanner({ size: bytes.length, name: 'x.pt' });
    let reads = 0;
    for (let want = scanner.want(); want !== undefined; want = scanner.want()) {
      assert.ok(Number.isInteger(want.offset) && want.len > 0);
      scanner.feed(want.offset, bytes.subarray(want.offset, want.offset + want.len));
      reads += 1;
      assert.ok(reads < 100);
    }
    const report = scanner.finish();
    assert.equal(report.path, 'x.pt');
    assert.equal(report.format, 'pytorch-zip');
    assert.equal(report.verdict, 'clean');
    assert.throws(() => scanner.finish(), /finish\(\) called twice/);
    assert.throws(() => scanner.feed(0, bytes), /after finish/);
    assert.equal(scanner.want(), undefined);
    scanner.free();
    assert.throws(() => new modelsieve.Scanner({ size: -1 }), /size must be/);
    const s = new modelsieve.Scanner();
    assert.throws(() => s.feed(0.5, bytes), /offset must be/);
    s.free();
  });

  test('a stream of unknown size fed in tiny pieces gives the whole-file report', () => {
    const bytes = bytesOf(EVIL);
    const scanner = new modelsieve.Scanner({});
    for (let i = 0; i < bytes.length; i += 3) scanner.feed(i, bytes.subarray(i, i + 3));
    const report = scanner.finish();
    scanner.free();
    assert.deepEqual(report.findings, modelsieve.scanBytes(bytes).findings);
    assert.equal(report.size, null);
  });
});

describe('the CLI and the package share', () => {
  test('toSarif: the same SARIF as --format sarif, but for the working-directory base', () => {
    const paths = [EVIL, TORCH, 'tests/fixtures/pickle/malicious/broken_frame_past_eof_after_payload.pkl'];
    const cli = JSON.parse(runCli(['scan', '--format', 'sarif', '--', ...paths]).stdout);
    const reports = paths.map((p) => modelsieve.scanBytes(bytesOf(p), { name: p }));
    const sarif = modelsieve.toSarif(reports);
    // The CLI knows its working directory; a browser does not.
    delete cli.runs[0].originalUriBaseIds;
    assert.deepEqual(sarif, cli);
    assert.deepEqual(modelsieve.toSarif({ schema_version: 1, files: reports }), sarif);
    assert.equal(modelsieve.toSarif(reports[0]).runs[0].results.length, reports[0].findings.length);
    const policy = { severity: { 'pickle.dangerous-global': 'low' } };
    const file = join(scratch, 'sarif-policy.json');
    writeFileSync(file, JSON.stringify(policy));
    const cliPolicy = JSON.parse(runCli(['scan', '--format', 'sarif', '--policy', file, EVIL]).stdout);
    delete cliPolicy.runs[0].originalUriBaseIds;
    const withPolicy = modelsieve.scanBytes(bytesOf(EVIL), { name: EVIL, policy });
    assert.deepEqual(modelsieve.toSarif([withPolicy], { policy }), cliPolicy);
    assert.throws(() => modelsieve.toSarif([{ path: 'x' }]), /not a report document/);
  });

  test('rules() is `modelsieve rules`', () => {
    const table = runCli(['rules'])
      .stdout.trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/\s+/).slice(0, 2));
    const rules = modelsieve.rules();
    assert.deepEqual(
      rules.map((r) => [r.id, r.severity]),
      table,
    );
    assert.ok(rules.every((r) => r.title && r.summary));
  });

  test('version() is `modelsieve --version`', () => {
    assert.equal(`modelsieve ${modelsieve.version()}`, runCli(['--version']).stdout.trim());
    const pkg = JSON.parse(readFileSync(join(WASM_DIR, 'package.json'), 'utf8'));
    assert.equal(pkg.version, modelsieve.version());
  });
});

describe('packaging', () => {
  test('index.d.ts names every rule id and format', () => {
    const dts = readFileSync(join(WASM_DIR, 'index.d.ts'), 'utf8');
    const union = (name) => {
      const match = new RegExp(`export type ${name} =([^;]*);`).exec(dts);
      assert.ok(match, `type ${name}`);
      return [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]).sort();
    };
    assert.deepEqual(union('RuleId'), modelsieve.rules().map((r) => r.id).sort());
    const reportRs = readFileSync(join(REPO, 'core', 'src', 'report.rs'), 'utf8');
    const formatEnum = reportRs.slice(reportRs.indexOf('pub enum Format'), reportRs.indexOf('impl Format'));
    const formats = [...formatEnum.matchAll(/#\[serde\(rename = "([^"]+)"\)\]/g)].map((m) => m[1]).sort();
    assert.ok(formats.length > 20);
    assert.deepEqual(union('Format'), formats);
    assert.deepEqual(union('Severity'), ['critical', 'high', 'info', 'low', 'medium']);
  });

  test('nothing Node-specific is imported at the top level (browsers, Workers)', () => {
    for (const file of ['index.js', 'pkg/modelsieve_wasm.js']) {
      const source = readFileSync(join(WASM_DIR, file), 'utf8');
      const staticImports = [...source.matchAll(/^\s*import\s[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
      assert.deepEqual(
        staticImports.filter((s) => !s.startsWith('./')),
        [],
        `${file} imports only relative modules`,
      );
      assert.doesNotMatch(source, /\brequire\s*\(/, `${file} has no require()`);
      assert.doesNotMatch(source, /^\s*import\s+['"]node:/m);
    }
  });

  test('initSync with a compiled WebAssembly.Module, as workerd provides it', () => {
    // A fresh process: the module reads no file itself, it is handed the compiled module.
    const script = `
      import { readFileSync } from 'node:fs';
      const modelsieve = await import(process.argv[1]);
      const module = new WebAssembly.Module(readFileSync(process.argv[2]));
      let before;
      try { modelsieve.scanBytes(new Uint8Array(1)); } catch (e) { before = e.message; }
      modelsieve.initSync(module);
      const report = modelsieve.scanBytes(readFileSync(process.argv[3]));
      console.log(JSON.stringify({ before, verdict: report.verdict }));
    `;
    const result = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, join(WASM_DIR, 'index.js'), PKG_WASM, join(REPO, EVIL)],
      { encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.match(out.before, /call `await init\(\)`/);
    assert.equal(out.verdict, 'dangerous');
  });
});
