import type { MaxPoolParams, UpsampleParams, YoloParams } from '../backend.js';
import type { WasmHeap } from './heap.js';
import { WasmConv, type Exports, type Threads } from './ops.js';

/** The runner's non-conv layers on the wasm kernels, bit-identical to src/engine/runtime/layers.ts. */

/** darknet maxpool. */
export class WasmMaxPool extends WasmConv {
  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: MaxPoolParams) {
    super(heap, k, threads, p.c * p.inH * p.inW, p.c * p.outH * p.outW);
    for (const key of ['c', 'inH', 'inW', 'outH', 'outW', 'size', 'stride'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 1) throw new Error(`wasm maxpool: ${key} must be a positive integer, got ${p[key]}`);
    }
    if (!Number.isInteger(p.padding) || p.padding < 0) throw new Error(`wasm maxpool: bad padding ${p.padding}`);
  }
  protected compute(inPtr: number, outPtr: number): void {
    const { c, inH, inW, outH, outW, size, stride, padding } = this.p;
    this.k.maxpool(inPtr, c, inH, inW, outPtr, outH, outW, size, stride, padding);
  }
}

/** forward_yolo_layer at inference (logistic with a port of V8's fdlibm exp). */
export class WasmYolo extends WasmConv {
  private readonly alpha: number;
  private readonly beta: number;
  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: YoloParams) {
    super(heap, k, threads, p.c * p.h * p.w, p.c * p.h * p.w);
    for (const key of ['c', 'h', 'w', 'classes', 'anchors'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 0) throw new Error(`wasm yolo: bad ${key} ${p[key]}`);
    }
    if (p.anchors * (p.classes + 5) > p.c) throw new Error(`wasm yolo: ${p.anchors} anchors x ${p.classes + 5} exceed ${p.c} channels`);
    this.alpha = Math.fround(p.scaleXY);
    this.beta = Math.fround(-0.5 * (p.scaleXY - 1));
  }
  protected compute(inPtr: number, outPtr: number): void {
    const { c, h, w, classes, anchors } = this.p;
    this.k.yolo(inPtr, outPtr, c, h * w, classes + 5, anchors, this.alpha, this.beta, this.p.rawClasses ? 1 : 0);
  }
}

/** darknet upsample (nearest neighbour, times scale). */
export class WasmUpsample extends WasmConv {
  constructor(heap: WasmHeap, k: Exports, threads: Threads, private readonly p: UpsampleParams) {
    super(heap, k, threads, p.c * p.h * p.w, p.c * p.h * p.w * p.stride * p.stride);
    for (const key of ['c', 'h', 'w', 'stride'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 1) throw new Error(`wasm upsample: bad ${key} ${p[key]}`);
    }
  }
  protected compute(inPtr: number, outPtr: number): void {
    const { c, h, w, stride, scale } = this.p;
    this.k.upsample(inPtr, outPtr, c, h, w, stride, Math.fround(scale));
  }
}
