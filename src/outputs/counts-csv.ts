import type { FrameResult, LineCounts } from '../core/types.js';
import { IntervalCsv, compareNames as cmp, csvField, type TableClock } from './interval-csv.js';
import { CROSSING_LOOKBACK_MS } from '../track/lines.js';

export const COUNTS_CSV_HEADER = 'interval_start_s,interval_end_s,line,direction,class,count,covered_s';
/**
 * The live pipeline's counts CSV (and batch's with --start-time): intervals on the clock, ISO and epoch ms. Every
 * table's last column, covered_s, is the seconds of the interval that had video (IntervalCoverage).
 */
export const CLOCK_COUNTS_CSV_HEADER = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';

export interface CountsCsvOptions extends TableClock {
  /** The classes counted: each interval has a row (0 if none crossed) for every line, direction and class. */
  classes?: readonly string[];
}

/**
 * A batch input's line crossings per `--count-interval`, as CSV (IntervalCsv: video time, or the clock with
 * --start-time): `interval_start_s,interval_end_s,line,direction,class,count,covered_s`, a row for every line, direction
 * and counted class of every interval the video covers, 0 where nothing crossed. Each interval's rows are
 * appended and flushed as soon as no later frame can add to it, so a killed run keeps every closed interval;
 * `close()` writes the rest, then `total` rows (not for an input stopped part way).
 */
export class CountsCsvWriter {
  private readonly table: IntervalCsv<LineCounts>;
  private readonly total: LineCounts = {};

  constructor(
    path: string,
    intervalMs: number,
    /** --line names, in order: rows follow it. */
    lines: readonly string[] = [],
    opts: CountsCsvOptions = {},
  ) {
    const classes = opts.classes ?? [];
    this.table = new IntervalCsv(path, intervalMs, { video: COUNTS_CSV_HEADER, clock: CLOCK_COUNTS_CSV_HEADER }, () => ({}), (c) => countsRows(c, lines, classes), opts.startMs, opts.utcOffsetMin);
  }

  write(r: FrameResult): void {
    const t = this.table.frame(r.frame.seq, r.frame.ptsMs, !r.detectError);
    for (const e of r.events) {
      if (e.type !== 'line-crossing') continue;
      bump(this.table.at(e.ptsMs), e.line, e.direction, e.className);
      bump(this.total, e.line, e.direction, e.className);
    }
    // A crossing is reported a frame or more after the vehicle went over the line, dated when it did: up to
    // CROSSING_LOOKBACK_MS earlier, or, by a tentative track reported when it is confirmed, no earlier than
    // the track's first frame. So an interval is final once both this frame's time less the lookback and
    // the birth of every tentative track lie past its end. (Batch runs the default tracker, where an
    // unmatched tentative track dies at once, so every one is in r.tracks.)
    this.table.settle(settledAt(t, r));
  }

  /** Writes the intervals still open and, for an input processed `whole` (not stopped part way), the totals. */
  close(whole = true): void {
    this.table.close(whole ? this.total : undefined);
  }
}

/** The earliest a crossing not yet reported can be dated, on the table's clock `t` of frame `r`. */
export function settledAt(t: number, r: FrameResult): number {
  let settled = t - CROSSING_LOOKBACK_MS;
  for (const tr of r.tracks) if (!tr.confirmed) settled = Math.min(settled, t - tr.ageMs);
  return settled;
}

/** What an interval has per line, direction and class: a count, or the crossings' speeds. */
export type ByLine<T> = Record<string, { forward: Record<string, T>; backward: Record<string, T> }>;

/**
 * One interval's `line,direction,class,count` (CSV-quoted): every line (`lines` in order, then any other
 * with counts, by name), `forward` before `backward`, every class (`classes` and any other with a count,
 * alphabetically), 0 where none crossed, so each interval is the same table.
 */
export function countsRows(counts: LineCounts, lines: readonly string[], classes: readonly string[]): string[] {
  return lineTableRows(counts, lines, classes, (n) => String(n ?? 0));
}

/** The counts table's rows (countsRows' lines, directions and classes, in its order), each ending in `cells` of what the key has. */
export function lineTableRows<T>(table: ByLine<T>, lines: readonly string[], classes: readonly string[], cells: (v: T | undefined) => string): string[] {
  const allLines = [...lines, ...Object.keys(table).filter((l) => !lines.includes(l)).sort(cmp)];
  const counted = Object.values(table).flatMap((dirs) => [...Object.keys(dirs.forward), ...Object.keys(dirs.backward)]);
  const allClasses = [...new Set([...classes, ...counted])].sort(cmp);
  const rows: string[] = [];
  for (const line of allLines) {
    for (const dir of ['forward', 'backward'] as const) {
      for (const cls of allClasses) rows.push(`${csvField(line)},${dir},${csvField(cls)},${cells(table[line]?.[dir][cls])}`);
    }
  }
  return rows;
}

function bump(c: LineCounts, line: string, dir: 'forward' | 'backward', cls: string): void {
  const d = (c[line] ??= { forward: {}, backward: {} })[dir];
  d[cls] = (d[cls] ?? 0) + 1;
}

export { csvField };
