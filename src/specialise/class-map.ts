import { UserError } from '../core/errors.js';

/** The traffic classes of xnorcam's models, in id order. */
export const TRAFFIC_CLASSES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'] as const;
export type TrafficClass = (typeof TRAFFIC_CLASSES)[number];
export const VEHICLE_CLASSES: ReadonlySet<string> = new Set(['car', 'truck', 'bus', 'motorcycle']);

/** Teacher label names that mean a traffic class (COCO says "motorbike" in darknet's coco.names). */
const synonyms: Record<string, TrafficClass> = {
  car: 'car',
  truck: 'truck',
  bus: 'bus',
  motorbike: 'motorcycle',
  motorcycle: 'motorcycle',
  bicycle: 'bicycle',
  person: 'person',
  pedestrian: 'person',
};

/**
 * Maps a teacher's class ids to student class ids (index into `wanted`), or -1 for classes the
 * student does not learn. Fails when a wanted class has no counterpart in the teacher, since the
 * student would then learn that class as background.
 */
export function teacherClassMap(teacherNames: readonly string[], wanted: readonly string[]): Int32Array {
  for (const w of wanted) {
    if (!(TRAFFIC_CLASSES as readonly string[]).includes(w)) throw new UserError(`--classes: '${w}' is not a traffic class (${TRAFFIC_CLASSES.join(', ')})`, 2);
  }
  const map = new Int32Array(teacherNames.length).fill(-1);
  teacherNames.forEach((name, i) => {
    const traffic = synonyms[name.trim().toLowerCase()];
    if (traffic) map[i] = wanted.indexOf(traffic);
  });
  for (let k = 0; k < wanted.length; k++) {
    if (!map.includes(k)) throw new UserError(`the teacher has no class for '${wanted[k]}' (its classes: ${teacherNames.slice(0, 8).join(', ')}${teacherNames.length > 8 ? ', …' : ''})`);
  }
  return map;
}
