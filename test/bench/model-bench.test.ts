import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');

// The model card's speed table comes from bench/model.mjs: it must keep producing its JSON (speed
// itself is the benchmark's business, not a test's).
describe('bench/model.mjs', () => {
  it('times the bundled model beside its float twin and prints one JSON document', () => {
    const r = spawnSync(process.execPath, ['bench/model.mjs', '--frames', '2', '--warmup', '1', '--backends', 'wasm', '--precision', 'exact'], {
      cwd: root, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    const kinds = doc.results.map((x: { kind: string }) => x.kind).sort();
    expect(kinds).toEqual(['float-twin', 'xnor']);
    const xnor = doc.results.find((x: { kind: string }) => x.kind === 'xnor');
    expect(xnor.size).toBe('640x384'); // the bundled default's input (models/README.md)
    expect(xnor.forwardMs).toBeGreaterThan(0);
    expect(xnor.detectMs).toBeGreaterThan(0);
    expect(doc.ratios).toHaveLength(1);
    expect(doc.ratios[0].xnorSpeedupVsFloatTwin).toBeGreaterThan(0);
  });

  it('names a bad option in one line', () => {
    const r = spawnSync(process.execPath, ['bench/model.mjs', '--precision', 'half'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: bench/model: --precision takes exact, fast or exact,fast');
  });

  it('names an unknown backend in one line, no stack trace', () => {
    const r = spawnSync(process.execPath, ['bench/model.mjs', '--frames', '1', '--backends', 'native-avx2', '--precision', 'exact'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('bench: '))).toEqual([
      "error: bench/model: unknown kernel backend 'native-avx2' (known: auto, native, wasm, reference)",
    ]);
  });
});
