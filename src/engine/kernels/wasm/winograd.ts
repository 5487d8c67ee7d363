import type { FloatConvParams, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkKernelConstant, MIN_PARALLEL_MACS, PoolableConv, roundUp, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';
import { I16_MAX, I32_BUDGET, Int16Scales } from './int16-scales.js';

/** The kernels this file calls beyond ops.ts's Exports. */
type WinoExports = Exports & {
  winoWeights(g: number, pairs: number, b0: number, b1: number, dst: number, xiStride: number): void;
  winoChunks(ctx: number, dst: number, c0: number, c1: number): void;
};
/**
 * winoChunks' context block (assembly/kernels.ts, WC_*): int32 slots, one block per thread (its
 * own U chunk and sums M; the rest shared).
 */
const WC = {
  V: 0, XISTRIDE: 1, KOFF: 2, PAIRS: 3, G: 4, NF: 5, TPAD: 6, T: 7, TROW3: 8, U: 9, USTRIDE: 10, CHUNKED: 11, CHUNK_BLOCKS: 12,
  M: 13, TILEOFF: 14, TILEEDGE: 15, OUTPLANE: 16, OUTW: 17, SCALE: 18, BIAS: 19, ACT: 20,
} as const;
const WC_INTS = 21;
/** Filter blocks (of 4) per chunk when U is built per chunk: U 16 x 8 x 2 KiB and sums M 114 KiB on yolov3-tiny's layer 14. */
const CHUNK_BLOCKS = 8;
/**
 * Fewest tiles for which U is built per chunk: winoWeights costs the same whatever the image
 * size, the stalls of streaming all of U grow with the tiles that each block's U is read for.
 * yolov3-tiny's layer 14 on one thread: 49 tiles (@416) 3.6 -> 3.1 ms, 25 tiles (@320) 1.85 -> 1.95 ms.
 */
const CHUNKED_MIN_TILES = 40;
/** Bytes of int16 3x3 weights per filter block and channel pair: [tap][4 filters][2 channels]. */
const G_BYTES = 144;

/** G' = 2G of Winograd F(2, 3): integer, so U = G' g G'^T is 4 times the usual transform. */
const G2 = [
  [2, 0, 0],
  [1, 1, 1],
  [1, -1, 1],
  [0, 0, 2],
];

/** Whether a 'fast' float conv can run as Winograd F(2x2, 3x3): 3x3, stride 1, pad 1, same size, groups 1. */
export function winogradFits(p: FloatConvParams): boolean {
  return p.size === 3 && p.stride === 1 && p.pad === 1 && p.groups === 1 && p.outH === p.inH && p.outW === p.inW;
}

/**
 * int16 weights and ranges for Winograd: weights round(w / wScale[f]) with |q| <= qW, transformed
 * weights U (16 per filter and channel, [xi][f][c]) within int16, inputs with |q| <= qA so that the
 * transformed inputs (|V| <= 4 qA) fit int16 and no int32 sum over the channels can overflow
 * (4 qA * sum_c |U[xi][f][c]| < 2^31). The weight range is chosen so that the two come out about
 * equal (each ~10 bits on yolov3-tiny's 3x3 head layer).
 */
export function winogradRanges(weights: Float32Array, outC: number, inC: number): { qA: number; qW: number; U: Int16Array; g: Int16Array; wScale: Float32Array } {
  const maxAbs = new Float64Array(outC);
  for (let f = 0; f < outC; f++) for (let i = 0; i < inC * 9; i++) maxAbs[f] = Math.max(maxAbs[f], Math.abs(weights[f * inC * 9 + i]));
  // sum_c |U| grows about linearly with qW: from the unquantised transform (weights / max|w|) pick
  // the qW that balances the two ranges, then quantise and check, a little lower if needed
  const s1 = transformSums(outC, inC, (f, i) => (maxAbs[f] > 0 ? weights[f * inC * 9 + i] / maxAbs[f] : 0));
  let qW = Math.max(255, Math.min(4095, Math.floor(Math.sqrt(I32_BUDGET / (4 * Math.max(s1, 1e-9))))));
  for (;;) {
    const wScale = new Float32Array(outC);
    for (let f = 0; f < outC; f++) wScale[f] = maxAbs[f] > 0 ? maxAbs[f] / qW : 0;
    const U = new Int16Array(16 * outC * inC);
    const g = new Int16Array(outC * inC * 9);
    const quant = (f: number, i: number): number => {
      const s = maxAbs[f] / qW;
      return s > 0 ? Math.max(-qW, Math.min(qW, Math.round(weights[f * inC * 9 + i] / s))) : 0;
    };
    for (let f = 0; f < outC; f++) for (let i = 0; i < inC * 9; i++) g[f * inC * 9 + i] = quant(f, i);
    let fits = true;
    const worst = transformSums(outC, inC, quant, (xi, f, c, v) => {
      if (Math.abs(v) > I16_MAX) fits = false;
      U[(xi * outC + f) * inC + c] = v;
    });
    const qA = Math.min(8191, Math.floor(I32_BUDGET / (4 * Math.max(worst, 1))));
    if (fits && qA >= 1) return { qA, qW, U, g, wScale };
    if (qW <= 15) throw new Error('wasm winograd: no int16 range fits these weights');
    qW = Math.floor(qW * 0.8);
  }
}

/**
 * max over (xi, f) of sum_c |U[xi][f][c]| for the weights w(f, i) (i = (c, ky, kx)), U = G' g G'^T;
 * `each` sees every U value.
 */
function transformSums(outC: number, inC: number, w: (f: number, i: number) => number, each?: (xi: number, f: number, c: number, v: number) => void): number {
  const q = new Float64Array(9);
  const t = new Float64Array(12); // G' q: 4 rows x 3 columns
  const sums = new Float64Array(16);
  let worst = 0;
  for (let f = 0; f < outC; f++) {
    sums.fill(0);
    for (let c = 0; c < inC; c++) {
      for (let i = 0; i < 9; i++) q[i] = w(f, c * 9 + i);
      for (let i = 0; i < 4; i++)
        for (let b = 0; b < 3; b++) t[i * 3 + b] = G2[i][0] * q[b] + G2[i][1] * q[3 + b] + G2[i][2] * q[6 + b];
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 4; j++) {
          const v = G2[j][0] * t[i * 3] + G2[j][1] * t[i * 3 + 1] + G2[j][2] * t[i * 3 + 2];
          each?.(i * 4 + j, f, c, v);
          sums[i * 4 + j] += Math.abs(v);
        }
    }
    for (let xi = 0; xi < 16; xi++) worst = Math.max(worst, sums[xi]);
  }
  return worst;
}

