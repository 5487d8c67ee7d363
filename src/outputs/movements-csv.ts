import type { FrameResult, MovementCounts, TrafficEvent } from '../core/types.js';
import { bumpMovement } from '../core/source-counts.js';
import { IntervalCsv, compareNames, csvField, type TableClock } from './interval-csv.js';
import { settledAt } from './counts-csv.js';
import { trafficClassOf } from '../core/traffic-classes.js';

export const MOVEMENTS_CSV_HEADER = 'interval_start_s,interval_end_s,from,to,class,count,covered_s';
/** With --start-time: intervals on the clock, as the live files and the counts CSV then have them. */
export const CLOCK_MOVEMENTS_CSV_HEADER = 'interval_start,interval_start_ms,from,to,class,count,covered_s';

/** Past a track's tracker drop time, how long its movement may still take to come (a frame, and restarted timestamps). */
const DROP_SLACK_MS = 1000;

export interface MovementsCsvOptions extends TableClock {
  /** The classes counted: each interval has a row (0 if none) for every pair of lines and class. */
  classes?: readonly string[];
}

/**
 * A batch input's turning movements per `--count-interval`, as CSV (IntervalCsv: video time, or the clock with
 * --start-time): `interval_start_s,interval_end_s,from,to,class,count,covered_s`, a row for every pair of different lines
 * and counted class of every interval the video covers, 0 where none, then `total` rows (of an input processed whole). A movement counts in
 * the interval of its last crossing, though it is only known when its track ends: an interval is written (and
 * flushed, so a killed run keeps it) once no track still alive can end with a movement dated in it.
 */
export class MovementsCsvWriter {
  private readonly table: IntervalCsv<MovementCounts>;
  private readonly total: MovementCounts = {};
  private lastMs = -Infinity;
  /**
   * Tracks that have crossed a line and may yet end with a movement: their latest crossing told, and when they
   * were last in a frame's tracks. A lost track is in none until the tracker drops it (lostMs later) or finds it again.
   */
  private readonly alive = new Map<number, { crossedMs: number; seenMs: number }>();

  constructor(
    path: string,
    intervalMs: number,
    /** --line names, in order: rows follow it. */
    lines: readonly string[],
    /** The tracker's lostBufferSec, ms: a track unseen for longer has ended. */
    private readonly lostMs: number,
    opts: MovementsCsvOptions = {},
  ) {
    const classes = movementClasses(opts.classes ?? []);
    this.table = new IntervalCsv(path, intervalMs, { video: MOVEMENTS_CSV_HEADER, clock: CLOCK_MOVEMENTS_CSV_HEADER }, () => ({}), (c) => movementRows(c, lines, classes), opts.startMs, opts.utcOffsetMin);
  }

  write(r: FrameResult): void {
    const t = this.table.frame(r.frame.seq, r.frame.ptsMs, !r.detectError);
    this.lastMs = r.frame.ptsMs;
    this.events(r.events, r.frame.ptsMs);
    for (const tr of r.tracks) {
      const a = this.alive.get(tr.id);
      if (a) a.seenMs = r.frame.ptsMs;
    }
    // A crossing still to be told is dated no earlier than the counts CSV says; a movement still to come, no
    // earlier than its track's latest crossing.
    let settled = settledAt(t, r);
    for (const [id, a] of this.alive) {
      if (r.frame.ptsMs - a.seenMs > this.lostMs + DROP_SLACK_MS) this.alive.delete(id);
      else settled = Math.min(settled, t - (r.frame.ptsMs - a.crossedMs));
    }
    this.table.settle(settled);
  }

  /** Events not tied to a frame: the movements of the tracks the input's end (or a stop) ended. */
  events(events: readonly TrafficEvent[], nowMs = this.lastMs): void {
    for (const e of events) {
      if (e.type === 'line-crossing') {
        const a = this.alive.get(e.trackId);
        this.alive.set(e.trackId, { crossedMs: Math.max(a?.crossedMs ?? -Infinity, e.ptsMs), seenMs: nowMs });
      } else if (e.type === 'movement') {
        this.alive.delete(e.trackId);
        // Older than a written interval (a track outlived the drop time allowed for it): the oldest open one.
        bumpMovement(this.table.at(e.ptsMs), e.from, e.to, e.className);
        bumpMovement(this.total, e.from, e.to, e.className);
      }
    }
  }

  /** Writes the intervals still open and, for an input processed `whole` (not stopped part way), the totals. */
  close(whole = true): void {
    this.table.close(whole ? this.total : undefined);
  }
}

/** The classes a movements table has rows for: people are no turning traffic (analytics tells no movement for them), so no rows of 0 either. */
export function movementClasses(classes: readonly string[]): string[] {
  return classes.filter((c) => trafficClassOf(c) !== 'person');
}

/**
 * One interval's `from,to,class,count` (CSV-quoted): every pair of different lines (`lines` in order, from
 * before to), every class (`classes` and any other counted, alphabetically), 0 where none went that way, so each
 * interval is the same table. A U-turn (from = to) is no movement, so it has no row.
 */
export function movementRows(counts: MovementCounts, lines: readonly string[], classes: readonly string[]): string[] {
  const counted = Object.entries(counts).flatMap(([from, tos]) => Object.entries(tos).flatMap(([to, byClass]) => Object.keys(byClass).map((cls) => [from, to, cls] as const)));
  const allLines = [...new Set([...lines, ...counted.flatMap(([from, to]) => [from, to]).sort(compareNames)])];
  const allClasses = [...new Set([...classes, ...counted.map((k) => k[2])])].sort(compareNames);
  const rows: string[] = [];
  for (const from of allLines) {
    for (const to of allLines) {
      if (to === from) continue;
      for (const cls of allClasses) rows.push(`${csvField(from)},${csvField(to)},${csvField(cls)},${counts[from]?.[to]?.[cls] ?? 0}`);
    }
  }
  return rows;
}
