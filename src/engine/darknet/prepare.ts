import { convWeightCount, type ConvParams, type ConvSpec, type Model, type NetworkSpec } from '../model.js';
import type { RawConv } from './weights.js';

/**
 * Inference preparation exactly as darknet's test_detector does it after loading:
 * fuse_conv_batchnorm (double precision, stored as float32), then calculate_binary_weights for
 * XNOR layers (per-filter mean |w| of the folded weights, summed in the order darknet's AVX2 build
 * uses, and the sign bits of the folded weights).
 */
const f = Math.fround;

/** fuse_conv_batchnorm for one layer: returns new folded weights and bias. */
export function foldBatchNorm(l: ConvSpec, r: RawConv): { weights: Float32Array; bias: Float32Array } {
  const weights = Float32Array.from(r.weights);
  const bias = Float32Array.from(r.biases);
  if (!r.bn) return { weights, bias };
  const filterSize = convWeightCount(l) / l.filters;
  const { scales, mean, variance } = r.bn;
  for (let o = 0; o < l.filters; o++) {
    const sd = Math.sqrt(variance[o] + 0.00001);
    bias[o] = bias[o] - (scales[o] * mean[o]) / sd;
    const s = scales[o] / sd;
    const base = o * filterSize;
    for (let i = 0; i < filterSize; i++) weights[base + i] = weights[base + i] * s;
  }
  return { weights, bias };
}

/**
 * Mean |w| of one filter the way gcc -Ofast -mavx2 compiles darknet's binarize_weights: eight
 * float32 lane sums over blocks of 8, folded lane l + lane l+4, a 4-wide step for a remaining
 * block of 4, then (1+3) + (0+2), then a scalar tail, times the float reciprocal of K.
 */
export function darknetMeanAbs(w: Float32Array, offset: number, K: number): number {
  const main = K - (K % 8);
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (let j = offset; j < offset + main; j += 8) {
    a0 = f(a0 + Math.abs(w[j]));
    a1 = f(a1 + Math.abs(w[j + 1]));
    a2 = f(a2 + Math.abs(w[j + 2]));
    a3 = f(a3 + Math.abs(w[j + 3]));
    a4 = f(a4 + Math.abs(w[j + 4]));
    a5 = f(a5 + Math.abs(w[j + 5]));
    a6 = f(a6 + Math.abs(w[j + 6]));
    a7 = f(a7 + Math.abs(w[j + 7]));
  }
  let s0 = f(a0 + a4), s1 = f(a1 + a5), s2 = f(a2 + a6), s3 = f(a3 + a7);
  let j = main;
  if (K - j >= 4) {
    const b = offset + j;
    s0 = f(s0 + Math.abs(w[b]));
    s1 = f(s1 + Math.abs(w[b + 1]));
    s2 = f(s2 + Math.abs(w[b + 2]));
    s3 = f(s3 + Math.abs(w[b + 3]));
    j += 4;
  }
  let total = f(f(s1 + s3) + f(s0 + s2));
  for (; j < K; j++) total = f(total + Math.abs(w[offset + j]));
  return f(total * f(1 / K));
}

/** Packs sign bits (bit = w > 0), LSB first, over the whole flattened array. */
export function packSigns(w: Float32Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(w.length / 8));
  for (let i = 0; i < w.length; i++) if (w[i] > 0) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** ±1 floats from packed sign bits: what the binary kernels receive as weights. */
export function unpackSigns(bits: Uint8Array, count: number): Float32Array {
  const w = new Float32Array(count);
  for (let i = 0; i < count; i++) w[i] = (bits[i >> 3] >> (i & 7)) & 1 ? 1 : -1;
  return w;
}

export function prepareConv(l: ConvSpec, r: RawConv): ConvParams {
  const { weights, bias } = foldBatchNorm(l, r);
  if (!l.xnor) return { kind: 'float', weights, bias };
  const K = convWeightCount(l) / l.filters;
  const scale = new Float32Array(l.filters);
  for (let o = 0; o < l.filters; o++) scale[o] = darknetMeanAbs(weights, o * K, K);
  return { kind: 'binary', bits: packSigns(weights), scale, bias };
}

export function prepareModel(spec: NetworkSpec, raw: (RawConv | null)[], classNames: string[]): Model {
  const params = spec.layers.map((l, i) => (l.type === 'convolutional' ? prepareConv(l, raw[i]!) : null));
  return { spec, params, classNames };
}
