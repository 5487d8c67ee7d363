import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import type { MaxPoolParams } from '../../src/engine/kernels/backend.js';
import { create, loadAddon, supportedIsas } from '../../src/engine/kernels/native/index.js';
import { UserError } from '../../src/core/errors.js';
import { binaryLayer, floatLayer, randomFloats, rng } from './layers.js';

let unavailable = '';
try {
  loadAddon();
} catch (e) {
  unavailable = (e as Error).message;
}

/** darknet's forward_maxpool_layer, written out plainly. */
function maxpoolRef(p: MaxPoolParams, input: Float32Array): Float32Array {
  const out = new Float32Array(p.c * p.outH * p.outW);
  const offset = Math.trunc(-p.padding / 2);
  for (let k = 0; k < p.c; k++)
    for (let i = 0; i < p.outH; i++)
      for (let j = 0; j < p.outW; j++) {
        let max = -3.4028234663852886e38;
        for (let n = 0; n < p.size; n++)
          for (let m = 0; m < p.size; m++) {
            const y = offset + i * p.stride + n;
            const x = offset + j * p.stride + m;
            if (y < 0 || y >= p.inH || x < 0 || x >= p.inW) continue;
            const v = input[(k * p.inH + y) * p.inW + x];
            if (v > max) max = v;
          }
        out[(k * p.outH + i) * p.outW + j] = max;
      }
  return out;
}

