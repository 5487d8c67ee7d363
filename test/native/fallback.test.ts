import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// A copy of the project whose native addon cannot compile: install must still succeed, and the
// backend registry must fall back (to wasm, or reference when wasm is not built) with one log line.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = existsSync(path.join(repo, 'dist', 'engine', 'kernels', 'select.js'));

function makeProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-native-'));
  mkdirSync(path.join(dir, 'scripts'));
  cpSync(path.join(repo, 'scripts', 'build-native.mjs'), path.join(dir, 'scripts', 'build-native.mjs'));
  cpSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
  const wasm = path.join(repo, 'build', 'xnorcam-kernels.wasm');
  if (existsSync(wasm)) cpSync(wasm, path.join(dir, 'build', 'xnorcam-kernels.wasm'));
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  mkdirSync(path.join(dir, 'native', 'src'), { recursive: true });
  writeFileSync(path.join(dir, 'native', 'binding.gyp'), JSON.stringify({ targets: [{ target_name: 'xnorcam_native', sources: ['src/broken.cc'] }] }));
  writeFileSync(path.join(dir, 'native', 'src', 'broken.cc'), 'this is not C++;\n');
  return dir;
}

// node-gyp needs Node's headers; use the ones installed next to node (as npm's nodedir does here).
const nodedir = path.resolve(path.dirname(process.execPath), '..');
const env = { ...process.env, ...(existsSync(path.join(nodedir, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: nodedir } : {}) };

describe.skipIf(!built)(`native addon fallback${built ? '' : ' (skipped: run npx tsc -p tsconfig.json first)'}`, () => {
  it('a failed addon build does not fail the install; auto falls back with one logged reason', () => {
    const dir = makeProject();
    try {
      const install = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      expect(install.status).toBe(0);
      expect(install.stdout).toMatch(/native kernels not built/);
      expect(existsSync(path.join(dir, 'native', 'build', 'BUILD_FAILED.txt'))).toBe(true);

      const script = `const m = await import(${JSON.stringify(path.join(dir, 'dist', 'engine', 'kernels', 'select.js'))});
        const a = await m.createBackend('auto'); const b = await m.createBackend('auto');
        let forced = ''; try { await m.createBackend('native'); } catch (e) { forced = e.message; }
        console.log(JSON.stringify({ a: a.name, b: b.name, forced }));`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, XNORCAM_BACKEND: '', XNORCAM_LOG_FORMAT: 'json' },
      });
      expect(run.status, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
      expect(out.a).toBe(out.b);
      expect(['wasm', 'reference']).toContain(out.a);
      expect(out.forced).toMatch(/kernel backend 'native' is not available here: native addon failed to build/);
      const warnings = run.stderr.split('\n').filter((l) => l.includes('kernel backend native unavailable'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/native addon failed to build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an addon built from the same sources for this node is not built again (npx xnorcam re-ran the install script: a minute, the addon gone meanwhile)', () => {
    const dir = makeProject();
    try {
      writeFileSync(path.join(dir, 'native', 'src', 'broken.cc'), '#include <node_api.h>\nNAPI_MODULE_INIT() { return exports; }\n');
      const install = () => spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      const addon = path.join(dir, 'native', 'build', 'Release', 'xnorcam_native.node');
      expect(install().stdout).toMatch(/native kernels built/);
      const first = statSync(addon).mtimeMs;
      expect(install().stdout).toMatch(/native kernels up to date/);
      expect(statSync(addon).mtimeMs).toBe(first);
      // A source edited since: built again.
      const later = new Date(Date.now() + 5000);
      utimesSync(path.join(dir, 'native', 'src', 'broken.cc'), later, later);
      expect(install().stdout).toMatch(/native kernels built/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('XNORCAM_SKIP_NATIVE=1 skips the build and exits 0', () => {
    const dir = makeProject();
    try {
      const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: dir, env: { ...env, XNORCAM_SKIP_NATIVE: '1' }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/skipped/);
      expect(existsSync(path.join(dir, 'native', 'build'))).toBe(false);
      expect(readFileSync(path.join(dir, 'native', 'binding.gyp'), 'utf8')).toContain('broken.cc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
