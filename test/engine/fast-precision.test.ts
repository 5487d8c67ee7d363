import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { create } from '../../src/engine/kernels/native/index.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { reducedPrecisionOk } from '../../src/engine/runtime/network.js';
import { nativeFastUnavailable } from '../helpers/native-fast.js';
import { firstDiffs, fixtures } from './helpers.js';
import { expectDarknetDetections, expectFastMatchesExact, expectFixtureLayers, forwardFixture } from '../helpers/fast-precision.js';

/**
 * 'fast' precision (int8 float convs with AVX-512 VNNI, FMA with AVX2; opt-in) against darknet and OpenCV on the
 * real fixtures (the tolerances are int8's; FMA stays far inside them).
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
    const net = forwardFixture(modelA, await create({ precision: 'fast' }), dirA);
    // layers computed from an int8 layer's output (14 -> 15 -> 16, 22 -> 23); all others bit-exact.
    // Layer 0 feeds the binary convs: in 'fast' it only gets FMA (one rounding per tap instead of
    // two), 1e-6 here, and no output changes sign, so every binary layer after it is bit-exact.
    expectFixtureLayers(net, modelA, dirA, [14, 15, 16, 22, 23], (index, got, want) => {
      if (index === 0) {
        expect(firstDiffs(got, want, 2e-6), 'layer 0 (FMA)').toEqual([]);
        expect(got.every((v, i) => v > 0 === want[i] > 0), 'layer 0 signs').toBe(true);
      } else expect(firstDiffs(got, want, index === 16 || index === 23 ? 1e-6 : 0), `layer ${index}`).toEqual([]);
    });

    expectDarknetDetections(net, dirA, { prob: 0.01, edge: (side) => 1.5 + 0.02 * side, iou: 0.9 });
  });

  it('yolo-fastest: every exact detection found by fast (same class, IoU >= 0.95, score within 0.015)', async () => {
    expect(await expectFastMatchesExact(modelF, dirF, create, 0.95, 0.015)).toBeGreaterThanOrEqual(15);
  });
});
