// Bit links on the wasm backend (KernelBackend.linkBinaryInput): a float or binary conv, maybe with
// its maxpool fused in, writing the packed sign bits of its output straight into the binary conv
// after it must give that consumer exactly the bits of the float path (producer floats -> maxpool ->
// consumer sign packing), and must leave the tensor between them untouched. The float producers with
// wide rows take the int16 sign estimate (src/engine/kernels/wasm/sign-estimate.ts): inputs on a
// coarse grid make many outputs exactly 0 or a few ulps from it, which only its exact fallback gets right.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BinaryConvParams, KernelBackend } from '../../src/engine/kernels/backend.js';
import { setSignEstimate } from '../../src/engine/kernels/wasm/float-conv.js';
import { create } from '../../src/engine/kernels/wasm/index.js';
import { int16Ranges } from '../../src/engine/kernels/wasm/int16-scales.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { binaryParams, ensureWasmBuilt, fillRandom, floatParams, outSize, rng, type Shape } from '../kernels/helpers.js';
import { bitLinkCases, firstBitDifference, pooledSize, prepareProducer, runPlainAndLinked, spreadCountRanges, type BitLinkCase } from '../helpers/bit-links.js';

let be: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  be = await create();
});

type Case = BitLinkCase;
const cases = bitLinkCases([[3, 16], [16, 32], [5, 24], [40, 8], [7, 12]], [[18, 40], [13, 13], [9, 37]], [{ size: 3, pad: 1 }, { size: 1, pad: 0 }], (n) => 8 + (n % 3) * 8);

function build(c: Case, seed: number) {
  const r = rng(seed);
  const ps: Shape = { ...c.producer, groups: 1 };
  const pp = c.kind === 'float' ? floatParams(ps, r) : binaryParams(ps, r);
  if (c.kind === 'float') {
    // weights and biases on a grid of 1/8: with grid inputs many outputs are exactly 0
    for (let i = 0; i < pp.weights.length; i++) pp.weights[i] = Math.round((r() * 2 - 1) * 8) / 8;
    for (let f = 0; f < pp.outC; f++) pp.bias[f] = f % 3 === 0 ? 0 : Math.round((r() * 2 - 1) * 8) / 8;
  } else spreadCountRanges(pp as BinaryConvParams);
  const [ph, pw] = pooledSize(c, pp.outH, pp.outW);
  const cs: Shape = { inC: c.producer.outC, inH: ph, inW: pw, stride: 1, groups: 1, ...c.consumer };
  const cp = binaryParams(cs, r);
  expect(cp.outH).toBe(outSize(ph, cs.size, 1, cs.pad));
  return { pp, cp, mid: c.producer.outC * ph * pw, prepP: () => prepareProducer(be, c, pp), prepC: () => be.prepareBinaryConv(cp) };
}

/** Inputs: random spread, then a coarse grid (exact zeros and ties in the float sums), then small values. */
function input(count: number, round: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(count);
  if (round === 0) fillRandom(a, r);
  else if (round === 1) for (let i = 0; i < count; i++) a[i] = Math.round((r() * 2 - 1) * 4) / 4;
  else for (let i = 0; i < count; i++) a[i] = (r() * 2 - 1) * 1e-3;
  return a;
}

