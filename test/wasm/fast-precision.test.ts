import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/engine/kernels/select.js';
import { create, setWinograd } from '../../src/engine/kernels/wasm/index.js';
import { winogradRanges } from '../../src/engine/kernels/wasm/winograd.js';
import { int16Ranges } from '../../src/engine/kernels/wasm/int16-scales.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { firstDiffs, fixtures } from '../engine/helpers.js';
import { ensureWasmBuilt, fillRandom, floatParams, rng } from '../kernels/helpers.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { expectDarknetDetections, expectFastMatchesExact, expectFixtureLayers, forwardFixture } from '../helpers/fast-precision.js';

/**
 * The wasm backend's opt-in 'fast' precision (int16 float convs where the runner allows reduced
 * precision) against darknet and the exact backend. int16 is several bits finer than the native
 * backend's int8, so the tolerances here are tighter than test/engine/fast-precision.test.ts's
 * (measured: darknet-xnor-a probability within 0.0005, edges within 0.1 px; yolo-fastest IoU >=
 * 0.9995, score within 0.0004).
 */
const dirA = path.join(fixtures, 'darknet-xnor-a');
const dirF = path.join(fixtures, 'yolo-fastest');
let modelA: Model;
let modelF: Model;
beforeAll(() => {
  ensureWasmBuilt();
  modelA = loadDarknetModel(path.join(dirA, 'yolov3-tiny_xnor_160_slim.cfg'), path.join(dirA, 'weights_a.weights'), path.join(dirA, 'classes.names'));
  modelF = loadDarknetModel(path.join(dirF, 'yolo-fastest-1.1.cfg'), path.join(dirF, 'yolo-fastest-1.1.weights'), path.join(dirF, 'coco.names'));
});

describe('wasm fast precision: int16 ranges', () => {
  it('never lets an int32 sum overflow, and keeps the weights at >= 10 bits on a 3x3x256 layer', () => {
    const r = rng(7);
    const K = 2304;
    const w = new Float32Array(8 * K);
    fillRandom(w, r);
    const { qA, wq, wScale } = int16Ranges(w, 8, K);
    for (let f = 0; f < 8; f++) {
      let sum = 0;
      let max = 0;
      for (let k = 0; k < K; k++) {
        sum += Math.abs(wq[f * K + k]);
        max = Math.max(max, Math.abs(wq[f * K + k]));
        // each weight within half a step of its float value
        expect(Math.abs(wq[f * K + k] * wScale[f] - w[f * K + k])).toBeLessThanOrEqual(wScale[f] / 2 + 1e-12);
      }
      expect(sum * qA).toBeLessThan(2 ** 31);
      expect(max).toBeGreaterThanOrEqual(1023);
    }
    expect(qA).toBeGreaterThanOrEqual(255);
  });

  it('a fast conv stays within 1e-3 of the largest output on random layers (1x1 and 3x3, every activation)', async () => {
    const backend = await create({ precision: 'fast' });
    const ref = new ReferenceBackend();
    const r = rng(11);
    for (const s of [
      { inC: 64, inH: 13, inW: 13, outC: 30, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' as const },
      { inC: 33, inH: 9, inW: 17, outC: 7, size: 1, stride: 1, pad: 0, groups: 1, activation: 'linear' as const },
      { inC: 16, inH: 20, inW: 20, outC: 9, size: 3, stride: 2, pad: 1, groups: 1, activation: 'relu' as const },
      { inC: 33, inH: 6, inW: 10, outC: 7, size: 3, stride: 1, pad: 1, groups: 1, activation: 'relu' as const },
      { inC: 5, inH: 1, inW: 3, outC: 4, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' as const },
    ]) {
      const p = { ...floatParams(s, r), fastOk: true };
      for (let i = 0; i < p.weights.length; i++) p.weights[i] = (r() * 2 - 1) * 0.1;
      const input = backend.allocFloat32(s.inC * s.inH * s.inW);
      fillRandom(input, r);
      for (let i = 0; i < input.length; i++) input[i] = Math.max(-100, Math.min(100, input[i]));
      const out = backend.allocFloat32(s.outC * p.outH * p.outW);
      const want = new Float32Array(out.length);
      backend.prepareFloatConv(p).run(input, out);
      ref.prepareFloatConv(p).run(input, want);
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - want[i]));
      expect(worst / scale, JSON.stringify(s)).toBeLessThan(1e-3);
      expect(worst, 'int16 does change the result').toBeGreaterThan(0);
    }
    backend.dispose?.();
  });
});

