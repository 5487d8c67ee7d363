import { UserError } from '../core/errors.js';
import { collinear, crossingMessage } from '../config/schema.js';
import { crossingSides } from '../track/geometry.js';
import { Homography } from '../track/homography.js';

type Pt = [number, number];

const NUM = '(-?\\d+(?:\\.\\d+)?)';
const PAIR = new RegExp(`^${NUM},${NUM}=${NUM},${NUM}$`);

/**
 * `--calibration "X,Y=E,N X,Y=E,N X,Y=E,N X,Y=E,N"`: four points on the road surface in source
 * pixels, each with the same point on the ground in metres, as a pipeline file's `calibration:`.
 * Checked here (no three points on a line, a solvable homography), so a typo costs no run.
 */
export function parseCalibrationOption(raw: string): { image: Pt[]; world: Pt[] } {
  const bad = (why: string) => new UserError(`--calibration '${raw}': ${why}; expected four X,Y=E,N pairs (source pixels = ground metres), e.g. "410,700=0,0 890,700=7,0 700,320=7,40 560,320=0,40"`, 2);
  // Pairs apart by spaces (or ';'): a word that is no pair is named whole, before any count, as it was typed
  // ('674.63;457.68=…' was told as 5 pairs, the typo in none of the words shown).
  const parts: string[] = [];
  for (const word of raw.trim().split(/\s+/).filter(Boolean)) {
    const pairs = word.split(';').filter(Boolean);
    if (!pairs.every((p) => PAIR.test(p))) throw bad(`'${word}' is not X,Y=E,N`);
    parts.push(...pairs);
  }
  if (parts.length !== 4) throw bad(`${parts.length} point pair${parts.length === 1 ? '' : 's'}`);
  const image: Pt[] = [];
  const world: Pt[] = [];
  for (const p of parts) {
    const m = PAIR.exec(p)!;
    image.push([Number(m[1]), Number(m[2])]);
    world.push([Number(m[3]), Number(m[4])]);
  }
  try {
    Homography.fromPoints(image, world, `--calibration '${raw}'`);
  } catch (e) {
    throw new UserError((e as Error).message, 2);
  }
  return { image, world };
}

/** `--zone NAME:X1,Y1,X2,Y2,X3,Y3[,...]`: a polygon in source pixels (occupancy and dwell time). */
export function parseZoneOption(raw: string): { name: string; polygon: Pt[] } {
  const m = /^([A-Za-z0-9][\w.-]*):([-\d.,]+)$/.exec(raw.trim());
  const nums = m ? m[2].split(',').map(Number) : [];
  if (!m || nums.length < 6 || nums.length % 2 || nums.some((n) => !Number.isFinite(n))) {
    throw new UserError(`--zone '${raw}': expected NAME:X1,Y1,X2,Y2,X3,Y3[,...] (three or more points, source pixels)`, 2);
  }
  const polygon: Pt[] = [];
  for (let i = 0; i < nums.length; i += 2) polygon.push([nums[i], nums[i + 1]]);
  // The pipeline file's rule, so both accept the same zones.
  if (collinear(polygon)) throw new UserError(`--zone '${raw}': the points enclose no area (all on one line)`, 2);
  const crossing = crossingSides(polygon);
  if (crossing) throw new UserError(`--zone '${raw}': ${crossingMessage(crossing)}`, 2);
  return { name: m[1], polygon };
}
