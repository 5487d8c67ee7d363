import type { WasmHeap } from './heap.js';
import type { Exports } from './ops.js';

/** Largest |sum| an int32 accumulator may reach. */
export const I32_BUDGET = 2 ** 31 - 1;
export const I16_MAX = 32767;

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
