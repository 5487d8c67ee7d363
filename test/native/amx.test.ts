import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { create, loadAddon, supportedIsas, type NativeBackend } from '../../src/engine/kernels/native/index.js';
import { binaryLayer, binaryShapes, randomFloats, rng } from './layers.js';

/**
 * Binary convolutions on AMX int8 tiles (bytes +1/-1, exact int32 sums), forced with
 * XNORCAM_NATIVE_AMX=all: bit-identical to the reference, as the popcount kernels. (By default only
 * the fast-precision int8 layers use AMX; see native/src/kernels_impl.h, amx_wanted.)
 */
let amxHere = false;
try {
  loadAddon();
  if (supportedIsas()[0] === 'avx512') {
    process.env.XNORCAM_NATIVE_AMX = 'all';
    const b = (await create()) as NativeBackend;
    amxHere = /AMX/.test(b.prepareBinaryConv(binaryLayer(binaryShapes[0], 1)).kernel);
  }
} catch {
  amxHere = false;
} finally {
  delete process.env.XNORCAM_NATIVE_AMX;
}

describe.skipIf(!amxHere)(`binary convolutions on AMX tiles${amxHere ? '' : ' (skipped: no AMX here)'}`, () => {
  it('are bit-identical to the reference on every stride-1 shape, twice per op (scratch reuse)', async () => {
    process.env.XNORCAM_NATIVE_AMX = 'all';
    try {
      const b = (await create()) as NativeBackend;
      const ref = new ReferenceBackend();
      let onAmx = 0;
      binaryShapes.forEach((s, i) => {
        const p = binaryLayer(s, 700 + i);
        const op = b.prepareBinaryConv(p);
        if (/AMX/.test(op.kernel)) onAmx++;
        const want = new Float32Array(p.outC * p.outH * p.outW);
        const got = new Float32Array(want.length);
        const r = rng(800 + i);
        for (let round = 0; round < 2; round++) {
          const input = randomFloats(p.inC * p.inH * p.inW, r, round === 0 ? 0.05 : 0.3);
          ref.prepareBinaryConv(p).run(input, want);
          got.fill(Number.NaN);
          op.run(input, got);
          const ua = new Uint32Array(got.buffer);
          const ub = new Uint32Array(want.buffer);
          const bad = ua.findIndex((v, j) => v !== ub[j]);
          expect(bad, `${JSON.stringify(s)} round ${round}: element ${bad} ${got[bad]} vs ${want[bad]}`).toBe(-1);
        }
      });
      expect(onAmx).toBe(binaryShapes.filter((s) => s.stride === 1).length);
    } finally {
      delete process.env.XNORCAM_NATIVE_AMX;
    }
  });
});
