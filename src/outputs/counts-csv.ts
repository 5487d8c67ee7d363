import type { FrameResult } from '../core/types.js';
import { LineFile } from './line-file.js';
import { CROSSING_LOOKBACK_MS } from '../track/lines.js';

export const COUNTS_CSV_HEADER = 'interval_start_s,interval_end_s,line,direction,class,count';

/**
 * A batch input's line crossings per `--count-interval` of video time, as CSV:
 * `interval_start_s,interval_end_s,line,direction,class,count`, seconds on the timeline of `ptsMs` in
 * detections.jsonl (0 = start of the file), intervals [0, I), [I, 2I) …, one row per non-zero (line,
 * direction, class). Each interval's rows are appended and flushed as soon as no later frame can add
 * to it, so a killed run keeps every closed interval; `close()` writes the rest, then `total` rows.
 * The first interval starts where the frames did, the last ends where they did (the end of the file, or of a stopped run).
 * Video time rather than the wall clock, so the same file always gives the same rows.
 */
export class CountsCsvWriter {
  private readonly file: LineFile;
  /** Open intervals by index (start = index × interval): "line\0direction\0class" → count. */
  private readonly open = new Map<number, Map<string, number>>();
  private readonly total = new Map<string, number>();
  /** Every interval below this index has been written. */
  private written = 0;
  /** The latest frame's time and number, and one frame's duration: where the video (or the run) stops. */
  private lastMs = -Infinity;
  private lastSeq = -1;
  private periodMs = 0;
  /** The first frame's time: where the first interval starts when the video does not start at 0. */
  private firstMs = Infinity;

  constructor(
    path: string,
    private readonly intervalMs: number,
    /** --line names, in order: rows follow it. */
    private readonly lines: readonly string[] = [],
  ) {
    this.file = new LineFile(path);
    // Header on disk at once: a run killed before its first interval closes still leaves a valid CSV.
    this.file.writeLine(COUNTS_CSV_HEADER);
    this.file.flush();
  }

  write(r: FrameResult): void {
    this.firstMs = Math.min(this.firstMs, r.frame.ptsMs);
    if (r.frame.ptsMs > this.lastMs) {
      // Per decoded frame: with --stride the frames written are several periods apart.
      if (Number.isFinite(this.lastMs) && r.frame.seq > this.lastSeq) this.periodMs = (r.frame.ptsMs - this.lastMs) / (r.frame.seq - this.lastSeq);
      this.lastMs = r.frame.ptsMs;
      this.lastSeq = r.frame.seq;
    }
    for (const e of r.events) {
      if (e.type !== 'line-crossing') continue;
      const key = `${e.line}\0${e.direction}\0${e.className}`;
      // A crossing older than a written interval (only with timestamps that go backwards) joins the oldest open one.
      const idx = Math.max(Math.floor(e.ptsMs / this.intervalMs), this.written);
      let bucket = this.open.get(idx);
      if (!bucket) this.open.set(idx, (bucket = new Map()));
      bucket.set(key, (bucket.get(key) ?? 0) + 1);
      this.total.set(key, (this.total.get(key) ?? 0) + 1);
    }
    // A crossing is reported a frame or more after the vehicle went over the line, dated when it did: up to
    // CROSSING_LOOKBACK_MS earlier, or, by a tentative track reported when it is confirmed, no earlier than
    // the track's first frame. So an interval is final once both this frame's time less the lookback and
    // the birth of every tentative track lie past its end. (Batch runs the default tracker, where an
    // unmatched tentative track dies at once, so every one is in r.tracks.)
    let settled = r.frame.ptsMs - CROSSING_LOOKBACK_MS;
    for (const t of r.tracks) if (!t.confirmed) settled = Math.min(settled, r.frame.ptsMs - t.ageMs);
    this.writeBefore(Math.floor(settled / this.intervalMs));
  }

  /** Writes the intervals still open and the totals: the input has ended (or was stopped). */
  close(): void {
    this.writeBefore(Infinity);
    this.rows('total', '', this.total);
    this.file.close();
  }

  private writeBefore(idx: number): void {
    if (idx <= this.written) return;
    const due = [...this.open.keys()].filter((k) => k < idx).sort((a, b) => a - b);
    // The last interval ends where the video (or the run) did, its last frame's time plus its duration: a
    // 33 s clip's last minute is 0,33.4, not 0,60, so a rate per hour is not read off half the time.
    // One frame alone gives no duration: its interval is then written whole.
    const coveredMs = this.periodMs > 0 ? this.lastMs + this.periodMs : Infinity;
    for (const k of due) {
      // The first interval starts where the video does, as the last ends where it did: a file whose video
      // starts 1.86 s in (after its audio, or a camera's recording) counted 13.1 s of its first 15.
      const start = Math.min(Math.max(k * this.intervalMs, this.firstMs), (k + 1) * this.intervalMs);
      const end = Math.max(start, Math.min((k + 1) * this.intervalMs, coveredMs));
      this.rows(seconds(start), seconds(end), this.open.get(k)!);
      this.open.delete(k);
    }
    this.written = idx;
    if (due.length) this.file.flush();
  }

  private rows(start: string, end: string, counts: Map<string, number>): void {
    const order = (line: string) => {
      const i = this.lines.indexOf(line);
      return i < 0 ? this.lines.length : i;
    };
    const rows = [...counts].map(([k, n]) => [...k.split('\0'), n] as [string, string, string, number]);
    rows.sort((a, b) => order(a[0]) - order(b[0]) || cmp(a[0], b[0]) || cmp(b[1], a[1]) || cmp(a[2], b[2]));
    for (const [line, dir, cls, n] of rows) this.file.writeLine(`${start},${end},${csvField(line)},${dir},${csvField(cls)},${n}`);
  }
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
