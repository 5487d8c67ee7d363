import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectCandidates } from '../../src/detect/decode.js';
import { decodeImageFile, prepareNetworkInput } from '../../src/detect/preprocess.js';
import { availableBackends, createBackend } from '../../src/engine/kernels/select.js';
import { loadDarknetModel, loadModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { Network } from '../../src/engine/runtime/network.js';
import { fixtures, readF32, repoRoot } from './helpers.js';

/**
 * Gated [yolo] heads (src/engine/runtime/gated-heads.ts): with a class gate, the head convs compute
 * class scores only for the cells where some anchor's objectness passes. On 'exact' precision the
 * detections at any threshold >= the gate must be the very same floats as the whole head gives, on
 * every backend, for real models: the bundled traffic model on a street photo, yolo-fastest (COCO,
 * 80 classes) on a photo, and the darknet-xnor-a fixture (random weights) on its input.
 */
interface Case {
  name: string;
  model: Model;
  input: Float32Array;
}

const cases: Case[] = [];
beforeAll(async () => {
  const fill = async (model: Model, photo: string): Promise<Float32Array> => {
    const { width, height, letterbox } = model.spec.net;
    const input = new Float32Array(3 * width * height);
    prepareNetworkInput(await decodeImageFile(photo), width, height, letterbox, input);
    return input;
  };
  const bundled = loadModel(path.join(repoRoot, 'models', 'xnorcam-traffic.xnor'));
  cases.push({ name: 'bundled model, street photo', model: bundled, input: await fill(bundled, path.join(fixtures, 'real-traffic', 'stills', 'bus.jpg')) });
  const dirF = path.join(fixtures, 'yolo-fastest');
  const fastest = loadDarknetModel(path.join(dirF, 'yolo-fastest-1.1.cfg'), path.join(dirF, 'yolo-fastest-1.1.weights'), path.join(dirF, 'coco.names'));
  cases.push({ name: 'yolo-fastest, dog.jpg', model: fastest, input: await fill(fastest, path.join(dirF, 'dog.jpg')) });
  const dirA = path.join(fixtures, 'darknet-xnor-a');
  const a = loadDarknetModel(path.join(dirA, 'yolov3-tiny_xnor_160_slim.cfg'), path.join(dirA, 'weights_a.weights'), path.join(dirA, 'classes.names'));
  cases.push({ name: 'darknet-xnor-a', model: a, input: readF32(path.join(dirA, 'input_tensor.f32')) });
});

const candidatesOf = (net: Network, thresh: number) =>
  collectCandidates(net, thresh, net.spec.net.width, net.spec.net.height, false).map((c) => [c.x, c.y, c.w, c.h, c.objectness, ...c.prob]);

const backends = await availableBackends();

describe('gated yolo heads', () => {
  for (const backend of backends)
    it(`${backend}, exact: the same detections as the whole heads at every threshold, class scores computed only where objectness passes`, async () => {
      for (const c of cases) {
        // the TypeScript reference takes seconds a frame on the larger models: it runs the 160 px fixture only
        if (backend === 'reference' && c.name !== 'darknet-xnor-a') continue;
        const whole = new Network(c.model, await createBackend(backend, { precision: 'exact' }), { lazyYoloClasses: true });
        const gated = new Network(c.model, await createBackend(backend, { precision: 'exact' }), { lazyYoloClasses: true });
        expect(gated.gatedHeads.size, c.name).toBe(c.model.spec.layers.filter((l) => l.type === 'yolo').length);
        whole.input.set(c.input);
        gated.input.set(c.input);
        whole.forward();
        expect(whole.classGate).toBeUndefined();
        // A head chooses whole or gated from the share of cells that passed on its last gated frame:
        // one frame at the threshold first; then another input, whole heads, leaves other class scores
        // in every cell, so a cell the gate misses shows.
        const other = c.input.slice().reverse();
        let partial = 0;
        let wholeRuns = 0;
        for (const thresh of [0.005, 0.1, 0.25, 0.5, 0.9]) {
          gated.input.set(c.input);
          gated.forward(undefined, thresh);
          gated.input.set(other);
          gated.forward();
          gated.input.set(c.input);
          gated.forward(undefined, thresh);
          expect(gated.classGate).toBe(thresh);
          const got = candidatesOf(gated, thresh);
          expect(got, `${c.name} @${thresh}`).toEqual(candidatesOf(whole, thresh));
          for (const [conv, head] of gated.gatedHeads) {
            const { h, w } = c.model.spec.layers[conv].output;
            expect(head.computedCells).toBeLessThanOrEqual(h * w);
            if (head.computedCells > 0 && head.computedCells < h * w) partial++;
            if (head.computedCells === h * w) wholeRuns++;
          }
          // the gate at the threshold, decoded above it: the same as the whole heads there too
          expect(candidatesOf(gated, Math.min(1, thresh + 0.2)), `${c.name} @${thresh} decoded higher`).toEqual(candidatesOf(whole, Math.min(1, thresh + 0.2)));
        }
        // the gate did skip cells (a gate that computes everything would pass the comparisons too)
        expect(partial, `${c.name}: runs that computed some but not all cells`).toBeGreaterThan(0);
        // and where most cells passed, the next frame ran the heads whole
        if (c.name !== 'darknet-xnor-a') expect(wholeRuns, `${c.name}: runs with the heads whole`).toBeGreaterThan(0);
        // and without a gate the heads are whole again
        gated.forward();
        expect(gated.classGate).toBeUndefined();
        expect(candidatesOf(gated, 0.001)).toEqual(candidatesOf(whole, 0.001));
      }
    }, 120_000);

  it('two threads per frame: the same detections gated as whole, on every backend that splits frames', async () => {
    let ran = 0;
    for (const backend of backends) {
      const kernels = [await createBackend(backend, { precision: 'exact' }), await createBackend(backend, { precision: 'exact' })];
      if (!kernels[0].setThreads) continue;
      kernels.forEach((k) => k.setThreads!(2));
      for (const c of cases.slice(0, 2)) {
        const [whole, gated] = kernels.map((k) => new Network(c.model, k, { lazyYoloClasses: true }));
        whole.input.set(c.input);
        gated.input.set(c.input);
        whole.forward();
        for (const thresh of [0.25, 0.5]) {
          gated.forward(undefined, thresh);
          gated.forward(undefined, thresh);
          expect(candidatesOf(gated, thresh), `${backend} ${c.name} @${thresh}`).toEqual(candidatesOf(whole, thresh));
        }
        ran++;
      }
      kernels.forEach((k) => k.dispose?.());
    }
    expect(ran).toBeGreaterThan(0);
  }, 120_000);

  it('decoding below the gate is refused (class scores there were never computed)', async () => {
    const c = cases[0];
    const net = new Network(c.model, await createBackend('wasm'), { lazyYoloClasses: true });
    net.input.set(c.input);
    net.forward(undefined, 0.3);
    expect(() => collectCandidates(net, 0.2, 320, 192, false)).toThrow(/objectness > 0\.3; decoding at 0\.2/);
  });

  it('no gated heads where the class scores are activated or layer outputs are kept', async () => {
    const c = cases[0];
    expect(new Network(c.model, await createBackend('wasm')).gatedHeads.size).toBe(0);
    expect(new Network(c.model, await createBackend('wasm'), { lazyYoloClasses: true, keepLayerOutputs: true }).gatedHeads.size).toBe(0);
  });
});
