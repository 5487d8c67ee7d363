import type { Detection } from '../core/types.js';
import type { RegionSpec, YoloSpec } from '../engine/model.js';
import type { Network } from '../engine/runtime/network.js';
import { logistic } from '../engine/runtime/activations.js';

/**
 * darknet's `detector test` post-processing: get_network_boxes (get_yolo_detections /
 * custom_get_region_detections + correct_yolo_boxes), do_nms_sort, and the final "every class
 * with prob > thresh" listing. Box coordinates are relative to the image (0..1, centre + size).
 */
const f = Math.fround;

export interface Candidate {
  x: number;
  y: number;
  w: number;
  h: number;
  objectness: number;
  /** objectness × class probability, or 0 where that is not above thresh. */
  prob: Float32Array;
}

/** rawClasses: the class scores are logits (NetworkOptions.lazyYoloClasses), activated here as the layer would. */
function yoloCandidates(l: YoloSpec, out: Float32Array, netW: number, netH: number, thresh: number, rawClasses: boolean, dets: Candidate[]): void {
  const { h: lh, w: lw } = l.input;
  const hw = lh * lw;
  const per = l.classes + 5;
  for (let i = 0; i < hw; i++) {
    const row = Math.floor(i / lw);
    const col = i % lw;
    for (let n = 0; n < l.mask.length; n++) {
      const base = n * per * hw + i;
      const objectness = out[base + 4 * hw];
      if (!(objectness > thresh)) continue;
      const a = l.mask[n];
      const prob = new Float32Array(l.classes);
      for (let j = 0; j < l.classes; j++) {
        const score = out[base + (5 + j) * hw];
        const p = f(objectness * (rawClasses ? logistic(score) : score));
        prob[j] = p > thresh ? p : 0;
      }
      dets.push({
        x: f(f(col + out[base]) / lw),
        y: f(f(row + out[base + hw]) / lh),
        w: f((Math.exp(out[base + 2 * hw]) * f(l.anchors[2 * a])) / netW),
        h: f((Math.exp(out[base + 3 * hw]) * f(l.anchors[2 * a + 1])) / netH),
        objectness,
        prob,
      });
    }
  }
}

function regionCandidates(l: RegionSpec, out: Float32Array, thresh: number, dets: Candidate[]): void {
  const { h: lh, w: lw } = l.input;
  const per = l.coords + 1 + l.classes;
  for (let i = 0; i < lw * lh; i++) {
    const row = Math.floor(i / lw);
    const col = i % lw;
    for (let n = 0; n < l.num; n++) {
      const b = (i * l.num + n) * per;
      const scale = out[b + 4];
      const prob = new Float32Array(l.classes);
      for (let j = 0; j < l.classes; j++) {
        const p = f(scale * out[b + 5 + j]);
        prob[j] = p > thresh ? p : 0;
      }
      dets.push({
        x: f(f(col + logistic(out[b])) / lw),
        y: f(f(row + logistic(out[b + 1])) / lh),
        w: f((Math.exp(out[b + 2]) * f(l.anchors[2 * n])) / lw),
        h: f((Math.exp(out[b + 3]) * f(l.anchors[2 * n + 1])) / lh),
        objectness: 1,
        prob,
      });
    }
  }
}

/** correct_yolo_boxes: undoes the letterbox (identity without it). */
function correctBoxes(dets: Candidate[], imageW: number, imageH: number, netW: number, netH: number, letterbox: boolean): void {
  let newW = netW;
  let newH = netH;
  if (letterbox) {
    if (f(netW / imageW) < f(netH / imageH)) {
      newW = netW;
      newH = Math.trunc((imageH * netW) / imageW);
    } else {
      newH = netH;
      newW = Math.trunc((imageW * netH) / imageH);
    }
  }
  const dx = (netW - newW) / 2 / netW;
  const dy = (netH - newH) / 2 / netH;
  const sx = f(newW / netW);
  const sy = f(newH / netH);
  for (const d of dets) {
    d.x = f((d.x - dx) / sx);
    d.y = f((d.y - dy) / sy);
    d.w = f(d.w * f(netW / newW));
    d.h = f(d.h * f(netH / newH));
  }
}

