import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
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
  opts: { thresh: number; nms?: number; onProgress?: (done: number) => void },
): Promise<LabelledFrame[]> {
  const out: LabelledFrame[] = [];
  for (const frame of frames) {
    const img = await decodeImageFile(frame.file);
    const labels: LabelledBox[] = [];
    for (const d of teacher.detectImage(img, { thresh: opts.thresh, nms: opts.nms ?? 0.45 })) {
      const k = classMap[d.classId];
      if (k >= 0) labels.push({ className: studentClasses[k], score: d.score, box: d.box });
    }
    out.push({ ...frame, width: img.width, height: img.height, labels });
    opts.onProgress?.(out.length);
  }
  return out;
}

/** Writes frames + labels as a YOLO-format dataset (images/, labels/, classes.txt) the trainer reads. */
export function writeYoloDataset(dir: string, frames: LabelledFrame[], classes: readonly string[]): void {
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  writeFileSync(join(dir, 'classes.txt'), classes.join('\n') + '\n');
  for (const f of frames) {
    const stem = basename(f.file).replace(/\.[^.]+$/, '');
    copyFileSync(f.file, join(dir, 'images', `${stem}.jpg`));
    const lines = f.labels.flatMap((l) => {
      const [x1, y1, x2, y2] = l.box.map((v, i) => Math.min(Math.max(v, 0), i % 2 === 0 ? f.width : f.height));
      if (x2 - x1 < 1 || y2 - y1 < 1) return []; // entirely outside the frame
      const cls = classes.indexOf(l.className);
      const cx = (x1 + x2) / 2 / f.width;
      const cy = (y1 + y2) / 2 / f.height;
      return [`${cls} ${cx.toFixed(6)} ${cy.toFixed(6)} ${((x2 - x1) / f.width).toFixed(6)} ${((y2 - y1) / f.height).toFixed(6)}`];
    });
    writeFileSync(join(dir, 'labels', `${stem}.txt`), lines.length ? lines.join('\n') + '\n' : '');
  }
}
