import type { SourceCounts } from './feed.js';
import type { LineCounts, MovementCounts } from './types.js';

/** a + b, as a new object; lines, directions and classes of either are kept (a renamed line keeps its old counts). */
export function addCounts(a: LineCounts | undefined, b: LineCounts): LineCounts {
  const out: LineCounts = {};
  for (const c of a ? [a, b] : [b]) {
    for (const [line, dirs] of Object.entries(c)) {
      const o = (out[line] ??= { forward: {}, backward: {} });
      for (const dir of ['forward', 'backward'] as const) for (const [cls, n] of Object.entries(dirs[dir])) o[dir][cls] = (o[dir][cls] ?? 0) + n;
    }
  }
  return out;
}

/** a + b, as a new object (a may be absent). */
export function addMovements(a: MovementCounts | undefined, b: MovementCounts): MovementCounts {
  const out: MovementCounts = {};
  for (const c of a ? [a, b] : [b]) {
    for (const [from, tos] of Object.entries(c)) for (const [to, byClass] of Object.entries(tos)) for (const [cls, n] of Object.entries(byClass)) bumpMovement(out, from, to, cls, n);
  }
  return out;
}

export function bumpMovement(c: MovementCounts, from: string, to: string, cls: string, n = 1): void {
  const byClass = ((c[from] ??= {})[to] ??= {});
  byClass[cls] = (byClass[cls] ?? 0) + n;
}

/**
 * What one camera counted under two lives (before and after a restart, or a removal and its return):
 * totals added, intervals of the same start added, the newest `keep` intervals kept; the rest is `now`'s.
 */
export function mergeCounts(before: SourceCounts | undefined, now: SourceCounts | undefined, keep = Infinity): SourceCounts | undefined {
  if (!before || !now) return now ?? before;
  const byStart = new Map<number, SourceCounts['intervals'][number]>();
  for (const iv of [...before.intervals, ...now.intervals]) {
    const had = byStart.get(iv.start);
    const movements = iv.movements ? addMovements(had?.movements, iv.movements) : had?.movements;
    const covered = addCovered(had?.coveredSeconds, iv.coveredSeconds, now.intervalMs);
    byStart.set(iv.start, { start: iv.start, counts: addCounts(had?.counts, iv.counts), ...(movements ? { movements } : {}), ...(covered !== undefined ? { coveredSeconds: covered } : {}) });
  }
  // Movements in total as the live one counts them: a source whose movements a reload turned off shows none from
  // now on. Its intervals keep what was counted up to then, for the movements CSV's blocks of them.
  const movements = now.movements && { movements: addMovements(before.movements, now.movements) };
  const intervals = [...byStart.values()].sort((a, b) => a.start - b.start).slice(-keep);
  return { ...now, total: addCounts(before.total, now.total), intervals, ...movements };
}

/** What `now` has more than `before`, key by key (every line of `now` kept, empty where nothing was added); a key that went down adds nothing. */
export function countsAdded(now: LineCounts, before: LineCounts | undefined): LineCounts {
  const out: LineCounts = {};
  for (const [line, dirs] of Object.entries(now)) {
    const o = (out[line] = { forward: {}, backward: {} } as LineCounts[string]);
    for (const dir of ['forward', 'backward'] as const) {
      for (const [cls, n] of Object.entries(dirs[dir])) {
        const more = n - (before?.[line]?.[dir][cls] ?? 0);
        if (more > 0) o[dir][cls] = more;
      }
    }
  }
  return out;
}

/** countsAdded of movements: the movements `now` has more than `before`. */
export function movementsAdded(now: MovementCounts, before: MovementCounts | undefined): MovementCounts {
  const out: MovementCounts = {};
  for (const [from, tos] of Object.entries(now)) {
    for (const [to, byClass] of Object.entries(tos)) {
      for (const [cls, n] of Object.entries(byClass)) {
        const more = n - (before?.[from]?.[to]?.[cls] ?? 0);
        if (more > 0) bumpMovement(out, from, to, cls, more);
      }
    }
  }
  return out;
}

/** How many crossings (or movements) a count holds, whatever its shape: the sum of its numbers. */
export function tally(c: LineCounts | MovementCounts): number {
  let n = 0;
  for (const v of Object.values(c) as unknown[]) n += typeof v === 'number' ? v : tally(v as LineCounts);
  return n;
}

/** Two lives' covered seconds of one interval (a restart within it): added, never past the interval's length; unknown where both are. */
function addCovered(a: number | undefined, b: number | undefined, intervalMs: number): number | undefined {
  if (a === undefined && b === undefined) return undefined;
  return Math.min(intervalMs / 1000, Math.round(((a ?? 0) + (b ?? 0)) * 1000) / 1000);
}
