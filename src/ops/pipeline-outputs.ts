import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineFeed, SourceCounts, SourceEvents, SourceStatus } from '../core/feed.js';
import { logger } from '../core/log.js';
import { makeOutputDir } from '../core/output-dir.js';
import { mergeCounts } from '../core/source-counts.js';
import type { FrameResult, TrafficEvent } from '../core/types.js';
import type { PipelineConfig } from '../config/schema.js';
import { LiveLineFile, OUTPUT_HOLD_LINES, rotateFiles, rotateOtherTable, type OutputFailure } from './rotating-file.js';
import { SourceRecord } from './source-record.js';
import { UserError } from '../core/errors.js';
import { OutputLock, describeHolder, outputLockHolder } from './output-lock.js';
import { takeOpenCounts, takeOpenMovements } from './counts-resume.js';
import { CLOCK_COUNTS_CSV_HEADER, countsRows } from '../outputs/counts-csv.js';
import { CLOCK_MOVEMENTS_CSV_HEADER, movementClasses, movementRows } from '../outputs/movements-csv.js';
import { frameRecord } from '../outputs/detections-jsonl.js';
import { lostTrackMs } from '../track/analytics.js';
import { WebhookSink } from './webhook-sink.js';
import { RecordingTables } from './recording-tables.js';
import { addInterval, WrittenIntervals } from './written-intervals.js';
import { WallClockSteps } from '../core/clock.js';

/** How long after an interval's end a crossing in it may still be counted (a track confirmed late). */
const COUNT_GRACE_MS = 10_000;
/** The files below of a source (or the events log, source ''), rotated copies included. */
function isOutputFile(name: string, sources: ReadonlySet<string>): boolean {
  const m = /^(?:events\.jsonl|(.+)\.(?:detections\.jsonl|counts\.csv|movements\.csv))(?:\.\d+)?$/.exec(name);
  return m !== null && (m[1] === undefined || sources.has(m[1]));
}

/**
 * The unattended outputs of a live pipeline: a JSONL event log, per-source counts CSV (a block of
 * rows each time a count interval closes) and, for a source with movements, its movements CSV (a block
 * beside each block of counts, from the same snapshot, so the two always cover the same intervals); a recording
 * (a `mode: batch` source) has xnorcam batch's tables instead (RecordingTables); optional per-source detections
 * JSONL, webhooks, and retention. Everything is written line by line as it happens, so an interrupted run leaves valid files.
 */
export class PipelineOutputs {
  private readonly files = new Map<string, LiveLineFile>();
  /** Every source name this run has had (a reload may remove one): whose old files retention may remove. */
  private readonly sourcesSeen = new Set<string>();
  /** Sources whose counts file was looked at for an interval a restart interrupted. */
  private readonly resumed = new Set<string>();
  /** Lines lost by files since closed (a source a reload removed): a Prometheus counter never goes down. */
  private readonly lostByClosed = new Map<string, number>();
  private readonly sinks: WebhookSink[];
  /** Per source, what its counts CSV has of each interval (the last written, and crossings counted into one since). */
  private readonly written = new Map<string, WrittenIntervals>();
  /** Steps of the wall clock, which dates the intervals: one back puts crossings into intervals already written. */
  private readonly clockSteps = new WallClockSteps();
  /**
   * The tables of each recording (a `mode: batch` source, counted on its own clock) in its current pass, and
   * `null` for a source counted on the wall clock, whose rows writeCounts writes: known from its first result.
   */
  private readonly recordings = new Map<string, RecordingTables | null>();
  /**
   * What a source a reload removed counted in intervals not yet written: written when they end, and
   * added to the source's own if a reload brings it back meanwhile, so an interval is one block of
   * rows (removed and re-added within a minute, it was two: 7 cars, then 5).
   */
  private readonly held = new Map<string, SourceCounts>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly onResult = (r: FrameResult) => this.result(r);
  private readonly onRemoved = (r: { source: string; counts?: SourceCounts }) => this.removed(r);
  private readonly onEvents = (e: SourceEvents) => {
    this.events(e.events);
    this.recordingDo(e.source, (t) => t.events(e.events));
  };
  private readonly onSourceEnd = (e: { source: string }) => this.endRecording(e.source);
  /** A source added (or back) is named in the folder's lock at once, for a batch run checking it. */
  private readonly onStatus = (s: SourceStatus) => {
    if (this.sourcesSeen.has(s.name)) return;
    this.sourcesSeen.add(s.name);
    this.lock?.write();
    // A source a reload adds: at once, not at the first write 5 s on.
    this.resumeSource(s.name);
  };
  private lock?: OutputLock;
  /** Each source's countIntervalSeconds its counts files are written with (`count-intervals.json`), for the next run. */
  private intervalRecord?: SourceRecord;
  /** When this run started writing: an interval of the run before still open then is carried on. */
  private readonly startedAt = Date.now();

