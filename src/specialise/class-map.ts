import { UserError } from '../core/errors.js';
import { TRAFFIC_CLASSES, trafficClassOf, type TrafficClass } from '../core/traffic-classes.js';

export { TRAFFIC_CLASSES, type TrafficClass };
export const VEHICLE_CLASSES: ReadonlySet<string> = new Set(['car', 'truck', 'bus', 'motorcycle']);

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
    const traffic = trafficClassOf(name);
    if (traffic) map[i] = wanted.indexOf(traffic);
  });
  for (let k = 0; k < wanted.length; k++) {
    if (!map.includes(k)) throw new UserError(`the teacher has no class for '${wanted[k]}' (its classes: ${teacherNames.slice(0, 8).join(', ')}${teacherNames.length > 8 ? ', …' : ''})`);
  }
  return map;
}
