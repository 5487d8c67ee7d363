import { beforeAll, describe as suite, expect, it } from 'vitest';
import type { BinaryConvParams, FloatConvParams, KernelActivation, KernelBackend } from '../../src/engine/kernels/backend.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { availableBackends, createBackend } from '../../src/engine/kernels/select.js';
import { binaryParams, describe, ensureWasmBuilt, fillRandom, firstBitDifference, floatParams, rng, runConv, type Shape } from './helpers.js';

const ACTS: KernelActivation[] = ['linear', 'leaky', 'relu'];
const reference = new ReferenceBackend();
let wasm: KernelBackend;

beforeAll(async () => {
  ensureWasmBuilt();
  wasm = await createBackend('wasm');
});

/** Many layer shapes: odd channel counts, 1x1/3x3, strides 1/2, pads 0/1, tiny and odd images. */
function shapes(kind: 'float' | 'binary'): Shape[] {
  const out: Shape[] = [];
  const channels = kind === 'float' ? [1, 3, 5, 16, 33, 70] : [1, 3, 5, 8, 16, 33, 64, 70, 130];
  const images: [number, number][] = [[1, 1], [2, 3], [5, 7], [13, 13], [9, 40], [17, 34]];
  const r = rng(kind === 'float' ? 7 : 11);
  for (const inC of channels) {
    for (const [inH, inW] of images) {
      for (const size of [1, 3]) {
        for (const stride of [1, 2]) {
          const pad = size === 1 ? (r() < 0.8 ? 0 : 1) : r() < 0.8 ? 1 : 0;
          if (inH + 2 * pad < size || inW + 2 * pad < size) continue;
          const outC = [1, 2, 3, 7, 16, 33][Math.floor(r() * 6)];
          out.push({ inC, inH, inW, outC, size, stride, pad, groups: 1, activation: ACTS[out.length % 3] });
        }
      }
    }
  }
  // The yolov3-tiny shapes that matter for speed, shrunk spatially.
  out.push({ inC: 3, inH: 35, inW: 41, outC: 16, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' });
  out.push({ inC: 16, inH: 20, inW: 33, outC: 32, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' });
  out.push({ inC: 256, inH: 13, inW: 13, outC: 20, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' });
  out.push({ inC: 512, inH: 6, inW: 5, outC: 19, size: 1, stride: 1, pad: 0, groups: 1, activation: 'linear' });
  if (kind === 'binary') {
    // 4-byte taps (25..32, 89..96 channels): the dense im2col (rows not rounded up to 8 bytes)
    for (const [inC, stride, pad] of [[32, 1, 1], [27, 2, 1], [96, 1, 0], [90, 2, 1]]) {
      out.push({ inC, inH: 11, inW: 14, outC: 21, size: 3, stride, pad, groups: 1, activation: ACTS[out.length % 3] });
    }
    out.push({ inC: 32, inH: 5, inW: 5, outC: 3, size: 5, stride: 1, pad: 2, groups: 1, activation: 'leaky' });
  }
  if (kind === 'float') {
    // groups and depthwise
    for (const [inC, outC, groups] of [[4, 4, 2], [6, 12, 3], [16, 16, 16], [33, 33, 33], [8, 16, 8], [12, 24, 4], [64, 64, 64]]) {
      for (const stride of [1, 2]) {
        for (const [inH, inW] of [[7, 9], [12, 40]] as [number, number][]) {
          out.push({ inC, inH, inW, outC, size: 3, stride, pad: 1, groups, activation: ACTS[out.length % 3] });
        }
      }
      out.push({ inC, inH: 5, inW: 6, outC, size: 1, stride: 1, pad: 0, groups, activation: 'leaky' });
    }
  }
  return out;
}

function check(kind: 'float' | 'binary', s: Shape, seed: number): void {
  const r = rng(seed);
  const p = kind === 'float' ? floatParams(s, r) : binaryParams(s, r);
  const input = new Float32Array(s.inC * s.inH * s.inW);
  fillRandom(input, r);
  const want = runConv(reference, kind, p, input);
  const got = runConv(wasm, kind, p, input);
  const i = firstBitDifference(want, got);
  if (i >= 0) expect.fail(`${kind} ${describe(s)} seed ${seed}: element ${i} is ${got[i]}, reference ${want[i]}`);
}

suite('wasm kernels are bit-identical to the reference', () => {
  it('is registered and loads', async () => {
    expect(await availableBackends()).toContain('wasm');
    expect(wasm.name).toBe('wasm');
  });

  it('float conv, every shape, groups and depthwise', () => {
    const list = shapes('float');
    expect(list.length).toBeGreaterThan(150);
    list.forEach((s, i) => check('float', s, 1000 + i));
  });

  it('binary conv, every shape', () => {
    const list = shapes('binary');
    expect(list.length).toBeGreaterThan(150);
    list.forEach((s, i) => check('binary', s, 5000 + i));
  });

  it('every activation with every leaky-tail length (n % 8 = 0..7)', () => {
    for (let outC = 1; outC <= 8; outC++) {
      for (const activation of ACTS) {
        const s: Shape = { inC: 5, inH: 3, inW: 3, outC, size: 3, stride: 1, pad: 1, groups: 1, activation };
        check('float', s, 9000 + outC);
        check('binary', s, 9100 + outC);
      }
    }
  });

  it('accepts plain Float32Arrays (staged) as well as its own tensors', () => {
    const r = rng(3);
    const s: Shape = { inC: 16, inH: 9, inW: 11, outC: 5, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' };
    for (const kind of ['float', 'binary'] as const) {
      const p = kind === 'float' ? floatParams(s, r) : binaryParams(s, r);
      const input = new Float32Array(s.inC * s.inH * s.inW);
      fillRandom(input, r);
      const want = runConv(reference, kind, p, input);
      const op = kind === 'float' ? wasm.prepareFloatConv(p as FloatConvParams) : wasm.prepareBinaryConv(p as BinaryConvParams);
      const out = new Float32Array(want.length);
      op.run(input, out);
      op.run(input, out); // staging buffers are reused
      expect(firstBitDifference(want, out)).toBe(-1);
    }
  });

  it('keeps earlier tensors valid while the memory grows', () => {
    const first = wasm.allocFloat32(1000);
    first.fill(1.5);
    for (let i = 0; i < 8; i++) wasm.allocFloat32(4 << 20); // 128 MiB more: several grows
    expect(first.length).toBe(1000);
    expect(first[999]).toBe(1.5);
    const late = wasm.allocFloat32(10);
    expect(Array.from(late)).toEqual(new Array(10).fill(0));
  });
});
