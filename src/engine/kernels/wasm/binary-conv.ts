import type { BinaryConvParams } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkGeometry, MIN_PARALLEL_MACS, roundUp, WasmConv, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';

/**
 * Binary (XNOR) convolution on the wasm kernels: sign-pack, pad, im2col into 64-bit rows, popcount
 * GEMM and float output, block by block. Weight bits are packed once here, in the im2col row layout.
 */
export class WasmBinaryConv extends WasmConv {
  private readonly Cb: number;
  private readonly Wp: number;
  private readonly chunk: number;
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

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: BinaryConvParams) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p.outC * p.outH * p.outW);
    const { inC, inH, inW, outC, outH, outW, size, pad } = p;
    checkGeometry('binary', p, p.weights.length, inC * size * size);
    if (p.scale.length < outC || p.bias.length < outC) throw new Error(`wasm binary conv: expected ${outC} scales and biases`);
    this.act = ACT_CODE[p.activation];
    this.Cb = Math.ceil(inC / 8);
    this.Wp = inW + 2 * pad;
    const Hp = inH + 2 * pad;
    this.chunk = roundUp(size * this.Cb, 8);
    this.Kw = (size * this.chunk) / 8;
    this.nP = roundUp(outH * outW, 2);
    this.nF = roundUp(outC, 2);
    this.packed = heap.alloc(inH * inW * this.Cb);
    this.padded = heap.alloc(Hp * this.Wp * this.Cb + 8); // +8: the last chunk's word may read past
    this.cols = heap.alloc((this.nP / 2) * this.Kw * 16);
    // Pixels per GEMM block: its im2col rows fit in L1 (32 KiB); a multiple of 4 for binFinish.
    this.block = Math.max(4, Math.min(roundUp(this.nP, 4), Math.floor(32768 / (this.Kw * 8)) & ~3));
    this.cnt = heap.alloc(this.nF * this.block * 4);
    this.wpk = heap.alloc((this.nF / 2) * this.Kw * 16);
    // Weight rows in the im2col order (chunk ky, tap kx, channel byte); filter pairs interleaved.
    const bytes = heap.u8(this.wpk, (this.nF / 2) * this.Kw * 16);
    for (let f = 0; f < outC; f++) {
      const rowBase = (f >> 1) * this.Kw * 16 + (f & 1) * 8;
      for (let c = 0; c < inC; c++) {
        for (let ky = 0; ky < size; ky++) {
          for (let kx = 0; kx < size; kx++) {
            if (!(p.weights[((f * inC + c) * size + ky) * size + kx] > 0)) continue;
            const byteIdx = ky * this.chunk + kx * this.Cb + (c >> 3);
            bytes[rowBase + (byteIdx >> 3) * 16 + (byteIdx & 7)] |= 1 << (c & 7);
          }
        }
      }
    }
    this.scale = heap.alloc(outC * 4);
    heap.f32(this.scale, outC).set(p.scale.subarray(0, outC));
    this.bias = heap.alloc(outC * 4);
    heap.f32(this.bias, outC).set(p.bias.subarray(0, outC));
  }

  protected compute(inPtr: number, outPtr: number): void {
    const { inC, inH, inW, outC, outH, outW, size, stride, pad } = this.p;
    const k = this.k;
    k.packSigns(inPtr, inC, inH * inW, this.packed, this.Cb);
    k.padRows(this.packed, this.Cb, inH, inW, pad, this.padded, this.Wp);
    k.im2colBits(this.padded, this.Cb, this.Wp, size, stride, outH, outW, this.cols, this.Kw, this.chunk);
    const P = outH * outW;
    const K = size * size * inC;
    const tail = this.tailOf(outPtr, this.p.activation);
    const pool = this.threads.pool;
    if (!pool || outC * P * K < MIN_PARALLEL_MACS) {
      k.binConv(this.wpk, 0, this.nF, this.cols, this.nP, this.Kw, this.cnt, this.block, outC, P, K, this.scale, this.bias,
        outPtr, this.act, tail);
      return;
    }
    // Threads take ranges of filter pairs; the sign packing and im2col above stay on this thread.
    if (this.sharesThreads !== pool.threads) {
      const base = [this.wpk, 0, 0, this.cols, this.nP, this.Kw, this.cnt, this.block, outC, P, K, this.scale, this.bias, 0,
        this.act, 0];
      this.shares = splitRange(this.nF, pool.threads, 2).map(([a, b]) => {
        const s = [...base];
        s[1] = a;
        s[2] = b;
        return s;
      });
      this.sharesThreads = pool.threads;
    }
    const shares = this.shares;
    for (const a of shares) {
      a[13] = outPtr;
      a[15] = tail;
    }
    pool.run('binConv', shares, k);
  }
}