  constructor(
    private readonly feed: PipelineFeed,
    private readonly cfg: Pick<PipelineConfig, 'outputs' | 'retention'>,
  ) {
    const files = cfg.outputs.files;
    // A folder that cannot be one is the file's mistake, told before the cameras start, not a stack trace at the first event.
    if (files) {
      makeOutputDir(files.dir, `outputs.files.dir: ${files.dir}`);
      const holder = outputLockHolder(files.dir);
      if (holder) throw new UserError(`outputs.files.dir: ${files.dir} is written by another xnorcam run (${describeHolder(holder)}): two in one folder mix their files; give this one another dir`);
      this.lock = new OutputLock(files.dir, () => this.sourceNames());
      this.intervalRecord = new SourceRecord(join(files.dir, 'count-intervals.json'), (n) => n > 0, {
        kind: 'count-interval',
        unreadable: 'counts files written with another countIntervalSeconds are not told from this one\'s',
        unwritable: 'a run with another countIntervalSeconds will not know this one\'s files',
      });
      feed.on('status', this.onStatus);
    }
    this.sinks = cfg.outputs.webhooks.map((w) => new WebhookSink(w));
    feed.on('result', this.onResult);
    feed.on('removed', this.onRemoved);
    feed.on('events', this.onEvents);
    feed.on('source-end', this.onSourceEnd);
    if (files) {
      this.applyRetention();
      this.timers.push(setInterval(() => this.applyRetention(), 3600_000).unref());
      if (files.counts) this.timers.push(setInterval(() => this.flushCounts(false), 5000).unref());
    }
  }

  /** Per-sink delivery figures (for /metrics), by the label the log names the hook by (no secret of its URL). */
  webhookStats() {
    const seen = new Map<string, number>();
    return this.sinks.map((s) => {
      // The same URL twice (for other events) is two series: -2 on the second.
      const n = (seen.get(s.label) ?? 0) + 1;
      seen.set(s.label, n);
      return { url: n === 1 ? s.label : `${s.label}-${n}`, ...s.stats };
    });
  }

  /** Lines each output file has dropped (a full disk, a folder made read-only), by file name, for /metrics. */
  linesLost(): { file: string; lines: number }[] {
    const lost = new Map(this.lostByClosed);
    for (const [name, f] of this.files) lost.set(name, (lost.get(name) ?? 0) + f.totalLost);
    return [...lost].map(([file, lines]) => ({ file, lines }));
  }

  /** Each output file that cannot be written now (a full disk): since when, why, and the lines it holds and lost, for /healthz. */
  failingFiles(): OutputFailure[] {
    return [...this.files.values()].flatMap((f) => f.failing() ?? []);
  }

  /** Lines each output file holds to write once it can (a full disk), by file name, for /metrics. */
  linesHeld(): { file: string; lines: number }[] {
    return [...this.files].map(([file, f]) => ({ file, lines: f.held }));
  }

