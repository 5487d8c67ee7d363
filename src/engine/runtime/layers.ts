import type { MaxpoolSpec, RegionSpec, RouteSpec, Shape, UpsampleSpec, YoloSpec } from '../model.js';
import { logistic } from './activations.js';

/**
 * The non-conv layers, in plain TypeScript over preallocated CHW float32 tensors (they are cheap
 * next to the convolutions). Each follows the corresponding darknet CPU forward function.
 */
const f = Math.fround;

const NEG_FLT_MAX = -3.4028234663852886e38;

/**
 * forward_maxpool_layer: window starts at -padding/2 (C division), out-of-range taps ignored, the
 * running max starts at -FLT_MAX and takes a value only when it is greater (so NaN never wins).
 */
export function maxpool(l: MaxpoolSpec, input: Float32Array, output: Float32Array): void {
  const { c, h, w } = l.input;
  const { h: oh, w: ow } = l.output;
  const offset = Math.trunc(-l.padding / 2);
  const { size, stride } = l;
  if (size === 2 && stride === 2 && offset === 0) {
    maxpool2x2(input, output, c, h, w, oh, ow);
    return;
  }
  for (let k = 0; k < c; k++) {
    const plane = k * h * w;
    const outPlane = k * oh * ow;
    for (let i = 0; i < oh; i++) {
      const yStart = offset + i * stride;
      const y0 = yStart < 0 ? 0 : yStart;
      const y1 = yStart + size > h ? h : yStart + size;
      for (let j = 0; j < ow; j++) {
        const xStart = offset + j * stride;
        const x0 = xStart < 0 ? 0 : xStart;
        const x1 = xStart + size > w ? w : xStart + size;
        let max = NEG_FLT_MAX;
        for (let y = y0; y < y1; y++) {
          const row = plane + y * w;
          for (let x = x0; x < x1; x++) {
            const v = input[row + x];
            if (v > max) max = v;
          }
        }
        output[outPlane + i * ow + j] = max;
      }
    }
  }
}

/** The common 2x2 stride-2 case (the Tiny-YOLO downsampling), without per-tap bounds checks. */
function maxpool2x2(input: Float32Array, output: Float32Array, c: number, h: number, w: number, oh: number, ow: number): void {
  const fullCols = Math.min(ow, w >> 1);
  for (let k = 0; k < c; k++) {
    const plane = k * h * w;
    let o = k * oh * ow;
    for (let i = 0; i < oh; i++) {
      const r0 = plane + 2 * i * w;
      const hasR1 = 2 * i + 1 < h;
      const r1 = hasR1 ? r0 + w : r0;
      for (let j = 0; j < fullCols; j++) {
        const x = 2 * j;
        let max = NEG_FLT_MAX;
        const a = input[r0 + x];
        const b = input[r0 + x + 1];
        if (a > max) max = a;
        if (b > max) max = b;
        if (hasR1) {
          const cc = input[r1 + x];
          const d = input[r1 + x + 1];
          if (cc > max) max = cc;
          if (d > max) max = d;
        }
        output[o++] = max;
      }
      for (let j = fullCols; j < ow; j++) {
        // right border: only column 2j exists
        let max = NEG_FLT_MAX;
        const x = 2 * j;
        if (x < w) {
          const a = input[r0 + x];
          if (a > max) max = a;
          if (hasR1) {
            const cc = input[r1 + x];
            if (cc > max) max = cc;
          }
        }
        output[o++] = max;
      }
    }
  }
}

/**
 * forward_route_layer: concatenates channel slices (the group_id-th of `groups` parts) of each input.
 * `skip[i]`: part i is already in place in `output` (its layer wrote there), so it is not copied.
 */
export function route(l: RouteSpec, inputs: Float32Array[], shapes: Shape[], output: Float32Array, skip?: readonly boolean[]): void {
  let at = 0;
  for (let i = 0; i < inputs.length; i++) {
    const size = shapes[i].c * shapes[i].h * shapes[i].w;
    const part = size / l.groups;
    const start = part * l.groupId;
    if (!skip?.[i]) output.set(inputs[i].subarray(start, start + part), at);
    at += part;
  }
}

/** shortcut_cpu for equal spatial sizes: out = prev + from over the common channels; extra prev channels copied. */
export function shortcut(input: Float32Array, inShape: Shape, from: Float32Array, fromShape: Shape, output: Float32Array): void {
  const n = inShape.c * inShape.h * inShape.w;
  output.set(input.subarray(0, n));
  const common = Math.min(inShape.c, fromShape.c) * inShape.h * inShape.w;
  for (let i = 0; i < common; i++) output[i] = f(output[i] + from[i]);
}

/** upsample_cpu: nearest neighbour, times `scale`. */
export function upsample(l: UpsampleSpec, input: Float32Array, output: Float32Array): void {
  const { c, h, w } = l.input;
  const s = l.stride;
  const ow = w * s;
  const scale = f(l.scale);
  for (let k = 0; k < c; k++) {
    for (let y = 0; y < h * s; y++) {
      const inRow = (k * h + Math.floor(y / s)) * w;
      const outRow = (k * h * s + y) * ow;
      for (let x = 0; x < ow; x++) output[outRow + x] = scale === 1 ? input[inRow + Math.floor(x / s)] : f(scale * input[inRow + Math.floor(x / s)]);
    }
  }
}

/**
 * forward_yolo_layer at inference: logistic on tx, ty, then x*scale_x_y - (scale_x_y-1)/2, then
 * logistic on objectness and class scores; tw, th stay raw. classes = false leaves the class
 * scores raw (NetworkOptions.lazyYoloClasses: the decoder applies the same logistic where needed).
 */
export function yolo(l: YoloSpec, input: Float32Array, output: Float32Array, classes = true): void {
  const { h, w } = l.input;
  const hw = h * w;
  if (output !== input) output.set(input.subarray(0, l.input.c * hw));
  const per = l.classes + 5;
  const alpha = f(l.scaleXY);
  const beta = f(-0.5 * (l.scaleXY - 1));
  for (let n = 0; n < l.mask.length; n++) {
    const base = n * per * hw;
    for (let i = base; i < base + 2 * hw; i++) output[i] = f(f(logistic(output[i]) * alpha) + beta);
    const end = base + (classes ? per : 5) * hw;
    for (let i = base + 4 * hw; i < end; i++) output[i] = logistic(output[i]);
  }
}

/**
 * forward_region_layer (YOLOv2) on the CPU: flattens to [cell][anchor][x, y, w, h, obj, classes...],
 * logistic on objectness, softmax over the classes (x, y get their logistic at decode time).
 */
export function region(l: RegionSpec, input: Float32Array, output: Float32Array): void {
  const { h, w } = l.input;
  const hw = h * w;
  const per = l.coords + 1 + l.classes;
  const layers = per * l.num;
  for (let cell = 0; cell < hw; cell++) for (let k = 0; k < layers; k++) output[cell * layers + k] = input[k * hw + cell];
  for (let i = 0; i < hw * l.num; i++) {
    const b = i * per;
    output[b + 4] = logistic(output[b + 4]);
    if (!l.softmax) continue;
    const c0 = b + 5;
    let largest = -3.4028234663852886e38;
    for (let j = 0; j < l.classes; j++) if (output[c0 + j] > largest) largest = output[c0 + j];
    let sum = 0;
    for (let j = 0; j < l.classes; j++) {
      const e = f(Math.exp(f(output[c0 + j] - largest)));
      sum = f(sum + e);
      output[c0 + j] = e;
    }
    for (let j = 0; j < l.classes; j++) output[c0 + j] = f(output[c0 + j] / sum);
  }
}
