import type { FrameResult, LineCounts } from '../core/types.js';
import { LineFile } from './line-file.js';
import { CROSSING_LOOKBACK_MS } from '../track/lines.js';

export const COUNTS_CSV_HEADER = 'interval_start_s,interval_end_s,line,direction,class,count';
/** The live pipeline's counts CSV (and batch's with --start-time): intervals on the clock, ISO and epoch ms. */
export const CLOCK_COUNTS_CSV_HEADER = 'interval_start,interval_start_ms,line,direction,class,count';

export interface CountsCsvOptions {
  /** The classes counted: each interval has a row (0 if none crossed) for every line, direction and class. */
  classes?: readonly string[];
  /** --start-time, epoch ms: the file's 0 on the clock; intervals are the clock's and rows are in the live format. */
  startMs?: number;
}

/**
 * A batch input's line crossings per `--count-interval` of video time, as CSV:
 * `interval_start_s,interval_end_s,line,direction,class,count`, seconds on the timeline of `ptsMs` in
 * detections.jsonl (0 = start of the file), intervals [0, I), [I, 2I) …, a row for every line, direction
 * and counted class of every interval the video covers, 0 where nothing crossed. Each interval's rows are
 * appended and flushed as soon as no later frame can add to it, so a killed run keeps every closed
 * interval; `close()` writes the rest, then `total` rows.
 * The first interval starts where the frames did, the last ends where they did (the end of the file, or of a stopped run).
 * Video time rather than the wall clock, so the same file always gives the same rows. With `startMs` (the
 * recording's start on the clock) the intervals are the clock's, as the live pipeline's: `2026-11-03T06:15:00.000Z,…`.
 */
export class CountsCsvWriter {
  private readonly file: LineFile;
  /** Open intervals by index (start = index × interval), with what crossed in them. */
  private readonly open = new Map<number, LineCounts>();
  private readonly total: LineCounts = {};
  /** Every interval below this index has been written. */
  private written = -Infinity;
  /** The latest frame's time and number, and one frame's duration: where the video (or the run) stops. */
  private lastMs = -Infinity;
  private lastSeq = -1;
  private periodMs = 0;
  /** The first frame's time: where the first interval starts when the video does not start at 0. */
  private firstMs = Infinity;
  private readonly classes: readonly string[];
  /** Added to every `ptsMs`: 0, or the --start-time. */
  private readonly originMs: number;
  private readonly onClock: boolean;

  constructor(
    path: string,
    private readonly intervalMs: number,
    /** --line names, in order: rows follow it. */
    private readonly lines: readonly string[] = [],
    opts: CountsCsvOptions = {},
  ) {
    this.classes = opts.classes ?? [];
    this.onClock = opts.startMs !== undefined;
    this.originMs = opts.startMs ?? 0;
    this.file = new LineFile(path);
    // Header on disk at once: a run killed before its first interval closes still leaves a valid CSV.
    this.file.writeLine(this.onClock ? CLOCK_COUNTS_CSV_HEADER : COUNTS_CSV_HEADER);
    this.file.flush();
  }

  write(r: FrameResult): void {
    const t = this.originMs + r.frame.ptsMs;
    this.firstMs = Math.min(this.firstMs, t);
    if (t > this.lastMs) {
      // Per decoded frame: with --stride the frames written are several periods apart.
      if (Number.isFinite(this.lastMs) && r.frame.seq > this.lastSeq) this.periodMs = (t - this.lastMs) / (r.frame.seq - this.lastSeq);
      this.lastMs = t;
      this.lastSeq = r.frame.seq;
    }
    for (const e of r.events) {
      if (e.type !== 'line-crossing') continue;
      // A crossing older than a written interval (only with timestamps that go backwards) joins the oldest open one.
      const idx = Math.max(Math.floor((this.originMs + e.ptsMs) / this.intervalMs), this.written);
      let bucket = this.open.get(idx);
      if (!bucket) this.open.set(idx, (bucket = {}));
      bump(bucket, e.line, e.direction, e.className);
      bump(this.total, e.line, e.direction, e.className);
    }
    // A crossing is reported a frame or more after the vehicle went over the line, dated when it did: up to
    // CROSSING_LOOKBACK_MS earlier, or, by a tentative track reported when it is confirmed, no earlier than
    // the track's first frame. So an interval is final once both this frame's time less the lookback and
    // the birth of every tentative track lie past its end. (Batch runs the default tracker, where an
    // unmatched tentative track dies at once, so every one is in r.tracks.)
    let settled = t - CROSSING_LOOKBACK_MS;
    for (const tr of r.tracks) if (!tr.confirmed) settled = Math.min(settled, t - tr.ageMs);
    this.writeBefore(Math.floor(settled / this.intervalMs));
  }

