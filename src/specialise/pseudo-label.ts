import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Detection } from '../core/types.js';
import type { ObjectDetector } from '../detect/types.js';
import type { EngineDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import type { LabelledBox } from './agreement.js';
import type { SampledFrame } from './sample-frames.js';

export interface LabelledFrame extends SampledFrame {
  width: number;
  height: number;
  /** The teacher's boxes, mapped to the student's classes (source pixels). */
  labels: LabelledBox[];
  /**
   * Boxes the teacher scored below its threshold but above the ignore score: objects it was unsure of.
   * The student is trained to neither find nor suppress them (ignore regions), and a student box on one
   * is reported apart from the strict agreement figure.
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
 * Writes frames + labels as a YOLO-format dataset (images/, labels/, classes.txt) the trainer reads;
 * the teacher's uncertain boxes become class -1 lines, the trainer's ignore regions.
 */
export function writeYoloDataset(dir: string, frames: LabelledFrame[], classes: readonly string[]): void {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  writeFileSync(join(dir, 'classes.txt'), classes.join('\n') + '\n');
  for (const f of frames) {
    const stem = basename(f.file).replace(/\.[^.]+$/, '');
    copyFileSync(f.file, join(dir, 'images', `${stem}.jpg`));
    const rows = [...f.labels.map((l) => ({ l, cls: classes.indexOf(l.className) })), ...(f.uncertain ?? []).map((l) => ({ l, cls: -1 }))];
    const lines = rows.flatMap(({ l, cls }) => {
      const [x1, y1, x2, y2] = l.box.map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? f.width : f.height));
      if (x2 - x1 < 1 || y2 - y1 < 1) return []; // entirely outside the frame
      const cx = (x1 + x2) / 2 / f.width;
      const cy = (y1 + y2) / 2 / f.height;
      return [`${cls} ${cx.toFixed(6)} ${cy.toFixed(6)} ${((x2 - x1) / f.width).toFixed(6)} ${((y2 - y1) / f.height).toFixed(6)}`];
    });
    writeFileSync(join(dir, 'labels', `${stem}.txt`), lines.length ? lines.join('\n') + '\n' : '');
  }
}
