import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Detection } from '../core/types.js';
import type { ObjectDetector } from '../detect/types.js';
import type { EngineDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import { boxIou } from '../core/box-geometry.js';
import type { LabelledBox } from './agreement.js';
import type { SampledFrame } from './sample-frames.js';

export interface LabelledFrame extends SampledFrame {
  width: number;
  height: number;
  /** The teacher's boxes, mapped to the student's classes (source pixels). */
  labels: LabelledBox[];
  /**
   * Boxes the teacher scored below its threshold but above the ignore score: objects it was unsure of.
   * Never taught as objects (ignore regions or background: see UnsureChoice), and a student box on one is
   * reported apart from the strict agreement figure.
   */
  uncertain?: LabelledBox[];
}

/** darknet's default NMS IoU, the teacher's as its authors run it. */
export const TEACHER_NMS = 0.45;

/** The teacher's detections of the student's classes, renamed to them (other classes dropped). */
export function toStudentBoxes(dets: readonly Detection[], classMap: Int32Array, studentClasses: readonly string[]): LabelledBox[] {
  const out: LabelledBox[] = [];
  for (const d of dets) {
    const k = classMap[d.classId];
    if (k >= 0) out.push({ className: studentClasses[k], score: d.score, box: d.box });
  }
  return out;
}

/**
 * Labels sampled frames with the teacher, through xnorcam's own engine (darknet preprocessing,
 * so the teacher behaves as its authors measured it). Classes the student does not learn are
 * dropped; the rest are renamed to the student's traffic classes.
 */
export async function labelWithTeacher(
  frames: SampledFrame[],
  teacher: Pick<EngineDetector, 'detectImage'> & Pick<ObjectDetector, 'classNames'>,
  classMap: Int32Array,
  studentClasses: readonly string[],
  opts: { thresh: number; ignoreBelow?: number; nms?: number; onProgress?: (done: number) => void },
): Promise<LabelledFrame[]> {
  const out: LabelledFrame[] = [];
  const floor = Math.min(opts.thresh, opts.ignoreBelow ?? opts.thresh);
  for (const frame of frames) {
    const img = await decodeImageFile(frame.file);
    const labels: LabelledBox[] = [];
    const uncertain: LabelledBox[] = [];
    for (const b of toStudentBoxes(teacher.detectImage(img, { thresh: floor, nms: opts.nms ?? TEACHER_NMS }), classMap, studentClasses)) {
      (b.score >= opts.thresh ? labels : uncertain).push(b);
    }
    out.push({ ...frame, width: img.width, height: img.height, labels, uncertain });
    opts.onProgress?.(out.length);
  }
  return out;
}

/**
 * What the student is taught about the boxes the teacher was unsure of (scored between --teacher-ignore and
 * --teacher-thresh). ignore: ignore regions (class -1 lines), neither objects nor background; background: not
 * labelled, so background; neighbours: an ignore region where the teacher saw the same object confidently in the
 * previous or next sampled frame (it wavered on a real object), background elsewhere (it hesitated on something
 * it never confirms, such as road markings); soft: objects whose objectness is the teacher's own low score (the
 * trainer's score column), so the student learns to score them as low, below its operating threshold.
 */
export const UNSURE_CHOICES = ['ignore', 'background', 'neighbours', 'soft'] as const;
export type UnsureChoice = (typeof UNSURE_CHOICES)[number];

/** IoU at which an unsure box is the same object as a confident box (in its own frame or a neighbouring one). */
const SAME_OBJECT_IOU = 0.5;

/** Whether any of `boxes` covers the same object as `box`, of whatever class. */
const sameObjectAsAny = (box: LabelledBox, boxes: readonly LabelledBox[]) => boxes.some((b) => boxIou(box.box, b.box) >= SAME_OBJECT_IOU);

/**
 * Per frame, the unsure boxes that become ignore regions (the rest are background). The neighbour's confident box may
 * be of any class: teachers flip between car and truck from frame to frame.
 */
export function ignoreRegions(frames: readonly LabelledFrame[], unsure: UnsureChoice): LabelledBox[][] {
  if (unsure !== 'neighbours') return frames.map((f) => (unsure === 'ignore' ? (f.uncertain ?? []) : []));
  const byTime = frames.map((f, i) => ({ f, i })).sort((a, b) => a.f.timeSec - b.f.timeSec);
  const out: LabelledBox[][] = frames.map(() => []);
  byTime.forEach(({ f, i }, k) => {
    const near = [byTime[k - 1], byTime[k + 1]].filter(Boolean).flatMap((n) => n.f.labels);
    out[i] = (f.uncertain ?? []).filter((u) => sameObjectAsAny(u, near));
  });
  return out;
}

/**
 * Writes frames + labels as a YOLO-format dataset (images/, labels/, classes.txt) the trainer reads: the teacher's
 * confident boxes as objects, its unsure ones as `unsure` says (ignore regions are class -1 lines, soft labels
 * carry the teacher's score as a sixth column).
 */
export function writeYoloDataset(dir: string, frames: LabelledFrame[], classes: readonly string[], unsure: UnsureChoice): void {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  writeFileSync(join(dir, 'classes.txt'), classes.join('\n') + '\n');
  const ignored = ignoreRegions(frames, unsure);
  frames.forEach((f, n) => {
    const stem = basename(f.file).replace(/\.[^.]+$/, '');
    copyFileSync(f.file, join(dir, 'images', `${stem}.jpg`));
    // An unsure box on an object the teacher also boxed confidently is its hesitation over the class (a car at 0.8,
    // a truck at 0.15: NMS is per class), not over the object: taught at its low score in the same cell, it would
    // override the confident box's objectness.
    const soft = unsure === 'soft' ? (f.uncertain ?? []).filter((u) => !sameObjectAsAny(u, f.labels)) : [];
    const rows = [
      ...f.labels.map((l) => ({ l, cls: classes.indexOf(l.className), score: '' })),
      ...ignored[n].map((l) => ({ l, cls: -1, score: '' })),
      ...soft.map((l) => ({ l, cls: classes.indexOf(l.className), score: ` ${l.score.toFixed(4)}` })),
    ];
    const lines = rows.flatMap(({ l, cls, score }) => {
      const [x1, y1, x2, y2] = l.box.map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? f.width : f.height));
      if (x2 - x1 < 1 || y2 - y1 < 1) return []; // entirely outside the frame
      const cx = (x1 + x2) / 2 / f.width;
      const cy = (y1 + y2) / 2 / f.height;
      return [`${cls} ${cx.toFixed(6)} ${cy.toFixed(6)} ${((x2 - x1) / f.width).toFixed(6)} ${((y2 - y1) / f.height).toFixed(6)}${score}`];
    });
    writeFileSync(join(dir, 'labels', `${stem}.txt`), lines.length ? lines.join('\n') + '\n' : '');
  });
}
