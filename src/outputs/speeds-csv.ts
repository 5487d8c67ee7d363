import type { FrameResult, TrafficEvent } from '../core/types.js';
import { IntervalCsv, csvField, seconds, type TableClock } from './interval-csv.js';
import { lineTableRows, settledAt, type ByLine } from './counts-csv.js';
import { LineFile } from './line-file.js';
import { clockTime } from '../ingest/start-time.js';

/** The unit of the speed study's files (events keep `speedKmh` whatever it is). */
export type SpeedUnit = 'kmh' | 'mph';
const KM_PER_MILE = 1.609344;

/** Percentiles of a spot-speed study: the 15th and 85th bound the usual speed range, the 50th is the median. */
const PERCENTILES = [15, 50, 85] as const;

export interface SpeedStudyOptions extends TableClock {
  /** The classes counted: each interval has a row for every line, direction and class, as the counts CSV. */
  classes?: readonly string[];
  unit: SpeedUnit;
  /** --speed-limit, in `unit`: the vehicles measured faster than it are counted. */
  limit?: number;
}

type LineCrossing = Extract<TrafficEvent, { type: 'line-crossing' }>;
/** Each crossing's speed in km/h, undefined where none was measured. */
type Speeds = ByLine<(number | undefined)[]>;

/**
 * A batch input's spot-speed study from its line crossings: `<base>.speeds.csv`, per `--count-interval` (the
 * counts CSV's intervals and rows: every line, direction and counted class) the vehicles counted, those with a
 * speed, and the mean, 15th/50th/85th percentile (nearest rank) and max of their speeds, with a limit the number
 * faster than it, then `total` rows (of an input processed whole); and `<base>.crossings.csv`, each crossing's own spot speed, by time. An
 * interval is written when the counts CSV's would be (no crossing can be told in it any more), so a killed run
 * keeps every closed one.
 */
export class SpeedStudyWriter {
  private readonly table: IntervalCsv<Speeds>;
  private readonly total: Speeds = {};
  private readonly crossings: CrossingsCsv;

  constructor(base: string, intervalMs: number, lines: readonly string[], private readonly opts: SpeedStudyOptions) {
    const u = `_${opts.unit}`;
    const columns = `line,direction,class,count,with_speed,mean${u},p15${u},p50${u},p85${u},max${u}${opts.limit !== undefined ? `,limit${u},over_limit` : ''}`;
    const headers = { video: `interval_start_s,interval_end_s,${columns},covered_s`, clock: `interval_start,interval_start_ms,${columns},covered_s` };
    this.table = new IntervalCsv<Speeds>(base + '.speeds.csv', intervalMs, headers, () => ({}), (s) => lineTableRows(s, lines, opts.classes ?? [], (v) => this.stats(v ?? [])), opts.startMs, opts.utcOffsetMin);
    this.crossings = new CrossingsCsv(base + '.crossings.csv', opts);
  }

  write(r: FrameResult): void {
    const t = this.table.frame(r.frame.seq, r.frame.ptsMs, !r.detectError);
    for (const e of r.events) {
      if (e.type !== 'line-crossing') continue;
      add(this.table.at(e.ptsMs), e);
      add(this.total, e);
      this.crossings.add(e);
    }
    // Crossings come as late as the counts CSV's: an interval is final when its would be.
    const settled = settledAt(t, r);
    this.table.settle(settled);
    this.crossings.settle(settled);
  }

  /** Writes the intervals and crossings still open and, for an input processed `whole` (not stopped part way), the totals. */
  close(whole = true): void {
    this.table.close(whole ? this.total : undefined);
    this.crossings.close();
  }

  /** `count,with_speed,mean,p15,p50,p85,max[,limit,over_limit]`: the figures of speeds empty (not 0) where none was measured. */
  private stats(speeds: readonly (number | undefined)[]): string {
    const { unit, limit } = this.opts;
    const measured = speeds.filter((v) => v !== undefined).map((v) => inUnit(v, unit)).sort((a, b) => a - b);
    const n = measured.length;
    const figures = n ? [measured.reduce((a, v) => a + v, 0) / n, ...PERCENTILES.map((p) => nearestRank(measured, p)), measured[n - 1]].map(tenths) : ['', '', '', '', ''];
    const over = limit === undefined ? [] : [String(limit), n ? String(measured.filter((v) => v > limit).length) : ''];
    return [speeds.length, n, ...figures, ...over].join(',');
  }
}

/**
 * The p-th percentile by nearest rank, as traffic studies take it: the smallest measured speed with at least p %
 * of the speeds at or below it, i.e. the ⌈p·n/100⌉-th of n sorted ascending (a speed that was measured, never
 * one between two). `sorted` is not empty.
 */
export function nearestRank(sorted: readonly number[], p: number): number {
  // p·n first: 15 × 20 / 100 is 3, where 0.15 × 20 is 3.0000000000000004, whose ceiling is 4.
  return sorted[Math.max(1, Math.ceil((p * sorted.length) / 100)) - 1];
}

/**
 * `<base>.crossings.csv`: every line crossing, `time_s,ptsMs,line,direction,class,trackId,speed_kmh` (with
 * --start-time `time` is the time of day, ISO 8601 at --start-time's UTC offset), the speed empty where none was measured; in time order:
 * held until no crossing can be told before it (they are told a frame or more after the vehicle went over).
 */
class CrossingsCsv {
  private readonly file: LineFile;
  private pending: LineCrossing[] = [];

  constructor(
    path: string,
    private readonly opts: SpeedStudyOptions,
  ) {
    this.file = new LineFile(path);
    const time = opts.startMs === undefined ? 'time_s' : 'time';
    this.file.writeLine(`${time},ptsMs,line,direction,class,trackId,speed_${opts.unit}`);
    this.file.flush();
  }

  add(e: LineCrossing): void {
    this.pending.push(e);
  }

  /** Writes the crossings before `t` (the table's clock: --start-time plus ptsMs). */
  settle(t: number): void {
    const origin = this.opts.startMs ?? 0;
    const due = this.pending.filter((e) => origin + e.ptsMs < t);
    if (!due.length) return;
    this.pending = this.pending.filter((e) => origin + e.ptsMs >= t);
    for (const e of due.sort((a, b) => a.ptsMs - b.ptsMs)) this.file.writeLine(this.row(e));
    this.file.flush();
  }

  close(): void {
    this.settle(Infinity);
    this.file.close();
  }

  private row(e: LineCrossing): string {
    const { startMs, utcOffsetMin, unit } = this.opts;
    const time = startMs === undefined ? seconds(e.ptsMs) : clockTime(startMs + e.ptsMs, utcOffsetMin);
    const speed = e.speedKmh === undefined ? '' : tenths(inUnit(e.speedKmh, unit));
    return `${time},${e.ptsMs},${csvField(e.line)},${e.direction},${csvField(e.className)},${e.trackId},${speed}`;
  }
}

function add(s: Speeds, e: LineCrossing): void {
  const dir = (s[e.line] ??= { forward: {}, backward: {} })[e.direction];
  (dir[e.className] ??= []).push(e.speedKmh);
}

function inUnit(kmh: number, unit: SpeedUnit): number {
  return unit === 'mph' ? kmh / KM_PER_MILE : kmh;
}

/** One decimal, always shown (52.0): the events' speeds are to 0.1 km/h. */
function tenths(v: number): string {
  return (Math.round(v * 10) / 10).toFixed(1);
}
