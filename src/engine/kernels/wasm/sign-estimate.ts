import type { FloatConvParams } from '../backend.js';
import { int16Ranges } from './fast-conv.js';
import type { WasmHeap } from './heap.js';
import { NO_TAIL, type Exports } from './ops.js';

const U = 2 ** -24; // float32 unit roundoff
const TINY = 2 ** -149; // smallest subnormal: the absolute error of a rounding near zero
const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
/** fastGemm's `act` for "store the int32 sums". */
const RAW_SUMS = -1;
const clampI32 = (x: number): number => (x > I32_MAX ? I32_MAX : x < I32_MIN ? I32_MIN : x);
/** x moved away from its double rounding error, towards `dir` (+1 up, -1 down). */
const widen = (x: number, dir: number): number => x + dir * (Math.abs(x) * 1e-12 + 1e-9);

/**
 * Exact sign bits of a float convolution, mostly from int16 arithmetic: for a bit-linked float conv
 * (the network's first layer, whose output only the next binary conv reads, as signs) an int16 GEMM
 * (i32x4.dot_i16x8_s, ~2x the float32 rate) gives S = sum wq * xq exactly, and darknet's float32
 * output v is within E of sigma * sw * S + b, where
 *  - darknet's own rounding: |v - exact real| <= gamma(K+1) * (sum|w| * max|x| + |b|) (+ subnormals);
 *  - quantisation: |sum w x - sigma * sw * S| <= sum|w| * Ex + K * (max|x| + Ex) * Ew, with
 *    Ex = sigma / 2 + u * max|x| (input step sigma = 1 / inv) and Ew the largest weight rounding.
 * So S > hi[f] = ceil((E - b) / (sigma sw)) means v > 0 and S < lo[f] = floor((-E - b) / (sigma sw))
 * means v < 0; signBits recomputes the outputs in between exactly (about 1 in 10^3 on an image), so
 * the bits are darknet's bit for bit. A frame with a NaN, an infinity or only zeros in its input
 * takes the float path.
 */
export class SignEstimate {
  private readonly K: number;
  private readonly KP: number;
  private readonly pairs: number;
  private readonly odd: boolean;
  private readonly taps: [number, number][];
  private readonly pairImg: number;
  private readonly koff: number;
  private readonly wpk: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly loView: Int32Array;
  private readonly hiView: Int32Array;
  private readonly tmp: number;
  private readonly qA: number;
  private readonly wScale: Float32Array;
  private readonly w1: Float64Array;
  private readonly ew: Float64Array;
  private readonly biasF: Float64Array;
  private inPtr = 0;

  /** null where the estimate cannot be used: non-finite weights or biases, or a shape it does not cover. */
  static create(heap: WasmHeap, k: Exports, p: FloatConvParams, exactWpk: number, bias: number): SignEstimate | null {
    if (p.groups !== 1 || p.stride !== 1) return null;
    const K = p.inC * p.size * p.size;
    for (let i = 0; i < p.outC * K; i++) if (!Number.isFinite(p.weights[i])) return null;
    for (let f = 0; f < p.outC; f++) if (!Number.isFinite(p.bias[f])) return null;
    return new SignEstimate(heap, k, p, exactWpk, bias);
  }

