import type { ConvGeometry, ConvOp, KernelActivation } from '../backend.js';
import type { WasmHeap } from './heap.js';
import type { WasmPool } from './pool.js';

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
  binConv(wpk: number, f0: number, f1: number, X: number, nP: number, Kw: number, cnt: number, block: number, outC: number, P: number, K: number, scale: number, bias: number, dst: number, act: number, tail: number): void;
  maxpool(src: number, C: number, H: number, W: number, dst: number, outH: number, outW: number, size: number, stride: number, padding: number): void;
  yolo(src: number, dst: number, C: number, HW: number, per: number, anchors: number, alpha: number, beta: number): void;
  upsample(src: number, dst: number, C: number, H: number, W: number, stride: number, scale: number): void;
}

/** What ops read at run time from their backend: the worker pool while threading is on. */
export interface Threads {
  pool: WasmPool | null;
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
  constructor(
    protected readonly heap: WasmHeap,
    protected readonly k: Exports,
    protected readonly threads: Threads,
    private readonly inCount: number,
    private readonly outCount: number,
  ) {}

  run(input: Float32Array, output: Float32Array): void {
    if (input.length < this.inCount) throw new Error(`conv input has ${input.length} floats, needs ${this.inCount}`);
    if (output.length < this.outCount) throw new Error(`conv output has ${output.length} floats, needs ${this.outCount}`);
    let inPtr = this.heap.addressOf(input);
    if (inPtr < 0) {
      // Not from allocFloat32: staged once (the only allocation run() may make), then reused.
      if (!this.inStage) this.inStage = this.heap.alloc(this.inCount * 4);
      this.heap.f32(this.inStage, this.inCount).set(input.subarray(0, this.inCount));
      inPtr = this.inStage;
    }
    let outPtr = this.heap.addressOf(output);
    const foreignOut = outPtr < 0;
    if (foreignOut) {
      if (!this.outStage) this.outStage = this.heap.alloc(this.outCount * 4);
      outPtr = this.outStage;
    }
    this.compute(inPtr, outPtr);
    if (foreignOut) output.set(this.heap.f32(outPtr, this.outCount));
  }

  protected abstract compute(inPtr: number, outPtr: number): void;

  protected tailOf(outPtr: number, act: KernelActivation): number {
    if (act !== 'leaky') return NO_TAIL;
    const n = this.outCount;
    return outPtr + (n - (n % 8 || 8)) * 4;
  }
}
