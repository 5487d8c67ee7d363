import { clockTime, shownMs } from '../ingest/start-time.js';
import { LineFile } from './line-file.js';
import { IntervalCoverage, coveredSeconds } from '../core/interval-coverage.js';

/** The two ways a batch table dates its intervals: seconds of video, or the clock (with --start-time). */
export interface IntervalCsvHeaders {
  /** `interval_start_s,interval_end_s,…,covered_s`: seconds on the timeline of `ptsMs`. */
  video: string;
  /** `interval_start,interval_start_ms,…,covered_s`: as the live pipeline's files. */
  clock: string;
}

/** A table's clock: --start-time, epoch ms (absent: video time), and the UTC offset it was given in, minutes east. */
export interface TableClock {
  startMs?: number;
  utcOffsetMin?: number;
}

/**
 * A batch input's table of counts per `--count-interval`, as CSV: the intervals, the time each covers, and what
 * `rowsOf` makes of what was counted in it (every key of the table, 0 where nothing was counted, so each
 * interval is the same table and no row is never "not counted"). The counts CSV and the movements CSV are two
 * of these; each says when an interval is final (`settle`), this class writes it, then, on `close`, the totals
 * (of an input processed whole).
 *
 * Intervals are video time, [0, I), [I, 2I) …, the first starting where the frames did and the last ending
 * where they did (the end of the file, or of a stopped run), so the same file always gives the same rows. With
 * `startMs` (the recording's start on the clock) they are the clock's, as the live pipeline's, written at the
 * UTC offset `offsetMin` the start was given in: `2026-11-03T07:15:00.000+01:00,…` (`…06:15:00.000Z` at 0),
 * the first and last covering only the part of them the recording does. Each row ends in `covered_s`, the seconds
 * of its interval the video covered (IntervalCoverage): a recording starting at 07:03:20 has 40 of its first
 * minute, and a gap in its timestamps shows as well; the `total` rows', the whole input's.
 */
export class IntervalCsv<B> {
  private readonly file: LineFile;
  /** Open intervals by index (start = index × interval), with what was counted in them. */
  private readonly open = new Map<number, B>();
  /** Every interval below this index has been written. */
  private written = -Infinity;
  /** The latest frame's time and number, and one frame's duration: where the video (or the run) stops. */
  private lastMs = -Infinity;
  private lastSeq = -1;
  private periodMs = 0;
  /** The first frame's time: where the first interval starts when the video does not start at 0. */
  private firstMs = Infinity;
  /** Added to every `ptsMs`: 0, or the --start-time. */
  private readonly originMs: number;
  private readonly onClock: boolean;
  /** Covered ms of each interval not yet written, by index, and of every interval. */
  private readonly covered = new Map<number, number>();
  private coveredTotal = 0;
  private readonly coverage: IntervalCoverage;

  constructor(
    path: string,
    private readonly intervalMs: number,
    headers: IntervalCsvHeaders,
    private readonly empty: () => B,
    /** An interval's rows after its two time columns (CSV-quoted). */
    private readonly rowsOf: (counted: B) => string[],
    startMs?: number,
    /** The UTC offset of the interval starts written, minutes east (--start-time's own): the user's quarter hours. */
    private readonly offsetMin = 0,
  ) {
    this.onClock = startMs !== undefined;
    this.originMs = startMs ?? 0;
    this.coverage = new IntervalCoverage(intervalMs, (start, ms) => {
      const k = Math.round(start / intervalMs);
      this.covered.set(k, (this.covered.get(k) ?? 0) + ms);
      this.coveredTotal += ms;
    });
    this.file = new LineFile(path);
    // Header on disk at once: a run killed before its first interval closes still leaves a valid CSV.
    this.file.writeLine(this.onClock ? headers.clock : headers.video);
    this.file.flush();
  }

