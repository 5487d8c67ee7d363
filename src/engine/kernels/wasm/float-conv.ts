import type { FloatConvParams } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkGeometry, MIN_PARALLEL_MACS, roundUp, WasmConv, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';

type FloatMode = 'direct1x1' | 'padded' | 'im2col';

/**
 * Float convolution on the wasm kernels: picks the source layout (input as is, zero-bordered copy or
 * im2col), repacks weights in blocks of 4 filters and splits long k ranges into cache-sized chunks.
 * The layouts are described in assembly/kernels.ts and docs/kernels.md.
 */
export class WasmFloatConv extends WasmConv {
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

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: FloatConvParams) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p.outC * p.outH * p.outW);
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

  protected compute(inPtr: number, outPtr: number): void {
    const { inC, inH, inW, outC, outH, outW, size, stride, pad, groups } = this.p;
    let src = inPtr;
    if (this.mode === 'padded') {
      this.k.padCopy(inPtr, inC, inH, inW, pad, this.src, this.Hp, this.Wp);
      src = this.src;
    } else if (this.mode === 'im2col') {
      this.k.im2colFloat(inPtr, inC, inH, inW, size, stride, pad, outH, outW, this.src, this.Ppad);
      src = this.src;
    }
    const plane = outH * outW;
    const tail = this.tailOf(outPtr, this.p.activation);
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