describe('wasm fast precision: Winograd F(2x2, 3x3)', () => {
  it('keeps U and V within int16 and the int32 sums from overflowing', () => {
    const r = rng(9);
    const w = new Float32Array(6 * 40 * 9);
    fillRandom(w, r);
    const { qA, qW, U } = winogradRanges(w, 6, 40);
    expect(4 * qA).toBeLessThanOrEqual(32767);
    for (let xi = 0; xi < 16; xi++)
      for (let f = 0; f < 6; f++) {
        let sum = 0;
        for (let c = 0; c < 40; c++) sum += Math.abs(U[(xi * 6 + f) * 40 + c]);
        expect(4 * qA * sum).toBeLessThan(2 ** 31);
      }
    expect(Math.min(qA, qW)).toBeGreaterThanOrEqual(255);
  });

  it('gives the direct int16 conv within its quantisation step (3x3 layers, odd and even sizes)', async () => {
    const backend = await create({ precision: 'fast' });
    const r = rng(21);
    for (const s of [
      { inC: 256, inH: 13, inW: 13, outC: 24, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' as const },
      { inC: 7, inH: 8, inW: 11, outC: 5, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' as const },
    ]) {
      const p = { ...floatParams(s, r), fastOk: true };
      for (let i = 0; i < p.weights.length; i++) p.weights[i] = (r() * 2 - 1) * 0.1;
      const input = backend.allocFloat32(s.inC * s.inH * s.inW);
      for (let i = 0; i < input.length; i++) input[i] = r() * 2 - 0.5;
      const a = backend.allocFloat32(s.outC * p.outH * p.outW);
      const b = backend.allocFloat32(a.length);
      const wino = backend.prepareFloatConv(p);
      setWinograd(false);
      const direct = backend.prepareFloatConv(p);
      setWinograd(true);
      expect(wino.constructor.name).toBe('WasmWinogradConv');
      expect(direct.constructor.name).toBe('WasmFastFloatConv');
      wino.run(input, a);
      direct.run(input, b);
      const scale = b.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst / scale, JSON.stringify(s)).toBeLessThan(2e-3);
    }
    backend.dispose?.();
  });
});

describe("wasm 'fast' precision on the fixtures", () => {
  it('is selected by XNORCAM_PRECISION / createBackend options and reports itself', async () => {
    const b = await createBackend('wasm', { precision: 'fast' });
    expect(b.precision).toBe('fast');
    b.dispose?.();
    const e = await createBackend('wasm', { precision: 'exact' });
    expect(e.precision).toBe('exact');
    e.dispose?.();
  });

  it('darknet-xnor-a: all but the head layers bit-exact, detections within tolerance', async () => {
    const net = forwardFixture(modelA, await create({ precision: 'fast' }), dirA);
    expectFixtureLayers(net, modelA, dirA, [14, 15, 16, 22, 23], (index, got, want) => expect(firstDiffs(got, want, 0), `layer ${index}`).toEqual([]));

    expectDarknetDetections(net, dirA, { prob: 0.002, edge: () => 0.5 });
  });

  it('yolo-fastest: every exact detection found by fast (same count and class, IoU >= 0.99, score within 0.003)', async () => {
    expect(await expectFastMatchesExact(modelF, dirF, create, 0.99, 0.003)).toBeGreaterThanOrEqual(15);
  });
});
