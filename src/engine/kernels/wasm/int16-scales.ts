import type { WasmHeap } from './heap.js';
import type { Exports } from './ops.js';

/** Largest |sum| an int32 accumulator may reach. */
export const I32_BUDGET = 2 ** 31 - 1;
export const I16_MAX = 32767;

/** Tighter limits for int16Ranges (defaults: the whole int32 budget, int16 weights and activations). */
export interface Int16Limits {
  /** Largest qA * sum_k |wq[f][k]| allowed (the kernel's sums are budget / that many times S). */
  budget?: number;
  maxQW?: number;
  maxQA?: number;
}

/**
 * The int16 ranges of one layer: weights of filter f become round(w / wScale[f]) with |q| <= qW,
 * activations round(x * qA / max|x|) with |q| <= qA, so that qA * sum_k |wq[f][k]| <= budget for
 * every filter (no int32 sum can overflow). The budget is split evenly (in bits) between the two.
 * ew[f]: sum_k |w - wScale[f] * wq| (rounded up), the weights' part of an error bound.
 */
export function int16Ranges(
  weights: Float32Array, outC: number, K: number, limits: Int16Limits = {},
): { qA: number; wq: Int16Array; wScale: Float32Array; ew: Float64Array } {
  const budget = limits.budget ?? I32_BUDGET;
  // "effective K": sum |w| / max |w| of the worst filter
  let effK = 1;
  const maxAbs = new Float64Array(outC);
  for (let f = 0; f < outC; f++) {
    let m = 0;
    let s = 0;
    for (let k = 0; k < K; k++) {
      const a = Math.abs(weights[f * K + k]);
      if (a > m) m = a;
      s += a;
    }
    maxAbs[f] = m;
    if (m > 0) effK = Math.max(effK, s / m);
  }
  const qW = Math.max(1, Math.min(limits.maxQW ?? I16_MAX, Math.floor(Math.sqrt(budget / effK))));
  const wq = new Int16Array(outC * K);
  const wScale = new Float32Array(outC);
  const ew = new Float64Array(outC);
  let worst = 1;
  for (let f = 0; f < outC; f++) {
    const s = maxAbs[f] > 0 ? maxAbs[f] / qW : 0;
    wScale[f] = s;
    let sum = 0;
    let err = 0;
    for (let k = 0; k < K; k++) {
      const q = s > 0 ? Math.max(-qW, Math.min(qW, Math.round(weights[f * K + k] / s))) : 0;
      wq[f * K + k] = q;
      sum += Math.abs(q);
      err += Math.abs(weights[f * K + k] - wScale[f] * q);
    }
    ew[f] = err * (1 + 1e-12);
    worst = Math.max(worst, sum);
  }
  const qA = Math.max(1, Math.min(limits.maxQA ?? I16_MAX, Math.floor(budget / worst)));
  return { qA, wq, wScale, ew };
}

/**
 * The output scales and biases of a 'fast' (int16) float conv, direct (fast-conv.ts) or Winograd
 * (winograd.ts): weights are int16 with one scale per filter (wScale), activations int16 with one
 * scale per tensor and frame (|q| <= qA at this frame's max |x|). Each frame, the kernel's
 * per-filter output scale is aScale * wScale[f] / divisor (divisor: how many times the int16
 * convolution the kernel's sums are).
 */
export class Int16Scales {
  /** outC floats: this frame's output scale per filter. */
  readonly scale: number;
  /** outC floats: the biases. */
  readonly bias: number;
  private readonly scaleView: Float32Array;

  constructor(
    heap: WasmHeap, private readonly k: Exports, private readonly qA: number, private readonly wScale: Float32Array,
    bias: Float32Array, outC: number, private readonly divisor: number,
  ) {
    this.scale = heap.alloc(outC * 4);
    this.scaleView = heap.f32(this.scale, outC);
    this.bias = heap.alloc(outC * 4);
    heap.f32(this.bias, outC).set(bias.subarray(0, outC));
  }

  /**
   * Sets this frame's output scales from max |x| over the n input floats at inPtr and returns the
   * quantiser's inverse step (qA / max|x|); 0 (every activation quantised to 0) when the input is
   * all zero or holds NaN or inf.
   */
  frame(inPtr: number, n: number): number {
    const amax = this.k.maxAbs(inPtr, n);
    const ok = amax > 0 && Number.isFinite(amax);
    const aScale = ok ? amax / this.qA : 0;
    for (let f = 0; f < this.scaleView.length; f++) this.scaleView[f] = (aScale * this.wScale[f]) / this.divisor;
    return ok ? Math.fround(this.qA / amax) : 0;
  }
}
