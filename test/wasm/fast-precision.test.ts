import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectCandidates, nmsSort } from '../../src/detect/decode.js';
import { EngineDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import { createBackend } from '../../src/engine/kernels/select.js';
import { create, setWinograd } from '../../src/engine/kernels/wasm/index.js';
import { winogradRanges } from '../../src/engine/kernels/wasm/winograd.js';
import { int16Ranges } from '../../src/engine/kernels/wasm/fast-conv.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { Network, reducedPrecisionOk } from '../../src/engine/runtime/network.js';
import { iou, opencvResizeLinear } from '../detect/opencv-resize.js';
import { firstDiffs, fixtures, readF32 } from '../engine/helpers.js';
import { ensureWasmBuilt, fillRandom, floatParams, rng } from '../kernels/helpers.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';

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
    const net = new Network(modelA, await create({ precision: 'fast' }), { keepLayerOutputs: true });
    net.input.set(readF32(path.join(dirA, 'input_tensor.f32')));
    net.forward();
    const outputs = JSON.parse(readFileSync(path.join(dirA, 'outputs.json'), 'utf8')) as { layers: { index: number; file?: string }[] };
    const ok = reducedPrecisionOk(modelA);
    const affected = new Set<number>();
    modelA.spec.layers.forEach((l, i) => {
      const inputs = l.type === 'route' ? l.layers : l.type === 'shortcut' ? [i - 1, l.from] : [i - 1];
      if (ok.has(i) || inputs.some((j) => affected.has(j))) affected.add(i);
    });
    expect([...affected]).toEqual([14, 15, 16, 22, 23]);
    let moved = 0;
    for (const l of outputs.layers) {
      if (!l.file) continue;
      const want = readF32(path.join(dirA, l.file));
      const got = net.outputs[l.index];
      if (affected.has(l.index)) moved += firstDiffs(got, want).length > 0 ? 1 : 0;
      else expect(firstDiffs(got, want, 0), `layer ${l.index}`).toEqual([]);
    }
    expect(moved, 'the int16 layers do change their outputs').toBeGreaterThan(0);

    const expected = JSON.parse(readFileSync(path.join(dirA, 'detections.json'), 'utf8')) as {
      detections: { class: number; prob: number; x: number; y: number; w: number; h: number }[];
    };
    const final = nmsSort(collectCandidates(net, 0.25, 160, 160, false), 3, 0.45).flatMap((d) =>
      Array.from(d.prob, (p, cls) => ({ cls, p, d })).filter((x) => x.p > 0.25),
    );
    expect(final.length).toBe(expected.detections.length);
    const px = 160;
    const xyxy = (b: { x: number; y: number; w: number; h: number }) => [b.x - b.w / 2, b.y - b.h / 2, b.x + b.w / 2, b.y + b.h / 2].map((v) => v * px);
    for (const e of expected.detections) {
      const want = xyxy(e);
      const m = final
        .filter((f) => f.cls === e.class)
        .map((f) => ({ f, box: xyxy(f.d) }))
        .map((c) => ({ ...c, dist: Math.max(...c.box.map((v, i) => Math.abs(v - want[i]))) }))
        .sort((a, b) => a.dist - b.dist)[0];
      const what = `class ${e.class} prob ${e.prob} at [${want.map((v) => v.toFixed(1))}]`;
      expect(m, what).toBeDefined();
      expect(Math.abs(m.f.p - e.prob), `${what}: probability`).toBeLessThanOrEqual(0.002);
      m.box.forEach((v, i) => expect(Math.abs(v - want[i]), `${what}: edge ${i}`).toBeLessThanOrEqual(0.5));
    }
  });

  it('yolo-fastest: every exact detection found by fast (same count and class, IoU >= 0.99, score within 0.003)', async () => {
    const exact = new EngineDetector(modelF, await create({ precision: 'exact' }));
    const fast = new EngineDetector(modelF, await create({ precision: 'fast' }));
    expect(fast.network.backend.precision).toBe('fast');
    let compared = 0;
    for (const name of ['dog.jpg', 'bus.jpg']) {
      const img = await decodeImageFile(path.join(dirF, name));
      const rgb = opencvResizeLinear(img.rgb, img.width, img.height, 320, 320);
      for (const [how, want, got] of [
        ['OpenCV resize', exact.detectRgb(rgb, img.width, img.height), fast.detectRgb(rgb, img.width, img.height)],
        ['darknet preprocessing', exact.detectImage(img), fast.detectImage(img)],
      ] as const) {
        expect(got.length, `${name} ${how}: detection count`).toBe(want.length);
        for (const e of want) {
          const best = got.filter((d) => d.classId === e.classId).map((d) => ({ d, iou: iou(d.box, e.box) })).sort((a, b) => b.iou - a.iou)[0];
          const what = `${name} ${how}: exact ${e.className} ${e.score.toFixed(3)}; best ${best ? `IoU ${best.iou.toFixed(3)} score ${best.d.score.toFixed(3)}` : 'none'}`;
          expect(best && best.iou >= 0.99 && Math.abs(best.d.score - e.score) <= 0.003, what).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(15);
    exact.dispose();
    fast.dispose();
  });
});