  private constructor(
    heap: WasmHeap,
    private readonly k: Exports,
    private readonly p: FloatConvParams,
    private readonly exactWpk: number,
    private readonly bias: number,
  ) {
    const { inC, inH, inW, outC, size, pad } = p;
    const K = inC * size * size;
    this.K = K;
    const Hp = inH + 2 * pad;
    const Wp = inW + 2 * pad;
    // k in int16 pairs: channel pairs (2cp, 2cp + 1) at every tap; an odd last channel pairs
    // horizontally neighbouring taps (kx, kx + 1) of one row (its own plane, quantHPairs)
    this.pairs = Math.floor(inC / 2);
    this.odd = inC % 2 === 1;
    const hTaps = Math.ceil(size / 2);
    this.KP = this.pairs * size * size + (this.odd ? size * hTaps : 0);
    const planes = this.pairs + (this.odd ? 1 : 0);
    this.pairImg = heap.alloc(planes * Hp * Wp * 4);
    const koff = new Int32Array(this.KP);
    // weights of each kp: (tap a, tap b) as indices into a filter's [c][ky][kx] (-1: none)
    this.taps = [];
    let i = 0;
    for (let cp = 0; cp < this.pairs; cp++)
      for (let ky = 0; ky < size; ky++)
        for (let kx = 0; kx < size; kx++) {
          koff[i++] = (cp * Hp * Wp + ky * Wp + kx) * 4;
          this.taps.push([((2 * cp) * size + ky) * size + kx, ((2 * cp + 1) * size + ky) * size + kx]);
        }
    if (this.odd) {
      const c = inC - 1;
      for (let ky = 0; ky < size; ky++)
        for (let kx = 0; kx < size; kx += 2) {
          koff[i++] = (this.pairs * Hp * Wp + ky * Wp + kx) * 4;
          this.taps.push([(c * size + ky) * size + kx, kx + 1 < size ? (c * size + ky) * size + kx + 1 : -1]);
        }
    }
    this.koff = heap.alloc(this.KP * 4);
    heap.i32(this.koff, this.KP).set(koff);

    const { qA, wq, wScale } = int16Ranges(p.weights, outC, K);
    this.qA = qA;
    this.wScale = wScale;
    this.w1 = new Float64Array(outC);
    this.ew = new Float64Array(outC);
    this.biasF = new Float64Array(outC);
    for (let f = 0; f < outC; f++) {
      let w1 = 0;
      let ew = 0;
      for (let i = 0; i < K; i++) {
        const w = p.weights[f * K + i];
        w1 += Math.abs(w);
        ew = Math.max(ew, Math.abs(w - wScale[f] * wq[f * K + i]));
      }
      this.w1[f] = w1 * (1 + 1e-12);
      this.ew[f] = ew * (1 + 1e-12);
      this.biasF[f] = p.bias[f];
    }
    const blocks = Math.ceil(outC / 4);
    this.wpk = heap.alloc(blocks * this.KP * 16);
    const w16 = new Int16Array(heap.u8(this.wpk, 0).buffer, this.wpk, blocks * this.KP * 8);
    for (let f = 0; f < outC; f++)
      this.taps.forEach(([a, b], kp) => {
        const at = (((f >> 2) * this.KP + kp) * 4 + (f & 3)) * 2;
        w16[at] = wq[f * K + a];
        w16[at + 1] = b < 0 ? 0 : wq[f * K + b];
      });
    this.lo = heap.alloc(outC * 4);
    this.loView = heap.i32(this.lo, outC);
    this.hi = heap.alloc(outC * 4);
    this.hiView = heap.i32(this.hi, outC);
    this.tmp = heap.alloc(32);
  }

  /** Quantises this frame's input and sets the bounds; false: use the float path for this frame. */
  begin(inPtr: number): boolean {
    const { inC, inH, inW, outC, pad } = this.p;
    const amax = this.k.maxAbs(inPtr, inC * inH * inW);
    if (!(amax > 0 && Number.isFinite(amax))) return false;
    const inv = Math.fround(this.qA / amax);
    const sigma = 1 / inv;
    const K = this.K;
    const gamma = ((K + 1) * U) / (1 - (K + 1) * U);
    const ex = sigma / 2 + U * amax;
    for (let f = 0; f < outC; f++) {
      const w1 = this.w1[f];
      const ew = this.ew[f];
      const b = this.biasF[f];
      const darknet = gamma * (w1 * amax + Math.abs(b)) + (2 * K + 2) * TINY;
      const quant = w1 * ex + K * (amax + ex) * ew;
      const e = 1.01 * (darknet + quant) + 1e-30;
      const step = sigma * this.wScale[f]; // value of one unit of S
      if (!(step > 0)) {
        // an all-zero filter: v = b exactly
        this.hiView[f] = b > 0 ? I32_MIN : I32_MAX;
        this.loView[f] = b > 0 ? I32_MIN : I32_MAX;
        continue;
      }
      this.hiView[f] = clampI32(Math.ceil(widen((e - b) / step, 1)));
      this.loView[f] = clampI32(Math.floor(widen((-e - b) / step, -1)));
    }
    const Wp = inW + 2 * pad;
    const plane = (inH + 2 * pad) * Wp;
    this.k.quantPairs(inPtr, 2 * this.pairs, inH, inW, pad, this.pairImg, Wp, plane, inv);
    if (this.odd) this.k.quantHPairs(inPtr + (inC - 1) * inH * inW * 4, inH, inW, pad, this.pairImg + this.pairs * plane * 4, Wp, inv);
    this.inPtr = inPtr;
    return true;
  }

  /**
   * Sign bits of output rows [r0, r0 + rows) into the bit image `bits` ([pixel][Cb] bytes); `band`:
   * scratch for the rows' int32 sums (outC * rows * outW).
   */
  band(r0: number, rows: number, band: number, bits: number, Cb: number): void {
    const { inC, inH, inW, outC, outW, size, pad } = this.p;
    const Wp = inW + 2 * pad;
    this.k.fastGemm(this.pairImg + r0 * Wp * 4, this.koff, this.KP, this.wpk, 0, 0, outC, band, rows * outW, outW, Wp * 4,
      RAW_SUMS, NO_TAIL, 0, rows, 0, Math.ceil(outC / 4));
    this.k.signBits(band, outC, rows, r0, outW, this.lo, this.hi, bits, Cb, this.tmp, this.inPtr, inC, inH, inW, size, pad, this.exactWpk,
      this.K, this.bias);
  }
}
