import type { FloatConvParams, PoolSpec } from '../backend.js';
import { I32_BUDGET, int16Ranges } from './int16-scales.js';
import type { WasmHeap } from './heap.js';
import { checkKernelConstant, MIN_PARALLEL_MACS, type BitTarget, type Exports } from './ops.js';
import type { WasmPool } from './pool.js';

const I32_MAX = 2 ** 31 - 1;

/** The kernels of assembly/sign-estimate.ts. */
interface SignExports extends Exports {
  seQuantOdd(src: number, H: number, W: number, pad: number, inv: number, q: number, Wq: number, hp: number, vp: number, Hp: number, Wp: number, rowBytes: number): void;
  se33Quant(src: number, H: number, W: number, pad: number, inv: number, img: number, q: number, Wq: number, yp0: number, n: number): number;
  sewQuant(src: number, H: number, W: number, pad: number, inv: number, img: number, q: number, Wq: number, qPlane: number, u2: number, yp0: number, n: number,
    nT: number): number;
  sewSigns(img: number, wpk: number, nF: number, r0: number, r1: number, nWin: number, hi: number, lom1: number, bitTab: number, dst: number, Cb: number,
    tmp: number, Wp: number, dpad: number, inPtr: number, H: number, inW: number, pad: number, exactWpk: number, K: number, bias: number): void;
  seBands(ctx: number, inPtr: number, b0: number, b1: number): void;
  seBandsClaim(ctx: number, inPtr: number, next: number, nBands: number): void;
  seBoundsOf(w1: number, ew: number, biasF: number, wScale: number, nF: number, K: number, hi: number, lom1: number, inv: number, amax: number,
    twice: number): void;
  seScaleFor(qA: number, amax: number): number;
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
/**
 * seBands' context block (assembly/sign-estimate.ts, C_*): int32 slots, one block per thread
 * (its own scratch; the weights, bounds inputs and scale hints shared).
 */
const CTX = {
  MODE: 0, H: 1, W: 2, PAD: 3, OUTH: 4, OUTW: 5, NF: 6, QA: 7, K: 8, IMG: 9, Q: 10, WQ: 11, QPLANE: 12, U2: 13, NT: 14, WPK: 15,
  NWIN: 16, HI: 17, LOM1: 18, BITTAB: 19, DST: 20, CB: 21, TMP: 22, DWP: 23, DPAD: 24, EXACT: 25, BIAS: 26, KOFF: 27, KP: 28,
  ROWBYTES: 29, W1: 30, EW: 31, BIASF: 32, WSCALE: 33, BANDINV: 34, IMGBYTES: 35,
} as const;
const CTX_INTS = 36;
/** The Winograd transforms' int16 limits: |U| <= 2 max|xq|, |V| <= 3 max|wq|. */
const WINO_QA = 16383;
const WINO_QW = 10922;

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
 * infinity or only zeros in its input; seSigns33 has a scale and bounds per band (seBands).
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
  private readonly bitTab: number;
  private readonly tmp: number;
  private readonly qA: number;
  private readonly wScale: Float32Array;
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
   * last frame's scale for it (0: none yet), see seBands. In wasm memory (f64): threads update
   * the hints of the bands they run.
   */
  private readonly bandInv: Float64Array;
  private readonly bandInvPtr: number;
  /** seBands' context blocks, one per thread (index 0: the calling thread's, with the buffers above). */
  private ctxs: number[] = [];
  /** seBandsClaim's arguments per thread for sharesThreads threads (inPtr filled in per frame). */
  private shares: number[][] = [];
  private sharesThreads = 0;
  /** seBandsClaim's band counter (its own cache line), reset each frame. */
  private claim: Int32Array | null = null;
  /** Not pooled: the caller's bit image, which the contexts name (signs() keeps them current). */
  private bitsDst = 0;
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
    this.hi = this.boundsArray();
    this.lom1 = this.boundsArray();
    this.bitTab = heap.alloc(16 * 16);
    const bits = heap.i32(this.bitTab, 64);
    for (let j = 0; j < 16; j++) bits.fill((1 << j) * 0x10001, 4 * j, 4 * j + 4);
    this.tmp = heap.alloc(128);
    const nBands = this.interleaved ? Math.ceil(p.outH / SE33_BAND) : 0;
    this.bandInvPtr = heap.alloc(nBands * 8);
    this.bandInv = new Float64Array(heap.u8(this.bandInvPtr, 0).buffer, this.bandInvPtr, nBands);
  }

  /**
   * A bound per filter (hi or lo - 1), in groups of 16 filters: the padding (I32_MAX) is neither
   * positive nor undecided.
   */
  private boundsArray(): number {
    const padded = Math.ceil(this.p.outC / 16) * 16;
    const at = this.heap.alloc(padded * 4);
    this.heap.i32(at, padded).fill(I32_MAX);
    return at;
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
   * (seQuantBand in assembly/sign-estimate.ts), each with its own scale and bounds, so needs no pass over the input here; the
   * other shapes quantise the whole input now, with one scale from its max |x|, and false for a
   * NaN, an infinity or only zeros.
   */
  begin(inPtr: number): boolean {
    this.inPtr = inPtr;
    if (this.interleaved) return true;
    const { inC, inH, inW, pad } = this.p;
    const amax = this.k.maxAbs(inPtr, inC * inH * inW);
    if (!(amax > 0 && Number.isFinite(amax))) return false;
    const inv = this.k.seScaleFor(this.qA, amax);
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
   * <= qA, seScaleFor) whose largest |x| is amax.
   */
  private setBounds(inv: number, amax: number): void {
    const b = (this.genericBounds ??= this.boundInputs(false));
    this.k.seBoundsOf(b.w1, b.ew, b.biasF, b.wScale, this.p.outC, this.K, this.hi, this.lom1, inv, amax, 0);
  }

  /** setBounds' per-filter inputs in wasm memory (made on the first frame). */
  private genericBounds: { w1: number; ew: number; biasF: number; wScale: number } | null = null;

  /**
   * How a band of seSigns33's output rows [y0, y0 + n) (image rows y0 .. y0 + n + 1) is quantised
   * and bounded (seQuantBand in assembly/sign-estimate.ts): no separate max |x| pass over the
   * (cache-cold) input: the band is quantised with the scale hint, last frame's scale for this
   * band, while se33Quant / sewQuant finds the max |x| m of the rows it read. The bounds hold for
   * any scale inv with m * inv <= qA (no input is clamped: the int32 sums cannot overflow, and
   * |x - xq / inv| <= 1 / (2 inv) + u |x| for every x read), given sigma = 1 / inv and this band's
   * own m, so the hint is kept unless m * inv > qA (it would clamp: re-quantised with m's scale) or
   * m * inv < qA / 4 (a coarse step, more outputs left undecided: re-quantised too). A band of
   * zeros keeps its scale (any works: every S is 0). A band with a NaN or an infinity gets a zero
   * image and bounds that decide nothing: each of its outputs (the pooled path: each one a certain
   * positive does not decide) is computed exactly, as darknet does. The bounds come from seBoundsOf,
   * as setBounds' do.
   *
   * Context block `i` (thread i's): thread 0 uses the buffers made by the constructor and
   * winograd(), the others their own copies of the per-band scratch (image, int16 rows, bounds,
   * tmp). Made on first use, when poolInto has chosen the kernels.
   */
  private context(i: number): number {
    while (this.ctxs.length <= i) this.ctxs.push(this.makeContext(this.ctxs.length));
    return this.ctxs[i];
  }

  private makeContext(thread: number): number {
    if (thread === 0) {
      checkKernelConstant(this.k, 'SE_CTX_INTS', CTX_INTS);
      checkKernelConstant(this.k, 'SE_BAND', SE33_BAND);
    }
    const heap = this.heap;
    const { inH, inW, pad, outC, outH, outW } = this.p;
    const w = this.wino;
    const t = this.pooled;
    const mode = t && w ? 0 : t ? 1 : 2;
    const imgRows = SE33_BAND + 2;
    const imgBytes = mode === 0 ? imgRows * 8 * SEW_T * 4 : imgRows * this.rowInts * 4;
    const own = thread > 0;
    let img: number;
    let q: number;
    let u2 = 0;
    if (mode === 0) {
      img = own ? heap.alloc(imgBytes) : w!.img;
      q = own ? heap.alloc(3 * w!.qPlane) : w!.q;
      u2 = own ? heap.alloc((imgRows + 1) * 4 * SEW_T * 2) : w!.u2;
    } else {
      img = own ? heap.alloc(imgBytes) : this.pairImg;
      q = own ? heap.alloc((imgRows + 1) * this.Wq * 2) : this.qPlane;
    }
    let hi = this.hi;
    let lom1 = this.lom1;
    let tmp = this.tmp;
    if (own) {
      hi = this.boundsArray();
      lom1 = this.boundsArray();
      tmp = heap.alloc(128);
    }
    const shared = this.ctxs[0];
    const perFilter = shared ? null : this.boundInputs(mode === 0);
    const ctx = heap.alloc(CTX_INTS * 4);
    const c = heap.i32(ctx, CTX_INTS);
    c[CTX.MODE] = mode;
    c[CTX.H] = inH;
    c[CTX.W] = inW;
    c[CTX.PAD] = pad;
    c[CTX.OUTH] = outH;
    c[CTX.OUTW] = outW;
    c[CTX.NF] = outC;
    c[CTX.QA] = mode === 0 ? w!.qA : this.qA;
    c[CTX.K] = this.K;
    c[CTX.IMG] = img;
    c[CTX.Q] = q;
    c[CTX.WQ] = mode === 0 ? w!.Wq : this.Wq;
    c[CTX.QPLANE] = mode === 0 ? w!.qPlane : 0;
    c[CTX.U2] = u2;
    c[CTX.NT] = mode === 0 ? w!.nT : 0;
    c[CTX.WPK] = mode === 0 ? w!.wpk : this.wpk;
    c[CTX.NWIN] = mode === 0 ? w!.nWin : 0;
    c[CTX.HI] = hi;
    c[CTX.LOM1] = lom1;
    c[CTX.BITTAB] = this.bitTab;
    c[CTX.DST] = t ? t.padded : this.bitsDst;
    c[CTX.CB] = t ? t.Cb : Math.ceil(outC / 8);
    c[CTX.TMP] = tmp;
    c[CTX.DWP] = t ? t.Wp : 0;
    c[CTX.DPAD] = t ? t.pad : 0;
    c[CTX.EXACT] = this.exactWpk;
    c[CTX.BIAS] = this.bias;
    c[CTX.KOFF] = this.koff;
    c[CTX.KP] = this.KP;
    c[CTX.ROWBYTES] = this.rowInts * 4;
    if (perFilter) {
      c[CTX.W1] = perFilter.w1;
      c[CTX.EW] = perFilter.ew;
      c[CTX.BIASF] = perFilter.biasF;
      c[CTX.WSCALE] = perFilter.wScale;
    } else {
      const c0 = heap.i32(shared, CTX_INTS);
      for (const slot of [CTX.W1, CTX.EW, CTX.BIASF, CTX.WSCALE]) c[slot] = c0[slot];
    }
    c[CTX.BANDINV] = this.bandInvPtr;
    c[CTX.IMGBYTES] = imgBytes;
    return ctx;
  }

  /** seBounds' per-filter inputs in wasm memory (f64): sum |w|, the weights' error, bias and scale of the kernels' int16 ranges. */
  private boundInputs(twice: boolean): { w1: number; ew: number; biasF: number; wScale: number } {
    const { outC } = this.p;
    const ranges = (twice && this.wino) || { ew: this.ew, wScale: this.wScale };
    const f64 = (values: ArrayLike<number>): number => {
      const ptr = this.heap.alloc(outC * 8);
      new Float64Array(this.heap.u8(ptr, 0).buffer, ptr, outC).set(Array.from({ length: outC }, (_, f) => values[f]));
      return ptr;
    };
    return { w1: f64(this.w1), ew: f64(ranges.ew), biasF: f64(this.biasF), wScale: f64(ranges.wScale) };
  }

  /** Not pooled, the bits go to the caller's image: the contexts name it (it does not change in practice). */
  private setBitsDst(bits: number): void {
    if (this.pooled || bits === this.bitsDst) return;
    this.bitsDst = bits;
    for (const ctx of this.ctxs) this.heap.i32(ctx, CTX_INTS)[CTX.DST] = bits;
  }

  /** Whether signs() can run (the 3-channel 3x3 kernels, whose bands are independent). */
  get banded(): boolean {
    return this.interleaved;
  }

  /**
   * Every output row's sign bits (banded only, after begin): into `bits` ([pixel][Cb] bytes), or
   * pooled into poolInto's image. With a pool (and enough work) every thread runs seBandsClaim
   * with its own scratch, taking bands from a shared counter until none is left (a worker that
   * wakes late takes fewer); the bits are the same whoever runs a band.
   */
  signs(bits: number, pool: WasmPool | null): void {
    const { inC, outC, outH, outW } = this.p;
    const nBands = this.bandInv.length;
    const macs = outC * outH * outW * inC * 9;
    this.setBitsDst(bits);
    if (!pool || macs < MIN_PARALLEL_MACS) {
      this.k.seBands(this.context(0), this.inPtr, 0, nBands);
    } else {
      if (!this.claim) {
        const at = this.heap.alloc(64);
        this.claim = this.heap.i32(at, 1);
      }
      if (this.sharesThreads !== pool.threads) {
        const at = this.claim.byteOffset;
        this.shares = Array.from({ length: Math.min(pool.threads, nBands) }, (_, i) => [this.context(i), 0, at, nBands]);
        this.sharesThreads = pool.threads;
      }
      for (const a of this.shares) a[1] = this.inPtr;
      Atomics.store(this.claim, 0, 0);
      pool.run('seBandsClaim', this.shares, this.k);
    }
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
    // the kernels changed: contexts made before (none in practice) are made again
    this.ctxs = [];
    this.sharesThreads = 0;
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
   * Sign bits of output rows [r0, r0 + rows) into the bit image `bits` ([pixel][Cb] bytes), for the
   * shapes that are not banded (the banded ones run signs()); `_band`: unused (the sums stay in
   * registers).
   */
  band(r0: number, rows: number, _band: number, bits: number, Cb: number): void {
    if (this.interleaved) throw new Error('sign estimate: the 3-channel 3x3 kernels run whole frames (signs())');
    const { inC, inH, inW, outC, outW, size, pad } = this.p;
    this.k.seSigns(this.pairImg, this.rowInts * 4, this.koff, this.KP, this.wpk, outC, r0, r0 + rows, outW, this.hi, this.lom1, this.bitTab,
      bits, Cb, this.tmp, this.inPtr, inC, inH, inW, size, pad, this.exactWpk, this.K, this.bias);
  }
}
