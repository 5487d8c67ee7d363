import type { FloatConvParams, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { ACT_CODE, checkGeometry, MIN_PARALLEL_MACS, PoolableConv, roundUp, type Exports, type Threads } from './ops.js';
import { splitRange } from './pool.js';
import { int16Ranges, Int16Scales } from './int16-scales.js';

/**
 * A float convolution in 'fast' precision (opt-in; src/engine/kernels/precision.ts): int16 weights
 * (per-filter scale) and int16 activations (per-tensor scale, from this frame's max |x|), exact
 * int32 sums by i32x4.dot_i16x8_s, output f32(sum) * aScale * wScale[f] + bias[f] and the
 * activation. Groups of 1 only (the backend keeps grouped layers exact).
 */
export class WasmFastFloatConv extends PoolableConv {
  private readonly KP: number;
  private readonly Ppad: number;
  private readonly Hp: number;
  private readonly Wp: number;
  private readonly pairs: number;
  private readonly direct: boolean;
  private readonly pairImg: number;
  private readonly cols: number;
  private readonly koff: number;
  private readonly tileStride: number;
  private readonly wpk: number;
  private readonly scales: Int16Scales;
  private readonly act: number;
  private readonly macs: number;
  private shares: number[][] | null = null;
  private sharesThreads = 0;

  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: FloatConvParams, pool?: PoolSpec) {
    super(heap, k, threads, p.inC * p.inH * p.inW, p, pool);
    const { inC, inH, inW, outC, outH, outW, size, stride, pad } = p;
    if (p.groups !== 1) throw new Error('wasm fast float conv: groups must be 1');
    const K = inC * size * size;
    checkGeometry('float', p, p.weights.length, K);
    if (p.bias.length < outC) throw new Error(`wasm float conv: expected ${outC} biases, got ${p.bias.length}`);
    this.act = ACT_CODE[p.activation];
    const P = outH * outW;
    this.Ppad = roundUp(P, 8);
    this.pairs = Math.ceil(inC / 2);
    this.KP = this.pairs * size * size;
    this.Hp = inH + 2 * pad;
    this.Wp = inW + 2 * pad;
    this.macs = outC * P * K;
    // 1x1 stride 1 unpadded: the pair planes are the GEMM rows (stride Ppad, tiles 32 bytes apart);
    // otherwise a tile-major im2col (each 8-pixel tile's KP rows contiguous: one sequential stream).
    this.direct = size === 1 && stride === 1 && pad === 0 && outH === inH && outW === inW;
    this.pairImg = heap.alloc(this.pairs * (this.direct ? this.Ppad : this.Hp * this.Wp) * 4);
    this.cols = this.direct ? this.pairImg : heap.alloc(this.KP * this.Ppad * 4);
    this.tileStride = this.direct ? 32 : this.KP * 32;
    this.koff = heap.alloc(this.KP * 4);
    heap.i32(this.koff, this.KP).set(Array.from({ length: this.KP }, (_, kp) => kp * (this.direct ? this.Ppad * 4 : 32)));

    const { qA, wq, wScale } = int16Ranges(p.weights, outC, K);
    // weights [block of 4 filters][kp = (cp, ky, kx)][filter]: int16 pairs (channel 2cp, 2cp + 1)
    const blocks = Math.ceil(outC / 4);
    this.wpk = heap.alloc(blocks * this.KP * 16);
    const w = heap.u8(this.wpk, blocks * this.KP * 16);
    const w16 = new Int16Array(w.buffer, w.byteOffset, blocks * this.KP * 8);
    const ss = size * size;
    for (let f = 0; f < outC; f++) {
      for (let c = 0; c < inC; c++) {
        for (let t = 0; t < ss; t++) {
          const kp = (c >> 1) * ss + t;
          w16[(((f >> 2) * this.KP + kp) * 4 + (f & 3)) * 2 + (c & 1)] = wq[(f * inC + c) * ss + t];
        }
      }
    }
    this.scales = new Int16Scales(heap, k, qA, wScale, p.bias, outC, 1);
  }

  /** Never bit-linked: reduced precision is only allowed where no binary conv reads the output. */
  protected bitsInto(): void {
    throw new Error('wasm fast float conv: no bit output');
  }

  protected convInto(inPtr: number, outPtr: number): void {
    const { inC, inH, inW, outC, outH, outW, size, stride, pad } = this.p;
    const k = this.k;
    const inv = this.scales.frame(inPtr, inC * inH * inW);
    if (this.direct) {
      k.quantPairs(inPtr, inC, inH, inW, 0, this.pairImg, inW, this.Ppad, inv);
    } else {
      k.quantPairs(inPtr, inC, inH, inW, pad, this.pairImg, this.Wp, this.Hp * this.Wp, inv);
      k.im2colPairs(this.pairImg, this.pairs, this.Hp, this.Wp, size, stride, outH, outW, this.cols);
    }
    const P = outH * outW;
    const tail = this.tailOf(outPtr, this.p.activation, this.convCount);
    const blocks = Math.ceil(outC / 4);
    const pool = this.threads.pool;
    if (!pool || this.macs < MIN_PARALLEL_MACS) {
      k.fastGemmT(this.cols, this.koff, this.KP, this.wpk, this.scales.scale, this.scales.bias, outC, outPtr, P, P, 0, this.tileStride, this.act, tail, 0, 1, 0, blocks);
      return;
    }
    if (!this.shares || this.sharesThreads !== pool.threads) {
      const base = [this.cols, this.koff, this.KP, this.wpk, this.scales.scale, this.scales.bias, outC, 0, P, P, 0, this.tileStride, this.act, 0, 0, 1];
      this.shares = splitRange(blocks, pool.threads).map(([a, b]) => [...base, a, b]);
      this.sharesThreads = pool.threads;
    }
    for (const a of this.shares) {
      a[7] = outPtr;
      a[13] = tail;
    }
    pool.run('fastGemmT', this.shares, k);
  }
}
