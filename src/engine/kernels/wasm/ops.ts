import type { ConvGeometry, ConvOp, KernelActivation, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import type { WasmPool } from './pool.js';
import { carryBits, type BitDest, type BitSource } from './bit-dests.js';

/** The functions build/xnorcam-kernels.wasm exports (assembly/kernels.ts); addresses are bytes. */
export interface Exports {
  heapBase(): number;
  padCopy(src: number, C: number, H: number, W: number, pad: number, dst: number, Hp: number, Wp: number): void;
  im2colFloat(src: number, C: number, H: number, W: number, size: number, stride: number, pad: number, outH: number, outW: number, dst: number, Ppad: number): void;
  floatGemm(src: number, groupSrcStride: number, koff: number, K: number, wpk: number, bias: number, groups: number, nF: number, dst: number, plane: number, rowLen: number, srcRowStride: number, act: number, tail: number, kChunk: number, r0: number, r1: number, b0: number, b1: number): void;
  floatGemm1(src: number, groupSrcStride: number, koff: number, K: number, wpk: number, bias: number, groups: number, nF: number, dst: number, plane: number, rows: number, rowLen: number, srcRowStride: number, act: number, tail: number): void;
  packSigns(src: number, C: number, HW: number, dst: number, Cb: number): void;
  padRows(src: number, Cb: number, H: number, W: number, pad: number, dst: number, Wp: number): void;
  im2colBits(src: number, Cb: number, Wp: number, size: number, stride: number, outH: number, outW: number, dst: number, Kw: number, chunk: number): void;
  im2colBitsDense(src: number, Cb: number, Wp: number, size: number, stride: number, outH: number, outW: number, dst: number, Kw: number): void;
  binConv(wpk: number, f0: number, f1: number, X: number, nP: number, Kw: number, cnt: number, block: number, outC: number, P: number, K: number, scale: number, bias: number, dst: number, act: number, tail: number): void;
  maxpool(src: number, C: number, H: number, W: number, dst: number, outH: number, outW: number, size: number, stride: number, padding: number): void;
  yolo(src: number, dst: number, C: number, HW: number, per: number, anchors: number, alpha: number, beta: number, rawClasses: number): void;
  upsample(src: number, dst: number, C: number, H: number, W: number, stride: number, scale: number): void;
  // 'fast' precision (fast-conv.ts)
  maxAbs(src: number, n: number): number;
  quantPairs(src: number, C: number, H: number, W: number, pad: number, dst: number, Wp: number, planeInts: number, inv: number): void;
  im2colPairs(src: number, pairs: number, Hp: number, Wp: number, size: number, stride: number, outH: number, outW: number, dst: number): void;
  fastGemmT(src: number, koff: number, KP: number, wpk: number, scale: number, bias: number, nF: number, dst: number, plane: number, rowLen: number, srcRowStride: number, tileStride: number, act: number, tail: number, r0: number, r1: number, b0: number, b1: number): void;
  fastGemm(src: number, koff: number, KP: number, wpk: number, scale: number, bias: number, nF: number, dst: number, plane: number, rowLen: number, srcRowStride: number, act: number, tail: number, r0: number, r1: number, b0: number, b1: number): void;
  winoInput(src: number, pairs: number, Hp: number, Wp: number, TH: number, TW: number, dst: number, tileStride: number, xiStride: number): void;
  winoOutput(M: number, nF: number, T: number, Tpad: number, tileOff: number, tileEdge: number, outPlane: number, outW: number, scale: number, bias: number, act: number, dst: number, f0: number, f1: number): void;
  // bit links
  binConvBits(wpk: number, f0: number, f1: number, X: number, nP: number, Kw: number, cnt: number, block: number, outC: number, P: number, lo: number, hi: number, dst: number, Cb: number): void;
  // bit links through maxpool / upsample / route layers (assembly/bit-steps.ts, bit-dests.ts)
  bitMaxpool(src: number, n: number, sPix: number, sRow: number, H: number, W: number, size: number, stride: number, offset: number, outH: number, outW: number, dst: number, dPix: number, dRow: number): void;
  bitUpsample(src: number, n: number, sPix: number, sRow: number, H: number, W: number, stride: number, dst: number, dPix: number, dRow: number): void;
  padRowsMasked(src: number, Cb: number, H: number, W: number, pad: number, dst: number, Wp: number, mask: number): void;
}

/** What ops read at run time from their backend: the worker pool while threading is on. */
export interface Threads {
  pool: WasmPool | null;
}

/**
 * Checks a constant the kernels export (a wasm global) against the loader's copy: the context
 * blocks that pool jobs read (seBands, winoChunks) are laid out by both sides.
 */
export function checkKernelConstant(k: Exports, name: string, want: number): void {
  const g = (k as unknown as Record<string, { value?: unknown } | undefined>)[name];
  if (g?.value !== want) throw new Error(`wasm kernels: ${name} is ${String(g?.value)}, the loader expects ${want} (rebuild: npm run build)`);
}

/** Below this many MACs a layer runs on the calling thread alone (a wake-up costs ~10-50 us). */
export const MIN_PARALLEL_MACS = 4_000_000;

export const ACT_CODE: Record<KernelActivation, number> = { linear: 0, leaky: 1, relu: 2 };
/** "No leaky tail": every address is below it. */
export const NO_TAIL = 0xffffffff;
export const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

export function checkGeometry(kind: string, g: ConvGeometry, weights: number, perFilter: number): void {
  const bad = (what: string): never => {
    throw new Error(`wasm ${kind} conv: ${what}`);
  };
  for (const k of ['inC', 'inH', 'inW', 'outC', 'outH', 'outW', 'size', 'stride'] as const) {
    if (!Number.isInteger(g[k]) || g[k] < 1) bad(`${k} must be a positive integer, got ${g[k]}`);
  }
  if (!Number.isInteger(g.pad) || g.pad < 0) bad(`pad must be a non-negative integer, got ${g.pad}`);
  if (weights !== g.outC * perFilter) bad(`expected ${g.outC * perFilter} weights, got ${weights}`);
  if ((g.outH - 1) * g.stride + g.size > g.inH + 2 * g.pad || (g.outW - 1) * g.stride + g.size > g.inW + 2 * g.pad) {
    bad(`output ${g.outH}x${g.outW} does not fit input ${g.inH}x${g.inW} with size ${g.size}, stride ${g.stride}, pad ${g.pad}`);
  }
}

/** Base for every op: resolves tensor addresses, staging tensors that live outside the heap. */
export abstract class WasmConv implements ConvOp {
  private inStage = 0;
  private outStage = 0;
  /** Bit links: the input arrives as packed bits (run() ignores `input`) / the output leaves as bits (run() ignores `output`). */
  protected inputLinked = false;
  protected outputLinked = false;
  constructor(
    protected readonly heap: WasmHeap,
    protected readonly k: Exports,
    protected readonly threads: Threads,
    private readonly inCount: number,
    private readonly outCount: number,
  ) {}

  run(input: Float32Array, output: Float32Array): void {
    if (!this.inputLinked && input.length < this.inCount) throw new Error(`conv input has ${input.length} floats, needs ${this.inCount}`);
    if (!this.outputLinked && output.length < this.outCount) throw new Error(`conv output has ${output.length} floats, needs ${this.outCount}`);
    let inPtr = this.inputLinked ? 0 : this.heap.addressOf(input);
    if (inPtr < 0) {
      // Not from allocFloat32: staged once (the only allocation run() may make), then reused.
      if (!this.inStage) this.inStage = this.heap.alloc(this.inCount * 4);
      this.heap.f32(this.inStage, this.inCount).set(input.subarray(0, this.inCount));
      inPtr = this.inStage;
    }
    let outPtr = this.outputLinked ? 0 : this.heap.addressOf(output);
    const foreignOut = outPtr < 0;
    if (foreignOut) {
      if (!this.outStage) this.outStage = this.heap.alloc(this.outCount * 4);
      outPtr = this.outStage;
    }
    this.compute(inPtr, outPtr);
    if (foreignOut) output.set(this.heap.f32(outPtr, this.outCount));
  }

  protected abstract compute(inPtr: number, outPtr: number): void;

  protected tailOf(outPtr: number, act: KernelActivation, n = this.outCount): number {
    if (act !== 'leaky') return NO_TAIL;
    return outPtr + (n - (n % 8 || 8)) * 4;
  }
}

/** Where a bit-linked producer writes: the consumer's zero-bordered [Hp][Wp][Cb] sign-bit image. */
export interface BitTarget {
  padded: number;
  Wp: number;
  pad: number;
  Cb: number;
  c: number;
  h: number;
  w: number;
}

/** Output size of a maxpool after a conv (darknet: floor((n + padding - size) / stride) + 1). */
export const pooledSize = (n: number, pool: PoolSpec): number => Math.floor((n + pool.padding - pool.size) / pool.stride) + 1;

/**
 * A convolution that may run fused with the maxpool after it (KernelBackend.prepare*ConvPool) and
 * may write its (pooled) output as the packed input bits of the one binary conv that reads it.
 * Fused without a link, the conv output goes to a private scratch tensor (allocated on the first
 * run) and the maxpool kernel reads it from there: the same kernels, so the same bits.
 */
export abstract class PoolableConv extends WasmConv {
  protected readonly convCount: number;
  protected readonly poolH: number;
  protected readonly poolW: number;
  private scratch = 0;
  protected target: BitTarget | null = null;
  /** [outH][outW][ceil(outC / 8)] sign bits of the conv output, before pooling (bit-linked only). */
  protected bitImg = 0;
  /** Where those bits go: each consumer slice, through its steps (bit-dests.ts). */
  private readonly bitDests: BitDest[] = [];
  /** Set by bitsInto when it wrote the pooled bits into the target itself (no carryBits pass this frame). */
  protected bitsPooled = false;

  constructor(
    heap: WasmHeap,
    k: Exports,
    threads: Threads,
    inCount: number,
    protected readonly g: ConvGeometry & { activation: KernelActivation },
    protected readonly pool: PoolSpec | undefined,
  ) {
    const poolH = pool ? pooledSize(g.outH, pool) : g.outH;
    const poolW = pool ? pooledSize(g.outW, pool) : g.outW;
    super(heap, k, threads, inCount, g.outC * poolH * poolW);
    if (pool && !(pool.size >= 1 && pool.stride >= 1 && pool.padding >= 0 && poolH >= 1 && poolW >= 1)) {
      throw new Error(`wasm fused maxpool: bad pool ${JSON.stringify(pool)} for a ${g.outH}x${g.outW} conv output`);
    }
    this.convCount = g.outC * g.outH * g.outW;
    this.poolH = poolH;
    this.poolW = poolW;
  }

  /** The convolution alone into dst (outC*outH*outW floats). */
  protected abstract convInto(inPtr: number, dst: number): void;
  /** The sign bits of the convolution into this.bitImg (bit-linked only). */
  protected abstract bitsInto(inPtr: number): void;

  protected compute(inPtr: number, outPtr: number): void {
    const t = this.target;
    if (t) {
      this.bitsInto(inPtr);
      if (this.bitsPooled) {
        this.bitsPooled = false;
        return;
      }
      carryBits(this.k, this.bitImg, this.bitDests);
      return;
    }
    if (!this.pool) {
      this.convInto(inPtr, outPtr);
      return;
    }
    if (!this.scratch) this.scratch = this.heap.alloc(this.convCount * 4);
    this.convInto(inPtr, this.scratch);
    const { outC, outH, outW } = this.g;
    const { size, stride, padding } = this.pool;
    this.k.maxpool(this.scratch, outC, outH, outW, outPtr, this.poolH, this.poolW, size, stride, padding);
  }

  /** Whether this op's (pooled) output has the shape of `t`'s input. */
  protected fits(t: BitTarget): boolean {
    return t.c === this.g.outC && t.h === this.poolH && t.w === this.poolW && t.Cb === Math.ceil(this.g.outC / 8);
  }

  /**
   * Starts bit output (after the subclass has prepared what it needs): `t` sizes the bit image's
   * pixels (a binary producer passes its own output's shape); addBitDest says where the bits go.
   */
  protected startLink(t: BitTarget): void {
    this.bitImg = this.heap.alloc(this.g.outH * this.g.outW * t.Cb);
    this.target = t;
    this.outputLinked = true;
  }

  /** What a bit link carries from this op: its channels, the conv output size, its fused pool. */
  get bitSource(): BitSource {
    return { c: this.g.outC, h: this.g.outH, w: this.g.outW, pool: this.pool };
  }

  /** Whether the bit output has started (startLink). */
  get bitsOut(): boolean {
    return this.target !== null;
  }

  /** One more consumer slice of the bits (after startLink). */
  addBitDest(d: BitDest): void {
    this.bitDests.push(d);
  }
}