/**
 * All candidate boxes of the network's detection heads, in darknet's order. `letterboxed`: the
 * input was letterboxed from an imageW × imageH picture (boxes are mapped back to it).
 */
export function collectCandidates(net: Network, thresh: number, imageW: number, imageH: number, letterboxed: boolean): Candidate[] {
  const { net: info, layers } = net.spec;
  const gate = net.classGate;
  if (gate !== undefined && !(thresh >= gate))
    throw new Error(`collectCandidates: the network computed class scores only where objectness > ${gate}; decoding at ${thresh} needs forward(timings, ${thresh})`);
  const dets: Candidate[] = [];
  layers.forEach((l, i) => {
    if (l.type === 'yolo') yoloCandidates(l, net.outputs[i], info.width, info.height, thresh, net.lazyYoloClasses, dets);
    else if (l.type === 'region') regionCandidates(l, net.outputs[i], thresh, dets);
  });
  correctBoxes(dets, imageW, imageH, info.width, info.height, letterboxed);
  return dets;
}

function overlap(x1: number, w1: number, x2: number, w2: number): number {
  const l1 = f(x1 - f(w1 / 2));
  const l2 = f(x2 - f(w2 / 2));
  const left = l1 > l2 ? l1 : l2;
  const r1 = f(x1 + f(w1 / 2));
  const r2 = f(x2 + f(w2 / 2));
  const right = r1 < r2 ? r1 : r2;
  return f(right - left);
}

/** darknet's box_iou, in float32. */
export function boxIou(a: Candidate, b: Candidate): number {
  const w = overlap(a.x, a.w, b.x, b.w);
  const h = overlap(a.y, a.h, b.y, b.h);
  const inter = w < 0 || h < 0 ? 0 : f(w * h);
  const union = f(f(f(a.w * a.h) + f(b.w * b.h)) - inter);
  if (inter === 0 || union === 0) return 0;
  return f(inter / union);
}

/**
 * do_nms_sort: per class, sort all boxes by that class's prob (descending; glibc's qsort is a
 * stable merge sort, and each class starts from the previous class's order) and zero the weaker
 * overlaps. Boxes whose prob is 0 for the class can neither suppress nor change, so the quadratic
 * scan only visits the non-zero ones.
 */
export function nmsSort(input: Candidate[], classes: number, thresh: number): Candidate[] {
  const dets = input.filter((d) => d.objectness !== 0);
  const active: Candidate[] = [];
  for (let k = 0; k < classes; k++) {
    active.length = 0;
    for (const d of dets) if (d.prob[k] !== 0) active.push(d);
    if (active.length === 0) continue;
    dets.sort((a, b) => b.prob[k] - a.prob[k]);
    active.length = 0;
    for (const d of dets) if (d.prob[k] !== 0) active.push(d);
    for (let i = 0; i < active.length; i++) {
      if (active[i].prob[k] === 0) continue;
      for (let j = i + 1; j < active.length; j++) if (active[j].prob[k] !== 0 && boxIou(active[i], active[j]) > thresh) active[j].prob[k] = 0;
    }
  }
  return dets;
}

/** Every (box, class) with prob > thresh, as detections in source pixels, best first. */
export function toDetections(dets: Candidate[], thresh: number, classNames: readonly string[], width: number, height: number): Detection[] {
  const out: Detection[] = [];
  const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  for (const d of dets) {
    for (let j = 0; j < d.prob.length; j++) {
      const p = d.prob[j];
      if (!(p > thresh)) continue;
      out.push({
        classId: j,
        className: classNames[j] ?? `class${j}`,
        score: p,
        box: [clamp((d.x - d.w / 2) * width, width), clamp((d.y - d.h / 2) * height, height), clamp((d.x + d.w / 2) * width, width), clamp((d.y + d.h / 2) * height, height)],
      });
    }
  }
  return out.sort((a, b) => b.score - a.score);
}
