import type { FloatConvParams, PoolSpec } from '../backend.js';
import { I32_BUDGET, int16Ranges } from './int16-scales.js';
import type { WasmHeap } from './heap.js';
import type { BitTarget, Exports } from './ops.js';

const U = 2 ** -24; // float32 unit roundoff
const TINY = 2 ** -149; // smallest subnormal: the absolute error of a rounding near zero
const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;
const clampI32 = (x: number): number => (x > I32_MAX ? I32_MAX : x < I32_MIN ? I32_MIN : x);
/** x moved away from its double rounding error, towards `dir` (+1 up, -1 down). */
const widen = (x: number, dir: number): number => x + dir * (Math.abs(x) * 1e-12 + 1e-9);

/** The kernels of assembly/sign-estimate.ts. */
interface SignExports extends Exports {
  seQuantOdd(src: number, H: number, W: number, pad: number, inv: number, q: number, Wq: number, hp: number, vp: number, Hp: number, Wp: number, rowBytes: number): void;
  se33Quant(src: number, H: number, W: number, pad: number, inv: number, img: number, q: number, Wq: number, yp0: number, n: number): number;
  sewQuant(src: number, H: number, W: number, pad: number, inv: number, img: number, q: number, Wq: number, qPlane: number, u2: number, yp0: number, n: number,
    nT: number): number;
  sewSigns(img: number, wpk: number, nF: number, r0: number, r1: number, nWin: number, hi: number, lom1: number, bitTab: number, dst: number, Cb: number,
    tmp: number, Wp: number, dpad: number, inPtr: number, H: number, inW: number, pad: number, exactWpk: number, K: number, bias: number): void;
  seSigns: SignsKernel;
  seSigns33: SignsKernel;
  seSigns33Pooled(img: number, rowBytes: number, koff: number, KP: number, wpk: number, nF: number, r0: number, r1: number, W: number,
    hi: number, lom1: number, bitTab: number, dst: number, Cb: number, tmp: number, Wp: number, dpad: number,
    inPtr: number, C: number, H: number, inW: number, size: number, pad: number, exactWpk: number, K: number, bias: number): void;
}
type SignsKernel = (img: number, rowBytes: number, koff: number, KP: number, wpk: number, nF: number, r0: number, r1: number, W: number,
  hi: number, lom1: number, bitTab: number, dst: number, Cb: number, tmp: number,
  inPtr: number, C: number, H: number, inW: number, size: number, pad: number, exactWpk: number, K: number, bias: number) => void;

/** assembly/sign-estimate.ts's SE33_ROW: int32 per plane row of seSigns33's image. */
const SE33_ROW = 1040;
/**
 * Output rows seSigns33 takes at a time: their image rows (2 more) are quantised just before, into
 * a buffer that stays in cache (~5 KiB of it a row at 416 wide), instead of a whole image to memory.
 */
const SE33_BAND = 12;
/** assembly/sign-estimate.ts's SEW_T: tiles (int32) per plane row of sewSigns's image, 8 planes a row. */
const SEW_T = 272;
/** The Winograd transforms' int16 limits: |U| <= 2 max|xq|, |V| <= 3 max|wq|. */
const WINO_QA = 16383;
const WINO_QW = 10922;
/** The largest input scale (a float32 power of two): qA / max|x| may overflow float32 for subnormal inputs. */
const MAX_INV = 2 ** 100;
const f32Bits = new Float32Array(1);
const i32Bits = new Int32Array(f32Bits.buffer);
/** The largest float32 <= inv with amax * inv <= qA (both float32: the product is exact in a double). */
function scaleFor(qA: number, amax: number): number {
  let inv = Math.min(Math.fround(qA / amax), MAX_INV);
  while (amax * inv > qA) {
    f32Bits[0] = inv;
    i32Bits[0]--;
    inv = f32Bits[0];
  }
  return inv;
}

