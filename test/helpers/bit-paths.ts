// Shared by the bit-path tests of the native and wasm backends (Network's planBitLinks +
// KernelBackend.linkBinaryInputVia): small random models with route slices, upsampled branches,
// standalone maxpools and dropouts, and the check that every tensor a bit-linked network still
// computes equals, bit for bit, the run that keeps every layer's floats.
import { expect } from 'vitest';
import { parseCfg } from '../../src/engine/darknet/cfg.js';
import { prepareModel } from '../../src/engine/darknet/prepare.js';
import { defaultClassNames, type Model } from '../../src/engine/model.js';
import { randomRawWeights } from '../../src/engine/random-model.js';
import { Network } from '../../src/engine/runtime/network.js';
import type { KernelBackend } from '../../src/engine/kernels/backend.js';
import { firstBitDifference } from './bit-links.js';
import { randomFloats } from '../native/layers.js';
import { rng } from './random.js';

export const net = (w: number, h: number, c = 3) => `[net]\nwidth=${w}\nheight=${h}\nchannels=${c}\n`;
export const conv = (filters: number, size: number, act: string, xnor: 0 | 1, stride = 1) =>
  `[convolutional]\nbatch_normalize=1\nfilters=${filters}\nsize=${size}\nstride=${stride}\npad=${size > 1 ? 1 : 0}\nxnor=${xnor}\nactivation=${act}\n`;
export const pool = (size: number, stride: number, padding?: number) => `[maxpool]\nsize=${size}\nstride=${stride}\n${padding === undefined ? '' : `padding=${padding}\n`}`;
export const up = (stride: number, scale?: number) => `[upsample]\nstride=${stride}\n${scale === undefined ? '' : `scale=${scale}\n`}`;
export const route = (layers: string) => `[route]\nlayers=${layers}\n`;

export interface BitPathCase {
  name: string;
  cfg: string;
  /**
   * bitLinkedTensors on each backend. native: with the AVX-512 kernels and with filters-in-lanes
   * kernels on any ISA (the narrower pixels-in-lanes blocks of AVX2 / POPCNT share bytes between
   * threads: refused, floats). wasm: float producers link only directly (no steps, no slice), and
   * binary consumers of any stride take bits.
   */
  linked: { native: number[]; wasm: number[] };
}

