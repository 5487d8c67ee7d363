import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectCandidates, nmsSort } from '../../src/detect/decode.js';
import { EngineDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import { create } from '../../src/engine/kernels/native/index.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { Network, reducedPrecisionOk } from '../../src/engine/runtime/network.js';
import { iou, opencvResizeLinear } from '../detect/opencv-resize.js';
import { nativeFastUnavailable } from '../helpers/native-fast.js';
import { firstDiffs, fixtures, readF32 } from './helpers.js';

/**
 * 'fast' precision (int8 float convs, opt-in) against darknet and OpenCV on the real fixtures.
 * Tolerances are the measured differences with some headroom (docs/kernels.md):
 *  - darknet-xnor-a: every darknet detection found with the same class, probability within 0.01
 *    (measured 0.0053), each box edge within 1.5 px + 2% of the box side at the 160 px input
 *    (measured 2.1 px on a 147 px box), IoU >= 0.9 where both sides are >= 2 px (measured >= 0.93;
 *    thinner boxes of this random-weight fixture move a fraction of a pixel, which IoU magnifies);
 *  - yolo-fastest (COCO, float; exact matches darknet/OpenCV in test/detect): every detection of
 *    'exact' found by 'fast' with the same class, IoU >= 0.95 and score within 0.015 (measured IoU
 *    >= 0.978, score within 0.0102), on both photos and both preprocessing paths.
 */
const fastUnavailable = nativeFastUnavailable();
const fastHere = fastUnavailable === '';

const dirA = path.join(fixtures, 'darknet-xnor-a');
const dirF = path.join(fixtures, 'yolo-fastest');
let modelA: Model;
let modelF: Model;
beforeAll(() => {
  modelA = loadDarknetModel(path.join(dirA, 'yolov3-tiny_xnor_160_slim.cfg'), path.join(dirA, 'weights_a.weights'), path.join(dirA, 'classes.names'));
  modelF = loadDarknetModel(path.join(dirF, 'yolo-fastest-1.1.cfg'), path.join(dirF, 'yolo-fastest-1.1.weights'), path.join(dirF, 'coco.names'));
});

describe('which float convs may run in reduced precision', () => {
  it('yolov3-tiny_xnor: only the head convs (14, 15, 22); layer 0 feeds the binary convs', () => {
    expect([...reducedPrecisionOk(modelA)].sort((a, b) => a - b)).toEqual([14, 15, 22]);
  });

  it('yolo-fastest: at most two convs deep before each [yolo], never grouped-into-binary chains', () => {
    const ok = reducedPrecisionOk(modelF);
    const layers = modelF.spec.layers;
    expect(ok.size).toBeGreaterThan(0);
    for (const i of ok) expect(layers[i].type).toBe('convolutional');
    layers.forEach((l, i) => {
      if (l.type === 'yolo') expect(ok.has(i - 1), `conv before yolo ${i}`).toBe(true);
    });
    expect(ok.has(0)).toBe(false);
  });
});

describe.skipIf(!fastHere)(`native 'fast' precision on the fixtures${fastHere ? '' : ` (skipped: ${fastUnavailable})`}`, () => {
  it('darknet-xnor-a: FMA layer 0 within rounding, the binary layers bit-exact, detections within tolerance', async () => {
    const net = new Network(modelA, await create({ precision: 'fast' }), { keepLayerOutputs: true });
    net.input.set(readF32(path.join(dirA, 'input_tensor.f32')));
    net.forward();
    const outputs = JSON.parse(readFileSync(path.join(dirA, 'outputs.json'), 'utf8')) as { layers: { index: number; file?: string }[] };
    // layers computed from an int8 layer's output (14 -> 15 -> 16, 22 -> 23); all others bit-exact
    const ok = reducedPrecisionOk(modelA);
    const affected = new Set<number>();
    modelA.spec.layers.forEach((l, i) => {
      const inputs = l.type === 'route' ? l.layers : l.type === 'shortcut' ? [i - 1, l.from] : [i - 1];
      if (ok.has(i) || inputs.some((j) => affected.has(j))) affected.add(i);
    });
    expect([...affected]).toEqual([14, 15, 16, 22, 23]);
    // Layer 0 feeds the binary convs: in 'fast' it only gets FMA (one rounding per tap instead of
    // two), 1e-6 here, and no output changes sign, so every binary layer after it is bit-exact.
    let moved = 0;
    for (const l of outputs.layers) {
      if (!l.file) continue;
      const want = readF32(path.join(dirA, l.file));
      const got = net.outputs[l.index];
      if (affected.has(l.index)) moved += firstDiffs(got, want).length > 0 ? 1 : 0;
      else if (l.index === 0) {
        expect(firstDiffs(got, want, 2e-6), 'layer 0 (FMA)').toEqual([]);
        expect(got.every((v, i) => v > 0 === want[i] > 0), 'layer 0 signs').toBe(true);
      } else expect(firstDiffs(got, want, l.index === 16 || l.index === 23 ? 1e-6 : 0), `layer ${l.index}`).toEqual([]);
    }
    expect(moved, 'the int8 layers do change their outputs').toBeGreaterThan(0);

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
      const cands = final
        .filter((f) => f.cls === e.class)
        .map((f) => ({ f, box: xyxy(f.d) }))
        .map((c) => ({ ...c, dist: Math.max(...c.box.map((v, i) => Math.abs(v - want[i]))) }))
        .sort((a, b) => a.dist - b.dist);
      const m = cands[0];
      const what = `class ${e.class} prob ${e.prob} at [${want.map((v) => v.toFixed(1))}]`;
      expect(m, what).toBeDefined();
      expect(Math.abs(m.f.p - e.prob), `${what}: probability`).toBeLessThanOrEqual(0.01);
      const [wpx, hpx] = [e.w * px, e.h * px];
      [wpx, hpx, wpx, hpx].forEach((side, i) => expect(Math.abs(m.box[i] - want[i]), `${what}: edge ${i}`).toBeLessThanOrEqual(1.5 + 0.02 * side));
      if (wpx >= 2 && hpx >= 2) expect(iou(m.box, want), `${what}: IoU`).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('yolo-fastest: every exact detection found by fast (same class, IoU >= 0.95, score within 0.015)', async () => {
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
          expect(best && best.iou >= 0.95 && Math.abs(best.d.score - e.score) <= 0.015, what).toBe(true);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(15);
    exact.dispose();
    fast.dispose();
  });
});
