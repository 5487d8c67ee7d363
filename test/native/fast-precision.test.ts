import { describe, expect, it } from 'vitest';
import type { FloatConvParams } from '../../src/engine/kernels/backend.js';
import { create, type NativeBackend, type NativeOptions } from '../../src/engine/kernels/native/index.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { floatLayer, floatShapes, randomFloats, rng } from './layers.js';
import type { YoloSpec } from '../../src/engine/model.js';
import { yolo } from '../../src/engine/runtime/layers.js';
import { nativeFastIsa, nativeFastUnavailable } from '../helpers/native-fast.js';

/**
 * The opt-in 'fast' precision of the native backend (int8 float convolutions with AVX-512 VNNI, FMA
 * ones with AVX2): every output within the worst-case rounding bound of the quantisation it does, on
 * every kernel shape; and 'exact' stays the default. The network-level tolerance is in
 * test/engine/fast-precision.test.ts.
 */
const fastUnavailable = nativeFastUnavailable();
const fastHere = fastUnavailable === '';
const int8Unavailable = nativeFastUnavailable('int8');
const fmaOnlyUnavailable = nativeFastUnavailable('fma');
const ref = new ReferenceBackend();

function conv(p: FloatConvParams, weights: Float32Array, input: Float32Array): Float32Array {
  const op = ref.prepareFloatConv({ ...p, weights, bias: new Float32Array(p.outC), activation: 'linear' });
  const out = new Float32Array(p.outC * p.outH * p.outW);
  op.run(input, out);
  return out;
}

/**
 * Worst case of |int8 result - float result| per output: input steps sx (per tensor), weight steps
 * sw[f] (per filter), each value off by at most half a step, so per tap |w|*sx/2 + |x|*sw/2 +
 * sx*sw/4; plus float32 rounding of the exact path (1e-5 of sum |w*x|). Padding is exact (it holds
 * the zero point). Leaky and relu only shrink differences.
 */
function bound(p: FloatConvParams, input: Float32Array): Float32Array {
  let lo = 0;
  let hi = 0;
  for (const v of input) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const sx = (hi - lo) / 255;
  const per = p.weights.length / p.outC;
  const absW = p.weights.map(Math.abs);
  const absX = input.map(Math.abs);
  const ones = new Float32Array(input.length).fill(1);
  const onesW = new Float32Array(p.weights.length).fill(1);
  const sumW = conv(p, absW, ones);
  const sumX = conv(p, onesW, absX);
  const taps = conv(p, onesW, ones);
  const sumWX = conv(p, absW, absX);
  const hw = p.outH * p.outW;
  const out = new Float32Array(p.outC * hw);
  for (let f = 0; f < p.outC; f++) {
    let m = 0;
    for (let i = 0; i < per; i++) m = Math.max(m, absW[f * per + i]);
    const sw = m / 127;
    for (let i = f * hw; i < (f + 1) * hw; i++) out[i] = (sumW[i] * sx) / 2 + (sumX[i] * sw) / 2 + (taps[i] * sx * sw) / 4 + 1e-5 * sumWX[i] + 1e-6;
  }
  return out;
}

const shapes: NonNullable<NativeOptions['shape']>[] = ['auto', 'pixels', 'filters'];

