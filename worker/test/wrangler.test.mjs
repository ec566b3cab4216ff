// worker/wrangler.toml as Cloudflare's own tool reads it: `wrangler deploy --dry-run` bundles the
// worker with the package's .wasm, and `wrangler dev` (its own workerd) serves /scan with the
// CLI's verdicts. wrangler 4.86.0 is the last release that runs on Node 20 (../shared/TOOLCHAIN.md).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { comparable, PKG_WASM, runCli } from '../../wasm/test/helpers.mjs';
import { freePort, REPO, skip as workerSkip } from './helpers.mjs';

const require = createRequire(join(REPO, 'package.json'));
let wrangler = null;
try {
  wrangler = join(require.resolve('wrangler/package.json'), '..', 'bin', 'wrangler.js');
} catch {
  wrangler = null;
}
const skip = workerSkip || (wrangler === null ? 'npm package wrangler not installed (npm ci at the repository root)' : false);

/** Keeps wrangler off the network: no metrics, no error reports, no request.cf lookup. */
const OFFLINE = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CI: '1',
};

test('wrangler deploy --dry-run accepts wrangler.toml and bundles the package .wasm', { skip }, () => {
  const outdir = mkdtempSync(join(tmpdir(), 'modelsieve-wrangler-'));
  try {
    const result = spawnSync(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outdir], {
      cwd: join(REPO, 'worker'),
      env: OFFLINE,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(result.status, 0, `wrangler failed:\n${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /--dry-run: exiting now/);
    for (const name of ['ORIGIN', 'FAIL_ON', 'MAX_BYTES', 'POLICY', 'CORS_ORIGIN']) {
      assert.match(result.stdout, new RegExp(`env\\.${name} `), `binding ${name} missing`);
    }
    const files = readdirSync(outdir);
    assert.ok(files.includes('index.js'), `no index.js in ${files}`);
    const wasm = files.filter((f) => f.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `expected one .wasm module, got ${files}`);
    assert.deepEqual(readFileSync(join(outdir, wasm[0])), readFileSync(PKG_WASM), 'the bundled .wasm is not the package build');
    // The Node-only file access of the package must be aliased away, not bundled.
    assert.doesNotMatch(readFileSync(join(outdir, 'index.js'), 'utf8'), /from\s+["']node:fs\/promises["']/);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

test('wrangler dev serves GET / and POST /scan with the CLI verdict', { skip, timeout: 300_000 }, async () => {
  // The CLI's reports come first: building the CLI while wrangler dev watches the tree would make
  // it reload mid-test.
  const inputs = [
    'tests/fixtures/containers/malicious/joblib_gzip_os_system.joblib',
    'tests/fixtures/safetensors/benign/' + readdirSync(join(REPO, 'tests/fixtures/safetensors/benign'))[0],
  ].map((path) => {
    const bytes = readFileSync(join(REPO, path));
    const cli = JSON.parse(runCli(['scan', '--format', 'json', '-'], { input: bytes }).stdout).files[0];
    return { path, bytes, cli };
  });
  assert.deepEqual(
    inputs.map(({ cli }) => cli.verdict),
    ['dangerous', 'clean'],
  );
  const port = await freePort();
  // A process group of its own, so that the workerd wrangler starts is stopped with it.
  const child = spawn(
    process.execPath,
    [wrangler, 'dev', '--ip', '127.0.0.1', '--port', String(port), '--var', 'FAIL_ON:high'],
    { cwd: join(REPO, 'worker'), env: OFFLINE, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 60_000;
    let health;
    for (;;) {
      try {
        health = await (await fetch(`${base}/`)).json();
        break;
      } catch {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`wrangler dev did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    assert.equal(health.status, 'ok');
    assert.equal(health.failOn, 'high', 'the --var override did not reach the worker');

    for (const { path, bytes, cli } of inputs) {
      const response = await fetch(`${base}/scan?name=${encodeURIComponent(path)}`, { method: 'POST', body: bytes });
      const report = await response.json();
      const got = report.files[0];
      assert.deepEqual(
        { ...comparable(got), path: null },
        { ...comparable(cli), path: null },
        `${path}: wrangler dev and the CLI disagree`,
      );
    }
  } finally {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
  }
});