  /** Writes the intervals still open and the totals: the input has ended (or was stopped). */
  close(): void {
    this.writeBefore(Infinity);
    // Totals only of an input that had frames: one with none counted nothing, not zero vehicles.
    if (Number.isFinite(this.lastMs) || this.open.size) this.rows('total', '', this.total);
    this.file.close();
  }

  private writeBefore(idx: number): void {
    if (idx <= this.written) return;
    // Every interval the frames covered, crossings or not: one without a row would read as not counted.
    const due = new Set([...this.open.keys()].filter((k) => k < idx));
    const first = Math.max(this.written, Math.floor(this.firstMs / this.intervalMs));
    const last = Math.min(idx - 1, Math.floor(this.lastMs / this.intervalMs));
    for (let k = first; k <= last; k++) due.add(k);
    // The last interval ends where the video (or the run) did, its last frame's time plus its duration: a
    // 33 s clip's last minute is 0,33.4, not 0,60, so a rate per hour is not read off half the time.
    // One frame alone gives no duration: its interval is then written whole.
    const coveredMs = this.periodMs > 0 ? this.lastMs + this.periodMs : Infinity;
    for (const k of [...due].sort((a, b) => a - b)) {
      if (this.onClock) {
        // As the live files: each interval by its start on the clock, the first and last covering only part of it.
        const start = k * this.intervalMs;
        this.rows(new Date(start).toISOString(), String(start), this.open.get(k) ?? {});
      } else {
        // The first interval starts where the video does, as the last ends where it did: a file whose video
        // starts 1.86 s in (after its audio, or a camera's recording) counted 13.1 s of its first 15.
        const start = Math.min(Math.max(k * this.intervalMs, this.firstMs), (k + 1) * this.intervalMs);
        const end = Math.max(start, Math.min((k + 1) * this.intervalMs, coveredMs));
        this.rows(seconds(start), seconds(end), this.open.get(k) ?? {});
      }
      this.open.delete(k);
    }
    this.written = idx;
    if (due.size) this.file.flush();
  }

  private rows(start: string, end: string, counts: LineCounts): void {
    for (const row of countsRows(counts, this.lines, this.classes)) this.file.writeLine(`${start},${end},${row}`);
  }
}

/**
 * One interval's `line,direction,class,count` (CSV-quoted): every line (`lines` in order, then any other
 * with counts, by name), `forward` before `backward`, every class (`classes` and any other with a count,
 * alphabetically), 0 where none crossed, so each interval is the same table.
 */
export function countsRows(counts: LineCounts, lines: readonly string[], classes: readonly string[]): string[] {
  const allLines = [...lines, ...Object.keys(counts).filter((l) => !lines.includes(l)).sort(cmp)];
  const counted = Object.values(counts).flatMap((dirs) => [...Object.keys(dirs.forward), ...Object.keys(dirs.backward)]);
  const allClasses = [...new Set([...classes, ...counted])].sort(cmp);
  const rows: string[] = [];
  for (const line of allLines) {
    for (const dir of ['forward', 'backward'] as const) {
      for (const cls of allClasses) rows.push(`${csvField(line)},${dir},${csvField(cls)},${counts[line]?.[dir][cls] ?? 0}`);
    }
  }
  return rows;
}

function bump(c: LineCounts, line: string, dir: 'forward' | 'backward', cls: string): void {
  const d = (c[line] ??= { forward: {}, backward: {} })[dir];
  d[cls] = (d[cls] ?? 0) + 1;
}

/** Seconds with at most millisecond digits: 0, 60, 0.5. */
function seconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