describe.skipIf(!fastHere)(`native 'fast' precision${fastHere ? '' : ` (skipped: ${fastUnavailable})`}`, () => {
  it('is opt-in: exact by default, fast from the option or XNORCAM_PRECISION, bad names rejected in one line', async () => {
    expect((await create()).precision).toBe('exact');
    expect((await create({ precision: 'fast' })).precision).toBe('fast');
    process.env.XNORCAM_PRECISION = 'fast';
    try {
      expect((await create()).precision).toBe('fast');
      process.env.XNORCAM_PRECISION = 'quick';
      await expect(create()).rejects.toThrow("XNORCAM_PRECISION: expected one of exact, fast, got 'quick'");
    } finally {
      delete process.env.XNORCAM_PRECISION;
    }
  });

  // AMX tiles where the CPU has them (the default for int8), and the AVX-512 VNNI kernels in both shapes
  const variants = [{ amx: 'default', shape: 'auto' as const }, ...shapes.map((shape) => ({ amx: '0', shape }))];
  for (const { amx, shape } of variants) {
    it.skipIf(int8Unavailable !== '')(`XNORCAM_NATIVE_AMX=${amx}, ${shape} kernel shape: int8 convolutions stay within the quantisation bound, plain and +maxpool${int8Unavailable ? ` (skipped: ${int8Unavailable})` : ''}`, async () => {
      if (amx !== 'default') process.env.XNORCAM_NATIVE_AMX = amx;
      try {
        checkInt8((await create({ isa: nativeFastIsa('int8'), precision: 'fast', shape })) as NativeBackend, amx === '0');
      } finally {
        delete process.env.XNORCAM_NATIVE_AMX;
      }
    });
  }

  function checkInt8(b: NativeBackend, noAmx: boolean): void {
    {
      floatShapes.forEach((s, i) => {
        if ((s.groups ?? 1) !== 1) return;
        const p = { ...floatLayer(s, 300 + i), fastOk: true };
        const r = rng(400 + i);
        for (let round = 0; round < 2; round++) {
          // round 1: inputs all >= 0 (zero point 0, as for an image)
          const input = randomFloats(s.inC * s.inH * s.inW, r, 0.1).map((v) => (round === 1 ? Math.abs(v) : v));
          const want = new Float32Array(p.outC * p.outH * p.outW);
          ref.prepareFloatConv(p).run(input, want);
          const got = new Float32Array(want.length).fill(Number.NaN);
          const op = b.prepareFloatConv(p);
          expect(op.kernel, `shape ${JSON.stringify(s)}`).toMatch(/^int8/);
          if (noAmx) expect(op.kernel).not.toMatch(/AMX/);
          op.run(input, got);
          const lim = bound(p, input);
          for (let j = 0; j < want.length; j++)
            if (!(Math.abs(got[j] - want[j]) <= lim[j])) expect.fail(`${JSON.stringify(s)} round ${round} [${j}]: ${got[j]} vs exact ${want[j]} (bound ${lim[j]})`);
          if (p.outH < 2 || p.outW < 2) continue;
          // fused 2x2/2 maxpool: a max moves by at most the largest bound in its window
          const pooled = b.prepareFloatConvPool(p, { size: 2, stride: 2, padding: 0 });
          const ph = p.outH >> 1;
          const pw = p.outW >> 1;
          const gotP = new Float32Array(p.outC * ph * pw).fill(Number.NaN);
          pooled.run(input, gotP);
          for (let f = 0; f < p.outC; f++)
            for (let y = 0; y < ph; y++)
              for (let x = 0; x < pw; x++) {
                const at = [0, 1, p.outW, p.outW + 1].map((d) => f * p.outH * p.outW + 2 * y * p.outW + 2 * x + d);
                const w = Math.max(...at.map((j) => want[j]));
                const l = Math.max(...at.map((j) => lim[j]));
                const g = gotP[(f * ph + y) * pw + x];
                if (!(Math.abs(g - w) <= l)) expect.fail(`${JSON.stringify(s)} +maxpool round ${round} (${f}, ${y}, ${x}): ${g} vs exact ${w} (bound ${l})`);
              }
        }
      });
    }
  }

  it('the yolo layer takes a float32 logistic: within 1e-6 of the exact one', async () => {
    const b = (await create({ precision: 'fast' })) as NativeBackend;
    const l = { type: 'yolo', line: 0, input: { c: 3 * 8, h: 7, w: 9 }, output: { c: 3 * 8, h: 7, w: 9 }, classes: 3, mask: [0, 1, 2], scaleXY: 1.05 } as unknown as YoloSpec;
    const op = b.prepareYolo({ c: 24, h: 7, w: 9, classes: 3, anchors: 3, scaleXY: 1.05 });
    expect(op.kernel).toMatch(/fast precision/);
    const r = rng(77);
    const input = new Float32Array(24 * 63).map(() => (r() * 2 - 1) * (r() < 0.1 ? 200 : 12));
    const want = new Float32Array(input.length);
    const got = new Float32Array(input.length);
    yolo(l, input, want);
    op.run(input, got);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(worst).toBeGreaterThan(0); // it is the float path, not V8's exp
  });

  it('a layer not marked fastOk (a binary conv reads it) runs in float with FMA: within rounding of exact', async () => {
    checkFma((await create({ precision: 'fast' })) as NativeBackend, false);
  });

  for (const shape of shapes)
    it.skipIf(fmaOnlyUnavailable !== '')(`${shape} kernel shape, an ISA without int8 kernels (AVX2): layers marked fastOk run with FMA too, within rounding of exact${fmaOnlyUnavailable ? ` (skipped: ${fmaOnlyUnavailable})` : ''}`, async () => {
      // the AVX2 kernels, also where AVX-512 would be the default
      const b = (await create({ isa: nativeFastIsa('fma'), precision: 'fast', shape })) as NativeBackend;
      expect(b.fastKind).toBe('fma');
      checkFma(b, true);
    });

  function checkFma(b: NativeBackend, fastOk: boolean): void {
    floatShapes.forEach((s, i) => {
      const p = { ...floatLayer(s, 500 + i), fastOk };
      const op = b.prepareFloatConv(p);
      expect(op.kernel).toMatch(/^float .*FMA/);
      const input = randomFloats(p.inC * p.inH * p.inW, rng(600 + i));
      const want = new Float32Array(p.outC * p.outH * p.outW);
      const got = new Float32Array(want.length).fill(Number.NaN);
      ref.prepareFloatConv(p).run(input, want);
      op.run(input, got);
      // each of the K taps rounds once instead of twice: |diff| <= K * 2^-23 * sum |w*x|, plus one
      // rounding of the bias add, which may now round the other way (1 ulp of the result)
      const sumWX = conv(p, p.weights.map(Math.abs), input.map(Math.abs));
      const k = p.weights.length / p.outC;
      let changed = 0;
      for (let j = 0; j < want.length; j++) {
        if (got[j] !== want[j]) changed++;
        if (!(Math.abs(got[j] - want[j]) <= k * 2 ** -23 * sumWX[j] + 2 ** -23 * Math.abs(want[j]) + 1e-30)) expect.fail(`${JSON.stringify(s)} [${j}]: ${got[j]} vs exact ${want[j]}`);
      }
      if (i === 6) expect(changed, 'FMA does change some roundings').toBeGreaterThan(0);
    });
  }
});