  /**
   * A live output file, opened at its first line; a CSV (one with a `header`) first kept aside if it is of another kind.
   * A CSV's interval rows are held while it cannot be written, and written in order once it can (OUTPUT_HOLD_LINES):
   * a study's counts, not to be lost to a full disk for an hour; events and detections are dropped (counted).
   */
  private file(name: string, header?: string): LiveLineFile {
    let f = this.files.get(name);
    if (!f) {
      const { dir, rotate } = this.cfg.outputs.files!;
      const path = join(dir, name);
      // A recording's table under a camera's name now (a reload or restart dropped `mode: batch`): the camera's
      // rows went on under the table's header and its totals, one file of two formats.
      if (header) {
        try {
          this.keepOtherTable(path, header);
        } catch (e) {
          logger.warn(`${path} is a file of another kind and cannot be rotated (${(e as Error).message}): this source's rows follow it there`);
        }
      }
      f = new LiveLineFile(path, { ...rotate, header, holdLines: header ? OUTPUT_HOLD_LINES : 0 }, logger);
      this.files.set(name, f);
    }
    return f;
  }

  private event(e: TrafficEvent): void {
    if (this.cfg.outputs.files?.events) this.file('events.jsonl').writeLine(JSON.stringify(e));
    for (const sink of this.sinks) sink.push(e);
  }

  private result(r: FrameResult): void {
    this.events(r.events);
    if (this.cfg.outputs.files?.counts) this.recordingDo(r.frame.source, (t) => t.write(r), true);
    if (this.cfg.outputs.files?.detections) {
      // The batch record (boxes to 0.1 px, scores to 4 places: a third of the bytes), with the arrival time a camera's frame has.
      const { frame, ptsMs, ...rest } = frameRecord(r);
      this.file(`${r.frame.source}.detections.jsonl`).writeLine(JSON.stringify({ frame, ptsMs, capturedAt: r.frame.capturedAt, ...rest }));
    }
  }

  private events(events: TrafficEvent[]): void {
    for (const e of events) this.event(e);
  }

  /** Appends the rows of every interval that has closed since the last flush (all of them at the end). */
  private flushCounts(final: boolean): void {
    this.noteClockStep();
    const active = new Set<string>();
    for (const s of this.feed.sources()) {
      active.add(s.name);
      const now = this.feed.counts(s.name);
      if (now) this.resumeCounts(s.name, now);
      const held = this.held.get(s.name);
      if (held && now && (held.asOf === undefined) !== (now.asOf === undefined)) {
        // Back under the same name on another clock (a camera's minutes, a recording's): not one series.
        // (writeCounts starts the new clock's series itself.)
        this.writeCounts(s.name, held, true);
        this.held.delete(s.name);
      }
      this.writeCounts(s.name, mergeCounts(this.held.get(s.name), now), final);
    }
    for (const [source, counts] of this.held) if (!active.has(source)) this.writeCounts(source, counts, final);
    // A hold is done with once every interval in it is written; a source not back by then lets go of its file.
    for (const [source, counts] of this.held) {
      if ((counts.intervals.at(-1)?.start ?? -Infinity) > (this.written.get(source)?.last ?? -Infinity)) continue;
      this.held.delete(source);
      if (!active.has(source)) this.closeCountFiles(source);
    }
  }

  /**
   * Carries on the intervals the run before was stopped in, for every source the feed has now: called once the
   * pipeline has started and before the dashboard serves, which then shows each interval as the file will have it.
   */
  resumeIntervals(): void {
    for (const s of this.feed.sources()) this.resumeSource(s.name);
  }

  private resumeSource(name: string): void {
    const now = this.cfg.outputs.files?.counts ? this.feed.counts(name) : undefined;
    if (now) this.resumeCounts(name, now);
  }

