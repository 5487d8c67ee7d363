// Random convolution layers for the native cross-checks (seeded, so a failure repeats).
import type { BinaryConvParams, ConvGeometry, FloatConvParams, KernelActivation } from '../../src/engine/kernels/backend.js';
import { rng } from '../helpers/random.js';

export { rng };

/** Values around zero with some exact zeros (sign edge cases) and a spread of magnitudes. */
export function randomFloats(n: number, r: () => number, zeroShare = 0.05): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < zeroShare ? 0 : (r() * 2 - 1) * Math.pow(2, Math.floor(r() * 6) - 3);
  }
  return a;
}

/** A conv layer as these checks draw it: the backend's geometry without the output size; groups default to 1. */
export type Shape = Omit<ConvGeometry, 'outH' | 'outW'> & { groups?: number; activation: KernelActivation };

function out(s: Shape) {
  return {
    outH: Math.floor((s.inH + 2 * s.pad - s.size) / s.stride) + 1,
    outW: Math.floor((s.inW + 2 * s.pad - s.size) / s.stride) + 1,
  };
}

export function floatLayer(s: Shape, seed: number): FloatConvParams {
  const r = rng(seed);
  const groups = s.groups ?? 1;
  return {
    ...s,
    ...out(s),
    groups,
    weights: randomFloats(s.outC * (s.inC / groups) * s.size * s.size, r),
    bias: randomFloats(s.outC, r, 0),
  };
}

export function binaryLayer(s: Shape, seed: number): BinaryConvParams {
  const r = rng(seed);
  const scale = new Float32Array(s.outC);
  for (let i = 0; i < s.outC; i++) scale[i] = 0.01 + r() * 0.3;
  return {
    ...s,
    ...out(s),
    weights: randomFloats(s.outC * s.inC * s.size * s.size, r),
    scale,
    bias: randomFloats(s.outC, r, 0),
  };
}

export const floatShapes: Shape[] = [
  { inC: 3, inH: 17, inW: 19, outC: 16, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 3, inH: 9, inW: 35, outC: 16, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 5, inH: 9, inW: 40, outC: 7, size: 3, stride: 2, pad: 1, activation: 'linear' },
  { inC: 33, inH: 13, inW: 13, outC: 37, size: 1, stride: 1, pad: 0, activation: 'relu' },
  { inC: 8, inH: 11, inW: 12, outC: 8, size: 3, stride: 1, pad: 1, groups: 8, activation: 'leaky' },
  { inC: 12, inH: 10, inW: 10, outC: 18, size: 3, stride: 2, pad: 0, groups: 3, activation: 'leaky' },
  { inC: 64, inH: 13, inW: 13, outC: 40, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 4, inH: 15, inW: 23, outC: 9, size: 5, stride: 3, pad: 2, activation: 'leaky' },
  { inC: 24, inH: 26, inW: 26, outC: 255, size: 1, stride: 1, pad: 0, activation: 'linear' },
  { inC: 2, inH: 1, inW: 1, outC: 3, size: 1, stride: 1, pad: 0, activation: 'leaky' },
  // wide inputs with few channels: AVX-512 reads them in place (no padded copy), border tiles masked
  { inC: 3, inH: 6, inW: 170, outC: 16, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 2, inH: 7, inW: 193, outC: 9, size: 5, stride: 1, pad: 2, activation: 'linear' },
  { inC: 4, inH: 5, inW: 161, outC: 8, size: 3, stride: 1, pad: 0, activation: 'relu' },
  { inC: 1, inH: 4, inW: 240, outC: 24, size: 2, stride: 1, pad: 1, activation: 'leaky' },
  // stride 2 over wide rows: the padded copy splits even and odd columns a vector pair at a time, then column by column
  // for the rest; an odd pad (1, above) sends even columns to phase 1, an even one (0, 2 here) to phase 0
  { inC: 3, inH: 8, inW: 67, outC: 16, size: 3, stride: 2, pad: 0, activation: 'leaky' },
  { inC: 2, inH: 9, inW: 70, outC: 8, size: 5, stride: 2, pad: 2, activation: 'linear' },
];

export const binaryShapes: Shape[] = [
  { inC: 16, inH: 20, inW: 21, outC: 32, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 3, inH: 12, inW: 50, outC: 5, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 33, inH: 9, inW: 9, outC: 17, size: 3, stride: 2, pad: 1, activation: 'linear' },
  { inC: 100, inH: 7, inW: 35, outC: 70, size: 3, stride: 1, pad: 0, activation: 'leaky' },
  { inC: 130, inH: 6, inW: 6, outC: 50, size: 1, stride: 1, pad: 0, activation: 'linear' },
  { inC: 64, inH: 13, inW: 13, outC: 64, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 96, inH: 26, inW: 26, outC: 31, size: 1, stride: 2, pad: 0, activation: 'relu' },
  { inC: 256, inH: 5, inW: 5, outC: 33, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 45, inH: 11, inW: 17, outC: 20, size: 5, stride: 3, pad: 2, activation: 'leaky' },
  { inC: 7, inH: 2, inW: 3, outC: 9, size: 3, stride: 1, pad: 1, activation: 'leaky' },
  { inC: 10, inH: 9, inW: 30, outC: 12, size: 5, stride: 1, pad: 2, activation: 'leaky' },
  { inC: 16, inH: 8, inW: 19, outC: 8, size: 2, stride: 1, pad: 0, activation: 'linear' },
  // two taps per word with pairs across row ends (odd sizes), without padding and with less than size/2
  { inC: 12, inH: 9, inW: 23, outC: 20, size: 3, stride: 1, pad: 0, activation: 'leaky' },
  { inC: 5, inH: 8, inW: 17, outC: 9, size: 5, stride: 1, pad: 1, activation: 'relu' },
  { inC: 16, inH: 6, inW: 40, outC: 33, size: 3, stride: 1, pad: 1, activation: 'linear' },
];
