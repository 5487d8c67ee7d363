// The native backend's int16 sign estimate (native/src/sign_estimate_impl.h): a bit-linked float
// conv that reads the caller's input in place (a first layer: few channels, wide rows) takes its
// output signs from exact int16 sums and error bounds, recomputing undecided outputs in darknet's
// float order. Its bits, and every tensor after them, must equal the all-float run bit for bit,
// on frames that walk its per-frame scale logic: the first frame, a frame in range, one far below
// it and one above it (quantised again), image-like values on the 1/255 grid with a 0.5 letterbox
// band (ties), negative values with exact zeros, an all-zero frame and a NaN (the float path).
import { describe, expect, it } from 'vitest';
import { parseCfg } from '../../src/engine/darknet/cfg.js';
import { prepareModel } from '../../src/engine/darknet/prepare.js';
import { create } from '../../src/engine/kernels/native/index.js';
import type { NativeConvOp } from '../../src/engine/kernels/native/index.js';
import { defaultClassNames, type Model } from '../../src/engine/model.js';
import { randomRawWeights } from '../../src/engine/random-model.js';
import { Network } from '../../src/engine/runtime/network.js';
import { firstBitDifference } from '../helpers/bit-links.js';
import { isas, skipNote, unavailable } from './addon.js';
import { randomFloats, rng } from './layers.js';

const conv = (filters: number, size: number, act: string, xnor: 0 | 1) =>
  `[convolutional]\nbatch_normalize=1\nfilters=${filters}\nsize=${size}\nstride=1\npad=${size > 1 ? 1 : 0}\nxnor=${xnor}\nactivation=${act}\n`;

interface Case {
  channels: number;
  w: number;
  h: number;
  filters: number;
  act: string;
  pool: boolean;
}

const cases: Case[] = [
  { channels: 3, w: 208, h: 8, filters: 16, act: 'leaky', pool: true },
  { channels: 3, w: 177, h: 7, filters: 24, act: 'relu', pool: false },
  { channels: 1, w: 160, h: 6, filters: 16, act: 'linear', pool: true },
  { channels: 2, w: 193, h: 9, filters: 8, act: 'leaky', pool: false },
  { channels: 4, w: 240, h: 6, filters: 32, act: 'leaky', pool: true },
];

function build(c: Case, seed: number): Model {
  const text =
    `[net]\nwidth=${c.w}\nheight=${c.h}\nchannels=${c.channels}\n` + conv(c.filters, 3, c.act, 0) + (c.pool ? '[maxpool]\nsize=2\nstride=2\n' : '') +
    conv(32, 3, 'leaky', 1) + conv(8, 1, 'linear', 0);
  const spec = parseCfg(text, 'sign-estimate.cfg');
  return prepareModel(spec, randomRawWeights(spec, seed), defaultClassNames(0));
}

/** The frames, in order: each exercises one branch of the per-frame scale (see the file comment). */
function frames(n: number, seed: number): { name: string; data: Float32Array }[] {
  const r = rng(seed);
  const uniform = Float32Array.from({ length: n }, () => r());
  const image = Float32Array.from({ length: n }, (_, i) => (i % 97 < 20 ? 0.5 : Math.fround(Math.floor(r() * 256) / 255)));
  const nan = uniform.slice();
  nan[Math.floor(n / 3)] = NaN;
  return [
    { name: 'first frame, uniform [0, 1)', data: uniform },
    { name: 'image-like 1/255 grid with a 0.5 band', data: image },
    { name: 'in range again', data: Float32Array.from(uniform, (x) => 1 - x) },
    { name: 'far below the range (x 0.01)', data: Float32Array.from(uniform, (x) => x * 0.01) },
    { name: 'above the range (x 50)', data: Float32Array.from(uniform, (x) => x * 50) },
    { name: 'negative values and exact zeros', data: randomFloats(n, r, 0.2) },
    { name: 'all zero', data: new Float32Array(n) },
    { name: 'a NaN', data: nan },
    { name: 'uniform after the float-path frames', data: uniform },
  ];
}

describe.skipIf(unavailable !== '' || !isas.includes('avx512'))(`native int16 sign estimate of a bit-linked first layer${skipNote}`, () => {
  // In 'fast' precision too the estimate gives the bits (exact ones, not the FMA tiles' rounding),
  // so every tensor but the last conv's (a head: int8 there) equals the exact all-float run.
  for (const precision of ['exact', 'fast'] as const)
  for (const threads of [1, 2])
    it(`${precision}, ${threads} thread(s): bits and every later tensor equal the exact all-float run (${cases.length} layers x 9 frames)`, async () => {
      const be = await create({ isa: 'avx512', threads, precision });
      const exact = await create({ isa: 'avx512', threads, precision: 'exact' });
      const vnni = (await create({ isa: 'avx512', precision: 'fast' })).precision === 'fast';
      for (const [k, c] of cases.entries()) {
        const model = build(c, 7 + k);
        const linked = new Network(model, be);
        const plain = new Network(model, exact, { keepLayerOutputs: true, bitLinks: false });
        const compared = precision === 'fast' ? model.spec.layers.length - 1 : model.spec.layers.length;
        const first = (linked as unknown as { convIo: Map<number, { op: NativeConvOp }> }).convIo.get(0)!.op;
        expect(linked.bitLinkedTensors.has(c.pool ? 1 : 0), `case ${k}`).toBe(true);
        // the estimate is there exactly where the CPU has AVX-512 VNNI
        expect(first.kernel.includes('sign estimate'), `case ${k}: ${first.kernel}`).toBe(vnni);
        for (const f of frames(plain.input.length, 100 + k)) {
          plain.input.set(f.data);
          linked.input.set(f.data);
          plain.forward();
          linked.forward();
          model.spec.layers.forEach((_, i) => {
            const got = linked.outputs[i];
            if (got.length === 0 || i >= compared) return; // bits only, or the fast head
            const bad = firstBitDifference(got, plain.outputs[i]);
            expect(bad, `${precision}, case ${k} (${c.channels} ch, ${c.w}x${c.h}, ${c.act}${c.pool ? ', pool' : ''}), ${f.name}: layer ${i} element ${bad}`).toBe(-1);
          });
        }
      }
    });

  it('XNORCAM_SIGN_ESTIMATE=off keeps the float kernel', async () => {
    const be = await create({ isa: 'avx512', precision: 'exact' });
    process.env.XNORCAM_SIGN_ESTIMATE = 'off';
    try {
      const net = new Network(build(cases[0], 1), be);
      const first = (net as unknown as { convIo: Map<number, { op: NativeConvOp }> }).convIo.get(0)!.op;
      expect(first.kernel).not.toContain('sign estimate');
    } finally {
      delete process.env.XNORCAM_SIGN_ESTIMATE;
    }
  });
});
