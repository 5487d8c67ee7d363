import type { FloatConvParams, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkGeometry, MIN_PARALLEL_MACS, NO_TAIL, PoolableConv, roundUp, type BitTarget, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';
import { SignEstimate } from './sign-estimate.js';

type FloatMode = 'direct1x1' | 'padded' | 'im2col';

/** Tests turn the int16 sign estimate of bit-linked float convs off to compare both paths. */
let useSignEstimate = true;
export function setSignEstimate(on: boolean): void {
  useSignEstimate = on;
}

/**
 * Float convolution on the wasm kernels: picks the source layout (input as is, zero-bordered copy or
 * im2col), repacks weights in blocks of 4 filters and splits long k ranges into cache-sized chunks.
 * The layouts are described in assembly/kernels.ts and docs/kernels.md.
 */
export class WasmFloatConv extends PoolableConv {
  private readonly mode: FloatMode;
  private readonly src: number; // padded copy or im2col buffer (0 for direct1x1)
  private readonly groupSrcStride: number;
  private readonly koff: number;
  private readonly K: number;
  private readonly wpk: number;
  private readonly bias: number;
  private readonly rows: number;
  private readonly rowLen: number;
  private readonly srcRowStride: number;
  private readonly Hp: number;
  private readonly Wp: number;
  private readonly Ppad: number;
  private readonly narrow: boolean;
  private readonly kChunk: number;
  private readonly macs: number;
  private shares: number[][] | null = null;
  private sharesThreads = 0;
  private readonly act: number;
  /** Bit-linked, wide rows: output rows per band, the band's float buffer and per-thread arguments. */
  private bandRows = 0;
  private band = 0;
  private bandShares: number[][] = [];
  /**
   * Bit-linked, band mode: signs from an int16 estimate, uncertain ones exact (sign-estimate.ts);
   * with threads only where its bands split over them (the 3-channel 3x3 kernels, signs()).
   */
  private estimate: SignEstimate | null = null;
  /** The estimate ORs the fused 2x2 pool in registers, straight into the consumer (SignEstimate.poolInto). */
  private estimatePools = false;

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: FloatConvParams, pool?: PoolSpec) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p, pool);
    const { inC, inH, inW, outC, outH, outW, size, stride, pad, groups } = p;
    if (!Number.isInteger(groups) || groups < 1 || inC % groups || outC % groups) {
      throw new Error(`wasm float conv: groups ${groups} must divide inC ${inC} and outC ${outC}`);
    }
    const cpg = inC / groups;
    const opg = outC / groups;
    const K = cpg * size * size;
    checkGeometry('float', p, p.weights.length, K);
    if (p.bias.length < outC) throw new Error(`wasm float conv: expected ${outC} biases, got ${p.bias.length}`);
    this.K = K;
    this.act = ACT_CODE[p.activation];
    const P = outH * outW;
    this.Hp = inH + 2 * pad;
    this.Wp = inW + 2 * pad;
    this.Ppad = roundUp(P, 16);
    const koff = new Int32Array(K);
    if (size === 1 && stride === 1 && pad === 0 && outH === inH && outW === inW) {
      this.mode = 'direct1x1';
      for (let c = 0; c < cpg; c++) koff[c] = c * inH * inW * 4;
      this.src = 0;
      this.groupSrcStride = cpg * inH * inW * 4;
      this.rows = 1;
      this.rowLen = P;
      this.srcRowStride = 0;
    } else if (stride === 1 && outW >= 32 && outH === this.Hp - size + 1 && outW === this.Wp - size + 1) {
      // Wide rows: read taps straight from a zero-bordered copy (no im2col traffic).
      this.mode = 'padded';
      const plane = this.Hp * this.Wp;
      for (let c = 0, i = 0; c < cpg; c++)
        for (let ky = 0; ky < size; ky++) for (let kx = 0; kx < size; kx++) koff[i++] = (c * plane + ky * this.Wp + kx) * 4;
      this.src = heap.alloc(inC * plane * 4 + 256);
      this.groupSrcStride = cpg * plane * 4;
      this.rows = outH;
      this.rowLen = outW;
      this.srcRowStride = this.Wp * 4;
    } else {
      this.mode = 'im2col';
      for (let i = 0; i < K; i++) koff[i] = i * this.Ppad * 4;
      this.src = heap.alloc(inC * size * size * this.Ppad * 4 + 256);
      this.groupSrcStride = K * this.Ppad * 4;
      this.rows = 1;
      this.rowLen = P;
      this.srcRowStride = 0;
    }
    // One chunk unless the source slice for all k (K rows of the pixels) exceeds ~128 KiB.
    const sliceRowBytes = this.mode === 'padded' ? this.Hp * this.Wp * 4 / Math.max(1, size * size) : this.Ppad * 4;
    this.kChunk = groups === 1 ? Math.max(32, Math.min(K, Math.floor(131072 / sliceRowBytes))) : K;
    this.macs = outC * outH * outW * K;
    this.koff = heap.alloc(K * 4);
    heap.i32(this.koff, K).set(koff);

    // One filter at a time for (near-)depthwise groups, blocks of 4 filters otherwise.
    this.narrow = opg <= 2;
    if (this.narrow) {
      this.wpk = heap.alloc(outC * K * 4);
      heap.f32(this.wpk, outC * K).set(p.weights.subarray(0, outC * K));
    } else {
      const blocks = Math.ceil(opg / 4);
      this.wpk = heap.alloc(groups * blocks * K * 16);
      const w = heap.f32(this.wpk, groups * blocks * K * 4);
      for (let g = 0; g < groups; g++) {
        for (let f = 0; f < opg; f++) {
          const blockBase = (g * blocks + (f >> 2)) * K * 4;
          const src = (g * opg + f) * K;
          for (let kk = 0; kk < K; kk++) w[blockBase + kk * 4 + (f & 3)] = p.weights[src + kk];
        }
      }
    }
    this.bias = heap.alloc(outC * 4);
    heap.f32(this.bias, outC).set(p.bias.subarray(0, outC));
  }

  /** Writes the (pooled) output's sign bits into `t` from now on; false (nothing changed) if it cannot. */
  linkOutput(t: BitTarget): boolean {
    if (!this.fits(t) || this.target) return false;
    if (this.mode === 'padded' && !this.narrow && this.p.groups === 1) {
      // a band of output rows whose floats stay in L2 (~128 KiB) between the GEMM and the sign packing
      const { outC, outW } = this.p;
      this.bandRows = Math.max(1, Math.min(this.rows, Math.floor(131072 / (outC * outW * 4))));
      this.band = this.heap.alloc(outC * this.bandRows * outW * 4);
      if (useSignEstimate) this.estimate = SignEstimate.create(this.heap, this.k, this.p, this.wpk, this.bias);
      this.estimatePools = !!this.estimate && !!this.pool && this.estimate.poolInto(t, this.pool);
    }
    this.startLink(t);
    return true;
  }

  protected bitsInto(inPtr: number): void {
    const { outC, outH, outW } = this.p;
    const Cb = Math.ceil(outC / 8);
    if (!this.bandRows) {
      const conv = this.fullConv();
      this.convInto(inPtr, conv);
      this.k.packSigns(conv, outC, outH * outW, this.bitImg, Cb);
      return;
    }
    const pool = this.threads.pool;
    const est = this.estimate;
    if (est && (!pool || est.banded) && est.begin(inPtr)) {
      if (est.banded) {
        est.signs(this.bitImg, pool);
      } else {
        for (let r0 = 0; r0 < outH; r0 += this.bandRows) est.band(r0, Math.min(this.bandRows, outH - r0), this.band, this.bitImg, Cb);
      }
      this.bitsPooled = this.estimatePools;
      return;
    }
    const src = this.source(inPtr);
    const blocks = Math.ceil(outC / 4);
    for (let r0 = 0; r0 < outH; r0 += this.bandRows) {
      const rows = Math.min(this.bandRows, outH - r0);
      // the band is a CHW tensor of `rows` rows: its planes are rows*outW apart; signs need no leaky tail
      const s0 = src + r0 * this.srcRowStride;
      const plane = rows * outW;
      const bandMacs = (this.macs * rows) / outH;
      if (!pool || bandMacs < MIN_PARALLEL_MACS) {
        this.k.floatGemm(s0, this.groupSrcStride, this.koff, this.K, this.wpk, this.bias, 1, outC, this.band, plane, this.rowLen,
          this.srcRowStride, this.act, NO_TAIL, this.kChunk, 0, rows, 0, blocks);
      } else {
        const n = pool.threads;
        if (this.bandShares.length !== n) {
          this.bandShares = Array.from({ length: n }, () => [0, this.groupSrcStride, this.koff, this.K, this.wpk, this.bias, 1, outC,
            this.band, 0, this.rowLen, this.srcRowStride, this.act, NO_TAIL, this.kChunk, 0, 0, 0, blocks]);
        }
        for (let i = 0; i < n; i++) {
          const a = this.bandShares[i];
          a[0] = s0;
          a[9] = plane;
          a[15] = Math.floor((rows * i) / n);
          a[16] = Math.floor((rows * (i + 1)) / n);
        }
        pool.run('floatGemm', this.bandShares, this.k);
      }
      this.k.packSigns(this.band, outC, plane, this.bitImg + r0 * outW * Cb, Cb);
    }
  }

  private fullConvPtr = 0;
  /** A whole conv output for the bit path of layouts without row bands (allocated on first use). */
  private fullConv(): number {
    if (!this.fullConvPtr) this.fullConvPtr = this.heap.alloc(this.convCount * 4);
    return this.fullConvPtr;
  }

  /** The GEMM's source for this input: the input itself, its zero-bordered copy or its im2col. */
  private source(inPtr: number): number {
    const { inC, inH, inW, outH, outW, size, stride, pad } = this.p;
    if (this.mode === 'padded') {
      this.k.padCopy(inPtr, inC, inH, inW, pad, this.src, this.Hp, this.Wp);
      return this.src;
    }
    if (this.mode === 'im2col') {
      this.k.im2colFloat(inPtr, inC, inH, inW, size, stride, pad, outH, outW, this.src, this.Ppad);
      return this.src;
    }
    return inPtr;
  }

  protected convInto(inPtr: number, outPtr: number): void {
    const { outC, outH, outW, groups } = this.p;
    const src = this.source(inPtr);
    const plane = outH * outW;
    const tail = this.tailOf(outPtr, this.p.activation, this.convCount);
    if (this.narrow) {
      this.k.floatGemm1(src, this.groupSrcStride, this.koff, this.K, this.wpk, this.bias, groups, outC / groups, outPtr, plane,
        this.rows, this.rowLen, this.srcRowStride, this.act, tail);
      return;
    }
    const opg = outC / groups;
    const blocks = Math.ceil(opg / 4);
    const pool = this.threads.pool;
    if (!pool || this.macs < MIN_PARALLEL_MACS) {
      this.k.floatGemm(src, this.groupSrcStride, this.koff, this.K, this.wpk, this.bias, groups, opg, outPtr, plane,
        this.rowLen, this.srcRowStride, this.act, tail, this.kChunk, 0, this.rows, 0, blocks);
      return;
    }
    // Threads take output rows (wide images) or filter blocks (small images), never k.
    const shares = this.sharesFor(pool.threads, blocks);
    for (const a of shares) {
      a[0] = src;
      a[8] = outPtr;
      a[13] = tail;
    }
    pool.run('floatGemm', shares, this.k);
  }

  /** floatGemm arguments per thread (made once per thread count; pointers filled in per run). */
  private sharesFor(threads: number, blocks: number): number[][] {
    if (this.shares && this.sharesThreads === threads) return this.shares;
    const { outC, outH, outW, groups } = this.p;
    const base = [0, this.groupSrcStride, this.koff, this.K, this.wpk, this.bias, groups, outC / groups, 0, outH * outW,
      this.rowLen, this.srcRowStride, this.act, 0, this.kChunk];
    const byRows = this.rows >= threads * 4;
    const ranges = splitRange(byRows ? this.rows : blocks, threads);
    this.shares = ranges.map(([a, b]) => (byRows ? [...base, a, b, 0, blocks] : [...base, 0, this.rows, a, b]));
    this.sharesThreads = threads;
    return this.shares;
  }
}