  /** Notes a frame the input reached (`counted` false where the detector failed on it); its time on the table's clock. */
  frame(seq: number, ptsMs: number, counted = true): number {
    const t = this.originMs + ptsMs;
    this.firstMs = Math.min(this.firstMs, t);
    this.coverage.frame(t, seq, counted);
    if (t > this.lastMs) {
      // Per decoded frame: with --stride the frames written are several periods apart.
      if (Number.isFinite(this.lastMs) && seq > this.lastSeq) this.periodMs = (t - this.lastMs) / (seq - this.lastSeq);
      this.lastMs = t;
      this.lastSeq = seq;
    }
    return t;
  }

  /**
   * The counts of the interval an event at `ptsMs` is counted in: the one its shown time (shownMs) lies in, so a
   * crossing written as 07:15:00.000 is in the 07:15 interval; one older than a written interval (timestamps
   * that went back) joins the oldest open one.
   */
  at(ptsMs: number): B {
    const idx = Math.max(Math.floor(shownMs(ptsMs, this.originMs) / this.intervalMs), this.written);
    let bucket = this.open.get(idx);
    if (!bucket) this.open.set(idx, (bucket = this.empty()));
    return bucket;
  }

  /** Nothing can be counted any more before `t` (the table's clock): writes every interval that ended by then. */
  settle(t: number): void {
    this.writeBefore(Math.floor(t / this.intervalMs));
  }

  /**
   * Writes the intervals still open, then `total` rows of `total` (only for an input that had frames: one with none
   * counted nothing, not zero). No `total` (an input stopped part way): no such rows, so its table does not pass for a whole input's.
   */
  close(total: B | undefined): void {
    this.coverage.end();
    this.writeBefore(Infinity);
    if (total !== undefined && (Number.isFinite(this.lastMs) || this.open.size)) this.rows('total', '', total, this.coveredTotal);
    this.file.close();
  }

  private writeBefore(idx: number): void {
    if (idx <= this.written) return;
    // Every interval the frames covered, counts or not: one without a row would read as not counted.
    const due = new Set([...this.open.keys()].filter((k) => k < idx));
    const first = Math.max(this.written, Math.floor(this.firstMs / this.intervalMs));
    const last = Math.min(idx - 1, Math.floor(this.lastMs / this.intervalMs));
    for (let k = first; k <= last; k++) due.add(k);
    // The last interval ends where the video (or the run) did, its last frame's time plus its duration: a
    // 33 s clip's last minute is 0,33.4, not 0,60, so a rate per hour is not read off half the time.
    // One frame alone gives no duration: its interval is then written whole.
    const coveredMs = this.periodMs > 0 ? this.lastMs + this.periodMs : Infinity;
    for (const k of [...due].sort((a, b) => a - b)) {
      const counted = this.open.get(k) ?? this.empty();
      const covered = this.covered.get(k) ?? 0;
      this.covered.delete(k);
      if (this.onClock) {
        // As the live files: each interval by its start on the clock, the first and last covering only part of it.
        const start = k * this.intervalMs;
        this.rows(clockTime(start, this.offsetMin), String(start), counted, covered);
      } else {
        // The first interval starts where the video does, as the last ends where it did: a file whose video
        // starts 1.86 s in (after its audio, or a camera's recording) counted 13.1 s of its first 15.
        const start = Math.min(Math.max(k * this.intervalMs, this.firstMs), (k + 1) * this.intervalMs);
        const end = Math.max(start, Math.min((k + 1) * this.intervalMs, coveredMs));
        this.rows(seconds(start), seconds(end), counted, covered);
      }
      this.open.delete(k);
    }
    this.written = idx;
    if (due.size) this.file.flush();
  }

  private rows(start: string, end: string, counted: B, coveredMs: number): void {
    const covered = coveredSeconds(coveredMs);
    for (const row of this.rowsOf(counted)) this.file.writeLine(`${start},${end},${row},${covered}`);
  }
}

/** Seconds with at most millisecond digits (rounded by shownMs): 0, 60, 0.5. */
export function seconds(ms: number): string {
  return String(shownMs(ms) / 1000);
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
