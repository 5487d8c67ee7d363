import { UserError } from '../core/errors.js';

/** `--line NAME:X1,Y1,X2,Y2` → a counting line in source pixels. */
export function parseLineOption(raw: string): { name: string; points: [[number, number], [number, number]] } {
  const m = /^([A-Za-z0-9][\w.-]*):(-?[\d.]+),(-?[\d.]+),(-?[\d.]+),(-?[\d.]+)$/.exec(raw.trim());
  if (!m) throw new UserError(`--line '${raw}': expected NAME:X1,Y1,X2,Y2 (source pixels), e.g. north:0,400,1280,400`, 2);
  const [x1, y1, x2, y2] = m.slice(2).map(Number);
  if (x1 === x2 && y1 === y2) throw new UserError(`--line '${raw}': the two points are the same`, 2);
  return { name: m[1], points: [[x1, y1], [x2, y2]] };
}

/**
 * Lines and zones of the command line named once each: events, counts and movements are keyed by name, so two of
 * one name would be one count. Told as the flags' mistake before any input starts, not as the first input's.
 */
export function refuseRepeatedNames(lines: readonly { name: string }[], zones: readonly { name: string }[]): void {
  const names = [...lines.map((l) => l.name), ...zones.map((z) => z.name)];
  const at = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (at < 0) return;
  // Named by the flag of its second use: the one to rename.
  throw new UserError(`${at < lines.length ? '--line' : '--zone'}: the name '${names[at]}' is given twice (each line and zone needs its own name)`, 2);
}
