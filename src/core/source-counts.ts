import type { SourceCounts } from './feed.js';
import type { LineCounts } from './types.js';

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

/**
 * What one camera counted under two lives (before and after a restart, or a removal and its return):
 * totals added, intervals of the same start added, the newest `keep` intervals kept; the rest is `now`'s.
 */
export function mergeCounts(before: SourceCounts | undefined, now: SourceCounts | undefined, keep = Infinity): SourceCounts | undefined {
  if (!before || !now) return now ?? before;
  const byStart = new Map<number, LineCounts>();
  for (const iv of [...before.intervals, ...now.intervals]) byStart.set(iv.start, addCounts(byStart.get(iv.start), iv.counts));
  const intervals = [...byStart]
    .sort((a, b) => a[0] - b[0])
    .slice(-keep)
    .map(([start, counts]) => ({ start, counts }));
  return { ...now, total: addCounts(before.total, now.total), intervals };
}