  /**
   * Once per source, before its first rows: an interval a stop of the run before this one wrote in part (a
   * restart within the minute) is taken off the file and counted on, so it is written once, whole.
   */
  private resumeCounts(source: string, now: SourceCounts): void {
    if (this.resumed.has(source)) return;
    this.resumed.add(source);
    if (now.asOf !== undefined || this.files.has(`${source}.counts.csv`) || this.newIntervalLength(source, now.intervalMs)) return;
    // Open when this run started, not at this first flush seconds later: a restart at 21:25:56 counts on 21:25's
    // rows, though by its first flush 21:26 has begun (judged then, the minute was written twice).
    const path = (kind: string) => join(this.cfg.outputs.files!.dir, `${source}.${kind}.csv`);
    const open = takeOpenCounts(path('counts'), now.intervalMs, this.startedAt);
    // Its movements, written in the same stop: carried on with them (a run without movements now leaves them be).
    const moved = now.movements && takeOpenMovements(path('movements'), now.intervalMs, this.startedAt);
    // One interval when both files were stopped in the same one (as they are, written together): two of one start
    // were right only as long as every later step merged them.
    const intervals: SourceCounts['intervals'] = open ? [{ start: open.start, counts: open.counts, coveredSeconds: open.coveredSeconds }] : [];
    if (moved && open?.start === moved.start) intervals[0].movements = moved.movements;
    else if (moved) intervals.push({ start: moved.start, counts: {}, movements: moved.movements, coveredSeconds: moved.coveredSeconds });
    if (!intervals.length) return;
    intervals.sort((a, b) => a.start - b.start);
    // Not in the total: that counts this run's crossings (since its start), as /metrics' counters do.
    const before: SourceCounts = { source, intervalMs: now.intervalMs, total: {}, intervals, ...(moved ? { movements: {} } : {}) };
    // Into the source's own counts where the feed takes them, so /api/counts and the dashboard show the interval
    // the file will have; else held here, for the file alone.
    if (!this.feed.carryCounts?.(source, before)) this.held.set(source, mergeCounts(this.held.get(source), before)!);
    for (const [what, o] of [['counts', open], ['movements', moved]] as const) {
      if (o) logger.info(`${what} of the interval in progress before the restart carried on`, { source, interval: new Date(o.start).toISOString(), rows: o.rows });
    }
  }

  /**
   * Whether the source's counts files were written with another countIntervalSeconds than this run's: they are
   * rotated (as by size: `.1` …) and new ones started, the interval the run before was stopped in left in them
   * as written. Carried on, it was an interval off the new length's grid, and the new length's first interval
   * had the key of one of the old length's already in the file (23:30 of 60 s, then 23:30 of 300 s).
   */
  private newIntervalLength(source: string, intervalMs: number): boolean {
    const record = this.intervalRecord!;
    const seconds = intervalMs / 1000;
    const was = record.get(source);
    if (was === seconds) return false;
    record.write({ [source]: seconds });
    // None: the source's first run in this folder, or files of a version that kept no record (taken as this length's).
    if (was === undefined) return false;
    const { dir, rotate } = this.cfg.outputs.files!;
    const paths = ['counts', 'movements'].map((kind) => join(dir, `${source}.${kind}.csv`)).filter((path) => existsSync(path));
    try {
      for (const path of paths) rotateFiles(path, rotate.maxFiles);
    } catch (e) {
      logger.warn(`${source}: its counts files of countIntervalSeconds ${was} cannot be rotated (${(e as Error).message}): this run's intervals of ${seconds} s follow theirs in them`);
      return true;
    }
    if (paths.length) {
      logger.info('countIntervalSeconds changed since the counts files were written: they are rotated and new ones started, the interval in progress before the restart left in them as written', {
        source,
        was,
        now: seconds,
        rotated: paths.map((path) => `${path} → ${path}.1`),
      });
    }
    return true;
  }

