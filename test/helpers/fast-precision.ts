// Checks shared by the 'fast' precision tests of the native (int8) and wasm (int16) backends: which
// layers a reduced-precision conv reaches, and the detections against darknet's and against 'exact'.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { collectCandidates, nmsSort } from '../../src/detect/decode.js';
import { EngineDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import type { KernelBackend } from '../../src/engine/kernels/backend.js';
import type { Model } from '../../src/engine/model.js';
import { Network, reducedPrecisionOk } from '../../src/engine/runtime/network.js';
import { iou, opencvResizeLinear } from '../detect/opencv-resize.js';
import { firstDiffs, readF32 } from '../engine/helpers.js';

/** A network of `model` on `backend` (layer outputs kept) after one forward pass on the fixture's input_tensor.f32 in dir. */
export function forwardFixture(model: Model, backend: KernelBackend, dir: string): Network {
  const net = new Network(model, backend, { keepLayerOutputs: true });
  net.input.set(readF32(path.join(dir, 'input_tensor.f32')));
  net.forward();
  return net;
}

/**
 * Compares every layer output darknet saved for the fixture in dir (outputs.json) with the net's:
 * the layers a reduced-precision conv reaches must be `reached` and at least one of them must
 * differ; every other layer is checked by `unreached` (index, got, want).
 */
export function expectFixtureLayers(
  net: Network, model: Model, dir: string, reached: number[], unreached: (index: number, got: Float32Array, want: Float32Array) => void,
): void {
  const affected = reducedPrecisionReach(model);
  expect([...affected]).toEqual(reached);
  const outputs = JSON.parse(readFileSync(path.join(dir, 'outputs.json'), 'utf8')) as { layers: { index: number; file?: string }[] };
  let moved = 0;
  for (const l of outputs.layers) {
    if (!l.file) continue;
    const want = readF32(path.join(dir, l.file));
    const got = net.outputs[l.index];
    if (affected.has(l.index)) moved += firstDiffs(got, want).length > 0 ? 1 : 0;
    else unreached(l.index, got, want);
  }
  expect(moved, 'the reduced-precision layers do change their outputs').toBeGreaterThan(0);
}

/** The layers whose outputs a reduced-precision conv changes: those convs and every layer computed from them. */
export function reducedPrecisionReach(model: Model): Set<number> {
  const ok = reducedPrecisionOk(model);
  const affected = new Set<number>();
  model.spec.layers.forEach((l, i) => {
    const inputs = l.type === 'route' ? l.layers : l.type === 'shortcut' ? [i - 1, l.from] : [i - 1];
    if (ok.has(i) || inputs.some((j) => affected.has(j))) affected.add(i);
  });
  return affected;
}

export interface DarknetTolerance {
  /** Largest |probability - darknet's|. */
  prob: number;
  /** Largest distance of a box edge from darknet's (input pixels), given the box side along it. */
  edge: (side: number) => number;
  /** Smallest IoU with darknet's box, where both its sides are >= 2 px (unchecked when absent). */
  iou?: number;
}

/**
 * After net.forward() on the darknet-xnor-a fixture (160 px input, in dir): as many detections above
 * 0.25 as darknet's detections.json, and every darknet detection matched by the nearest one of its
 * class within `tol`.
 */
export function expectDarknetDetections(net: Network, dir: string, tol: DarknetTolerance): void {
  const expected = JSON.parse(readFileSync(path.join(dir, 'detections.json'), 'utf8')) as {
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
    expect(Math.abs(m.f.p - e.prob), `${what}: probability`).toBeLessThanOrEqual(tol.prob);
    const [wpx, hpx] = [e.w * px, e.h * px];
    [wpx, hpx, wpx, hpx].forEach((side, i) => expect(Math.abs(m.box[i] - want[i]), `${what}: edge ${i}`).toBeLessThanOrEqual(tol.edge(side)));
    if (tol.iou !== undefined && wpx >= 2 && hpx >= 2) expect(iou(m.box, want), `${what}: IoU`).toBeGreaterThanOrEqual(tol.iou);
  }
}

/**
 * yolo-fastest (in dir) on dog.jpg and bus.jpg, both preprocessing paths: 'fast' finds as many
 * detections as 'exact', and every exact detection with the same class at IoU >= minIoU and a score
 * within maxScoreDiff. Returns how many detections were compared.
 */
export async function expectFastMatchesExact(
  model: Model, dir: string, create: (opts: { precision: 'exact' | 'fast' }) => Promise<KernelBackend>, minIoU: number, maxScoreDiff: number,
): Promise<number> {
  const exact = new EngineDetector(model, await create({ precision: 'exact' }));
  const fast = new EngineDetector(model, await create({ precision: 'fast' }));
  expect(fast.network.backend.precision).toBe('fast');
  let compared = 0;
  for (const name of ['dog.jpg', 'bus.jpg']) {
    const img = await decodeImageFile(path.join(dir, name));
    const rgb = opencvResizeLinear(img.rgb, img.width, img.height, 320, 320);
    for (const [how, want, got] of [
      ['OpenCV resize', exact.detectRgb(rgb, img.width, img.height), fast.detectRgb(rgb, img.width, img.height)],
      ['darknet preprocessing', exact.detectImage(img), fast.detectImage(img)],
    ] as const) {
      expect(got.length, `${name} ${how}: detection count`).toBe(want.length);
      for (const e of want) {
        const best = got.filter((d) => d.classId === e.classId).map((d) => ({ d, iou: iou(d.box, e.box) })).sort((a, b) => b.iou - a.iou)[0];
        const what = `${name} ${how}: exact ${e.className} ${e.score.toFixed(3)}; best ${best ? `IoU ${best.iou.toFixed(3)} score ${best.d.score.toFixed(3)}` : 'none'}`;
        expect(best && best.iou >= minIoU && Math.abs(best.d.score - e.score) <= maxScoreDiff, what).toBe(true);
        compared++;
      }
    }
  }
  exact.dispose();
  fast.dispose();
  return compared;
}
