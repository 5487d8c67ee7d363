import type { BinaryConvParams, ConvGeometry, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkGeometry, MIN_PARALLEL_MACS, PoolableConv, roundUp, type BitTarget, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';

/** The kernels of the 16-channel (lastTap) path, beyond ops.ts's Exports (assembly/kernels.ts). */
interface LastTapExports {
  im2colBitsLastTap(src: number, Wp: number, stride: number, outH: number, outW: number, dst: number, lastTaps: number): void;
  binConvLastTap(wpk: number, f0: number, f1: number, X: number, nP: number, cnt: number, block: number, outC: number, P: number, K: number,
    scale: number, bias: number, dst: number, act: number, tail: number, lastTaps: number, wLast: number): void;
  binConvBitsLastTapRows(wpk: number, nF: number, src: number, Wp: number, stride: number, outW: number, y0: number, y1: number,
    rows: number, cols: number, lastTaps: number, cnt: number, block: number, outC: number, lo: number, hi: number, dst: number,
    Cb: number, wLast: number): void;
}
type BinaryKernel = 'binConv' | 'binConvBits' | 'binConvLastTap' | 'binConvBitsLastTapRows' | 'binConvBitsRows';

/**
 * Bit output does its im2col block by block (rowsInto) for lastTap layers and where the whole
 * layer's im2col words would take more than this: yolov3-tiny's layers 2, 4 and 6 @416 (690, 430
 * and 190 KiB) gain 0.04-0.15 ms; below, filter ranges over one im2col (binConvBits) measured as
 * fast or ~1 % faster (layers 8-12, cause not found).
 */
export const ROWS_MIN_COLS_BYTES = 128 * 1024;

/** Pixels of im2col words a GEMM block keeps in L1 (32 KiB) at Kw words each. */
const l1Pixels = (Kw: number): number => Math.floor(32768 / (Kw * 8));

/**
 * The counts m for which fround(fround((K - 2m) * scale) + bias) > 0, as an interval [lo, hi) of
 * 0..K (the value is monotone in m for any scale), or null when they are not one interval.
 */
export function positiveCounts(K: number, scale: number, bias: number): [number, number] | null {
  const f = Math.fround;
  let lo = -1;
  let hi = -1;
  for (let m = 0; m <= K; m++) {
    if (!(f(f((K - 2 * m) * scale) + bias) > 0)) continue;
    if (lo < 0) lo = m;
    else if (hi !== m) return null; // a gap
    hi = m + 1;
  }
  return lo < 0 ? [0, 0] : [lo, hi];
}

/**
 * Binary (XNOR) convolution on the wasm kernels: sign-pack, pad, im2col into 64-bit rows, popcount
 * GEMM and float output, block by block. Weight bits are packed once here, in the im2col row layout.
 * Bit-linked (see PoolableConv), the counts become the consumer's sign bits directly (binBits).
 */
export class WasmBinaryConv extends PoolableConv {
  private readonly Cb: number;
  private readonly Wp: number;
  private readonly chunk: number;
  private readonly dense: boolean;
  /** 3x3 over 2-byte taps: two words per pixel plus its last tap apart (im2colBitsLastTap). */
  private readonly lastTap: boolean;
  private readonly lastTaps: number = 0;
  private readonly wLast: number = 0;
  private readonly Kw: number;
  private readonly nF: number;
  private readonly nP: number;
  private readonly packed: number;
  private readonly padded: number;
  private readonly cols: number;
  private readonly block: number;
  private readonly cnt: number;
  private readonly wpk: number;
  private readonly scale: number;
  private readonly bias: number;
  private readonly act: number;
  private shares: number[][] = [];
  private sharesThreads = 0;
  /** Whether threads split this layer (binaryParallel). */
  private readonly parallel: boolean;
  /** Row-block bit output (rowsInto): the kernel's arguments per share, and each share's scratch (cols, cnt, lastTaps). */
  private rowShares: number[][] = [];
  private rowSharesParts = 0;
  private readonly rowScratch: number[][] = [];
  /** binConvBits's arguments for all filters (small layers' bit output), built once. */
  private bitArgs: number[] | null = null;
  private bitShares: number[][] = [];
  private bitSharesThreads = 0;
  /** binConv's (or binConvLastTap's) arguments for all filters, built once. */
  private convArgs: number[] | null = null;
  private lo = 0;
  private hi = 0;
  /** positiveCounts of every filter (computed once: dry runs ask too), null where one is not an interval. */
  private counts: { lo: Int32Array; hi: Int32Array } | null | undefined;
  /** Bit-linked input: which bytes of a pixel's Cb the producers write (the rest is packed from floats). */
  private linkedBytes: Uint8Array | null = null;
  private linkedCount = 0;
  /** Cb bytes, 1 where padRowsMasked copies the packed floats' byte (partly linked input). */
  private unlinkedMask = 0;

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: BinaryConvParams, pool?: PoolSpec) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p, pool);
    const { inC, inH, inW, outC, outH, outW, size, pad } = p;
    checkGeometry('binary', p, p.weights.length, inC * size * size);
    if (p.scale.length < outC || p.bias.length < outC) throw new Error(`wasm binary conv: expected ${outC} scales and biases`);
    this.act = ACT_CODE[p.activation];
    this.Cb = Math.ceil(inC / 8);
    this.Wp = inW + 2 * pad;
    const Hp = inH + 2 * pad;
    // Rows of taps rounded up to 8 bytes each, or (whole 4-byte taps that do not fill words) dense,
    // or (2-byte taps, 3x3) dense in two words plus the last 2-byte tap apart
    this.lastTap = this.Cb === 2 && size === 3;
    this.dense = this.Cb % 4 === 0 && (size * this.Cb) % 8 !== 0;
    this.chunk = this.dense || this.lastTap ? size * this.Cb : roundUp(size * this.Cb, 8);
    this.Kw = this.lastTap ? 2 : Math.ceil((size * this.chunk) / 8);
    this.nP = roundUp(outH * outW, 2);
    this.nF = roundUp(outC, 2);
    this.packed = heap.alloc(inH * inW * this.Cb);
    this.padded = heap.alloc(Hp * this.Wp * this.Cb + 8); // +8: the last chunk's word may read past
    this.cols = heap.alloc((this.nP / 2) * this.Kw * 16);
    // Pixels per GEMM block: its im2col rows fit in L1 (32 KiB); a multiple of 4 for binFinish, of
    // 8 for the lastTap pass (it adds 8 counts a vector).
    const unit = this.lastTap ? 8 : 4;
    this.block = Math.max(unit, Math.min(roundUp(this.nP, unit), l1Pixels(this.Kw) & -unit));
    if (this.lastTap) {
      this.lastTaps = heap.alloc(roundUp(this.nP, 8) * 2);
      this.wLast = heap.alloc(this.nF * 2);
    }
    this.cnt = heap.alloc(this.nF * this.block * 4);
    this.parallel = binaryParallel(p, this.Kw + (this.lastTap ? 1 : 0));
    this.wpk = heap.alloc((this.nF / 2) * this.Kw * 16);
    // Weight rows in the im2col order (chunk ky, tap kx, channel byte); filter pairs interleaved.
    const bytes = heap.u8(this.wpk, (this.nF / 2) * this.Kw * 16);
    const lastTapBytes = this.lastTap ? heap.u8(this.wLast, this.nF * 2) : bytes;
    const rowBytes = this.Kw * 8; // bytes of a pixel's (or filter's) words
    for (let f = 0; f < outC; f++) {
      const rowBase = (f >> 1) * this.Kw * 16 + (f & 1) * 8;
      for (let c = 0; c < inC; c++) {
        for (let ky = 0; ky < size; ky++) {
          for (let kx = 0; kx < size; kx++) {
            if (!(p.weights[((f * inC + c) * size + ky) * size + kx] > 0)) continue;
            const byteIdx = ky * this.chunk + kx * this.Cb + (c >> 3);
            if (byteIdx >= rowBytes) lastTapBytes[f * 2 + byteIdx - rowBytes] |= 1 << (c & 7);
            else bytes[rowBase + (byteIdx >> 3) * 16 + (byteIdx & 7)] |= 1 << (c & 7);
          }
        }
      }
    }
    this.scale = heap.alloc(outC * 4);
    heap.f32(this.scale, outC).set(p.scale.subarray(0, outC));
    this.bias = heap.alloc(outC * 4);
    heap.f32(this.bias, outC).set(p.bias.subarray(0, outC));
  }

  /** This conv's input as a bit-link target: its zero-bordered sign-bit image. */
  bitInput(): BitTarget {
    const { inC, inH, inW, pad } = this.p;
    return { padded: this.padded, Wp: this.Wp, pad, Cb: this.Cb, c: inC, h: inH, w: inW };
  }

  /** Whether producers may write input bytes [byte, byte + n) of each pixel (none writes them yet). */
  canTakeBits(byte: number, n: number): boolean {
    if (byte < 0 || byte + n > this.Cb) return false;
    for (let b = byte; b < byte + n; b++) if (this.linkedBytes?.[b]) return false;
    return true;
  }

  /**
   * From now on a producer writes input bytes [byte, byte + n) of each pixel into bitInput();
   * once producers write them all, run() ignores its input (before, it packs the other bytes).
   */
  takeBits(byte: number, n: number): void {
    const linked = (this.linkedBytes ??= new Uint8Array(this.Cb));
    for (let b = byte; b < byte + n; b++) linked[b] = 1;
    this.linkedCount += n;
    if (this.linkedCount === this.Cb) {
      this.inputLinked = true;
      return;
    }
    if (!this.unlinkedMask) this.unlinkedMask = this.heap.alloc(this.Cb);
    this.heap.u8(this.unlinkedMask, this.Cb).set(linked.map((v) => (v ? 0 : 1)));
  }

  /** Whether the output's bits can be produced: every filter's positive counts are one interval. */
  canLinkOutput(): boolean {
    return this.countRanges() !== null;
  }

  /** Starts writing the output's sign bits (KernelBackend.linkBinaryInputVia; addBitDest says where); false if it cannot. */
  startBitOutput(): boolean {
    if (this.target) return true;
    const r = this.countRanges();
    if (!r) return false;
    const { outC } = this.p;
    // lo[f] = 0 for all filters (scales >= 0) lets binBits test cnt < hi alone (lo pointer 0)
    if (r.lo.some((v) => v !== 0)) {
      this.lo = this.heap.alloc(outC * 4);
      this.heap.i32(this.lo, outC).set(r.lo);
    }
    this.hi = this.heap.alloc(outC * 4);
    this.heap.i32(this.hi, outC).set(r.hi);
    // the target is this op's own output shape: the bits go where addBitDest says
    this.startLink({ padded: 0, Wp: this.poolW, pad: 0, Cb: Math.ceil(outC / 8), c: outC, h: this.poolH, w: this.poolW });
    return true;
  }

  private countRanges(): { lo: Int32Array; hi: Int32Array } | null {
    if (this.counts !== undefined) return this.counts;
    const { outC, size, inC } = this.p;
    const K = size * size * inC;
    const lo = new Int32Array(outC);
    const hi = new Int32Array(outC);
    this.counts = { lo, hi };
    for (let f = 0; f < outC; f++) {
      const r = positiveCounts(K, this.p.scale[f], this.p.bias[f]);
      if (!r) {
        this.counts = null;
        break;
      }
      [lo[f], hi[f]] = r;
    }
    return this.counts;
  }

  /** Sign pack (unless bit-linked), pad and (unless `im2col` is false) im2col of the input. */
  private prepareInput(inPtr: number, im2col = true): void {
    const { inC, inH, inW, outH, outW, size, stride, pad } = this.p;
    const k = this.k;
    if (!this.inputLinked) {
      k.packSigns(inPtr, inC, inH * inW, this.packed, this.Cb);
      // partly linked: the producers' bytes are in place already
      if (this.linkedCount) k.padRowsMasked(this.packed, this.Cb, inH, inW, pad, this.padded, this.Wp, this.unlinkedMask);
      else k.padRows(this.packed, this.Cb, inH, inW, pad, this.padded, this.Wp);
    }
    if (!im2col) return;
    if (this.lastTap) (k as unknown as LastTapExports).im2colBitsLastTap(this.padded, this.Wp, stride, outH, outW, this.cols, this.lastTaps);
    else if (this.dense) k.im2colBitsDense(this.padded, this.Cb, this.Wp, size, stride, outH, outW, this.cols, this.Kw);
    else k.im2colBits(this.padded, this.Cb, this.Wp, size, stride, outH, outW, this.cols, this.Kw, this.chunk);
  }

  protected bitsInto(inPtr: number): void {
    if (this.lastTap || (this.nP / 2) * this.Kw * 16 > ROWS_MIN_COLS_BYTES) {
      this.rowsInto(inPtr);
      return;
    }
    this.prepareInput(inPtr);
    const { outC, outH, outW } = this.p;
    const P = outH * outW;
    const CbOut = Math.ceil(outC / 8);
    // all filters; built on the first run (the link has set lo, hi and bitImg by then)
    const args = (this.bitArgs ??= [this.wpk, 0, this.nF, this.cols, this.nP, this.Kw, this.cnt, this.block, outC, P, this.lo, this.hi,
      this.bitImg, CbOut]);
    const pool = this.threads.pool;
    if (!pool || !this.parallel) {
      this.kernels().binConvBits.apply(null, args);
      return;
    }
    // threads take ranges of 8 filters: each writes whole bytes of the bit image
    if (this.bitSharesThreads !== pool.threads) {
      this.bitShares = filterShares(args, this.nF, pool.threads, 8);
      this.bitSharesThreads = pool.threads;
    }
    pool.run('binConvBits', this.bitShares, this.kernels());
  }

  /**
   * Bit output block by block of output rows, im2col inside the kernel (binConvBitsRows,
   * binConvBitsLastTapRows), so a block's words stay in L1 from im2col to the counts; threads take
   * ranges of rows (all filters), each share with scratch of its own.
   */
  private rowsInto(inPtr: number): void {
    this.prepareInput(inPtr, false);
    const { outC, outH, outW, size, stride } = this.p;
    const pool = this.threads.pool;
    const parts = !pool || !this.parallel ? 1 : pool.threads;
    const fn: BinaryKernel = this.lastTap ? 'binConvBitsLastTapRows' : 'binConvBitsRows';
    if (this.rowSharesParts !== parts) {
      const rows = Math.min(outH, Math.max(1, Math.floor(l1Pixels(this.Kw) / outW)));
      const block = roundUp(rows * outW, 8);
      const CbOut = Math.ceil(outC / 8);
      // scratch is kept across thread counts: share i always uses scratch i (cols, cnt, lastTaps)
      while (this.rowScratch.length < parts) {
        const h = this.heap;
        this.rowScratch.push([h.alloc(block * this.Kw * 8), h.alloc(this.nF * block * 4), this.lastTap ? h.alloc(block * 2) : 0]);
      }
      this.rowShares = splitRange(outH, parts).map(([y0, y1], i) => {
        const [cols, cnt, lastTaps] = this.rowScratch[i];
        return this.lastTap
          ? [this.wpk, this.nF, this.padded, this.Wp, stride, outW, y0, y1, rows, cols, lastTaps, cnt, block, outC, this.lo, this.hi,
            this.bitImg, CbOut, this.wLast]
          : [this.wpk, this.nF, this.padded, this.Cb, this.Wp, size, stride, outW, y0, y1, rows, cols, cnt, block, this.Kw, this.chunk,
            this.dense ? 1 : 0, outC, this.lo, this.hi, this.bitImg, CbOut];
      });
      this.rowSharesParts = parts;
    }
    if (parts === 1 || !pool) this.kernels()[fn].apply(null, this.rowShares[0]);
    else pool.run(fn, this.rowShares, this.kernels());
  }

  protected convInto(inPtr: number, outPtr: number): void {
    this.prepareInput(inPtr);
    const { inC, outC, outH, outW, size } = this.p;
    const P = outH * outW;
    const K = size * size * inC;
    const tail = this.tailOf(outPtr, this.p.activation, this.convCount);
    const fn: BinaryKernel = this.lastTap ? 'binConvLastTap' : 'binConv';
    // where binConv's arguments hold dst and the leaky tail (binConvLastTap has no Kw)
    const dstAt = this.lastTap ? 12 : 13;
    const args = (this.convArgs ??= this.lastTap
      ? [this.wpk, 0, this.nF, this.cols, this.nP, this.cnt, this.block, outC, P, K, this.scale, this.bias, 0, this.act, 0,
        this.lastTaps, this.wLast]
      : [this.wpk, 0, this.nF, this.cols, this.nP, this.Kw, this.cnt, this.block, outC, P, K, this.scale, this.bias, 0,
        this.act, 0]);
    args[dstAt] = outPtr;
    args[dstAt + 2] = tail;
    const pool = this.threads.pool;
    if (!pool || !this.parallel) {
      this.kernels()[fn].apply(null, args);
      return;
    }
    // Threads take ranges of filter pairs; the sign packing and im2col above stay on this thread.
    if (this.sharesThreads !== pool.threads) {
      this.shares = filterShares(args, this.nF, pool.threads, 2);
      this.sharesThreads = pool.threads;
    }
    const shares = this.shares;
    for (const a of shares) {
      a[dstAt] = outPtr;
      a[dstAt + 2] = tail;
    }
    pool.run(fn, shares, this.kernels());
  }

  private kernels(): Record<BinaryKernel, (...args: number[]) => void> {
    return this.k as unknown as Record<BinaryKernel, (...args: number[]) => void>;
  }
}

/**
 * Below this many 64-bit words of popcounts (filters x pixels x words per pixel) a binary conv
 * runs on the calling thread alone, however many MACs: a word is 64 MACs at ~0.3 ns, so a
 * waking worker (~50 us on this 2-core machine) costs more than it takes off. yolov3-tiny's layer
 * 18 (1x1, 256 -> 128 at 13x13: 5.5 M MACs, 87 k words) took 0.10 ms on one thread, 0.15-0.18 on two.
 */
export const MIN_PARALLEL_WORDS = 150_000;

/** Whether threads split a binary conv with `words` 64-bit words of taps per pixel: enough MACs and words. */
export function binaryParallel(g: ConvGeometry, words: number): boolean {
  const P = g.outH * g.outW;
  return g.outC * P * g.size * g.size * g.inC >= MIN_PARALLEL_MACS && g.outC * P * words >= MIN_PARALLEL_WORDS;
}

/** One argument list per thread, each with its own range of filters [args[1], args[2]) in units of `unit`. */
function filterShares(args: number[], nF: number, threads: number, unit: number): number[][] {
  return splitRange(nF, threads, unit).map(([a, b]) => {
    const share = [...args];
    share[1] = a;
    share[2] = b;
    return share;
  });
}