  private writeCounts(source: string, counts: SourceCounts | undefined, final: boolean): void {
    // A recording's are its RecordingTables', written frame by frame.
    if (!counts || counts.asOf !== undefined) return;
    let written = this.written.get(source);
    if (!written) this.written.set(source, (written = new WrittenIntervals()));
    const done = written.last;
    // An interval is written once it has ended, by its clock or by a later interval, plus the time a
    // crossing can take to be counted (its track's confirmation dates it back). Waiting for a later
    // interval alone held the evening's last busy minute back until the next morning's first car.
    const now = Date.now();
    const latest = counts.intervals.at(-1)?.start ?? -Infinity;
    const ended = (start: number) => start + counts.intervalMs + COUNT_GRACE_MS <= Math.max(now, latest);
    const closed = final ? counts.intervals : counts.intervals.filter((iv) => ended(iv.start));
    const fresh = closed.filter((iv) => iv.start > done);
    // Crossings dated into intervals already written (the clock went back) go into the next one written: at
    // the end, if none has begun by the clock, the one after the last written, so the file stays in time order.
    const late = fresh.length || final ? written.takeLate(counts.intervals) : undefined;
    if (fresh.length === 0 && !late) return;
    const rows = late ? (fresh.length ? [addInterval(fresh[0], late), ...fresh.slice(1)] : [{ start: done + counts.intervalMs, ...late }]) : fresh;
    const f = this.file(`${source}.counts.csv`, CLOCK_COUNTS_CSV_HEADER);
    for (const iv of rows) f.writeLines(countRows(iv, counts.classes ?? []));
    // A source a reload took movements off still has its intervals up to then to write (the one in progress
    // too, written once it ends), and no more: its movements file is let go after the last.
    const moved = counts.movements ? rows : rows.filter((iv) => iv.movements);
    if (moved.length) this.writeMovements(source, moved, counts.classes ?? []);
    written.wrote(fresh.length ? fresh : rows);
    const last = written.last;
    if (!counts.movements && !counts.intervals.some((iv) => iv.movements && iv.start > last)) this.closeFile(`${source}.movements.csv`);
  }

  /**
   * A step back of the clock dates the frames after it into intervals already written: said once, with where
   * their crossings go (writeCounts), as the counts CSV then has an interval with more than its own.
   */
  private noteClockStep(): void {
    const step = this.clockSteps.look();
    if (step >= 0) return;
    const now = Date.now();
    const into = new Map<string, string>();
    for (const [source, written] of this.written) {
      const intervalMs = this.feed.counts(source)?.intervalMs;
      // Only where the clock is now back in (or before) an interval the file has.
      if (intervalMs && now < written.last + intervalMs) into.set(source, new Date(written.last + intervalMs).toISOString());
    }
    if (!into.size) return;
    const times = new Set(into.values());
    const where = times.size === 1 ? `the interval from ${[...times][0]}` : 'the interval after the last one written of each source';
    logger.warn(`the clock went back ${Math.round(-step / 1000)} s: counts until it catches up are put in ${where}, after the last one written, so the counts CSV stays in time order`, {
      sources: Object.fromEntries(into),
    });
  }

  /** The same intervals' movements: every pair of its lines and class, 0 where none went that way (as batch's movements CSV). */
  private writeMovements(source: string, intervals: SourceCounts['intervals'], classes: readonly string[]): void {
    const f = this.file(`${source}.movements.csv`, CLOCK_MOVEMENTS_CSV_HEADER);
    const cls = movementClasses(classes);
    for (const iv of intervals) {
      f.writeLines(movementRows(iv.movements ?? {}, Object.keys(iv.counts), cls).map((row) => `${intervalLabel(iv.start)},${iv.start},${row},${coveredCell(iv)}`));
    }
  }

