import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeFastUnavailable } from '../helpers/native-fast.js';

const root = path.resolve(__dirname, '..', '..');
const noAddon = nativeFastUnavailable().startsWith('native addon');

// bench/builds.mjs times two checkouts side by side (the kernel docs' before/after figures); here both are this one,
// so it must run and print its one JSON document (speed itself is the benchmark's business).
describe('bench/builds.mjs', () => {
  it.skipIf(noAddon)('times the same model in two builds, frames interleaved, and prints one JSON document with the ratios', () => {
    const r = spawnSync(process.execPath, ['bench/builds.mjs', '--base', '.', '--frames', '2', '--warmup', '1', '--model', 'models/xnorcam-traffic-320.xnor', '--layers'], {
      cwd: root, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    const exact = doc.results.filter((x: { precision: string }) => x.precision === 'exact');
    expect(exact.map((x: { build: string }) => x.build)).toEqual(['base', 'this']);
    for (const x of doc.results) {
      expect(x.backend).toMatch(/^native-/);
      expect(x.forwardMs).toBeGreaterThan(0);
      expect(x.layers.length).toBeGreaterThan(10);
    }
    const fastHere = nativeFastUnavailable() === '';
    expect(doc.results).toHaveLength(fastHere ? 4 : 2);
    expect(doc.ratios[0]).toMatchObject({ this: 'exact', base: 'exact' });
    expect(doc.ratios[0].ratio).toBeGreaterThan(0);
  });

  it.skipIf(noAddon)('builds yolov3-tiny_xnor at a given size as bench/run.mjs does', () => {
    const r = spawnSync(process.execPath, ['bench/builds.mjs', '--base', '.', '--frames', '1', '--warmup', '0', '--yolov3-tiny', '160', '--precision', 'exact'], {
      cwd: root, encoding: 'utf8', timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.model).toBe('yolov3-tiny_xnor 160 (random weights)');
    expect(doc.results).toHaveLength(2);
  });

  it('names a missing --base in one line', () => {
    const r = spawnSync(process.execPath, ['bench/builds.mjs'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: bench/builds: --base DIR is required: the other checkout, built');
  });
});
