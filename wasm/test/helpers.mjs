// Shared by the wasm/test/*.test.mjs files: where things are, the CLI to compare with, and the
// corpus every driver must agree on. Needs the package built (scripts/build-wasm.sh) and the
// CLI built (built here with cargo when target/release/modelsieve is missing).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WASM_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO = join(WASM_DIR, '..');
export const FIXTURES = join(REPO, 'tests', 'fixtures');
export const CONFORMANCE = join(REPO, '..', 'shared', 'conformance');
export const PKG_WASM = join(WASM_DIR, 'pkg', 'modelsieve_wasm_bg.wasm');

/** The package, initialised. Fails with the command to run when it has not been built. */
export async function loadPackage() {
  if (!existsSync(PKG_WASM)) {
    throw new Error(`${relative(REPO, PKG_WASM)} is missing: run scripts/build-wasm.sh first`);
  }
  const modelsieve = await import('../index.js');
  await modelsieve.init();
  return modelsieve;
}

let cli = null;

/**
 * The release CLI: $MODELSIEVE_CLI, else target/release/modelsieve, brought up to date with the
 * sources first (a no-op build when it is), so that a stale binary never stands in for the CLI.
 */
export function cliPath() {
  if (cli !== null) return cli;
  const candidate = process.env.MODELSIEVE_CLI ?? join(REPO, 'target', 'release', 'modelsieve');
  if (!process.env.MODELSIEVE_CLI) {
    const build = spawnSync('cargo', ['build', '--release', '--locked', '-p', 'modelsieve-cli'], {
      cwd: REPO,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (build.status !== 0 || !existsSync(candidate)) throw new Error('cannot build the modelsieve CLI');
  }
  cli = candidate;
  return cli;
}

/** Runs the CLI in the repository root; returns { status, stdout, stderr }. */
export function runCli(args, { input } = {}) {
  const result = spawnSync(cliPath(), args, {
    cwd: REPO,
    input,
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return result;
}

/** `modelsieve scan --format json` over `paths` (relative to the repository root), as reports
 *  keyed by path. */
export function cliReports(paths, extraArgs = []) {
  const result = runCli(['scan', '--format', 'json', ...extraArgs, '--', ...paths]);
  if (result.status === 2) throw new Error(`modelsieve failed: ${result.stderr}`);
  const document = JSON.parse(result.stdout);
  return new Map(document.files.map((report) => [report.path, report]));
}

function tsvPaths(file, dir) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) => relative(REPO, join(dir, line.split('\t')[0])));
}

/** Every file of tests/fixtures/expected.tsv and of the conformance manifest beside the repo,
 *  as paths relative to the repository root. */
export function corpus() {
  const fixtures = tsvPaths(join(FIXTURES, 'expected.tsv'), FIXTURES);
  const conformance = tsvPaths(join(CONFORMANCE, 'manifest.tsv'), CONFORMANCE);
  return { fixtures, conformance, all: [...fixtures, ...conformance] };
}

/** What must agree between drivers: bytes_read and size legitimately differ. */
export function comparable(report) {
  return { path: report.path, format: report.format, verdict: report.verdict, findings: report.findings };
}

/** Findings saying a zip member could not be read without seeking back: the one documented way
 *  a streamed report (size unknown) may differ from a seeking one (see tests/src/lib.rs). */
export function couldNotSeekBack(report) {
  return report.findings.filter((f) => f.message.includes('did not seek back')).length;
}

export const SEVERITY_RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Whether the CLI would exit 1 for this report with `--fail-on threshold`. */
export function fails(report, threshold = 'medium') {
  return report.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[threshold]);
}

/**
 * A Blob-like view of a file on disk (`size`, `name`, `slice(start, end).arrayBuffer()`), read
 * with positioned reads. Node 20's fs.openAsBlob reports the size of a file of 4 GiB or more
 * modulo 2^32, so big files are scanned through this instead. `reads` records every slice read.
 */
export async function fileBlob(path, name = path) {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  const reads = [];
  const slice = (start = 0, end = size) => ({
    async arrayBuffer() {
      const length = Math.max(0, Math.min(end, size) - start);
      const buffer = new Uint8Array(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(buffer, filled, length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      reads.push([start, filled]);
      return buffer.buffer.slice(0, filled);
    },
  });
  return { size, name, slice, reads, close: () => handle.close() };
}
