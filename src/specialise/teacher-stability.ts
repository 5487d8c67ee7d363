import type { ObjectDetector } from '../detect/types.js';
import type { EngineDetector } from '../detect/detector.js';
import { decodeImageFile } from '../detect/preprocess.js';
import { vehicleAgreement, type Agreement, type LabelledBox } from './agreement.js';
import { TEACHER_NMS, toStudentBoxes, type LabelledFrame } from './pseudo-label.js';

function mirror(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const from = row + (width - 1 - x) * 3;
      const to = row + x * 3;
      out[to] = rgb[from];
      out[to + 1] = rgb[from + 1];
      out[to + 2] = rgb[from + 2];
    }
  }
  return out;
}

/**
 * How well the teacher agrees with itself: its labels on each frame against its labels on the same
 * frame mirrored (mapped back), by the same vehicle agreement the student is judged with. Pseudo-labels
 * are only as stable as this, so it is the ceiling to read the student's agreement against: a student
 * cannot be expected to reproduce a teacher more faithfully than the teacher reproduces itself.
 */
export async function teacherStability(
  teacher: Pick<EngineDetector, 'detectImage'> & Pick<ObjectDetector, 'classNames'>,
  frames: LabelledFrame[],
  classMap: Int32Array,
  studentClasses: readonly string[],
  thresh: number,
): Promise<Agreement> {
  const pairs: { teacher: LabelledBox[]; student: LabelledBox[] }[] = [];
  for (const f of frames) {
    const img = await decodeImageFile(f.file);
    const mirrored = { ...img, rgb: mirror(img.rgb, img.width, img.height) };
    const again = toStudentBoxes(teacher.detectImage(mirrored, { thresh, nms: TEACHER_NMS }), classMap, studentClasses);
    for (const b of again) b.box = [img.width - b.box[2], b.box[1], img.width - b.box[0], b.box[3]];
    pairs.push({ teacher: f.labels, student: again });
  }
  return vehicleAgreement(pairs);
}
