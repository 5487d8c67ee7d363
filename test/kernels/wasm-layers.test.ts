import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { KernelBackend } from '../../src/engine/kernels/backend.js';
import { createBackend } from '../../src/engine/kernels/select.js';
import { wasmApi } from '../../src/engine/kernels/wasm/wasm-api.js';
import { maxpool, upsample, yolo } from '../../src/engine/runtime/layers.js';
import type { MaxpoolSpec, UpsampleSpec, YoloSpec } from '../../src/engine/model.js';
import { ensureWasmBuilt, fillRandom, firstBitDifference, repoRoot, rng } from './helpers.js';

let wasm: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  wasm = await createBackend('wasm');
});

it('wasm maxpool is bit-identical to the runtime maxpool (sizes, strides, paddings, borders, NaN, -0)', () => {
  const r = rng(21);
  let cases = 0;
  for (const [size, stride] of [[2, 2], [2, 1], [3, 1], [3, 2], [1, 1], [5, 1]]) {
    for (const padding of [0, size - 1, size]) {
      for (const [h, w] of [[1, 1], [2, 2], [5, 7], [13, 13], [16, 40], [9, 33]]) {
        const outH = Math.floor((h + padding - size) / stride) + 1;
        const outW = Math.floor((w + padding - size) / stride) + 1;
        if (outH < 1 || outW < 1) continue;
        const c = 1 + Math.floor(r() * 5);
        const l = { type: 'maxpool', size, stride, padding, input: { c, h, w }, output: { c, h: outH, w: outW } } as unknown as MaxpoolSpec;
        const input = new Float32Array(c * h * w);
        fillRandom(input, r);
        for (let i = 0; i < input.length; i += 17) input[i] = NaN;
        const want = new Float32Array(c * outH * outW);
        maxpool(l, input, want);
        const op = wasm.prepareMaxPool!({ c, inH: h, inW: w, outH, outW, size, stride, padding });
        const x = wasm.allocFloat32(input.length);
        x.set(input);
        const y = wasm.allocFloat32(want.length);
        op.run(x, y);
        const i = firstBitDifference(want, Float32Array.from(y));
        if (i >= 0) expect.fail(`maxpool ${c}x${h}x${w} size ${size} stride ${stride} padding ${padding}: element ${i} is ${y[i]}, runtime ${want[i]}`);
        cases++;
      }
    }
  }
  expect(cases).toBeGreaterThan(80);
});

/** Same bits, counting any NaN equal to any NaN (payloads are not specified). */
function sameBits(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!Object.is(a[i], b[i])) return i;
  }
  return -1;
}

it('wasm yolo is bit-identical to the runtime yolo (vector and scalar exp paths, every exp branch)', () => {
  const r = rng(31);
  // values around every branch of fdlibm's exp (arguments are -x): tiny, |x| ~ 0.35 and ~1.04
  // (reduction cases), x = -1 (exp(1)), overflow/underflow thresholds, infinities, NaN
  const special = [0, -0, 1e-40, -1e-40, 3e-9, -3e-9, 4e-9, 0.3465, -0.3466, 0.35, -0.35, 1.0397, -1.0398, 1, -1, 2, -2,
    20, -20, 87.3, -88.8, 103, -104, 704, -704, 709.7, -709.8, 745.2, -745.2, 800, -800, Infinity, -Infinity, NaN];
  for (const [c, h, w, classes, anchors, scaleXY] of [[255, 13, 13, 80, 3, 1], [33, 5, 7, 6, 3, 1.05], [20, 3, 3, 1, 3, 2], [45, 4, 4, 10, 2, 1.2], [85, 61, 67, 80, 1, 1]]) {
    const n = c * h * w;
    const input = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = r();
      input[i] = u < 0.2 ? special[i % special.length] : u < 0.6 ? (r() * 2 - 1) * 30 : (r() < 0.5 ? -1 : 1) * Math.exp((r() * 2 - 1) * 20);
    }
    const l = { type: 'yolo', input: { c, h, w }, output: { c, h, w }, classes, mask: new Array(anchors).fill(0), scaleXY } as unknown as YoloSpec;
    const want = new Float32Array(n);
    yolo(l, input, want);
    const op = wasm.prepareYolo!({ c, h, w, classes, anchors, scaleXY });
    const x = wasm.allocFloat32(n);
    x.set(input);
    const y = wasm.allocFloat32(n);
    op.run(x, y);
    const i = sameBits(want, Float32Array.from(y));
    if (i >= 0) expect.fail(`yolo ${c}x${h}x${w} element ${i} (input ${input[i]}): ${y[i]}, runtime ${want[i]}`);
    // rawClasses (the lazy yolo), in place: class scores untouched, the rest as the runtime's
    const wantRaw = new Float32Array(n);
    yolo(l, input, wantRaw, false);
    x.set(input);
    wasm.prepareYolo!({ c, h, w, classes, anchors, scaleXY, rawClasses: true }).run(x, x);
    const j = sameBits(wantRaw, Float32Array.from(x));
    if (j >= 0) expect.fail(`raw-class yolo ${c}x${h}x${w} element ${j} (input ${input[j]}): ${x[j]}, runtime ${wantRaw[j]}`);
  }
});

it('wasm upsample is bit-identical to the runtime upsample', () => {
  const r = rng(41);
  for (const [c, h, w, stride, scale] of [[3, 13, 13, 2, 1], [5, 4, 7, 3, 1], [2, 5, 5, 2, 0.5], [1, 1, 1, 4, 1.5]]) {
    const input = new Float32Array(c * h * w);
    fillRandom(input, r);
    const l = { type: 'upsample', stride, scale, input: { c, h, w }, output: { c, h: h * stride, w: w * stride } } as unknown as UpsampleSpec;
    const want = new Float32Array(c * h * w * stride * stride);
    upsample(l, input, want);
    const op = wasm.prepareUpsample!({ c, h, w, stride, scale });
    const x = wasm.allocFloat32(input.length);
    x.set(input);
    const y = wasm.allocFloat32(want.length);
    op.run(x, y);
    expect(firstBitDifference(want, Float32Array.from(y)), `upsample ${c}x${h}x${w} stride ${stride} scale ${scale}`).toBe(-1);
  }
});

it("the wasm exp is V8's Math.exp bit for bit (1M arguments over the whole range)", async () => {
  const bytes = readFileSync(path.join(repoRoot, 'build', 'xnorcam-kernels.wasm'));
  const memory = new wasmApi.Memory({ initial: 1, maximum: 65536, shared: true });
  const instance = await wasmApi.instantiate(await wasmApi.compile(bytes), { env: { memory, abort: () => {} } });
  const exp = instance.exports.fdlibmExp as (x: number) => number;
  const r = rng(51);
  const bits = new Float64Array(1);
  const words = new Uint32Array(bits.buffer);
  let checked = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const u = r();
    // uniform in [-750, 750], log-uniform magnitudes, and raw random bit patterns
    let x: number;
    if (u < 0.4) x = (r() * 2 - 1) * 750;
    else if (u < 0.8) x = (r() < 0.5 ? -1 : 1) * Math.exp((r() * 2 - 1) * 40);
    else {
      words[0] = (r() * 2 ** 32) >>> 0;
      words[1] = (r() * 2 ** 32) >>> 0;
      x = bits[0];
    }
    const want = Math.exp(x);
    const got = exp(x);
    if (!(Object.is(want, got) || (Number.isNaN(want) && Number.isNaN(got)))) expect.fail(`exp(${x}) = ${got}, Math.exp ${want}`);
    checked++;
  }
  expect(checked).toBe(1_000_000);
});
