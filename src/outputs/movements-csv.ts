import type { FrameResult, TrafficEvent } from '../core/types.js';
import { LineFile } from './line-file.js';
import { csvField } from './counts-csv.js';
import { CROSSING_LOOKBACK_MS } from '../track/lines.js';

export const MOVEMENTS_CSV_HEADER = 'interval_start_s,interval_end_s,from,to,class,count';

/** Past a track's tracker drop time, how long its movement may still take to come (a frame, and restarted timestamps). */
const DROP_SLACK_MS = 1000;

/**
 * A batch input's turning movements per `--count-interval` of video time, as CSV:
 * `interval_start_s,interval_end_s,from,to,class,count`, seconds on the timeline of `ptsMs` (0 = start of the
 * file), one row per non-zero (from, to, class), then `total` rows. A movement counts in the interval of its
 * last crossing, though it is only known when its track ends: an interval is written (and flushed, so a killed
 * run keeps it) once no track still alive can end with a movement dated in it.
 *
 * The interval bounds follow counts-csv.ts (first interval from the first frame, last to the last frame's end);
 * that part is a copy, kept small, until the two share it.
 */
export class MovementsCsvWriter {
  private readonly file: LineFile;
  private readonly open = new Map<number, Map<string, number>>();
  private readonly total = new Map<string, number>();
  private written = 0;
  private lastMs = -Infinity;
  private lastSeq = -1;
  private periodMs = 0;
  private firstMs = Infinity;
  /**
   * Tracks that have crossed a line and may yet end with a movement: their latest crossing told, and when they
   * were last in a frame's tracks. A lost track is in none until the tracker drops it (lostMs later) or finds it again.
   */
  private readonly alive = new Map<number, { crossedMs: number; seenMs: number }>();

  constructor(
    path: string,
    private readonly intervalMs: number,
    /** --line names, in order: rows follow it. */
    private readonly lines: readonly string[],
    /** The tracker's lostBufferSec, ms: a track unseen for longer has ended. */
    private readonly lostMs: number,
  ) {
    this.file = new LineFile(path);
    this.file.writeLine(MOVEMENTS_CSV_HEADER);
    this.file.flush();
  }

  write(r: FrameResult): void {
    this.firstMs = Math.min(this.firstMs, r.frame.ptsMs);
    if (r.frame.ptsMs > this.lastMs) {
      if (Number.isFinite(this.lastMs) && r.frame.seq > this.lastSeq) this.periodMs = (r.frame.ptsMs - this.lastMs) / (r.frame.seq - this.lastSeq);
      this.lastMs = r.frame.ptsMs;
      this.lastSeq = r.frame.seq;
    }
    this.events(r.events, r.frame.ptsMs);
    for (const t of r.tracks) {
      const a = this.alive.get(t.id);
      if (a) a.seenMs = r.frame.ptsMs;
    }
    // A crossing still to be told is dated no earlier than CROSSING_LOOKBACK_MS before now, or a tentative
    // track's birth (as in counts-csv.ts); a movement still to come, no earlier than its track's latest crossing.
    let settled = r.frame.ptsMs - CROSSING_LOOKBACK_MS;
    for (const t of r.tracks) if (!t.confirmed) settled = Math.min(settled, r.frame.ptsMs - t.ageMs);
    for (const [id, a] of this.alive) {
      if (r.frame.ptsMs - a.seenMs > this.lostMs + DROP_SLACK_MS) this.alive.delete(id);
      else settled = Math.min(settled, a.crossedMs);
    }
    this.writeBefore(Math.floor(settled / this.intervalMs));
  }

  /** Events not tied to a frame: the movements of the tracks the input's end (or a stop) ended. */
  events(events: readonly TrafficEvent[], nowMs = this.lastMs): void {
    for (const e of events) {
      if (e.type === 'line-crossing') {
        const a = this.alive.get(e.trackId);
        this.alive.set(e.trackId, { crossedMs: Math.max(a?.crossedMs ?? -Infinity, e.ptsMs), seenMs: nowMs });
      } else if (e.type === 'movement') {
        this.alive.delete(e.trackId);
        const key = `${e.from}\0${e.to}\0${e.className}`;
        // Older than a written interval (a track outlived the drop time allowed for it): the oldest open one.
        const idx = Math.max(Math.floor(e.ptsMs / this.intervalMs), this.written);
        let bucket = this.open.get(idx);
        if (!bucket) this.open.set(idx, (bucket = new Map()));
        bucket.set(key, (bucket.get(key) ?? 0) + 1);
        this.total.set(key, (this.total.get(key) ?? 0) + 1);
      }
    }
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
    const coveredMs = this.periodMs > 0 ? this.lastMs + this.periodMs : Infinity;
    for (const k of due) {
      const start = Math.min(Math.max(k * this.intervalMs, this.firstMs), (k + 1) * this.intervalMs);
      const end = Math.max(start, Math.min((k + 1) * this.intervalMs, coveredMs));
      this.rows(String(Math.round(start) / 1000), String(Math.round(end) / 1000), this.open.get(k)!);
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
    rows.sort((a, b) => order(a[0]) - order(b[0]) || order(a[1]) - order(b[1]) || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0));
    for (const [from, to, cls, n] of rows) this.file.writeLine(`${start},${end},${csvField(from)},${csvField(to)},${csvField(cls)},${n}`);
  }
}