/**
 * Exact sign bits of a float convolution, mostly from int16 arithmetic: for a bit-linked float conv
 * (the network's first layer, whose output only the next binary conv reads, as signs) an int16 GEMM
 * (i32x4.dot_i16x8_s, ~2x the float32 rate) gives S = sum wq * xq exactly, and darknet's float32
 * output v is within E of sigma * sw * S + b, where
 *  - darknet's own rounding: |v - exact real| <= gamma(K+1) * (sum|w| * max|x| + |b|) (+ subnormals);
 *  - quantisation: |sum w x - sigma * sw * S| <= sum|w| * Ex + (max|x| + Ex) * Ew, with
 *    Ex = sigma / 2 + u * max|x| (input step sigma = 1 / inv) and Ew = sum_k |w_k - sw * wq_k|
 *    (sum w (x - sigma xq) + sum (w - sw wq) sigma xq, and |sigma xq| <= max|x| + Ex).
 * So S > hi[f] = ceil((E - b) / (sigma sw)) means v > 0 and S < lo[f] = floor((-E - b) / (sigma sw))
 * means v < 0; the outputs in between are recomputed exactly (about 1 in 10^3 on an image), so the
 * bits are darknet's bit for bit. The other shapes take the float path for a frame with a NaN, an
 * infinity or only zeros in its input; seSigns33 has a scale and bounds per band (quantBand).
 *
 * One fused kernel per band (seSigns): 4 filters x 8 pixels of int32 sums in registers, compared
 * there and packed into the bit image, no int32 band in memory. S is summed over int16 pairs: channel
 * pairs (2cp, 2cp + 1) at every tap; an odd last channel pairs with itself, horizontally neighbouring
 * taps (kx, kx + 1) of a row and, in an odd kernel's last column, vertically neighbouring ones
 * (ky, ky + 1) (its own two planes, seQuantOdd): 14 pairs for a 3x3 kernel on 3 channels. That
 * case (the first layer) has its own kernel, seSigns33, with the 14 taps unrolled at fixed offsets:
 * its image interleaves the three planes row by row, SE33_ROW int32 per plane row, and is made a
 * band of SE33_BAND output rows at a time (se33Quant), just before the band's signs. Pooled (the
 * first layer with its maxpool, poolInto), it runs in Winograd F(2, 3) instead (sewQuant, sewSigns:
 * exactly 2 S from 20 pair dots per output pair, not 28; winograd()).
 */
export class SignEstimate {
  private readonly K: number;
  private readonly KP: number;
  private readonly pairs: number;
  private readonly odd: boolean;
  private readonly Hp: number;
  private readonly Wp: number;
  private readonly planeInts: number;
  /** seSigns33's layout: rows of [channels 0-1][channel 2 horizontal pairs][vertical pairs]. */
  private readonly interleaved: boolean;
  private readonly rowInts: number;
  private readonly pairImg: number;
  private readonly qPlane: number;
  private readonly Wq: number;
  private readonly koff: number;
  private readonly wpk: number;
  private readonly hi: number;
  private readonly lom1: number;
  private readonly hiView: Int32Array;
  private readonly lom1View: Int32Array;
  private readonly bitTab: number;
  private readonly tmp: number;
  private readonly qA: number;
  private readonly wScale: Float32Array;
  private readonly wq: Int16Array;
  /** The pooled 3x3 case in Winograd F(2, 3) (sewSigns), set up by poolInto where it fits. */
  private wino: {
    img: number; q: number; Wq: number; qPlane: number; u2: number; wpk: number; nWin: number; nT: number;
    /** its own int16 ranges (the transforms need 2 bits of headroom) */
    qA: number; wScale: Float32Array; ew: Float64Array;
  } | null = null;
  private readonly w1: Float64Array;
  private readonly ew: Float64Array;
  private readonly biasF: Float64Array;
  private readonly k: SignExports;
  private inPtr = 0;
  /**
   * seSigns33's per-band input scale, the scale hint: band i (output rows 12i ..) is quantised with
   * last frame's scale for it (0: none yet), see quantBand.
   */
  private readonly bandInv: Float64Array;
  /** Output rows [0, done) of this frame have their bits (seSigns33 runs whole bands). */
  private done = 0;
  /** poolInto's consumer image: band() writes the 2x2-pooled bits there. */
  private pooled: BitTarget | null = null;

