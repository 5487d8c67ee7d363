import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');

// The kernel figures in docs/kernels.md come from bench/run.mjs: it must keep producing its JSON,
// with gated and whole heads side by side when asked (speed itself is the benchmark's business).
describe('bench/run.mjs', () => {
  it('times yolov3-tiny_xnor beside onnxruntime, heads gated and whole, in one JSON document', () => {
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--frames', '2', '--warmup', '1', '--sizes', '96', '--backends', 'wasm', '--precision', 'exact', '--threads', '1', '--class-gate', '0.25,off', '--no-gemm-peak'],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    const xnor = doc.results.filter((x: { model: string }) => x.model === 'yolov3-tiny_xnor');
    expect(xnor.map((x: { classGate: number | null }) => x.classGate)).toEqual([0.25, null]);
    const [gated, whole] = xnor;
    // the whole heads compute every cell; the gated share is a measured fraction
    expect(whole.classScoreCells).toBe(1);
    expect(gated.classScoreCells).toBeGreaterThanOrEqual(0);
    expect(gated.classScoreCells).toBeLessThanOrEqual(1);
    for (const row of xnor) {
      expect(row.msPerFrame).toBeGreaterThan(0);
      expect(row.speedupVsOnnxruntime1t).toBeGreaterThan(0);
    }
    expect(doc.results.some((x: { backend: string }) => x.backend === 'onnxruntime-float')).toBe(true);
    expect(doc.ratios.map((x: { classGate: number | null }) => x.classGate)).toEqual([0.25, null]);
  });

  it('compares a 2-thread row with onnxruntime given 2 threads too', () => {
    const r = spawnSync(
      process.execPath,
      ['bench/run.mjs', '--frames', '2', '--warmup', '1', '--sizes', '96', '--backends', 'wasm', '--precision', 'exact', '--threads', '1,2', '--no-gemm-peak'],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    const ratio = (t: number) => doc.ratios.find((x: { threads: number }) => x.threads === t);
    expect(ratio(1).speedupVsSameThreads).toBeUndefined();
    expect(ratio(2).speedupVsSameThreads).toBeGreaterThan(0);
    const ort2 = doc.results.find((x: { backend: string; threads: number }) => x.backend === 'onnxruntime-float' && x.threads === 2);
    const wasm2 = doc.results.find((x: { model: string; threads: number }) => x.model === 'yolov3-tiny_xnor' && x.threads === 2);
    expect(ratio(2).speedupVsSameThreads).toBeCloseTo(ort2.msPerFrame / wasm2.msPerFrame, 1);
  });

  it('names a bad class gate in one line', () => {
    const r = spawnSync(process.execPath, ['bench/run.mjs', '--class-gate', '2'], { cwd: root, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: bench: --class-gate takes thresholds in (0, 1) or off, e.g. 0.25,off');
  });

  it('names an unknown backend in one line, no stack trace', () => {
    const r = spawnSync(process.execPath, ['bench/run.mjs', '--frames', '1', '--sizes', '320', '--backends', 'native-avx2', '--no-gemm-peak'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('bench: '))).toEqual([
      "error: bench: unknown kernel backend 'native-avx2' (known: auto, native, wasm, reference)",
    ]);
  });
});
