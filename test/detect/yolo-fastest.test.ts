import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detection } from '../../src/core/types.js';
import { EngineDetector, loadDetector } from '../../src/detect/detector.js';
import { decodeImageFile, type RgbImage } from '../../src/detect/preprocess.js';
import { createBackend } from '../../src/engine/kernels/select.js';
import { Network } from '../../src/engine/runtime/network.js';
import { fixtures } from '../engine/helpers.js';
import { iou, opencvResizeLinear } from './opencv-resize.js';

/**
 * A real COCO-trained float darknet model (Yolo-Fastest 1.1: grouped/depthwise convs, shortcut,
 * dropout, multi-layer route, SPP maxpools) on real photos, against OpenCV's independent darknet
 * implementation. OpenCV resized with INTER_LINEAR; fed the same way, every OpenCV detection must
 * be found (same class, IoU >= 0.9, score within 0.03). Through the product path (darknet's own
 * resize, as `detector test`), the sampled pixels differ, so scores get a wider tolerance.
 */
const dir = path.join(fixtures, 'yolo-fastest');
const source = { cfg: path.join(dir, 'yolo-fastest-1.1.cfg'), weights: path.join(dir, 'yolo-fastest-1.1.weights'), names: path.join(dir, 'coco.names') };
const reference = JSON.parse(readFileSync(path.join(dir, 'opencv_reference_detections.json'), 'utf8')) as {
  detections: Record<string, { class: string; score: number; xywh: [number, number, number, number] }[]>;
};

let detector: EngineDetector;
const images: Record<string, RgbImage> = {};
beforeAll(async () => {
  detector = await loadDetector(source);
  for (const name of ['dog.jpg', 'bus.jpg']) images[name] = await decodeImageFile(path.join(dir, name));
});
afterAll(() => detector?.dispose());

function expectAllFound(name: string, got: Detection[], minIou: number, scoreTol: number): void {
  const want = reference.detections[`stills/${name}`];
  expect(want.length).toBeGreaterThan(0);
  for (const e of want) {
    const box = [e.xywh[0], e.xywh[1], e.xywh[0] + e.xywh[2], e.xywh[1] + e.xywh[3]];
    const same = got.filter((d) => d.className === e.class);
    const best = same.map((d) => ({ d, iou: iou(d.box, box) })).sort((a, b) => b.iou - a.iou)[0];
    const what = `${name}: OpenCV ${e.class} ${e.score} at [${box}]; best same-class match ${best ? `IoU ${best.iou.toFixed(3)} score ${best.d.score.toFixed(3)}` : 'none'}`;
    expect(best && best.iou >= minIou && Math.abs(best.d.score - e.score) <= scoreTol, what).toBe(true);
  }
}

describe('yolo-fastest 1.1 (COCO) vs OpenCV dnn', () => {
  it('loads the real model: 320x320, 80 classes, every layer type of the cfg', () => {
    expect(detector.inputWidth).toBe(320);
    expect(detector.classNames).toHaveLength(80);
    const types = new Set(detector.model.spec.layers.map((l) => l.type));
    expect([...types].sort()).toEqual(['convolutional', 'dropout', 'maxpool', 'route', 'shortcut', 'upsample', 'yolo']);
  });

  it.each(['dog.jpg', 'bus.jpg'])('%s: finds every OpenCV detection (IoU >= 0.9, score within 0.03) on the same input', (name) => {
    const img = images[name];
    const rgb = opencvResizeLinear(img.rgb, img.width, img.height, 320, 320);
    expectAllFound(name, detector.detectRgb(rgb, img.width, img.height), 0.9, 0.03);
  });

  // Another resize than OpenCV's, so looser than the test above: bus.jpg carries a colour profile, and
  // read as stored (as darknet and OpenCV read it; libvips would apply the profile first, which put
  // OpenCV's own resize further from OpenCV: IoU 0.984–0.988 against 0.988–0.996) its left
  // pedestrian's box is at IoU 0.850 to OpenCV's, the rest at 0.97–0.98.
  it.each(['dog.jpg', 'bus.jpg'])('%s: darknet preprocessing (detector test) finds them too (IoU >= 0.8, score within 0.05)', (name) => {
    expectAllFound(name, detector.detectImage(images[name]), 0.8, 0.05);
  });

  it('letter_box=1 letterboxes the photo and maps boxes back to it', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-letterbox-'));
    try {
      const cfg = path.join(tmp, 'letterbox.cfg');
      writeFileSync(cfg, readFileSync(source.cfg, 'utf8').replace('[net]', '[net]\nletter_box=1'));
      const lb = await loadDetector({ ...source, cfg });
      const img = images['dog.jpg'];
      lb.detectImage(img);
      // the picture sits in the middle of a grey band: 768x576 → 320x240 at y = 40..280
      const input = lb.network.input;
      expect(input[0]).toBe(0.5);
      expect(input[39 * 320]).toBe(0.5);
      expect(input[40 * 320]).not.toBe(0.5);
      expect(input[280 * 320]).toBe(0.5);
      const plain = detector.detectImage(img).filter((d) => d.className === 'dog')[0];
      const boxed = lb.detectImage(img).filter((d) => d.className === 'dog')[0];
      expect(iou(boxed.box, plain.box)).toBeGreaterThan(0.7);
      lb.dispose();
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the reference kernels give bit-identical layer outputs to the selected backend on this model', async () => {
    const rgb = images['dog.jpg'];
    detector.detectImage(rgb);
    if (detector.backend === 'reference') return; // nothing to compare against
    // detectImage computed class scores only where objectness passes (gated heads): whole heads here
    detector.network.forward();
    // the same layer semantics as the detector's network (raw class scores in the yolo outputs)
    const ref = new Network(detector.model, await createBackend('reference'), { lazyYoloClasses: detector.network.lazyYoloClasses });
    ref.input.set(detector.network.input);
    ref.forward();
    detector.model.spec.layers.forEach((l, i) => {
      const a = ref.outputs[i];
      const b = detector.network.outputs[i];
      let diffs = 0;
      for (let k = 0; k < a.length; k++) if (a[k] !== b[k] && !(Number.isNaN(a[k]) && Number.isNaN(b[k]))) diffs++;
      expect(diffs, `layer ${i} (${l.type}) on ${detector.backend}`).toBe(0);
    });
  });
});