const pool = (c: number, inH: number, inW: number, size: number, stride: number, padding: number): MaxPoolParams => ({
  c, inH, inW, size, stride, padding,
  outH: Math.floor((inH + padding - size) / stride) + 1,
  outW: Math.floor((inW + padding - size) / stride) + 1,
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe.skipIf(unavailable !== '')(`native maxpool and intra-frame threads${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  for (const isa of supportedIsas()) {
    it(`${isa}: maxpool matches darknet's, signed zeros and NaN included`, async () => {
      const b = await create({ isa });
      const r = rng(7);
      for (const p of [pool(16, 20, 22, 2, 2, 1), pool(37, 13, 13, 2, 1, 1), pool(3, 9, 40, 2, 1, 1), pool(5, 7, 9, 2, 2, 1), pool(3, 11, 10, 3, 2, 2), pool(2, 64, 70, 2, 2, 1)]) {
        const input = randomFloats(p.c * p.inH * p.inW, r, 0.2);
        for (let i = 0; i < input.length; i++) {
          if (input[i] === 0 && r() < 0.5) input[i] = -0;
          if (r() < 0.01) input[i] = Number.NaN;
        }
        const got = new Float32Array(p.c * p.outH * p.outW);
        b.prepareMaxPool!(p).run(input, got);
        expect(bits(got), `${isa} maxpool ${JSON.stringify(p)}`).toEqual(bits(maxpoolRef(p, input)));
      }
    });

    it(`${isa}: convolution with fused maxpool equals conv then maxpool`, async () => {
      const ref = new ReferenceBackend();
      const cases = [
        { kind: 'float', s: { inC: 3, inH: 20, inW: 70, outC: 16, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: [2, 2, 1] },
        { kind: 'binary', s: { inC: 16, inH: 18, inW: 40, outC: 32, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: [2, 2, 1] },
        { kind: 'binary', s: { inC: 40, inH: 13, inW: 13, outC: 20, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: [2, 2, 1] },
        { kind: 'float', s: { inC: 9, inH: 13, inW: 13, outC: 12, size: 3, stride: 1, pad: 1, activation: 'linear' }, pool: [2, 1, 1] },
        { kind: 'binary', s: { inC: 35, inH: 12, inW: 12, outC: 9, size: 1, stride: 1, pad: 0, activation: 'relu' }, pool: [2, 2, 0] },
        { kind: 'float', s: { inC: 4, inH: 16, inW: 16, outC: 5, size: 3, stride: 1, pad: 1, activation: 'leaky' }, pool: [3, 2, 2] },
      ] as const;
      for (const shape of ['auto', 'filters'] as const) {
        const b = await create({ isa, shape });
        cases.forEach(({ kind, s, pool: [size, stride, padding] }, i) => {
          const p = kind === 'float' ? floatLayer(s, 40 + i) : binaryLayer(s, 40 + i);
          p.bias[s.outC - 1] = -20; // last filter all negative: darknet's leaky tail decides its maxima
          const input = randomFloats(s.inC * s.inH * s.inW, rng(50 + i));
          const conv = new Float32Array(s.outC * p.outH * p.outW);
          if (kind === 'float') ref.prepareFloatConv(p as ReturnType<typeof floatLayer>).run(input, conv);
          else ref.prepareBinaryConv(p as ReturnType<typeof binaryLayer>).run(input, conv);
          const mp = pool(s.outC, p.outH, p.outW, size, stride, padding);
          const want = maxpoolRef(mp, conv);
          const got = new Float32Array(want.length).fill(Number.NaN);
          const op = kind === 'float'
            ? b.prepareFloatConvPool!(p as ReturnType<typeof floatLayer>, { size, stride, padding })
            : b.prepareBinaryConvPool!(p as ReturnType<typeof binaryLayer>, { size, stride, padding });
          op.run(input, got);
          expect(bits(got), `${isa} ${shape} ${kind} case ${i}`).toEqual(bits(want));
        });
      }
    });

    it(`${isa}: fused conv+maxpool keeps the bits of zero, tiny, -FLT_MAX and NaN maxima`, async () => {
      // The fused epilogue pools raw values and activates once where that is provably the same
      // bits; these filters produce the cases where it is not (signed zeros, leaky underflow to -0,
      // NaN windows, a real -FLT_MAX tap) and must take the exact way.
      const ref = new ReferenceBackend();
      const b = await create({ isa });
      const s = { inC: 5, inH: 12, inW: 40, outC: 8, size: 3, stride: 1, pad: 1, activation: 'leaky' } as const;
      for (const kind of ['float', 'binary'] as const) {
        const p = kind === 'float' ? floatLayer(s, 90) : binaryLayer(s, 90);
        const per = p.weights.length / s.outC;
        // filters 0-5: constant outputs (float: zero weights; binary: scale 0, so +-0 plus the bias);
        // 6, 7: real outputs (binary: with a subnormal scale) plus a tiny or NaN bias
        const special = [0, -0, 1e-44, -4e-45, -3.4028234663852886e38, 1e-40, -1e-40, Number.NaN];
        special.forEach((bias, f) => {
          p.bias[f] = bias;
          if (kind === 'float' && f < 6) p.weights.fill(0, f * per, (f + 1) * per);
          if (kind === 'binary') (p as ReturnType<typeof binaryLayer>).scale[f] = f < 6 ? 0 : 1e-41;
        });
        const input = randomFloats(s.inC * s.inH * s.inW, rng(91));
        if (kind === 'float') for (let i = 0; i < input.length; i += 97) input[i] = Number.NaN;
        const conv = new Float32Array(s.outC * p.outH * p.outW);
        if (kind === 'float') ref.prepareFloatConv(p as ReturnType<typeof floatLayer>).run(input, conv);
        else ref.prepareBinaryConv(p as ReturnType<typeof binaryLayer>).run(input, conv);
        const want = maxpoolRef(pool(s.outC, p.outH, p.outW, 2, 2, 0), conv);
        const got = new Float32Array(want.length).fill(123);
        const op = kind === 'float'
          ? b.prepareFloatConvPool!(p as ReturnType<typeof floatLayer>, { size: 2, stride: 2, padding: 0 })
          : b.prepareBinaryConvPool!(p as ReturnType<typeof binaryLayer>, { size: 2, stride: 2, padding: 0 });
        op.run(input, got);
        expect(bits(got), `${isa} ${kind}`).toEqual(bits(want));
        expect(want.some((v) => Object.is(v, -0)), `${kind}: the case has -0 maxima`).toBe(true);
      }
    });

    it(`${isa}: 2 and 3 threads give the reference's bits`, async () => {
      const ref = new ReferenceBackend();
      for (const threads of [2, 3]) {
        const b = await create({ isa, threads });
        const fl = floatLayer({ inC: 19, inH: 21, inW: 30, outC: 45, size: 3, stride: 1, pad: 1, activation: 'leaky' }, 5);
        const bl = binaryLayer({ inC: 70, inH: 17, inW: 19, outC: 66, size: 3, stride: 1, pad: 1, activation: 'leaky' }, 6);
        for (const [kind, p] of [['float', fl], ['binary', bl]] as const) {
          const input = randomFloats(p.inC * p.inH * p.inW, rng(9));
          const want = new Float32Array(p.outC * p.outH * p.outW);
          const got = new Float32Array(want.length);
          if (kind === 'float') {
            ref.prepareFloatConv(fl).run(input, want);
            b.prepareFloatConv(fl).run(input, got);
          } else {
            ref.prepareBinaryConv(bl).run(input, want);
            b.prepareBinaryConv(bl).run(input, got);
          }
          expect(bits(got), `${isa} ${kind} ${threads} threads`).toEqual(bits(want));
        }
      }
    });
  }

  it('rejects an ISA this CPU lacks, and bad geometry, with one line', async () => {
    const missing = ['avx512', 'avx2', 'popcnt', 'neon'].find((i) => !supportedIsas().includes(i as never));
    if (missing) await expect(create({ isa: missing as never })).rejects.toThrow(/not available on this CPU/);
    const b = await create();
    const p = floatLayer({ inC: 3, inH: 8, inW: 8, outC: 4, size: 3, stride: 1, pad: 1, activation: 'leaky' }, 1);
    expect(() => b.prepareFloatConv({ ...p, outW: 9 })).toThrow(/does not match/);
    // The AVX2/SSE kernels count bits in 16-bit halves: exact up to 4,095 32-channel words per output, one more refused
    // (as a user error naming the layer; the addon itself refuses it too).
    const edge = { inH: 2, inW: 2, outC: 1, size: 1, stride: 1, pad: 0, activation: 'linear' } as const;
    expect(() => b.prepareBinaryConv(binaryLayer({ ...edge, inC: 4095 * 32 }, 2))).not.toThrow();
    const over = binaryLayer({ ...edge, inC: 4095 * 32 + 1 }, 3);
    expect(() => b.prepareBinaryConv(over)).toThrow(new UserError('binary convolution of 131041 channels, 1x1: 4096 words per output, over the native kernels\' 4095 (use --backend wasm)'));
    expect(() => b.prepareBinaryConvPool!(over, { size: 2, stride: 2, padding: 0 })).toThrow(UserError);
    const g = Int32Array.from([over.inC, 2, 2, 1, 2, 2, 1, 1, 0, 1, 0, 0, 0, 0, 0]);
    expect(() => loadAddon().prepare(supportedIsas()[0], g, over.weights, over.scale, over.bias)).toThrow('prepare: a binary convolution of 4096 32-channel words per output (inC 131041, 1x1); at most 4095');
  });

  it('the addon names the call and the argument it rejects', () => {
    const addon = loadAddon();
    const isa = supportedIsas()[0];
    const f32 = new Float32Array(4);
    expect(() => addon.prepare(isa, new Int32Array(14), f32, null, f32)).toThrow('prepare: geometry must be an Int32Array(15)');
    expect(() => addon.prepareMaxPool(isa, new Float32Array(8) as unknown as Int32Array)).toThrow('prepareMaxPool: geometry must be an Int32Array(8)');
    expect(() => addon.prepareYolo(isa, new Int32Array(4), 1, 0)).toThrow('prepareYolo: geometry must be an Int32Array(5)');
    expect(() => addon.prepareUpsample(isa, [1, 2, 2, 2] as unknown as Int32Array, 1)).toThrow('prepareUpsample: geometry must be an Int32Array(4)');
    const up = addon.prepareUpsample(isa, Int32Array.from([1, 2, 2, 2]), 1);
    expect(() => addon.run(up, new Float32Array(3), new Float32Array(16), 1)).toThrow('run: input must be a Float32Array of inC*inH*inW');
    const out = new Float32Array(16);
    addon.run(up, Float32Array.from([1, 2, 3, 4]), out, 1);
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 1, 2, 2]);
    expect(() => addon.link(up, up, new Float32Array(2) as unknown as Int32Array)).toThrow(/^link: /);
    addon.dispose(up);
  });
});
