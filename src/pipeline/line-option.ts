import { UserError } from '../core/errors.js';

/** `--line NAME:X1,Y1,X2,Y2` → a counting line in source pixels. */
export function parseLineOption(raw: string): { name: string; points: [[number, number], [number, number]] } {
  const m = /^([A-Za-z0-9][\w.-]*):(-?[\d.]+),(-?[\d.]+),(-?[\d.]+),(-?[\d.]+)$/.exec(raw.trim());
  if (!m) throw new UserError(`--line '${raw}': expected NAME:X1,Y1,X2,Y2 (source pixels), e.g. north:0,400,1280,400`, 2);
  const [x1, y1, x2, y2] = m.slice(2).map(Number);
  if (x1 === x2 && y1 === y2) throw new UserError(`--line '${raw}': the two points are the same`, 2);
  return { name: m[1], points: [[x1, y1], [x2, y2]] };
}
