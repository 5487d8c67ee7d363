/**
 * Average precision as COCO defines it: per class, detections of all images sorted by score
 * (stable for ties), each matched greedily to the unmatched ground-truth box of that class with
 * the highest IoU ≥ the threshold; precision made monotone (running max from the right) and read
 * at 101 recall points 0, 0.01, …, 1 (0 beyond the last recall reached). mAP@0.5:0.95 averages
 * the thresholds 0.50, 0.55, …, 0.95. Classes without ground truth are left out of the means.
 * Truths marked `difficult` follow PASCAL VOC's rule: a detection matched to one is neither a true
 * nor a false positive, and missing one costs no recall (e.g. objects too small to matter). A
 * detection is matched to a real truth whenever one is within the threshold, and falls to a
 * difficult one only otherwise (COCO's order for crowd regions).
 * A difficult truth of class IGNORE_REGION (-1) is that for every class: an ignore region.
 */
import { boxIou } from '../core/box-geometry.js';
import type { Box } from '../core/types.js';

export interface ScoredBox {
  classId: number;
  score: number;
  box: Box;
}

/** The class of a truth that is an ignore region for every class (class -1 in YOLO label files). */
export const IGNORE_REGION = -1;

export interface TruthBox {
  /** A class, or IGNORE_REGION (then `difficult` must be set). */
  classId: number;
  box: Box;
  /** Ignored by AP (VOC's 'difficult'): matching it neither helps nor hurts. */
  difficult?: boolean;
}

export interface ImageResult {
  detections: ScoredBox[];
  truths: TruthBox[];
}

export interface ClassAp {
  classId: number;
  /** Ground-truth boxes of this class. */
  truths: number;
  detections: number;
  ap50: number;
  ap75: number;
  ap5095: number;
}

export interface EvalSummary {
  map50: number;
  map75: number;
  map5095: number;
  images: number;
  perClass: ClassAp[];
}

export const COCO_IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => Math.round((0.5 + 0.05 * i) * 100) / 100);

/** 101-point interpolated AP from a precision/recall curve in detection order. */
export function interpolatedAp(precision: number[], recall: number[]): number {
  const p = precision.slice();
  for (let i = p.length - 2; i >= 0; i--) p[i] = Math.max(p[i], p[i + 1]);
  let sum = 0;
  let j = 0;
  for (let k = 0; k <= 100; k++) {
    const r = k / 100;
    while (j < recall.length && recall[j] < r - 1e-12) j++;
    sum += j < p.length ? p[j] : 0;
  }
  return sum / 101;
}

/** AP of one class at several IoU thresholds. */
export function classAp(images: ImageResult[], classId: number, thresholds: number[]): { truths: number; detections: number; aps: number[] } {
  const dets: { score: number; image: number; box: Box; order: number }[] = [];
  const truths: TruthBox[][] = images.map((im) => im.truths.filter((t) => t.classId === classId || (t.classId === IGNORE_REGION && t.difficult)));
  const nTruth = truths.reduce((n, t) => n + t.filter((x) => !x.difficult).length, 0);
  images.forEach((im, image) => {
    for (const d of im.detections) if (d.classId === classId) dets.push({ score: d.score, image, box: d.box, order: dets.length });
  });
  dets.sort((a, b) => b.score - a.score || a.order - b.order);
  const aps = thresholds.map((thr) => {
    if (nTruth === 0) return NaN;
    const used = truths.map((t) => new Uint8Array(t.length));
    const precision: number[] = [];
    const recall: number[] = [];
    let tp = 0;
    let counted = 0;
    dets.forEach((d) => {
      const gts = truths[d.image];
      // A real truth first (the unmatched one of highest IoU); only a detection that matches none may fall
      // into a difficult truth or ignore region, which absorbs any number of detections (COCO's crowd
      // regions, VOC's difficult objects). Otherwise an ignore region drawn on a real object would take
      // the detection of that object and leave the object missed.
      let best = -1;
      let bestIou = thr;
      let ignored = false;
      for (let g = 0; g < gts.length; g++) {
        if (gts[g].difficult || used[d.image][g]) continue;
        const v = boxIou(d.box, gts[g].box);
        if (v >= bestIou) {
          bestIou = v;
          best = g;
        }
      }
      if (best < 0) for (let g = 0; g < gts.length && !ignored; g++) ignored = gts[g].difficult === true && boxIou(d.box, gts[g].box) >= thr;
      if (ignored) return;
      if (best >= 0) {
        used[d.image][best] = 1;
        tp++;
      }
      counted++;
      precision.push(tp / counted);
      recall.push(tp / nTruth);
    });
    return interpolatedAp(precision, recall);
  });
  return { truths: nTruth, detections: dets.length, aps };
}

export function evaluate(images: ImageResult[], numClasses: number): EvalSummary {
  const perClass: ClassAp[] = [];
  for (let c = 0; c < numClasses; c++) {
    const { truths, detections, aps } = classAp(images, c, COCO_IOU_THRESHOLDS);
    if (truths === 0) continue;
    perClass.push({ classId: c, truths, detections, ap50: aps[0], ap75: aps[5], ap5095: mean(aps) });
  }
  return {
    map50: mean(perClass.map((c) => c.ap50)),
    map75: mean(perClass.map((c) => c.ap75)),
    map5095: mean(perClass.map((c) => c.ap5095)),
    images: images.length,
    perClass,
  };
}

/** AP with every class as one: whether objects are found and boxed at all, whatever their class. */
export function evaluateClassAgnostic(images: ImageResult[]): EvalSummary {
  return evaluate(
    images.map((im) => ({
      detections: im.detections.map((d) => ({ ...d, classId: 0 })),
      truths: im.truths.map((t) => (t.classId === IGNORE_REGION ? t : { ...t, classId: 0 })),
    })),
    1,
  );
}

function mean(v: number[]): number {
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
}
