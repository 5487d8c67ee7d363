import path from 'node:path';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { create } from '../../src/engine/kernels/wasm/index.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import type { Model } from '../../src/engine/model.js';
import { randomModelFromCfg } from '../../src/engine/random-model.js';
import { Network } from '../../src/engine/runtime/network.js';
import { fixtures, readF32 } from '../engine/helpers.js';
import { ensureWasmBuilt, rng } from '../kernels/helpers.js';

/**
 * Whole networks on the wasm backend with everything on (conv+maxpool fusion, bit links, the int16
 * sign estimate of the first layer, 1 and 2 threads): every tensor the network still exposes is
 * bit-identical to the plain TypeScript reference run, and 'fast' precision gives the same
 * outputs with 1 and 2 threads.
 */
const dir = path.join(fixtures, 'darknet-xnor-a');
let fixture: Model;
let generated: Model;
let tmp: string;
beforeAll(async () => {
  ensureWasmBuilt();
  // the benchmark's yolov3-tiny_xnor cfg generator (plain JS: imported through a variable)
  const generator: string = '../../bench/yolov3-tiny.mjs';
  const { yolov3TinyCfg } = (await import(generator)) as { yolov3TinyCfg(o: { size: number; xnor: boolean }): string };
  fixture = loadDarknetModel(path.join(dir, 'yolov3-tiny_xnor_160_slim.cfg'), path.join(dir, 'weights_a.weights'));
  tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-wasm-net-'));
  const cfg = path.join(tmp, 'yolov3-tiny_xnor-96.cfg');
  writeFileSync(cfg, yolov3TinyCfg({ size: 96, xnor: true }));
  generated = randomModelFromCfg(cfg, 3);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function sameBits(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -2;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.findIndex((v, i) => v !== ub[i]);
}

describe.each([
  ['darknet-xnor-a (160x160, real image)', () => fixture, () => readF32(path.join(dir, 'input_tensor.f32'))],
  ['generated yolov3-tiny_xnor (96x96, random weights)', () => generated, () => Float32Array.from({ length: 3 * 96 * 96 }, rng(5))],
] as const)('%s', (_name, model, input) => {
  it('exact: fused, bit-linked, 1 and 2 threads, bit-identical to the TypeScript reference', async () => {
    const reference = new Network(model(), new ReferenceBackend(), { keepLayerOutputs: true });
    reference.input.set(input());
    reference.forward();
    for (const threads of [1, 2]) {
      const backend = await create();
      backend.setThreads!(threads);
      const net = new Network(model(), backend);
      expect([...net.fusedLayers].length, 'fusion on').toBeGreaterThan(0);
      expect([...net.bitLinkedTensors].length, 'bit links on').toBeGreaterThan(0);
      net.input.set(input());
      for (let run = 0; run < 2; run++) {
        net.forward();
        net.outputs.forEach((o, i) => {
          if (o.length === 0) return; // fused away or passed as bits
          expect(sameBits(o, reference.outputs[i]), `${threads} thread(s), run ${run + 1}, layer ${i}`).toBe(-1);
        });
      }
      backend.dispose?.();
    }
  });

  it('fast: the same outputs with 1 and 2 threads', async () => {
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2]) {
      const backend = await create({ precision: 'fast' });
      backend.setThreads!(threads);
      const net = new Network(model(), backend);
      net.input.set(input());
      net.forward();
      outs.push(net.outputs.map((o) => Float32Array.from(o)));
      backend.dispose?.();
    }
    outs[0].forEach((o, i) => expect(sameBits(o, outs[1][i]), `layer ${i}`).toBe(-1));
  });
});