  /** A source a reload removed: its ended intervals are written now, the one in progress when it ends (or with the source's, if it comes back). */
  private removed(r: { source: string; counts?: SourceCounts }): void {
    this.sourcesSeen.add(r.source);
    // A recording's pass is over (its tables were closed when it ended, or are now); one of that name added
    // again is a new pass, or a camera: which, its first result says.
    this.endRecording(r.source);
    this.recordings.delete(r.source);
    if (this.cfg.outputs.files?.counts && r.counts && r.counts.asOf === undefined) {
      const counts = mergeCounts(this.held.get(r.source), r.counts)!;
      this.held.set(r.source, counts);
      this.flushCounts(false);
    }
    // Its files are closed: held open, retention could never remove them (a source of that name added later opens them again).
    this.closeFile(`${r.source}.detections.jsonl`);
    this.closeCountFiles(r.source);
  }

  /**
   * Runs `f` on the tables of `source` if it is a recording; with `open`, a recording's first result in a pass
   * opens them (writing its files afresh). A table that cannot be written is let go, said once: the run goes on.
   */
  private recordingDo(source: string, f: (t: RecordingTables) => void, open = false): void {
    let t = this.recordings.get(source);
    if (t === undefined && open) t = this.openRecording(source);
    if (!t) return;
    try {
      f(t);
    } catch (e) {
      this.recordings.set(source, null);
      logger.error("a recording's counts CSV could not be written: its counts of this pass are not in the file", { source, error: (e as Error).message });
    }
  }

  /** At a source's first result: its tables if it is a recording (its counts dated by its own clock), else null. */
  private openRecording(source: string): RecordingTables | null {
    const now = this.feed.counts(source);
    if (now?.asOf === undefined) {
      this.recordings.set(source, null);
      return null;
    }
    // Its camera's series under this name (a reload made it a recording) is written and let go first: one writer a file.
    const held = this.held.get(source);
    if (held) this.writeCounts(source, held, true);
    this.held.delete(source);
    this.closeCountFiles(source);
    const base = join(this.cfg.outputs.files!.dir, source);
    const lines = this.feed.overlay(source).lines.map((l) => l.name);
    let tables: RecordingTables | null = null;
    try {
      // A pass before's table is replaced, as a batch rerun replaces its files; a camera's counts under this name
      // (a reload or restart made it a recording) are kept, rotated: emptied, a study's history was gone.
      for (const { path, header } of RecordingTables.files(base, now)) {
        if (this.keepOtherTable(path, header) === 'same') logger.info("a new pass over a recording: its table is written afresh, as xnorcam batch's", { source, file: path });
      }
      tables = new RecordingTables(base, now, lines, this.feed.lostTrackMs?.(source) ?? lostTrackMs());
    } catch (e) {
      logger.error("a recording's counts CSV could not be opened: its counts of this pass are not in the file", { source, error: (e as Error).message });
    }
    this.recordings.set(source, tables);
    return tables;
  }

  /**
   * A file of another kind where a source's table starts (a camera's counts CSV on the clock, a recording's
   * table in its seconds: a reload or restart switched the source's `mode` under one name; or one an older
   * version wrote without covered_s) is rotated and so kept, said in a warning naming where. Throws when it cannot be rotated.
   */
  private keepOtherTable(path: string, header: string): 'none' | 'same' | 'rotated' {
    const found = rotateOtherTable(path, header, this.cfg.outputs.files!.rotate.maxFiles);
    if (found === 'rotated') logger.warn("a file of another kind is where this source's table goes (a camera's counts on the clock, a recording's table in its seconds, or an older version's columns, before covered_s): it is kept, rotated, and a new one started", { file: path, kept: `${path}.1` });
    return found;
  }

  /** A recording's pass has ended (its end, a stop, a removal): the rest of its intervals and its totals are written. */
  private endRecording(source: string): void {
    const t = this.recordings.get(source);
    if (!t) return;
    // Still a recording: its next result (a replay) opens a new pass.
    this.recordings.delete(source);
    try {
      t.close();
    } catch (e) {
      logger.error("a recording's counts CSV could not be written: its counts of this pass are not in the file", { source, error: (e as Error).message });
    }
  }

