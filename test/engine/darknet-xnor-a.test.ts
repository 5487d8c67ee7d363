import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCandidates, nmsSort } from '../../src/detect/decode.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import { EngineDetector } from '../../src/detect/detector.js';
import { availableBackends, createBackend } from '../../src/engine/kernels/select.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { encodeModel, readModelFile } from '../../src/engine/model-file/format.js';
import { Network } from '../../src/engine/runtime/network.js';
import { firstDiffs, fixtures, readF32 } from './helpers.js';

/**
 * Conformance with darknet on ../shared/fixtures/darknet-xnor-a: every dumped layer, the prepared
 * parameters and the final detections, for the model loaded from cfg+weights and from a packed
 * .xnor, on every kernel backend that loads here.
 */
const dir = path.join(fixtures, 'darknet-xnor-a');
const cfg = path.join(dir, 'yolov3-tiny_xnor_160_slim.cfg');
const weights = path.join(dir, 'weights_a.weights');
const names = path.join(dir, 'classes.names');

interface DumpedLayer {
  index: number;
  type: string;
  shape_chw: number[];
  file?: string;
}
const outputsJson = JSON.parse(readFileSync(path.join(dir, 'outputs.json'), 'utf8')) as { layers: DumpedLayer[] };
const expected = JSON.parse(readFileSync(path.join(dir, 'detections.json'), 'utf8')) as {
  candidates_before_nms: { x: number; y: number; w: number; h: number; objectness: number; prob: number[] }[];
  detections: { class: number; prob: number; x: number; y: number; w: number; h: number }[];
};

let tmp: string;
const models: Record<string, Model> = {};

beforeAll(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-fixture-a-'));
  models['cfg+weights'] = loadDarknetModel(cfg, weights, names);
  const packed = path.join(tmp, 'a.xnor');
  writeFileSync(packed, encodeModel(models['cfg+weights']));
  models['.xnor'] = readModelFile(packed);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('darknet weight preparation (prepared_params.bin)', () => {
  it('folds batch norm and computes the XNOR per-filter scale bit-exactly', () => {
    const meta = JSON.parse(readFileSync(path.join(dir, 'prepared_params.json'), 'utf8')) as {
      layers: { index: number; fused_biases: { offset: number; count: number }; mean_arr?: { offset: number; count: number }; fused_weights?: { offset: number; count: number } }[];
    };
    const blob = readF32(path.join(dir, 'prepared_params.bin'));
    const slice = (r: { offset: number; count: number }) => blob.subarray(r.offset / 4, r.offset / 4 + r.count);
    const model = models['cfg+weights'];
    expect(meta.layers.length).toBe(13);
    for (const l of meta.layers) {
      const p = model.params[l.index]!;
      expect(Array.from(p.bias), `layer ${l.index} bias`).toEqual(Array.from(slice(l.fused_biases)));
      if (l.mean_arr) {
        expect(p.kind).toBe('binary');
        if (p.kind === 'binary') expect(Array.from(p.scale), `layer ${l.index} scale`).toEqual(Array.from(slice(l.mean_arr)));
      } else {
        expect(p.kind).toBe('float');
        if (p.kind === 'float') expect(firstDiffs(p.weights, slice(l.fused_weights!)), `layer ${l.index} weights`).toEqual([]);
      }
    }
  });
});

const backends = await availableBackends();

describe.each(backends)('backend %s', (backendName) => {
  describe.each(['cfg+weights', '.xnor'])('model from %s', (source) => {
    let net: Network;
    beforeAll(async () => {
      // Every layer's dump is compared, so no conv+maxpool fusion here (test/engine/fused-ops.test.ts covers it).
      net = new Network(models[source], await createBackend(backendName), { keepLayerOutputs: true });
      net.input.set(readF32(path.join(dir, 'input_tensor.f32')));
      net.forward();
    });

    it('matches every dumped layer output (bit-exact; yolo within 1e-6)', () => {
      const dumped = outputsJson.layers.filter((l) => l.file);
      expect(dumped.length).toBe(22);
      for (const l of dumped) {
        const want = readF32(path.join(dir, l.file!));
        const got = net.outputs[l.index];
        expect(got.length, `layer ${l.index} size`).toBe(want.length);
        const tol = l.type === 'yolo' ? 1e-6 : 0;
        expect(firstDiffs(got, want, tol), `layer ${l.index} (${l.type})`).toEqual([]);
      }
    });

    it('finds the candidates and the NMS result of detections.json', () => {
      const cands = collectCandidates(net, 0.25, 160, 160, false);
      expect(cands.length).toBe(expected.candidates_before_nms.length);
      cands.forEach((c, i) => {
        const e = expected.candidates_before_nms[i];
        expect(Math.abs(c.x - e.x) + Math.abs(c.y - e.y) + Math.abs(c.w - e.w) + Math.abs(c.h - e.h)).toBeLessThan(4e-5);
        expect(Math.abs(c.objectness - e.objectness)).toBeLessThan(1e-5);
      });
      const final = nmsSort(cands, 3, 0.45).flatMap((d) => Array.from(d.prob, (p, cls) => ({ cls, p, d })).filter((x) => x.p > 0.25));
      expect(final.length).toBe(expected.detections.length);
      for (const e of expected.detections) {
        const match = final.find(
          ({ cls, p, d }) => cls === e.class && Math.abs(p - e.prob) < 1e-5 && Math.abs(d.x - e.x) < 1e-5 && Math.abs(d.y - e.y) < 1e-5 && Math.abs(d.w - e.w) < 1e-5 && Math.abs(d.h - e.h) < 1e-5,
        );
        expect(match, `detection class ${e.class} prob ${e.prob} at (${e.x}, ${e.y})`).toBeDefined();
      }
    });
  });

  it('detects from the PNG through the full image path (decode, /255, resize, decode, NMS)', async () => {
    const det = new EngineDetector(models['.xnor'], await createBackend(backendName));
    const img = await decodeImageFile(path.join(dir, 'image_a.png'));
    const dets = det.detectImage(img);
    expect(firstDiffs(det.network.input, readF32(path.join(dir, 'input_tensor.f32')))).toEqual([]);
    expect(dets.length).toBe(expected.detections.length);
    for (const e of expected.detections) {
      const box = [(e.x - e.w / 2) * 160, (e.y - e.h / 2) * 160, (e.x + e.w / 2) * 160, (e.y + e.h / 2) * 160].map((v) => Math.min(160, Math.max(0, v)));
      const m = dets.find((d) => d.classId === e.class && Math.abs(d.score - e.prob) < 1e-4 && d.box.every((v, i) => Math.abs(v - box[i]) < 0.01));
      expect(m, `class ${e.class} prob ${e.prob}`).toBeDefined();
      expect(m!.className).toBe(`class${e.class}`);
    }
    det.dispose();
  });
});