describe('wasm bit links', () => {
  for (const estimate of [true, false])
    it(`linked output bit-identical to the float path, ${cases.length} pairs (int16 sign estimate ${estimate ? 'on' : 'off'})`, () => {
      setSignEstimate(estimate);
      try {
        let linkedCount = 0;
        cases.forEach((c, i) => {
          const { pp, cp, mid, prepP, prepC } = build(c, 100 + i);
          const plain = [prepP(), prepC()];
          const linked = [prepP(), prepC()];
          const ok = be.linkBinaryInput!(linked[0], linked[1]);
          if (ok) linkedCount++;
          for (let round = 0; round < 3; round++) {
            const x = input(pp.inC * pp.inH * pp.inW, round, 900 + i * 3 + round);
            const between = ok ? new Float32Array(0) : new Float32Array(mid).fill(Number.NaN);
            const { want, got } = runPlainAndLinked(plain, linked, ok, x, mid, cp.outC * cp.outH * cp.outW, between);
            const bad = firstBitDifference(got, want);
            expect(bad, `${c.name} (linked: ${ok}) round ${round}: element ${bad}`).toBe(-1);
          }
        });
        expect(linkedCount).toBe(cases.length);
      } finally {
        setSignEstimate(true);
      }
    });

  it('the sign estimate survives its worst case: every input rounding error in one direction, outputs just above 0', () => {
    // Equal positive weights (exact in int16) and inputs 0.49 of a step above a grid point: the
    // estimate is low by ~0.49 step * sum|w|, about its whole quantisation margin, while the bias puts
    // darknet's outputs just above 0 in the image interior; a margin much under the bound flips those bits.
    for (const inC of [3, 4]) {
      const s: Shape = { inC, inH: 6, inW: 40, outC: 8, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' };
      const p = floatParams(s, rng(1));
      p.weights.fill(0.05);
      const { qA } = int16Ranges(p.weights, s.outC, inC * 9);
      // the same value everywhere (so interior outputs are equal), and max |x| = 1: the step is 1 / qA
      const x = new Float32Array(inC * s.inH * s.inW).fill((Math.floor(qA / 3) + 0.49) / qA);
      x[0] = 1;
      // darknet's sum at an interior pixel (bias 0), then biases that leave it a hair above 0
      const ref = new ReferenceBackend();
      const zero = { ...p, bias: new Float32Array(s.outC) };
      const acc = new Float32Array(s.outC * s.inH * s.inW);
      ref.prepareFloatConv(zero).run(x, acc);
      const plane = s.inH * s.inW;
      const step = (0.05 * inC * 9) / qA;
      for (let f = 0; f < s.outC; f++) p.bias[f] = -acc[f * plane + 2 * s.inW + 20] + step * 0.01 * (f + 1);
      const cs: Shape = { inC: s.outC, inH: 3, inW: 20, outC: 8, size: 1, stride: 1, pad: 0, groups: 1, activation: 'linear' };
      const cp = binaryParams(cs, rng(3));
      const plain = [be.prepareFloatConvPool!(p, { size: 2, stride: 2, padding: 0 }), be.prepareBinaryConv(cp)];
      const linked = [be.prepareFloatConvPool!(p, { size: 2, stride: 2, padding: 0 }), be.prepareBinaryConv(cp)];
      expect(be.linkBinaryInput!(linked[0], linked[1])).toBe(true);
      const conv = new Float32Array(acc.length);
      ref.prepareFloatConv(p).run(x, conv);
      expect(conv.filter((v) => v > 0 && v < step).length, 'outputs just above 0').toBeGreaterThan(20);
      const { want, got } = runPlainAndLinked(plain, linked, true, x, s.outC * 3 * 20, cp.outC * 3 * 20, new Float32Array(0));
      expect(Array.from(new Uint32Array(got.buffer)), `inC ${inC}`).toEqual(Array.from(new Uint32Array(want.buffer)));
    }
  });

  it('a NaN or infinity in the input takes the float path (the estimate would read it as 0)', () => {
    const c = cases.find((x) => x.kind === 'float' && x.producer.inW === 40 && x.pool?.stride === 2)!;
    const { pp, cp, mid, prepP, prepC } = build(c, 5);
    const plain = [prepP(), prepC()];
    const linked = [prepP(), prepC()];
    expect(be.linkBinaryInput!(linked[0], linked[1])).toBe(true);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const x = input(pp.inC * pp.inH * pp.inW, 0, 77);
      x[123] = bad;
      const { want, got } = runPlainAndLinked(plain, linked, true, x, mid, cp.outC * cp.outH * cp.outW, new Float32Array(0));
      expect(Array.from(new Uint32Array(got.buffer)), String(bad)).toEqual(Array.from(new Uint32Array(want.buffer)));
    }
  });

  it('with 2 threads (bands of rows, ranges of 8 filters) the linked bits stay identical', async () => {
    const threaded = await create();
    threaded.setThreads!(2);
    try {
      // big enough to be split: >= 4M MACs per band of a float producer, per layer of a binary one
      const big: Case[] = [
        { name: 'float 16x64x64 -> 16 +pool', kind: 'float', producer: { inC: 16, inH: 64, inW: 64, outC: 16, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: { size: 2, stride: 2, padding: 0 }, consumer: { outC: 16, size: 3, pad: 1, activation: 'leaky' } },
        { name: 'float 24x40x72 -> 20', kind: 'float', producer: { inC: 24, inH: 40, inW: 72, outC: 20, size: 3, stride: 1, pad: 1, activation: 'relu' }, consumer: { outC: 8, size: 1, pad: 0, activation: 'linear' } },
        { name: 'binary 16x52x52 -> 36 +pool', kind: 'binary', producer: { inC: 16, inH: 52, inW: 52, outC: 36, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: { size: 2, stride: 2, padding: 0 }, consumer: { outC: 16, size: 3, pad: 1, activation: 'leaky' } },
        { name: 'binary 256x13x13 -> 512', kind: 'binary', producer: { inC: 256, inH: 13, inW: 13, outC: 512, size: 3, stride: 1, pad: 1, activation: 'leaky' }, consumer: { outC: 32, size: 1, pad: 0, activation: 'leaky' } },
      ];
      const saved = be;
      big.forEach((c, i) => {
        be = saved;
        const single = build(c, 300 + i);
        be = threaded;
        const multi = build(c, 300 + i);
        be = saved;
        const a = [single.prepP(), single.prepC()];
        be = threaded;
        const b = [multi.prepP(), multi.prepC()];
        expect(threaded.linkBinaryInput!(b[0], b[1]), c.name).toBe(true);
        be = saved;
        const x = input(single.pp.inC * single.pp.inH * single.pp.inW, 0, 40 + i);
        const { want, got } = runPlainAndLinked(a, b, true, x, single.mid, single.cp.outC * single.cp.outH * single.cp.outW, new Float32Array(0));
        expect(Array.from(new Uint32Array(got.buffer)), c.name).toEqual(Array.from(new Uint32Array(want.buffer)));
      });
    } finally {
      threaded.dispose?.();
    }
  });

  it('refuses pairs it cannot link', () => {
    const r = rng(3);
    const base: Shape = { inC: 16, inH: 12, inW: 12, outC: 32, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' };
    const producer = () => be.prepareBinaryConv(binaryParams(base, r));
    expect(be.linkBinaryInput!(producer(), be.prepareFloatConv(floatParams({ ...base, inC: 32 }, r)))).toBe(false); // float consumer
    expect(be.linkBinaryInput!(producer(), be.prepareBinaryConv(binaryParams({ ...base, inC: 16 }, r)))).toBe(false); // 32 channels into 16
    const pool3 = be.prepareBinaryConvPool!(binaryParams(base, r), { size: 3, stride: 1, padding: 2 });
    expect(be.linkBinaryInput!(pool3, be.prepareBinaryConv(binaryParams({ ...base, inC: 32, inH: 10, inW: 10 }, r)))).toBe(false); // 12x12 pooled
    const c = be.prepareBinaryConv(binaryParams({ ...base, inC: 32 }, r));
    expect(be.linkBinaryInput!(producer(), c)).toBe(true);
    expect(be.linkBinaryInput!(producer(), c)).toBe(false); // one writer per consumer
  });
});
