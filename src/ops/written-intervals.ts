import type { SourceCounts } from '../core/feed.js';
import { addCounts, addMovements, countsAdded, movementsAdded, tally } from '../core/source-counts.js';

type Interval = SourceCounts['intervals'][number];

/**
 * What a source's counts CSV holds: the last interval written, and how much of each interval up to it went
 * into the file. An interval is written once, after it ends; a crossing dated into one already written (the
 * wall clock stepped back, so frames are dated into minutes the file already has) is not lost but taken by
 * takeLate, to be written in the next interval written: the file stays in time order and its rows add up to
 * every crossing counted.
 */
export class WrittenIntervals {
  /** The start of the last interval written, -Infinity before the first. */
  last = -Infinity;
  /** By start, each interval's counts (and movements) as the file has them, for the intervals still counted. */
  private readonly had = new Map<number, Interval>();

  /**
   * The crossings (and movements) counted in intervals at or before the last written that are not in the file,
   * as one interval (every line of the source's there, 0 where none), taken as written; undefined when none.
   */
  takeLate(intervals: readonly Interval[]): Omit<Interval, 'start'> | undefined {
    const counted = new Set(intervals.map((iv) => iv.start));
    // One the source no longer keeps: if a later crossing makes it again, it starts from nothing.
    for (const start of this.had.keys()) if (!counted.has(start)) this.had.delete(start);
    let late: Omit<Interval, 'start'> | undefined;
    for (const iv of intervals) {
      if (iv.start > this.last) break;
      const had = this.had.get(iv.start);
      const counts = countsAdded(iv.counts, had?.counts);
      const movements = iv.movements && movementsAdded(iv.movements, had?.movements);
      // Always what it has now: a count that went down (a held interval let go of) is not made up later.
      this.had.set(iv.start, iv);
      if (!tally(counts) && !(movements && tally(movements))) continue;
      late = late ? addInterval(late, { counts, movements }) : { counts, ...(movements ? { movements } : {}) };
    }
    return late;
  }

  /** Intervals written (in time order), as they are counted: whatever is counted in them later is late. */
  wrote(intervals: readonly Interval[]): void {
    for (const iv of intervals) this.had.set(iv.start, iv);
    if (intervals.length) this.last = intervals[intervals.length - 1].start;
  }
}

/** An interval with another's crossings and movements added. */
export function addInterval<T extends Omit<Interval, 'start'>>(iv: T, more: Omit<Interval, 'start'>): T {
  const movements = iv.movements || more.movements ? addMovements(iv.movements, more.movements ?? {}) : undefined;
  return { ...iv, counts: addCounts(iv.counts, more.counts), ...(movements ? { movements } : {}) };
}