  /** null where the estimate cannot be used: non-finite weights or biases, or a shape it does not cover. */
  static create(heap: WasmHeap, k: Exports, p: FloatConvParams, exactWpk: number, bias: number): SignEstimate | null {
    if (p.groups !== 1 || p.stride !== 1 || p.outW < 8) return null;
    if (p.outW !== p.inW + 2 * p.pad - p.size + 1 || p.outH !== p.inH + 2 * p.pad - p.size + 1) return null;
    const K = p.inC * p.size * p.size;
    for (let i = 0; i < p.outC * K; i++) if (!Number.isFinite(p.weights[i])) return null;
    for (let f = 0; f < p.outC; f++) if (!Number.isFinite(p.bias[f])) return null;
    return new SignEstimate(heap, k, p, exactWpk, bias);
  }

  private constructor(
    private readonly heap: WasmHeap,
    k: Exports,
    private readonly p: FloatConvParams,
    private readonly exactWpk: number,
    private readonly bias: number,
  ) {
    this.k = k as SignExports;
    const { inC, inH, inW, outC, size, pad } = p;
    const K = inC * size * size;
    this.K = K;
    const Hp = inH + 2 * pad;
    const Wp = inW + 2 * pad;
    this.Hp = Hp;
    this.Wp = Wp;
    this.pairs = Math.floor(inC / 2);
    this.odd = inC % 2 === 1;
    // planes [pair 0 .. pairs - 1][odd channel: horizontal pairs, vertical pairs], Wp int32 a row
    // (seQuantOdd writes up to 8 int32 past a plane's last row), or seSigns33's interleaved rows
    this.interleaved = inC === 3 && size === 3 && Wp <= SE33_ROW;
    const planes = this.pairs + (this.odd ? 2 : 0);
    this.rowInts = this.interleaved ? planes * SE33_ROW : Wp;
    this.planeInts = this.interleaved ? SE33_ROW : Hp * Wp + 16;
    const imgRows = this.interleaved ? SE33_BAND + 2 : Hp;
    this.pairImg = heap.alloc(this.interleaved ? imgRows * this.rowInts * 4 : planes * this.planeInts * 4);
    this.Wq = Math.ceil(Wp / 8) * 8 + 8;
    this.qPlane = this.odd ? heap.alloc((imgRows + 1) * this.Wq * 2) : 0;
    // each kp: a plane offset and the taps (indices into a filter's [c][ky][kx], -1: none) of its two int16 halves
    const koff: number[] = [];
    const taps: [number, number][] = [];
    const tap = (plane: number, ky: number, kx: number, a: number, b: number): void => {
      koff.push((plane * this.planeInts + ky * this.rowInts + kx) * 4);
      taps.push([a, b]);
    };
    const at = (c: number, ky: number, kx: number): number => (c * size + ky) * size + kx;
    if (this.interleaved) {
      // seSigns33's order: per kernel row, channels (0, 1) at kx = 0, 1, 2 and channel 2's (kx 0, 1) pair; then channel 2's last column
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) tap(0, ky, kx, at(0, ky, kx), at(1, ky, kx));
        tap(1, ky, 0, at(2, ky, 0), at(2, ky, 1));
      }
      tap(2, 0, 2, at(2, 0, 2), at(2, 1, 2));
      tap(1, 2, 2, at(2, 2, 2), -1);
    } else {
      this.genericTaps(tap, at);
    }
    this.KP = koff.length;
    this.koff = heap.alloc(this.KP * 4);
    heap.i32(this.koff, this.KP).set(koff);

    const { qA, wq, wScale, ew } = int16Ranges(p.weights, outC, K);
    this.qA = qA;
    this.wScale = wScale;
    this.wq = wq;
    this.ew = ew;
    this.w1 = new Float64Array(outC);
    this.biasF = new Float64Array(outC);
    for (let f = 0; f < outC; f++) {
      let w1 = 0;
      for (let i = 0; i < K; i++) w1 += Math.abs(p.weights[f * K + i]);
      this.w1[f] = w1 * (1 + 1e-12);
      this.biasF[f] = p.bias[f];
    }
    // weights [block of 4 filters][kp][4 filters][4 copies] int16 pairs; filters past outC stay 0
    const blocks = Math.ceil(outC / 4);
    this.wpk = heap.alloc(blocks * this.KP * 64);
    const w16 = new Int16Array(heap.u8(this.wpk, 0).buffer, this.wpk, blocks * this.KP * 32);
    w16.fill(0);
    for (let f = 0; f < outC; f++)
      taps.forEach(([a, b], kp) => {
        const o = (((f >> 2) * this.KP + kp) * 4 + (f & 3)) * 8;
        for (let lane = 0; lane < 4; lane++) {
          w16[o + 2 * lane] = wq[f * K + a];
          w16[o + 2 * lane + 1] = b < 0 ? 0 : wq[f * K + b];
        }
      });
    // bounds per filter, in groups of 16: the padding (I32_MAX) is neither positive nor undecided
    const padded = Math.ceil(outC / 16) * 16;
    this.hi = heap.alloc(padded * 4);
    this.hiView = heap.i32(this.hi, padded);
    this.hiView.fill(I32_MAX);
    this.lom1 = heap.alloc(padded * 4);
    this.lom1View = heap.i32(this.lom1, padded);
    this.lom1View.fill(I32_MAX);
    this.bitTab = heap.alloc(16 * 16);
    const bits = heap.i32(this.bitTab, 64);
    for (let j = 0; j < 16; j++) bits.fill((1 << j) * 0x10001, 4 * j, 4 * j + 4);
    this.tmp = heap.alloc(128);
    this.bandInv = new Float64Array(this.interleaved ? Math.ceil(p.outH / SE33_BAND) : 0);
  }

  /** The taps in kp order for seSigns: channel pairs at every tap, then an odd channel's pairs. */
  private genericTaps(tap: (plane: number, ky: number, kx: number, a: number, b: number) => void, at: (c: number, ky: number, kx: number) => number): void {
    const { inC, size } = this.p;
    for (let cp = 0; cp < this.pairs; cp++)
      for (let ky = 0; ky < size; ky++) for (let kx = 0; kx < size; kx++) tap(cp, ky, kx, at(2 * cp, ky, kx), at(2 * cp + 1, ky, kx));
    if (this.odd) {
      const c = inC - 1;
      const h = this.pairs;
      const v = this.pairs + 1;
      for (let ky = 0; ky < size; ky++) for (let kx = 0; kx + 1 < size; kx += 2) tap(h, ky, kx, at(c, ky, kx), at(c, ky, kx + 1));
      if (size % 2 === 1) {
        const kx = size - 1;
        for (let ky = 0; ky + 1 < size; ky += 2) tap(v, ky, kx, at(c, ky, kx), at(c, ky + 1, kx));
        tap(h, size - 1, kx, at(c, size - 1, kx), -1);
      }
    }
  }

  /**
   * Starts a frame: false where it must take the float path. seSigns33 quantises it band by band
   * (quantBand), each with its own scale and bounds, so needs no pass over the input here; the
   * other shapes quantise the whole input now, with one scale from its max |x|, and false for a
   * NaN, an infinity or only zeros.
   */
  begin(inPtr: number): boolean {
    this.inPtr = inPtr;
    this.done = 0;
    if (this.interleaved) return true;
    const { inC, inH, inW, pad } = this.p;
    const amax = this.k.maxAbs(inPtr, inC * inH * inW);
    if (!(amax > 0 && Number.isFinite(amax))) return false;
    const inv = scaleFor(this.qA, amax);
    this.setBounds(inv, amax);
    this.k.quantPairs(inPtr, 2 * this.pairs, inH, inW, pad, this.pairImg, this.rowInts, this.planeInts, inv);
    if (this.odd) {
      const hp = this.pairImg + this.pairs * this.planeInts * 4;
      this.k.seQuantOdd(inPtr + (inC - 1) * inH * inW * 4, inH, inW, pad, inv, this.qPlane, this.Wq, hp, hp + this.planeInts * 4, this.Hp, this.Wp,
        this.rowInts * 4);
    }
    return true;
  }

  /**
   * The bounds hi, lo - 1 per filter for inputs quantised as round(x * inv) (no clamping: amax * inv
   * <= qA, scaleFor) whose largest |x| is amax.
   */
  private setBounds(inv: number, amax: number, twice = false): void {
    const { outC } = this.p;
    const ranges: { ew: Float64Array; wScale: Float32Array } = (twice && this.wino) || { ew: this.ew, wScale: this.wScale };
    const sigma = 1 / inv;
    const K = this.K;
    const gamma = ((K + 1) * U) / (1 - (K + 1) * U);
    const ex = sigma / 2 + U * amax;
    for (let f = 0; f < outC; f++) {
      const w1 = this.w1[f];
      const ew = ranges.ew[f];
      const b = this.biasF[f];
      const darknet = gamma * (w1 * amax + Math.abs(b)) + (2 * K + 2) * TINY;
      const quant = w1 * ex + (amax + ex) * ew;
      const e = 1.01 * (darknet + quant) + 1e-30;
      const step = sigma * ranges.wScale[f]; // value of one unit of S
      let hi: number;
      let lo: number;
      if (!(step > 0)) {
        // an all-zero filter: v = b exactly (and every sum is 0)
        hi = b > 0 ? I32_MIN : I32_MAX;
        lo = hi;
      } else {
        hi = Math.ceil(widen((e - b) / step, 1));
        lo = Math.floor(widen((-e - b) / step, -1));
      }
      // S > lo - 1 is S >= lo; lo - 1 <= I32_MIN: every S (|S| < 2^31) is >= lo, as S > I32_MIN says.
      // Winograd's sums are 2 S: 2 S > 2 hi, 2 S > 2 lo - 1 (clamped alike: |2 S| < 2^31 too)
      this.hiView[f] = clampI32(twice ? 2 * hi : hi);
      this.lom1View[f] = clampI32(twice ? 2 * lo - 1 : lo - 1);
    }
  }

  /**
   * Quantises seSigns33's band of output rows [y0, y0 + n) (image rows y0 .. y0 + n + 1) and sets
   * its bounds. No separate max |x| pass over the (cache-cold) input: the band is quantised with
   * the scale hint, last frame's scale for this band, while se33Quant finds the max |x| m of the
   * rows it read. The bounds hold for any scale inv with m * inv <= qA (no input is clamped: the
   * int32 sums cannot overflow, and |x - xq / inv| <= 1 / (2 inv) + u |x| for every x read), given
   * sigma = 1 / inv and this band's own m, so the hint is kept unless m * inv > qA (it would clamp:
   * re-quantised with m's scale) or m * inv < qA / 4 (a coarse step, more outputs left undecided:
   * re-quantised too). A band of zeros keeps its scale (any works: every S is 0). A band with a NaN
   * or an infinity gets a zero image and bounds that decide nothing: each of its outputs (the pooled
   * path: each one a certain positive does not decide) is computed exactly, as darknet does.
   */
  private quantBand(y0: number, n: number): void {
    const { inH, inW, pad } = this.p;
    const w = this.wino;
    const qA = w ? w.qA : this.qA;
    const bi = Math.floor(y0 / SE33_BAND);
    let inv = this.bandInv[bi];
    const quant = w
      ? (s: number): number => this.k.sewQuant(this.inPtr, inH, inW, pad, s, w.img, w.q, w.Wq, w.qPlane, w.u2, y0, n + 2, w.nT)
      : (s: number): number => this.k.se33Quant(this.inPtr, inH, inW, pad, s, this.pairImg, this.qPlane, this.Wq, y0, n + 2);
    let m = quant(inv);
    if (!Number.isFinite(m)) {
      if (w) this.heap.u8(w.img, (SE33_BAND + 2) * 8 * SEW_T * 4).fill(0);
      else this.heap.u8(this.pairImg, (SE33_BAND + 2) * this.rowInts * 4).fill(0);
      this.hiView.fill(I32_MAX, 0, this.p.outC);
      this.lom1View.fill(I32_MIN, 0, this.p.outC);
      return;
    }
    if (m > 0 && !(m * inv <= qA && m * inv >= qA / 4)) {
      inv = scaleFor(qA, m);
      m = quant(inv);
    } else if (!(inv > 0)) {
      inv = qA; // zeros, no hint yet: the scale of |x| <= 1
    }
    this.bandInv[bi] = inv;
    this.setBounds(inv, m, !!w);
  }

  /**
   * From now on band() writes the conv output's signs max-pooled by `pool` straight into `t` (the
   * binary consumer's zero-bordered bit image, sized for the pooled output), the pool ORed in
   * registers, and ignores its `bits`; false (nothing changed) where it cannot: only the 3-channel
   * 3x3 kernel does, for darknet's 2x2 stride-2 pool with whole windows (padding 0, or padding 1 on
   * even sizes: the same windows; yolov3-tiny's first maxpool).
   */
  poolInto(t: BitTarget, pool: PoolSpec): boolean {
    const { outC, outH, outW } = this.p;
    if (!this.interleaved || pool.size !== 2 || pool.stride !== 2) return false;
    if (!(pool.padding === 0 || (pool.padding === 1 && outH % 2 === 0 && outW % 2 === 0))) return false;
    if (outH < 2 || t.h !== Math.floor(outH / 2) || t.w !== Math.floor(outW / 2) || t.c !== outC || t.Cb !== Math.ceil(outC / 8)) return false;
    this.pooled = t;
    this.wino ??= this.winograd();
    return true;
  }

  /**
   * sewSigns's buffers and weights, or null where its int16 transforms do not fit: more than
   * 2 * (SEW_T - 8) pooled columns, or weights past WINO_QW (3 of them summed must fit int16).
   */
  private winograd(): SignEstimate['wino'] {
    const { outC, outW, inW, pad } = this.p;
    const nWin = Math.floor(outW / 2);
    const nT = Math.ceil(nWin / 8) * 8;
    if (nWin < 4 || nT > SEW_T - 8) return null;
    const K = this.K;
    // |wq| <= WINO_QW and max|xq| <= WINO_QA (the transformed values fit int16), with
    // qA * sum_k |wq[f][k]| <= I32_BUDGET / 2 (the sums are 2 S)
    const { qA, wq, wScale, ew } = int16Ranges(this.p.weights, this.p.outC, K, { budget: I32_BUDGET / 2, maxQW: WINO_QW, maxQA: WINO_QA });
    const heap = this.heap;
    const rows = SE33_BAND + 2;
    const img = heap.alloc(rows * 8 * SEW_T * 4);
    // int16 rows: the image at column pad, tiles read up to column 2 nT + 1 (zeros past Wp: never written)
    const Wq = Math.ceil(Math.max(2 * nT + 2, inW + 2 * pad) / 8) * 8 + 8;
    const qPlane = rows * Wq * 2;
    const q = heap.alloc(3 * qPlane);
    const u2 = heap.alloc((rows + 1) * 4 * SEW_T * 2);
    // per filter, [j][pair] int16 pairs stored 4 times: pairs (ch 0, ch 1) at kernel rows 0, 1, 2, (ch 2 row 0, row 1), (ch 2 row 2, 0)
    const wpk = heap.alloc(outC * 20 * 16);
    const w16 = new Int16Array(heap.u8(wpk, 0).buffer, wpk, outC * 20 * 8);
    const g = (f: number, c: number, ky: number, kx: number): number => wq[f * K + (c * 3 + ky) * 3 + kx];
    const v = (f: number, c: number, ky: number, j: number): number => {
      const g0 = g(f, c, ky, 0);
      const g1 = g(f, c, ky, 1);
      const g2 = g(f, c, ky, 2);
      return j === 0 ? 2 * g0 : j === 1 ? g0 + g1 + g2 : j === 2 ? g0 - g1 + g2 : 2 * g2;
    };
    for (let f = 0; f < outC; f++)
      for (let j = 0; j < 4; j++) {
        const pairs: [number, number][] = [
          [v(f, 0, 0, j), v(f, 1, 0, j)],
          [v(f, 0, 1, j), v(f, 1, 1, j)],
          [v(f, 0, 2, j), v(f, 1, 2, j)],
          [v(f, 2, 0, j), v(f, 2, 1, j)],
          [v(f, 2, 2, j), 0],
        ];
        pairs.forEach(([a, b], pr) => {
          const o = ((f * 4 + j) * 5 + pr) * 8;
          for (let lane = 0; lane < 4; lane++) {
            w16[o + 2 * lane] = a;
            w16[o + 2 * lane + 1] = b;
          }
        });
      }
    this.bandInv.fill(0); // another input range
    return { img, q, Wq, qPlane, u2, wpk, nWin, nT, qA, wScale, ew };
  }

  /**
   * Sign bits of output rows [r0, r0 + rows) into the bit image `bits` ([pixel][Cb] bytes); `_band`:
   * unused (the sums stay in registers). With seSigns33 it may also do rows after them (a whole
   * band, the same bits as their own call would write), which later calls then skip.
   */
  band(r0: number, rows: number, _band: number, bits: number, Cb: number): void {
    const { inC, inH, inW, outC, outH, outW, size, pad } = this.p;
    const end = r0 + rows;
    if (!this.interleaved) {
      this.k.seSigns(this.pairImg, this.rowInts * 4, this.koff, this.KP, this.wpk, outC, r0, end, outW, this.hi, this.lom1, this.bitTab,
        bits, Cb, this.tmp, this.inPtr, inC, inH, inW, size, pad, this.exactWpk, this.K, this.bias);
      return;
    }
    const rowBytes = this.rowInts * 4;
    const t = this.pooled;
    // whole bands from the first row not done (an even one: SE33_BAND is even, and pooling takes row pairs)
    for (let y0 = Math.max(r0 - (r0 & 1), this.done); y0 < end; ) {
      const n = Math.min(SE33_BAND, outH - y0);
      // output row y reads image rows y .. y + 2 (padded numbering)
      this.quantBand(y0, n);
      const w = this.wino;
      if (t && w) {
        this.k.sewSigns((w.img - y0 * 8 * SEW_T * 4) >>> 0, w.wpk, outC, y0, y0 + n, w.nWin, this.hi, this.lom1, this.bitTab, t.padded, t.Cb, this.tmp,
          t.Wp, t.pad, this.inPtr, inH, inW, pad, this.exactWpk, this.K, this.bias);
        y0 += n;
        this.done = y0;
        continue;
      }
      const img = (this.pairImg - y0 * rowBytes) >>> 0;
      if (t) {
        this.k.seSigns33Pooled(img, rowBytes, this.koff, this.KP, this.wpk, outC, y0, y0 + n, outW, this.hi, this.lom1, this.bitTab,
          t.padded, t.Cb, this.tmp, t.Wp, t.pad, this.inPtr, inC, inH, inW, size, pad, this.exactWpk, this.K, this.bias);
      } else {
        this.k.seSigns33(img, rowBytes, this.koff, this.KP, this.wpk, outC, y0, y0 + n, outW, this.hi, this.lom1, this.bitTab,
          bits, Cb, this.tmp, this.inPtr, inC, inH, inW, size, pad, this.exactWpk, this.K, this.bias);
      }
      y0 += n;
      this.done = y0;
    }
  }
}