/**
 * A 3x3 stride-1 float convolution in 'fast' precision as Winograd F(2x2, 3x3) over int16
 * (fast-conv.ts's numerics: per-filter weight scale, per-tensor input scale from this frame's
 * max |x|): the input transform, 16 int16 GEMMs over the channels (i32x4.dot_i16x8_s, exact int32
 * sums) and the output transform in f32, ~2x fewer multiply-adds than the direct int16 conv.
 * The weights stay int16 3x3 (g) and winoWeights transforms them (exact: the loader proves
 * |U| <= 32767). With enough tiles (CHUNKED_MIN_TILES) it does so a filter chunk at a time: a
 * frame reads g's 2.3 MB instead of U's 4 MiB (yolov3-tiny's layer 14), and the GEMMs read U from
 * L2 instead of stalling on its stream; otherwise all of U is built once, on first use. The
 * chunks (U, 16 GEMMs, output transform: winoChunks) run in one wasm call, on threads one call
 * per thread over a range of chunks, each with its own U chunk and sums.
 */
export class WasmWinogradConv extends PoolableConv {
  private readonly pairs: number;
  private readonly Hp: number;
  private readonly Wp: number;
  private readonly TH: number;
  private readonly TW: number;
  private readonly T: number;
  private readonly Tpad: number;
  /** Tiles whose M[3][*] some output reads: all but the last tile row when the height is odd. */
  private readonly Trow3: number;
  private readonly pairImg: number;
  private readonly V: number;
  private readonly xiStride: number;
  private readonly M: number;
  private readonly chunkBlocks: number;
  private readonly blocks: number;
  private readonly chunks: number;
  private readonly koff: number;
  /** int16 3x3 weights [block][pair][tap][4 filters][2 channels] (winoWeights' input). */
  private readonly g3: number;
  /** Whether U is built a chunk at a time (else all of U is read). */
  private readonly chunked: boolean;
  /** Chunked: thread 0's chunk of U, [xi][block][pair][filter], planes uChunkStride apart. */
  private readonly uChunk: number;
  private readonly uChunkStride: number;
  /** Not chunked: all of U, planes uStride apart (built on first use). */
  private uAll = 0;
  private readonly uStride: number;
  private readonly tileOff: number;
  private readonly tileEdge: number;
  private readonly scales: Int16Scales;
  private readonly act: number;
  /** winoChunks' context blocks, one per thread (0: the calling thread's, with uChunk and M above). */
  private readonly ctxs: number[] = [];
  /** winoChunks' arguments per thread for sharesThreads threads (dst filled in per frame). */
  private shares: number[][] = [];
  private sharesThreads = 0;

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: FloatConvParams, pool?: PoolSpec) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p, pool);
    if (!winogradFits(p)) throw new Error('wasm winograd conv: needs 3x3, stride 1, pad 1, groups 1, same size');
    const { inC, inH, inW, outC } = p;
    if (p.weights.length !== outC * inC * 9) throw new Error(`wasm float conv: expected ${outC * inC * 9} weights, got ${p.weights.length}`);
    if (p.bias.length < outC) throw new Error(`wasm float conv: expected ${outC} biases, got ${p.bias.length}`);
    this.act = ACT_CODE[p.activation];
    this.pairs = Math.ceil(inC / 2);
    this.TH = Math.ceil(inH / 2);
    this.TW = Math.ceil(inW / 2);
    this.T = this.TH * this.TW;
    this.Tpad = roundUp(this.T, 8);
    // A^T's row 0 is (1, 1, 1, 0): a tile's top outputs never read M[3][*], and an odd height
    // leaves the last tile row only its top outputs, so xi 12..15 skip that row's tiles
    this.Trow3 = inH % 2 === 1 ? this.T - this.TW : this.T;
    // tiles read rows and columns 2t .. 2t + 3 of the zero-bordered image
    this.Hp = 2 * this.TH + 2;
    this.Wp = 2 * this.TW + 2;
    this.pairImg = heap.alloc(this.pairs * this.Hp * this.Wp * 4);
    // +320 bytes: xi planes a multiple of 4 KiB apart would make every tile's 16 stores alias
    this.xiStride = (this.Tpad / 8) * this.pairs * 32 + 320;
    this.V = heap.alloc(16 * this.xiStride);
    // filter chunks of at most ~256 KiB of sums (M), which stay in L2 for the output transform,
    // and whose U (when built per chunk) does too
    this.chunked = this.T >= CHUNKED_MIN_TILES;
    this.blocks = Math.ceil(outC / 4);
    this.chunkBlocks = Math.max(1, Math.min(this.blocks, this.chunked ? CHUNK_BLOCKS : Infinity, Math.floor(262144 / (16 * 4 * this.Tpad * 4))));
    this.chunks = Math.ceil(this.blocks / this.chunkBlocks);
    this.M = heap.alloc(this.mBytes);
    this.koff = heap.alloc(this.pairs * 4);
    heap.i32(this.koff, this.pairs).set(Array.from({ length: this.pairs }, (_, kp) => kp * 32));

    const { qA, g, wScale } = winogradRanges(p.weights, outC, inC);
    this.g3 = heap.alloc(this.blocks * this.pairs * G_BYTES);
    packWinogradWeights(new Int16Array(heap.u8(this.g3, 0).buffer, this.g3, (this.blocks * this.pairs * G_BYTES) / 2), g, outC, inC);
    // U per xi: [block of 4 filters][channel pair][filter] int16 pairs (channel 2cp, 2cp + 1); the
    // chunk's planes +320 bytes apart: a multiple of 4 KiB would make winoWeights' 16 stores alias
    this.uStride = this.blocks * this.pairs * 16;
    this.uChunkStride = this.chunkBlocks * this.pairs * 16 + 320;
    this.uChunk = this.chunked ? heap.alloc(16 * this.uChunkStride) : 0;
    this.tileOff = heap.alloc(this.T * 4);
    this.tileEdge = heap.alloc(this.T * 4);
    const off = heap.i32(this.tileOff, this.T);
    const edge = heap.i32(this.tileEdge, this.T);
    for (let ty = 0; ty < this.TH; ty++)
      for (let tx = 0; tx < this.TW; tx++) {
        off[ty * this.TW + tx] = 2 * ty * inW + 2 * tx;
        edge[ty * this.TW + tx] = (2 * tx + 1 < inW ? 1 : 0) | (2 * ty + 1 < inH ? 2 : 0);
      }
    // Y = 4 * the int16 convolution (G' = 2G)
    this.scales = new Int16Scales(heap, k, qA, wScale, p.bias, outC, 4);
  }

  private get k2(): WinoExports {
    return this.k as WinoExports;
  }

  private get U(): number {
    if (!this.uAll) {
      this.uAll = this.heap.alloc(16 * this.uStride);
      this.k2.winoWeights(this.g3, this.pairs, 0, this.blocks, this.uAll, this.uStride);
    }
    return this.uAll;
  }

  private get mBytes(): number {
    return 16 * this.chunkBlocks * 4 * this.Tpad * 4;
  }

  /** Thread i's winoChunks context (made on first use; threads past 0 get their own U chunk and M). */
  private context(i: number): number {
    if (!this.ctxs.length) checkKernelConstant(this.k, 'WC_CTX_INTS', WC_INTS);
    while (this.ctxs.length <= i) {
      const own = this.ctxs.length > 0;
      const { inH, inW, outC } = this.p;
      const ctx = this.heap.alloc(WC_INTS * 4);
      const c = this.heap.i32(ctx, WC_INTS);
      c[WC.V] = this.V;
      c[WC.XISTRIDE] = this.xiStride;
      c[WC.KOFF] = this.koff;
      c[WC.PAIRS] = this.pairs;
      c[WC.G] = this.g3;
      c[WC.NF] = outC;
      c[WC.TPAD] = this.Tpad;
      c[WC.T] = this.T;
      c[WC.TROW3] = this.Trow3;
      c[WC.U] = this.chunked ? (own ? this.heap.alloc(16 * this.uChunkStride) : this.uChunk) : this.U;
      c[WC.USTRIDE] = this.chunked ? this.uChunkStride : this.uStride;
      c[WC.CHUNKED] = this.chunked ? 1 : 0;
      c[WC.CHUNK_BLOCKS] = this.chunkBlocks;
      c[WC.M] = own ? this.heap.alloc(this.mBytes) : this.M;
      c[WC.TILEOFF] = this.tileOff;
      c[WC.TILEEDGE] = this.tileEdge;
      c[WC.OUTPLANE] = inH * inW;
      c[WC.OUTW] = inW;
      c[WC.SCALE] = this.scales.scale;
      c[WC.BIAS] = this.scales.bias;
      c[WC.ACT] = this.act;
      this.ctxs.push(ctx);
    }
    return this.ctxs[i];
  }

  /** Never bit-linked: reduced precision is only allowed where no binary conv reads the output. */
  protected bitsInto(): void {
    throw new Error('wasm winograd conv: no bit output');
  }

  protected convInto(inPtr: number, outPtr: number): void {
    const { inC, inH, inW, outC } = this.p;
    const k = this.k;
    const inv = this.scales.frame(inPtr, inC * inH * inW);
    k.quantPairs(inPtr, inC, inH, inW, 1, this.pairImg, this.Wp, this.Hp * this.Wp, inv);
    k.winoInput(this.pairImg, this.pairs, this.Hp, this.Wp, this.TH, this.TW, this.V, this.pairs * 32, this.xiStride);
    const pool = this.threads.pool;
    if (!pool || outC * this.T * inC * 16 < MIN_PARALLEL_MACS) {
      this.k2.winoChunks(this.context(0), outPtr, 0, this.blocks);
      return;
    }
    // threads take ranges of filter blocks, whole chunks where there are enough, each running them
    // chunk by chunk as one thread does (U built per chunk in its own scratch)
    if (this.sharesThreads !== pool.threads) {
      const unit = this.chunks >= pool.threads ? this.chunkBlocks : 1;
      this.shares = splitRange(this.blocks, pool.threads, unit).map(([b0, b1], i) => [this.context(i), 0, b0, b1]);
      this.sharesThreads = pool.threads;
    }
    for (const a of this.shares) a[1] = outPtr;
    pool.run('winoChunks', this.shares, this.k2);
  }
}

/**
 * The int16 3x3 weights g[f][c][tap] in winoWeights' layout: [block of 4 filters][channel pair]
 * [tap][filter][channel & 1] (G_BYTES per block and pair; missing filters and channels 0).
 */
export function packWinogradWeights(dst: Int16Array, g: Int16Array, outC: number, inC: number): void {
  const pairs = Math.ceil(inC / 2);
  dst.fill(0);
  for (let f = 0; f < outC; f++)
    for (let c = 0; c < inC; c++)
      for (let t = 0; t < 9; t++) dst[((((f >> 2) * pairs + (c >> 1)) * 9 + t) * 4 + (f & 3)) * 2 + (c & 1)] = g[(f * inC + c) * 9 + t];
}
