// NetworkOptions.lazyYoloClasses (the detector's default): [yolo] outputs keep raw class scores and
// the decoder applies darknet's logistic only where objectness passes the threshold. The detections
// must be the same bits as with every class score activated by the layer, on a real COCO model
// (80 classes, two heads) on real photos, at a low threshold where many cells qualify, and on the
// WebAssembly and native backends (the lazy layer itself is TypeScript on every backend).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import { fixtures } from '../engine/helpers.js';

const yoloFastest = path.join(fixtures, 'yolo-fastest');
const source = { cfg: path.join(yoloFastest, 'yolo-fastest-1.1.cfg'), weights: path.join(yoloFastest, 'yolo-fastest-1.1.weights'), names: path.join(yoloFastest, 'coco.names') };

describe('lazy yolo class scores', () => {
  it('the detector leaves class scores raw unless it keeps layer outputs', async () => {
    const lazy = await loadDetector(source);
    const full = await loadDetector(source, { keepLayerOutputs: true });
    expect(lazy.network.lazyYoloClasses).toBe(true);
    expect(full.network.lazyYoloClasses).toBe(false);
    lazy.dispose();
    full.dispose();
  });

  for (const backend of ['wasm', 'native'])
    it(`${backend}: the same detections as fully activated yolo layers (real photos, thresholds 0.05 and 0.5)`, async () => {
      let lazy;
      try {
        lazy = await loadDetector(source, { backend });
      } catch (e) {
        if (backend === 'native') return; // addon not built here: the native tests say so
        throw e;
      }
      const full = await loadDetector(source, { backend, keepLayerOutputs: true });
      for (const name of ['dog.jpg', 'bus.jpg']) {
        const img = await decodeImageFile(path.join(yoloFastest, name));
        for (const thresh of [0.05, 0.5]) {
          const a = lazy.detectImage(img, { thresh });
          const b = full.detectImage(img, { thresh });
          expect(a.length, `${name} @${thresh}`).toBeGreaterThan(0);
          expect(a, `${name} @${thresh}`).toEqual(b);
        }
      }
      lazy.dispose();
      full.dispose();
    });
});