export const bitPathCases: BitPathCase[] = [
  {
    // yolov3-tiny's second head in small: 2 feeds maxpool 3 (-> 4) and route 7's second slice; 5 is upsampled into its first
    name: 'route of an upsampled branch and a conv also read by a standalone maxpool',
    cfg: net(40, 32) + conv(16, 3, 'leaky', 0) + pool(2, 2) + conv(32, 3, 'leaky', 1) + pool(2, 2) + conv(64, 3, 'leaky', 1) + conv(32, 1, 'relu', 1) + up(2) + route('-1, 2') + conv(48, 3, 'linear', 1) + conv(8, 1, 'linear', 0),
    linked: { native: [1, 2, 3, 4, 5, 6, 7], wasm: [1, 2, 3, 4, 5, 6, 7] },
  },
  {
    // 3-part route (a part used twice), upsample by 3 with scale 2, maxpool 3/1 with darknet's padding, a dropout, a pairs consumer (16 channels)
    name: 'three-part route, upsample x3, maxpool 3/1, dropout, 16-channel consumer',
    cfg:
      net(30, 18) + conv(16, 3, 'leaky', 0) + pool(3, 1) + `[dropout]\nprobability=.5\n` + conv(32, 3, 'leaky', 1) + pool(3, 3) + conv(32, 3, 'relu', 1) +
      up(3, 2) + route('3, -1, 3') + conv(24, 3, 'leaky', 1) + conv(4, 1, 'linear', 0),
    linked: { native: [1, 2, 3, 4, 5, 6, 7], wasm: [1, 2, 3, 4, 5, 6, 7] },
  },
  {
    // a route part whose channels start at 16 (not a whole 32-bit plane): that route and its inputs 1 and 5 stay
    // float, and so do the maxpools reading them; the upsampled branch 3 -> 4 -> 5 still takes bits
    name: 'misaligned route slice falls back to floats',
    cfg: net(24, 24) + conv(16, 3, 'leaky', 0) + conv(16, 3, 'leaky', 1) + pool(2, 2) + conv(32, 3, 'leaky', 1) + up(2) + conv(32, 3, 'leaky', 1) + pool(2, 2) + conv(32, 3, 'leaky', 1) + route('1, 5') + conv(16, 3, 'leaky', 1),
    linked: { native: [0, 3, 4], wasm: [0, 3, 4] },
  },
  {
    // a float conv (and a shortcut) read a bit-capable tensor: it stays float; a mish conv cannot produce bits;
    // a stride-2 binary consumer is refused by the native kernels, so what feeds it stays float there (wasm takes it)
    name: 'float readers, mish producers and refused consumers keep floats',
    cfg:
      net(32, 20) + conv(32, 3, 'leaky', 0) + conv(32, 3, 'leaky', 1) + route('-1') + conv(32, 1, 'linear', 0) + route('1') + conv(32, 3, 'mish', 1) + pool(2, 2) +
      conv(32, 3, 'leaky', 1) + up(2) + conv(32, 3, 'leaky', 1, 2) + conv(32, 3, 'leaky', 1) + `[shortcut]\nfrom=-2\nactivation=linear\n` + conv(32, 3, 'leaky', 1),
    linked: { native: [0], wasm: [0, 7, 8] },
  },
  {
    // a wide 3-channel first layer read in place (AVX-512), its fused pool's bits into a 16-channel consumer
    name: 'wide first layer, fused pool, 16-channel consumer',
    cfg: net(200, 10) + conv(16, 3, 'leaky', 0) + pool(2, 2) + conv(32, 3, 'leaky', 1) + conv(8, 1, 'linear', 0),
    linked: { native: [1], wasm: [1] },
  },
  {
    // a float conv feeding a standalone maxpool (-> binary 2) and the second slice of route 4 (-> binary 5): the
    // wasm backend refuses float producers through steps or into slices, so there both consumers read floats
    name: 'float producer through a maxpool and into a route slice',
    cfg: net(24, 16) + conv(32, 3, 'leaky', 0) + pool(2, 2) + conv(32, 3, 'relu', 1) + up(2) + route('-1, 0') + conv(16, 3, 'leaky', 1) + conv(8, 1, 'linear', 0),
    linked: { native: [0, 1, 2, 3, 4], wasm: [] },
  },
];

export function buildBitPathModel(text: string, seed: number): Model {
  const spec = parseCfg(text, 'bit-paths.cfg');
  return prepareModel(spec, randomRawWeights(spec, seed), defaultClassNames(0));
}

/**
 * Runs `model` bit-linked and plain (every layer's floats kept) on two random inputs and expects
 * every tensor the linked network computes to equal the plain one bit for bit, and the linked
 * tensors (`expectLinked`, when given) to be empty. `inputSeed` draws the inputs.
 */
export function expectBitIdentical(be: KernelBackend, model: Model, label: string, inputSeed: number, expectLinked?: number[]): Network {
  const linked = new Network(model, be);
  const plain = new Network(model, be, { keepLayerOutputs: true });
  if (expectLinked) expect([...linked.bitLinkedTensors], label).toEqual(expectLinked);
  for (const t of linked.bitLinkedTensors) expect(linked.outputs[t].length).toBe(0);
  const r = rng(inputSeed);
  for (let round = 0; round < 2; round++) {
    plain.input.set(randomFloats(plain.input.length, r, round === 0 ? 0.02 : 0.3));
    linked.input.set(plain.input);
    plain.forward();
    linked.forward();
    model.spec.layers.forEach((_, i) => {
      const got = linked.outputs[i];
      if (got.length === 0) return; // fused away or bits only
      const bad = firstBitDifference(got, plain.outputs[i]);
      expect(bad, `${label}, round ${round}: layer ${i} element ${bad}`).toBe(-1);
    });
  }
  return linked;
}
