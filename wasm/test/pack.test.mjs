// `npm pack` gives an installable package holding the .wasm: installed into a scratch project
// (offline: the package has no dependencies) and imported by name, it scans a fixture.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { PKG_WASM, REPO, WASM_DIR } from './helpers.mjs';

let scratch;

before(() => {
  statSync(PKG_WASM); // built by scripts/build-wasm.sh
  scratch = mkdtempSync(join(tmpdir(), 'modelsieve-pack-'));
});

after(() => rmSync(scratch, { recursive: true, force: true }));

function npm(args, cwd) {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    // A private cache: nothing from the user's, nothing left behind, no network needed.
    env: { ...process.env, npm_config_cache: join(scratch, 'cache'), npm_config_update_notifier: 'false' },
  });
  assert.equal(result.status, 0, `npm ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

test('npm pack → npm install → import "modelsieve"', () => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch], WASM_DIR))[0];
  const files = packed.files.map((f) => f.path).sort();
  assert.deepEqual(files, [
    'README.md',
    'index.d.ts',
    'index.js',
    'package.json',
    'pkg/modelsieve_wasm.js',
    'pkg/modelsieve_wasm_bg.wasm',
  ]);
  const wasm = packed.files.find((f) => f.path === 'pkg/modelsieve_wasm_bg.wasm');
  assert.equal(wasm.size, statSync(PKG_WASM).size);

  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--offline', '--no-audit', '--no-fund', join(scratch, packed.filename)], project);

  const fixture = join(REPO, 'tests', 'fixtures', 'pickle', 'malicious', 'broken_no_stop_after_payload.pkl');
  writeFileSync(
    join(project, 'main.mjs'),
    `import { readFileSync } from 'node:fs';
     import { init, scanBytes, scanBlob, version } from 'modelsieve';
     await init();
     const bytes = readFileSync(process.argv[2]);
     const report = scanBytes(bytes, { name: 'evil.pkl' });
     const viaBlob = await scanBlob(new Blob([bytes]), { name: 'evil.pkl' });
     console.log(JSON.stringify({ version: version(), report, same: JSON.stringify(viaBlob.findings) === JSON.stringify(report.findings) }));
    `,
  );
  const run = spawnSync(process.execPath, ['main.mjs', fixture], { cwd: project, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.equal(out.report.path, 'evil.pkl');
  assert.equal(out.report.verdict, 'dangerous');
  assert.ok(out.report.findings.some((f) => f.evidence === 'os.system'));
  assert.equal(out.same, true);
  const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'modelsieve', 'package.json'), 'utf8'));
  assert.equal(out.version, pkg.version);
  // The exports map also hands out the .wasm itself (for Workers bundlers).
  const resolved = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "console.log(import.meta.resolve('modelsieve/modelsieve.wasm'))"],
    { cwd: project, encoding: 'utf8' },
  );
  assert.equal(resolved.status, 0, resolved.stderr);
  assert.match(resolved.stdout.trim(), /node_modules\/modelsieve\/pkg\/modelsieve_wasm_bg\.wasm$/);
});