  private closeCountFiles(source: string): void {
    for (const kind of ['counts', 'movements']) this.closeFile(`${source}.${kind}.csv`);
  }

  private closeFile(name: string): void {
    const f = this.files.get(name);
    if (!f) return;
    f.close();
    if (f.totalLost) this.lostByClosed.set(name, (this.lostByClosed.get(name) ?? 0) + f.totalLost);
    this.files.delete(name);
  }

  private applyRetention(): void {
    const { dir } = this.cfg.outputs.files!;
    const cutoff = Date.now() - this.cfg.retention.days * 86_400_000;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // the folder does not exist yet
    }
    // Only the files of this pipeline's sources: a survey.counts.csv or a batch run's clip.detections.jsonl in
    // the same folder is someone else's (and half a batch result set removed is worse than none).
    const sources = new Set(this.sourceNames());
    const removed: string[] = [];
    for (const name of names) {
      // Never one it holds open: a camera down for longer than the retention still appends to its counts file later.
      if (!isOutputFile(name, sources) || this.files.has(name) || this.recordingFile(name)) continue;
      const path = join(dir, name);
      try {
        if (statSync(path).mtimeMs < cutoff) {
          rmSync(path);
          removed.push(name);
        }
      } catch {
        // gone meanwhile, or not ours to remove: the next pass tries again
      }
    }
    if (removed.length) logger.info('retention: removed old output files', { dir, removed: removed.length, files: removed.slice(0, 50), days: this.cfg.retention.days });
  }

  /** Whether `name` is a file of a recording's tables being written. */
  private recordingFile(name: string): boolean {
    const m = /^(.+)\.(?:counts|movements)\.csv$/.exec(name);
    return m !== null && Boolean(this.recordings.get(m[1]));
  }

  /** Every source this run has had, and has. */
  private sourceNames(): string[] {
    for (const s of this.feed.sources()) this.sourcesSeen.add(s.name);
    return [...this.sourcesSeen];
  }

  async close(): Promise<void> {
    this.feed.off('status', this.onStatus as (...args: never[]) => void);
    this.feed.off('result', this.onResult as (...args: never[]) => void);
    this.feed.off('removed', this.onRemoved as (...args: never[]) => void);
    this.feed.off('events', this.onEvents as (...args: never[]) => void);
    this.feed.off('source-end', this.onSourceEnd as (...args: never[]) => void);
    for (const t of this.timers) clearInterval(t);
    for (const source of [...this.recordings.keys()]) this.endRecording(source);
    if (this.cfg.outputs.files?.counts) this.flushCounts(true);
    await Promise.all(this.sinks.map((s) => s.close()));
    // One line for the stop, however many files could not save theirs (a full disk fails them all).
    const lost: Record<string, number> = {};
    for (const [name, f] of this.files) {
      const n = f.close(false);
      if (n) lost[name] = n;
    }
    const total = Object.values(lost).reduce((a, b) => a + b, 0);
    if (total) logger.error(`output files stopped with ${total} lines not saved (they could not be written)`, { dir: this.cfg.outputs.files?.dir, files: lost });
    this.lock?.release();
  }
}

/** An interval's rows: every line, direction and counted class, 0 where nothing crossed (countsRows), and its covered seconds. */
function countRows(iv: SourceCounts['intervals'][number], classes: readonly string[]): string[] {
  return countsRows(iv.counts, Object.keys(iv.counts), classes).map((row) => `${intervalLabel(iv.start)},${iv.start},${row},${coveredCell(iv)}`);
}

/** An interval's covered_s: empty where unknown (none of it counted by a version that measured it). */
function coveredCell(iv: SourceCounts['intervals'][number]): string {
  return iv.coveredSeconds === undefined ? '' : String(iv.coveredSeconds);
}

/** An interval's first column: its start on the clock (a recording's tables are RecordingTables'). */
function intervalLabel(start: number): string {
  return new Date(start).toISOString();
}
