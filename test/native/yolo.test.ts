import { describe, expect, it } from 'vitest';
import { upsample, yolo } from '../../src/engine/runtime/layers.js';
import type { UpsampleSpec, YoloSpec } from '../../src/engine/model.js';
import { create, loadAddon, supportedIsas } from '../../src/engine/kernels/native/index.js';
import { rng } from './layers.js';

let unavailable = '';
try {
  loadAddon();
} catch (e) {
  unavailable = (e as Error).message;
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** Conv-output-like values over the whole exp range, plus the arguments fdlibm treats apart. */
function inputs(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const specials = [0, -0, 1, -1, 1e-9, -1e-9, 0.3465736, -0.3465736, 1.0397208, -1.0397208, 88.8, -88.8, 103.9, -103.9, 704.1, -704.1, 745.2, -745.2, 3e38, -3e38, Infinity, -Infinity, Number.NaN];
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() < 0.02 ? specials[Math.floor(r() * specials.length)] : (r() * 2 - 1) * Math.pow(2, Math.floor(r() * 12) - 5);
  return a;
}

describe.skipIf(unavailable !== '')(`native yolo and upsample layers${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  for (const isa of supportedIsas()) {
    it(`${isa}: bit-identical to the runner's TypeScript yolo (logistic through V8's Math.exp)`, async () => {
      const b = await create({ isa });
      for (const [classes, anchors, h, w, scaleXY, extra] of [[80, 3, 13, 13, 1, 0], [6, 3, 26, 26, 1.05, 0], [2, 2, 5, 7, 1.2, 3]] as const) {
        const c = anchors * (classes + 5) + extra;
        const spec = { type: 'yolo', input: { c, h, w }, output: { c, h, w }, classes, mask: Array.from({ length: anchors }, (_, i) => i), scaleXY } as unknown as YoloSpec;
        const input = inputs(c * h * w, c + h);
        const want = new Float32Array(input.length);
        yolo(spec, input, want);
        const got = new Float32Array(input.length).fill(Number.NaN);
        b.prepareYolo!({ c, h, w, classes, anchors, scaleXY }).run(input, got);
        // rawClasses (the lazy yolo), in place: class scores untouched, the rest as the runner's
        const wantRaw = new Float32Array(input.length);
        yolo(spec, input, wantRaw, false);
        const gotRaw = input.slice();
        b.prepareYolo!({ c, h, w, classes, anchors, scaleXY, rawClasses: true }).run(gotRaw, gotRaw);
        for (const [g, wv, what] of [[got, want, ''], [gotRaw, wantRaw, ' raw classes']] as const) {
          const gw = bits(g);
          const ww = bits(wv);
          let first = -1;
          for (let i = 0; i < gw.length && first < 0; i++) if (gw[i] !== ww[i]) first = i;
          expect(first, first < 0 ? '' : `${isa} c=${c}${what} element ${first}: input ${input[first]} got ${g[first]} want ${wv[first]}`).toBe(-1);
        }
      }
    });

    it(`${isa}: upsample is bit-identical to the runner's`, async () => {
      const b = await create({ isa });
      for (const [c, h, w, stride, scale] of [[128, 13, 13, 2, 1], [5, 4, 7, 3, 0.7], [3, 2, 2, 1, -2.5]] as const) {
        const spec = { type: 'upsample', input: { c, h, w }, output: { c, h: h * stride, w: w * stride }, stride, scale } as unknown as UpsampleSpec;
        const input = inputs(c * h * w, c * 7 + w);
        const want = new Float32Array(c * h * w * stride * stride);
        upsample(spec, input, want);
        const got = new Float32Array(want.length).fill(Number.NaN);
        b.prepareUpsample!({ c, h, w, stride, scale }).run(input, got);
        expect(Array.from(bits(got)), `${isa} upsample ${c}x${h}x${w} /${stride} *${scale}`).toEqual(Array.from(bits(want)));
      }
    });
  }
});
