import type { Box } from '../core/types.js';
import { boxIou } from '../core/box-geometry.js';
import { VEHICLE_CLASSES } from './class-map.js';

export interface LabelledBox {
  className: string;
  score: number;
  box: Box;
}

export interface Agreement {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
}

/**
 * How well a student reproduces its teacher on held-out frames: the teacher's boxes are the
 * reference, a student box agrees when it overlaps an unmatched teacher box with IoU ≥ minIou.
 * Greedy in descending student score, as detection metrics match.
 * `sameClass` decides when two labels count as the same object: exact class by default; for the
 * "vehicles" figure, any two vehicle classes (teachers themselves flip between car and truck).
 */
export interface JudgedFrame {
  teacher: LabelledBox[];
  student: LabelledBox[];
  /** The teacher's below-threshold boxes; with `ignoreUncertain`, a student box on one is not a false positive. */
  uncertain?: LabelledBox[];
}

export function agreement(
  frames: JudgedFrame[],
  opts: { minIou?: number; keep?: (className: string) => boolean; sameClass?: (a: string, b: string) => boolean; ignoreUncertain?: boolean } = {},
): Agreement {
  const minIou = opts.minIou ?? 0.5;
  const keep = opts.keep ?? (() => true);
  const same = opts.sameClass ?? ((a: string, b: string) => a === b);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const frame of frames) {
    const teacher = frame.teacher.filter((t) => keep(t.className));
    const student = frame.student.filter((s) => keep(s.className)).sort((a, b) => b.score - a.score);
    const uncertain = (frame.uncertain ?? []).filter((u) => keep(u.className));
    const used = new Uint8Array(teacher.length);
    for (const s of student) {
      let best = -1;
      let bestIou = minIou;
      teacher.forEach((t, i) => {
        if (used[i] || !same(s.className, t.className)) return;
        const v = boxIou(s.box, t.box);
        if (v >= bestIou) {
          bestIou = v;
          best = i;
        }
      });
      if (best >= 0) {
        used[best] = 1;
        tp++;
      } else if (!(opts.ignoreUncertain && uncertain.some((u) => same(s.className, u.className) && boxIou(s.box, u.box) >= minIou))) fp++;
    }
    fn += used.length - used.reduce((n, u) => n + u, 0);
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 1;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 1;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision, recall, f1 };
}

/** IoU above which two vehicle boxes of different classes are one vehicle seen twice. */
const SAME_VEHICLE_IOU = 0.6;

/**
 * One box per vehicle: detectors suppress duplicates per class, so a van can come out as both a car and
 * a truck. Counting vehicles, that is one object, for teacher and student alike.
 */
export function mergeVehicleDuplicates(boxes: LabelledBox[]): LabelledBox[] {
  const kept: LabelledBox[] = [];
  for (const b of [...boxes].sort((x, y) => y.score - x.score)) {
    if (VEHICLE_CLASSES.has(b.className) && kept.some((k) => VEHICLE_CLASSES.has(k.className) && boxIou(k.box, b.box) > SAME_VEHICLE_IOU)) continue;
    kept.push(b);
  }
  return kept;
}

/**
 * The headline figure: vehicles only, any vehicle class matches any other, duplicate boxes of one
 * vehicle merged. `ignoreUncertain` gives the second figure, where a student box on an object the
 * teacher saw below its threshold is not held against it.
 */
export function vehicleAgreement(frames: JudgedFrame[], minIou = 0.5, ignoreUncertain = false): Agreement {
  const isVehicle = (c: string) => VEHICLE_CLASSES.has(c);
  const merged = frames.map((f) => ({ ...f, teacher: mergeVehicleDuplicates(f.teacher), student: mergeVehicleDuplicates(f.student) }));
  return agreement(merged, { minIou, keep: isVehicle, sameClass: (a, b) => isVehicle(a) && isVehicle(b), ignoreUncertain });
}
