import { redactSecrets } from '../core/redact.js';
import { EventEmitter } from 'node:events';
import { logger } from '../core/log.js';
import type { DisplayFrame, PipelineFeed, SourceCounts, SourceEvents, SourceOverlay, SourceStatus } from '../core/feed.js';
import type { Detection, FrameInfo, FrameResult, TrafficEvent } from '../core/types.js';
import type { DetectOptions } from '../detect/types.js';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import type { FrameSlots } from '../ingest/frame-slots.js';
import { SourceRunner, type ReconnectPolicy, type RunnerState } from '../ingest/source-runner.js';
import { isCamera, parseSource, uniqueNames, type SourceSpec } from '../ingest/source-spec.js';
import { listNames } from '../core/list-names.js';
import type { FfmpegRunEnd } from '../ingest/ffmpeg-run.js';
import { loadAnalytics, type AnalyticsLike } from './analytics-loader.js';
import { mergeCounts } from '../core/source-counts.js';
import { classFilter, countedClasses, reportedLabels, type ClassChoice } from './class-filter.js';
import { DEFAULT_KEPT_INTERVALS, lostTrackMs, type AnalyticsConfig } from '../track/analytics.js';

type AnalyticsCalibration = AnalyticsConfig['calibration'];
import type { ModelRef } from './model-ref.js';
import { modelIdentity, type ModelIdentity } from './model-identity.js';
import { ModelPools, type ModelLease } from './model-pools.js';
import { defaultWorkers, type WorkerPool } from './worker-pool.js';
import { LatencyWindow, RateWindow } from './stats.js';
import { TrackIdCounter, type TrackIdSource } from '../ops/track-ids.js';

type Point = [number, number];

export interface PipelineSource {
  url: string;
  name?: string;
  /** This source's model; default: the pipeline's `model`. Sources with the same model share its threads. */
  model?: ModelRef;
  /** This source's minimum detection score (a specialised model's operating threshold); default: `detect.thresh`. */
  thresh?: number;
  /** live: latest frame wins, older ones dropped and counted; batch: every frame (or --stride), in order. */
  mode?: 'live' | 'batch';
  /** Replay a file forever. */
  loop?: boolean;
  transport?: 'tcp' | 'udp';
  /** At most this many frames per second: the first of each 1/fpsCap s, at its own time. */
  fpsCap?: number;
  /** Restart when no frame arrives for this long (live sources). */
  watchdogSeconds?: number;
  /** Longest pause between reconnect attempts while the source stays down. */
  reconnectMaxSeconds?: number;
  lines?: { name: string; points: [Point, Point] }[];
  zones?: { name: string; polygon: Point[] }[];
  calibration?: { image: Point[]; world: Point[] };
  /** Tracker overrides (pipeline file `tracker:`); unset keys keep the live defaults. */
  tracker?: AnalyticsConfig['tracker'];
  /** Turning movements between its lines (pipeline file `movements:`, batch --movements). */
  movements?: boolean;
}

export interface PipelineOptions {
  /** Model of every source that does not name its own. */
  model: ModelRef;
  sources: PipelineSource[];
  /** Default policy for sources that do not name one. */
  mode?: 'live' | 'batch';
  /** Detector threads per model, and detections running at once over all models; default one per core. */
  workers?: number;
  backend?: string;
  /** Float-layer numerics (default: XNORCAM_PRECISION, else 'exact'); see src/engine/kernels/precision.ts. */
  precision?: 'exact' | 'fast';
  /** Threads splitting each frame's layers (default 1); `workers` then defaults to cores / this. */
  threadsPerFrame?: number;
  detect?: DetectOptions;
  /** The classes detections are kept of (default 'traffic'); checked against each source's model. */
  classes?: ClassChoice;
  /** Where `classes` was given, for its errors (`--classes`, `detector.classes`). */
  classesLabel?: string;
  /** Batch: detect every Nth frame (seq % stride === 0). */
  stride?: number;
  /** MJPEG display output for dashboards. */
  display?: { width: number; quality?: number };
  countIntervalMs?: number;
  /** Batch: frames decoded ahead per source (memory bound = (this + threads + 1) frame slots). */
  batchQueue?: number;
  /** Live: play files and test sources at their native rate (default true). */
  realtime?: boolean;
  reconnect?: Partial<ReconnectPolicy>;
  /**
   * Live: a source detected at under `minFps` for `forMs` while frames of it are dropped is too slow for the
   * tracker (tested down to 5 fps): warned once, and told when it recovers. Default 5 fps for a minute.
   */
  overload?: { minFps: number; forMs: number };
  /** Live: where new track ids come from (default: per source 1, 2, … for the run, a reloaded source going on). */
  trackIds?: TrackIdSource;
  /** Where a source's warnings about its lines, zones and calibration go (batch: among its own lines); default the log. */
  warn?: (source: string, message: string) => void;
}

const defaultOverload = { minFps: 5, forMs: 60_000 };
/** How long a source must be fast enough again before its recovery is told (so a rate near the bound does not flap). */
const RECOVERED_MS = 10_000;
/**
 * How long after its last dropped frame a slow source still counts as dropping. A resync (CameraLag) restarts
 * ffmpeg every 15 s on a camera that keeps falling behind, and the seconds it takes drop nothing: judged tick
 * by tick, each restarted the 60 s clock and the warning never came on the box that most needed it.
 */
const DROPPING_MS = 10_000;

interface Queued {
  slot: number;
  info: FrameInfo;
  /** Its number in arrival order (SourceState.framesIn), to know when every frame before an event is out. */
  n: number;
}

interface SourceState {
  spec: SourceSpec;
  cfg: PipelineSource;
  mode: 'live' | 'batch';
  lease: ModelLease;
  /** The pipeline's detect options with this source's `thresh` applied; rebuilt on setDetectOptions, not per frame. */
  detect: DetectOptions;
  slots: FrameSlots;
  runner: SourceRunner;
  analytics?: AnalyticsLike;
  /**
   * What this source counted before a restart (reload): a restart must not lose the crossings of
   * the still-open interval, which the counts CSV only writes once that interval closes.
   */
  carried?: SourceCounts;
  pending: Queued | null;
  queue: Queued[];
  inFlight: number;
  dispatched: number;
  nextEmit: number;
  reorder: Map<number, { info: FrameInfo; n: number; detections: Detection[]; detectMs: number; detectedAt: number; detectError?: string }>;
  dropped: number;
  processed: number;
  decoded: RateWindow;
  detected: RateWindow;
  latency: LatencyWindow;
  runnerEnded?: FfmpegRunEnd;
  done: boolean;
  /** When this source (this configuration of it) was set up: the start of its health's first-frame grace. */
  startedAt: number;
  /** Class ids its detections are kept of; undefined: all. */
  keep?: Set<number>;
  /** Class names to report its detections by, per class id; undefined: the model's own. */
  labels?: string[];
  /** The classes it counts (countedClasses). */
  counted: string[];
  /** Delivering frames (its runner 'running'): a failure from there is a source-down. */
  up: boolean;
  /** Frames received from the runner, and the arrival numbers of those not yet done with (emitted, dropped or let go). */
  framesIn: number;
  /** The latest frame's ptsMs received (0 before the first): where a recording (batch mode) is when its state changes. */
  lastPtsMs: number;
  outstanding: Set<number>;
  /** Events not tied to a frame, each waiting for the frames received before it to be done with. */
  told: { event: TrafficEvent; after: number }[];
  /** Frames whose detection failed (each emitted with no detections and its error), and the last error. */
  detectFailures: number;
  lastDetectError?: string;
  /** Since when every detection has failed (epoch ms of the first failure after the last success), or null. */
  detectFailingSince: number | null;
  /** Live overload watch: since when it has been too slow (or fast enough again, once warned), and whether warned. */
  slowSince: number | null;
  fastSince: number | null;
  warnedSlow: boolean;
  droppedAtTick: number;
  /** When a tick last found frames dropped (epoch ms), or null. */
  lastDropAt: number | null;
  /** Being removed (reload): its end does not count towards 'done', and it leaves the list. */
  retiring?: () => void;
}

/**
 * When a source's state changed, on the clock its traffic events have, so that `at` means one thing in an
 * events file: the wall clock for a camera; for a recording in batch mode its own time (the point reached),
 * with the wall clock in a field of its own.
 */
function statusTime(st: SourceState): { at: number; wallClockAt?: number } {
  const now = Date.now();
  return st.mode === 'batch' ? { at: st.lastPtsMs, wallClockAt: now } : { at: now };
}

export interface SourceEnd {
  source: string;
  state: RunnerState;
  /** Frames decoded / results emitted / frames dropped (live) for this source. */
  frames: number;
  processed: number;
  dropped: number;
  error?: string;
  damaged?: string;
  /** Frames whose detection failed (in the outputs with no detections, and an error), and the last such error. */
  detectFailures: number;
  detectError?: string;
}

/**
 * Frames in from every source, detections out, in order per source. Live sources do not fall behind the
 * detector (latest decoded frame wins), and a network camera that decoding cannot keep up with is resynced
 * by its runner once it is maxBehindMs behind; batch sources never drop (bounded queue, ffmpeg paused when it is full).
 * Implements PipelineFeed for the dashboard server and metrics.
 *
 * Events: 'result' (FrameResult), 'display' (DisplayFrame), 'status' (SourceStatus),
 * 'events' (SourceEvents: events not tied to a frame: source-up/down as they happen, and the zone
 * exits of vehicles still inside when a source ends, after its last result),
 * 'source-end' (SourceEnd), 'done' () when every source has ended.
 */
export class Pipeline extends EventEmitter implements PipelineFeed {
  private readonly pools: ModelPools;
  /** Batch runs start with no source: the default model is loaded up front (fail early) and kept. */
  private pinned?: ModelLease;
  private defaultIdentity?: ModelIdentity;
  private started = false;
  /** Detections in flight over every pool, capped at `maxBusy` so several models share the cores. */
  private busy = 0;
  private readonly maxBusy: number;
  private detectOptions: DetectOptions;
  private readonly trackIds: TrackIdSource;
  private readonly states: SourceState[] = [];
  private readonly byName = new Map<string, SourceState>();
  private rr = 0;
  /** Replacements under way: their source is briefly neither old nor new, which is not every source having ended. */
  private replacing = 0;
  /** Every other source ended while one was being replaced: decided once the replacement is done. */
  private endedWhileReplacing = false;
  private statusTimer?: NodeJS.Timeout;
  private readonly specs: SourceSpec[];
  private finishedPromise: Promise<void>;
  private resolveFinished!: () => void;

  constructor(private readonly opts: PipelineOptions) {
    super();
    // Validate every source before paying for threads and model loads.
    const bin = ffmpegBinary();
    this.specs = uniqueNames(
      opts.sources.map((s) => parseSource(s.url, { name: s.name, rtspTransport: s.transport, rtspTimeoutOption: bin.rtspTimeoutOption })),
    );
    this.finishedPromise = new Promise((r) => (this.resolveFinished = r));
    this.maxBusy = Math.max(1, opts.workers ?? defaultWorkers(opts.threadsPerFrame));
    this.detectOptions = opts.detect ?? {};
    this.pools = new ModelPools({ workers: opts.workers, backend: opts.backend, precision: opts.precision, threadsPerFrame: opts.threadsPerFrame });
    this.pools.onIdle = () => this.pump();
    this.trackIds = opts.trackIds ?? new TrackIdCounter();
  }

  /** Resolves when every source has ended (files finished, or stop()). */
  get finished(): Promise<void> {
    if (this.started && this.replacing === 0 && this.active().every((s) => s.done)) return Promise.resolve();
    return this.finishedPromise;
  }

  /** The first source's model (or the default one of a source-less batch run). */
  get detectorInfo():
    | { inputWidth: number; inputHeight: number; backend: string; precision: 'exact' | 'fast'; classNames: string[]; workers: number; threadsPerFrame: number; model: string }
    | undefined {
    const lease = this.states[0]?.lease ?? this.pinned;
    const p = lease?.pool;
    return (
      p && {
        inputWidth: p.inputWidth,
        inputHeight: p.inputHeight,
        backend: p.backend,
        precision: p.precision,
        classNames: p.classNames,
        workers: p.size,
        threadsPerFrame: p.threadsPerFrameInUse,
        model: lease.id,
      }
    );
  }

  /** Thresholds for the frames detected from now on (a reloaded pipeline file). */
  setDetectOptions(opts: DetectOptions): void {
    this.detectOptions = opts;
    for (const st of this.states) st.detect = this.sourceDetect(st.cfg, st.lease.pool);
  }

  /** A source's detect options: the pipeline's, with the source's own threshold if it has one (see sourceThreshold). */
  private sourceDetect(cfg: PipelineSource, pool: WorkerPool): DetectOptions {
    const own = sourceThreshold(cfg, pool);
    return own === undefined ? this.detectOptions : { ...this.detectOptions, thresh: own.thresh };
  }

  async start(): Promise<void> {
    try {
      if (this.specs.length === 0) this.pinned = await this.leaseFor(undefined);
      // Set up one after the other: sources sharing a model wait for its single load.
      for (let i = 0; i < this.specs.length; i++) await this.setupSource(this.specs[i], this.opts.sources[i], await this.leaseFor(this.opts.sources[i].model));
    } catch (e) {
      await this.pools.close();
      throw e;
    }
    this.started = true;
    this.statusTimer = setInterval(() => {
      const now = Date.now();
      for (const st of this.states) {
        if (st.done) continue;
        if (st.mode === 'live') this.watchOverload(st, now);
        this.emit('status', this.status(st));
      }
    }, 1000);
    this.statusTimer.unref();
    for (const st of this.states) st.runner.start();
    if (!this.states.length) this.markAllDone();
  }

  /**
   * Adds and starts a source on a running pipeline (batch runs feed inputs a few at a time so a
   * hundred files do not mean a hundred ffmpeg processes). Returns its unique name.
   */
  async addSource(cfg: PipelineSource, beforeStart?: (name: string) => void): Promise<string> {
    if (!this.started) throw new Error('pipeline not started');
    const bin = ffmpegBinary();
    const spec = parseSource(cfg.url, { name: cfg.name, rtspTransport: cfg.transport, rtspTimeoutOption: bin.rtspTimeoutOption });
    const lease = await this.leaseFor(cfg.model);
    let name = spec.name;
    for (let k = 2; this.byName.has(name); k++) name = `${spec.name}-${k}`;
    let st: SourceState;
    try {
      st = await this.setupSource({ ...spec, name }, cfg, lease);
    } catch (e) {
      this.pools.release(lease);
      throw e;
    }
    beforeStart?.(name);
    st.runner.start();
    return name;
  }

  /**
   * Stops one source and forgets it (reload): its in-flight frames finish and are emitted first.
   * Other sources are not touched. Its model's threads go away when no other source uses them.
   */
  async removeSource(name: string, opts: { replacing?: boolean } = {}): Promise<void> {
    const st = this.byName.get(name);
    if (!st || st.retiring) return;
    const gone = new Promise<void>((resolve) => (st.retiring = resolve));
    // A source that already ended (a file played once) just leaves; the others end first.
    if (st.done) this.forget(st);
    else this.stopSource(st);
    await gone;
    // A replaced source's counts carry over to its successor; a removed one's are final.
    if (!opts.replacing) this.emit('removed', { source: name, counts: countsOf(st) });
  }

  /**
   * Restarts one source with a new configuration (model, url, options…). The new model is loaded
   * before the old source stops, so a model that cannot be loaded leaves the source running as it was.
   */
  async replaceSource(name: string, cfg: PipelineSource): Promise<void> {
    const bin = ffmpegBinary();
    const spec = parseSource(cfg.url, { name, rtspTransport: cfg.transport, rtspTimeoutOption: bin.rtspTimeoutOption });
    const lease = await this.leaseFor(cfg.model);
    let removed = false;
    let carried: SourceCounts | undefined;
    this.replacing++;
    try {
      // Its lines, zones, calibration and classes are checked before the old source stops, as its model is.
      const analytics = await loadAnalytics(this.analyticsConfig(spec.name, cfg));
      classFilter(this.opts.classes ?? 'traffic', lease.pool.classNames, this.classesLabel(spec.name, lease));
      const old = this.byName.get(name);
      // Its place in the list (/api/sources, the dashboard's tiles): a restart is no reason to move it to the end.
      const at = old ? this.states.indexOf(old) : -1;
      await this.removeSource(name, { replacing: true });
      removed = old !== undefined;
      // Read after the removal: the old source's in-flight frames have been counted by then.
      carried = old && countsOf(old);
      if (old && carried && (old.mode === 'batch' || this.modeOf(cfg) === 'batch')) {
        // A recording restarts from its beginning, on its own clock from 0 again: a new count of it, not
        // more of the same minutes (added, the replay's minutes were counted twice); nor do a camera's
        // wall-clock minutes and a recording's mix. The old counts are final.
        this.emit('removed', { source: name, counts: carried });
        carried = undefined;
        removed = false;
      }
      const st = await this.setupSource(spec, cfg, lease, analytics, at);
      if (carried) st.carried = carried;
      st.runner.start();
    } catch (e) {
      this.pools.release(lease);
      // The old source is gone and nothing carries its counts on: they are final, as for a removal.
      if (removed) this.emit('removed', { source: name, counts: carried });
      throw e;
    } finally {
      this.replacing--;
      if (this.replacing === 0 && this.endedWhileReplacing) {
        this.endedWhileReplacing = false;
        if (this.active().every((s) => s.done)) this.markAllDone();
      }
    }
  }

  /**
   * Lists the sources in this order (a reload's: the pipeline file's), any not named after them as they were:
   * a source added back at the top of the file is at the top of /api/sources and of the dashboard.
   */
  arrange(names: readonly string[]): void {
    const rank = (st: SourceState) => {
      const i = names.indexOf(st.spec.name);
      return i < 0 ? names.length : i;
    };
    this.states.sort((a, b) => rank(a) - rank(b));
  }

  /** The model id (`name@hash8`) a source is using. */
  modelOf(source: string): string | undefined {
    return this.byName.get(source)?.lease.id;
  }

  private leaseFor(model: ModelRef | undefined): Promise<ModelLease> {
    if (model !== undefined) return this.pools.acquire(model);
    this.defaultIdentity ??= modelIdentity(this.opts.model);
    return this.pools.acquire(this.opts.model, this.defaultIdentity);
  }

  private active(): SourceState[] {
    return this.states.filter((s) => !s.retiring);
  }

  private stopSource(st: SourceState): void {
    st.runner.stop();
    // Frames decoded but not yet detected are let go: a stop is a stop.
    if (st.pending) {
      st.slots.release(st.pending.slot);
      this.frameDone(st, st.pending.n);
      st.pending = null;
    }
    for (const q of st.queue.splice(0)) {
      st.slots.release(q.slot);
      this.frameDone(st, q.n);
    }
    this.checkDone(st);
  }

  /** Where the classes were given, and for which source and model, for a class that model lacks. */
  private classesLabel(source: string, lease: ModelLease): string {
    return `${this.opts.classesLabel ?? 'classes'} (source ${source}, model ${lease.id})`;
  }

  private modeOf(cfg: PipelineSource): 'live' | 'batch' {
    return cfg.mode ?? this.opts.mode ?? 'live';
  }

  private analyticsConfig(source: string, cfg: PipelineSource): AnalyticsConfig {
    const live = this.modeOf(cfg) === 'live';
    return {
      source,
      lines: cfg.lines,
      zones: cfg.zones,
      calibration: cfg.calibration as AnalyticsCalibration | undefined,
      countIntervalMs: this.opts.countIntervalMs,
      ...(cfg.tracker ? { tracker: cfg.tracker } : {}),
      ...(cfg.movements ? { movements: true } : {}),
      // Files in batch are bucketed by video time (they run faster than real time); live by arrival.
      clock: live ? 'capture' : 'media',
      // Live ids go on across reloads (and restarts, with an output folder): one (source, id) is one vehicle.
      // A file in batch keeps 1, 2, … of its own, as MOT files expect.
      ...(live ? { trackIds: () => this.trackIds.next(source) } : {}),
      ...(this.opts.warn ? { warn: (message: string) => this.opts.warn?.(source, message) } : {}),
    };
  }

  /** `at`: where it goes in the list of sources (a replaced source's place); at the end without it. */
  private async setupSource(spec: SourceSpec, cfg: PipelineSource, lease: ModelLease, prepared?: AnalyticsLike, at = -1): Promise<SourceState> {
    const pool = lease.pool;
    // Before anything is set up for it: a class its model lacks is the configuration's mistake.
    const keep = classFilter(this.opts.classes ?? 'traffic', pool.classNames, this.classesLabel(spec.name, lease));
    if (keep && (this.opts.classes ?? 'traffic') === 'traffic') {
      // Said once per source: a custom model's own vehicle classes (van, lorry) are not traffic classes by
      // name, and dropping them without a word lost most of its detections.
      const leftOut = pool.classNames.filter((_, id) => !keep.has(id));
      logger.info('only traffic classes are tracked and counted', { source: spec.name, model: lease.id, tracked: pool.classNames.filter((_, id) => keep.has(id)).join(', '), leftOut: listNames(leftOut, 12), keepThem: '--classes all (detector.classes: all in a pipeline file)' });
    }
    const labels = reportedLabels(pool.classNames);
    const own = sourceThreshold(cfg, pool);
    if (own?.from === 'model card') logger.info("using the model card's operating threshold", { source: spec.name, model: lease.id, thresh: own.thresh });
    const frameBytes = pool.inputWidth * pool.inputHeight * 3;
    const mode = this.modeOf(cfg);
    const live = mode === 'live';
    // Live: one being written + one waiting + one per thread. Batch: plus the read-ahead queue.
    const capacity = live ? pool.size + 2 : pool.size + 1 + (this.opts.batchQueue ?? Math.max(4, pool.size * 2));
    const slots = pool.slotsFor(frameBytes, capacity);
    const runner = new SourceRunner({
      spec,
      width: pool.inputWidth,
      height: pool.inputHeight,
      slots,
      // Live: cameras and streams come back, a file only when looping. Batch: an HTTP(S)/HLS URL is a
      // finite recording (its end is the end), while an RTSP camera or a device never ends.
      reconnect: live ? spec.naturallyLive || spec.kind === 'lavfi' || Boolean(cfg.loop) : isCamera(spec),
      realtime: live && (this.opts.realtime ?? true),
      loop: Boolean(cfg.loop),
      fpsCap: cfg.fpsCap,
      display: this.opts.display,
      policy: {
        ...this.opts.reconnect,
        ...(cfg.watchdogSeconds ? { stallMs: cfg.watchdogSeconds * 1000 } : {}),
        ...(cfg.reconnectMaxSeconds ? { backoffMaxMs: cfg.reconnectMaxSeconds * 1000 } : {}),
      },
    });
    const analytics = prepared ?? (await loadAnalytics(this.analyticsConfig(spec.name, cfg)));
    const st: SourceState = {
      spec,
      cfg,
      mode,
      lease,
      detect: this.sourceDetect(cfg, pool),
      keep,
      labels,
      counted: countedClasses(pool.classNames, keep, labels),
      slots,
      runner,
      analytics,
      pending: null,
      queue: [],
      inFlight: 0,
      dispatched: 0,
      nextEmit: 0,
      reorder: new Map(),
      dropped: 0,
      processed: 0,
      decoded: new RateWindow(),
      detected: new RateWindow(),
      latency: new LatencyWindow(),
      done: false,
      startedAt: Date.now(),
      up: false,
      framesIn: 0,
      lastPtsMs: 0,
      outstanding: new Set(),
      told: [],
      detectFailures: 0,
      detectFailingSince: null,
      slowSince: null,
      fastSince: null,
      warnedSlow: false,
      droppedAtTick: 0,
      lastDropAt: null,
    };
    this.states.splice(at < 0 ? this.states.length : Math.min(at, this.states.length), 0, st);
    this.byName.set(spec.name, st);
    runner.on('frame', (slot: number, info: FrameInfo) => this.onFrame(st, slot, info));
    runner.on('display', (jpeg: Buffer, info: FrameInfo) => {
      const d: DisplayFrame = { source: info.source, seq: info.seq, ptsMs: info.ptsMs, capturedAt: info.capturedAt, width: info.width, height: info.height, jpeg };
      this.emit('display', d);
    });
    runner.on('state', (state: RunnerState, reason?: string) => {
      // Told when it happens, not with the next frame: a camera that stalls delivers none until it is back.
      const when = statusTime(st);
      let event: TrafficEvent | undefined;
      if (state === 'running') event = { type: 'source-up', source: spec.name, ...when };
      // One that fails before it ever came up (a recording whose header reads but whose frames do not decode)
      // is down too, as a camera unreachable from the start is: else no webhook or events.jsonl heard of it.
      else if (state === 'reconnecting' || state === 'failed') event = { type: 'source-down', source: spec.name, ...when, reason: reason ?? state };
      st.up = state === 'running';
      if (event) {
        // After the frames that came before it: a camera's last crossings before its source-down.
        st.told.push({ event, after: st.framesIn });
        this.flushTold(st);
      }
      this.emit('status', this.status(st));
    });
    runner.on('end', (end: FfmpegRunEnd) => {
      st.runnerEnded = end;
      this.checkDone(st);
    });
    return st;
  }

  /** Stop every source; in-flight frames finish and are emitted, then 'done'. */
  async stop(): Promise<void> {
    for (const st of [...this.states]) this.stopSource(st);
    if (this.states.every((s) => s.done)) return;
    await this.finished;
  }

  async close(): Promise<void> {
    await this.stop();
    clearInterval(this.statusTimer);
    await this.pools.close();
  }

  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  sources(): SourceStatus[] {
    return this.active().map((s) => this.status(s));
  }

  overlay(source: string): SourceOverlay {
    const st = this.byName.get(source);
    if (st?.analytics) return st.analytics.overlay();
    return { lines: st?.cfg.lines ?? [], zones: st?.cfg.zones ?? [] };
  }

  /** A source's counts, including those of its configurations before a restart. */
  counts(source: string): SourceCounts | undefined {
    const st = this.byName.get(source);
    return st && countsOf(st);
  }

  lostTrackMs(source: string): number | undefined {
    const st = this.byName.get(source);
    return st && lostTrackMs(st.cfg.tracker);
  }

  /** Counts of an interval the run before this one was stopped in (the counts CSV's), counted on as this source's. */
  carryCounts(source: string, counts: SourceCounts): boolean {
    const st = this.byName.get(source);
    if (!st) return false;
    // Its own carried counts last: theirs are the fields (since) kept.
    st.carried = mergeCounts(counts, st.carried);
    return true;
  }

  /** Frames decoded and waiting for a free detector thread, over all sources (the pool's queue). */
  queueDepth(): number {
    let n = 0;
    for (const st of this.states) n += (st.pending ? 1 : 0) + st.queue.length;
    return n;
  }

  sourceNames(): string[] {
    return this.active().map((s) => s.spec.name);
  }

  private onFrame(st: SourceState, slot: number, info: FrameInfo): void {
    st.decoded.mark(info.capturedAt);
    const n = st.framesIn++;
    st.lastPtsMs = Math.max(st.lastPtsMs, info.ptsMs);
    if (st.mode === 'live') {
      if (st.pending) {
        st.slots.release(st.pending.slot);
        st.dropped++;
        this.frameDone(st, st.pending.n);
      }
      st.outstanding.add(n);
      st.pending = { slot, info, n };
    } else {
      const stride = this.opts.stride ?? 1;
      if (info.seq % stride !== 0) {
        st.slots.release(slot);
        return;
      }
      st.outstanding.add(n);
      st.queue.push({ slot, info, n });
    }
    this.pump();
  }

  private frameDone(st: SourceState, n: number): void {
    st.outstanding.delete(n);
    if (st.told.length) this.flushTold(st);
  }

  /**
   * Emits the events not tied to a frame whose earlier frames are all done with (all of them once the
   * source has ended). By arrival number, not by a count: a later frame dropped (newest wins) or skipped
   * while an earlier one is still detected must not let the event past it.
   */
  private flushTold(st: SourceState): void {
    let oldest = Infinity;
    for (const n of st.outstanding) if (n < oldest) oldest = n;
    let k = 0;
    while (k < st.told.length && (st.done || st.told[k].after <= oldest)) k++;
    if (!k) return;
    const events: TrafficEvent[] = [];
    for (const { event } of st.told.splice(0, k)) {
      events.push(event);
      // A camera down: the vehicles it last showed leave their zones with it (at their last sighting), so
      // occupancy does not show a queue nobody can see, and its tracks end rather than carry over the outage.
      if (event.type === 'source-down' && st.analytics) events.push(...st.analytics.finish());
    }
    this.emit('events', { source: st.spec.name, events } satisfies SourceEvents);
  }

  /**
   * Hands waiting frames to idle threads of each source's model, round-robin over sources so none
   * starves, never more at once than `maxBusy` (the cores) however many models are loaded.
   */
  private pump(): void {
    const n = this.states.length;
    while (this.busy < this.maxBusy) {
      let picked: SourceState | undefined;
      for (let k = 0; k < n; k++) {
        const st = this.states[(this.rr + k) % n];
        if ((st.pending || st.queue.length) && st.lease.pool.idleCount() > 0) {
          picked = st;
          this.rr = (this.rr + k + 1) % n;
          break;
        }
      }
      if (!picked) return;
      const st = picked;
      let job: Queued;
      if (st.mode === 'live') {
        job = st.pending!;
        st.pending = null;
      } else {
        job = st.queue.shift()!;
      }
      const order = st.dispatched++;
      st.inFlight++;
      this.busy++;
      const { info, slot, n: arrival } = job;
      st.lease.pool.detect(st.slots, slot, info.width, info.height, st.detect, (r) => {
        this.busy--;
        st.inFlight--;
        st.slots.release(slot);
        this.noteDetectOutcome(st, info.seq, r.error);
        const { keep, labels } = st;
        const detections = keep ? r.detections.filter((d) => keep.has(d.classId)) : r.detections;
        // Renamed in place: each result is the thread's own fresh copy, no need to copy every box again.
        if (labels) for (const d of detections) d.className = labels[d.classId] ?? d.className;
        st.reorder.set(order, { info, n: arrival, detections, detectMs: r.detectMs, detectedAt: Date.now(), ...(r.error ? { detectError: r.error } : {}) });
        this.emitInOrder(st);
        this.checkDone(st);
      });
    }
  }

  /**
   * A failed detection leaves its frame with no detections: logged when a run of failures starts and when it
   * ends (not once per source, which hid a second outage), counted, and timed for /healthz, since a thread
   * that fails on every frame keeps the pool full while nothing is detected.
   */
  private noteDetectOutcome(st: SourceState, seq: number, error: string | undefined): void {
    if (error) {
      st.detectFailures++;
      st.lastDetectError = error;
      if (st.detectFailingSince === null) {
        st.detectFailingSince = Date.now();
        logger.error('detection failed', { source: st.spec.name, seq, error });
      }
    } else if (st.detectFailingSince !== null) {
      st.detectFailingSince = null;
      logger.info('detection working again', { source: st.spec.name, seq, failedFrames: st.detectFailures });
    }
  }

  /**
   * Once a second: a live source whose frames are being dropped (within DROPPING_MS) while it is detected at under the tracker's
   * rate (an overloaded box) gets one warning after `forMs`, and one line when it has been fast enough
   * again for RECOVERED_MS; off a terminal nothing else says so (the status lines are not written there).
   */
  private watchOverload(st: SourceState, now: number): void {
    const { minFps, forMs } = this.opts.overload ?? defaultOverload;
    const fps = st.detected.rate(now);
    if (st.dropped > st.droppedAtTick) st.lastDropAt = now;
    st.droppedAtTick = st.dropped;
    // A clock set back (NTP, by hand) would hold a drop of long ago as recent: a negative age is none.
    const sinceDrop = st.lastDropAt === null ? Infinity : now - st.lastDropAt;
    const dropping = sinceDrop >= 0 && sinceDrop < DROPPING_MS;
    const slow = st.runner.state === 'running' && dropping && fps < minFps;
    if (slow) {
      st.fastSince = null;
      st.slowSince ??= now;
    } else {
      st.slowSince = null;
      st.fastSince ??= now;
    }
    const processedFps = round1(fps);
    if (!st.warnedSlow && st.slowSince !== null && now - st.slowSince >= forMs) {
      st.warnedSlow = true;
      const decodedFps = round1(st.decoded.rate(now));
      logger.warn('source too slow for tracking: most frames dropped', {
        source: st.spec.name,
        processedFps,
        decodedFps,
        forSeconds: Math.round((now - st.slowSince) / 1000),
        needFps: minFps,
        fix: 'fewer cameras or more cores; fpsCap on the other cameras; a smaller model (xnorcam-traffic-320)',
      });
    } else if (st.warnedSlow && st.fastSince !== null && now - st.fastSince >= RECOVERED_MS && st.runner.state === 'running') {
      st.warnedSlow = false;
      logger.info('source fast enough for tracking again', { source: st.spec.name, processedFps });
    }
  }

  private emitInOrder(st: SourceState): void {
    for (;;) {
      const r = st.reorder.get(st.nextEmit);
      if (!r) return;
      st.reorder.delete(st.nextEmit);
      st.nextEmit++;
      const analysed = st.analytics ? st.analytics.update(r.info, r.detections, r.detectError !== undefined) : { tracks: [], events: [] };
      const result: FrameResult = { frame: r.info, detections: r.detections, tracks: analysed.tracks, events: analysed.events, detectedAt: r.detectedAt, detectMs: r.detectMs };
      if (r.detectError) result.detectError = r.detectError;
      st.processed++;
      st.detected.mark(r.detectedAt);
      st.latency.add(r.detectedAt - r.info.capturedAt, r.detectedAt);
      this.emit('result', result);
      this.frameDone(st, r.n);
    }
  }

  private checkDone(st: SourceState): void {
    if (st.done || !st.runnerEnded || st.inFlight > 0 || st.queue.length || st.pending) return;
    st.done = true;
    st.lease.pool.giveBack(st.slots);
    const end = st.runnerEnded;
    const info: SourceEnd = {
      source: st.spec.name,
      state: st.runner.state,
      frames: st.runner.framesDecoded,
      processed: st.processed,
      dropped: st.dropped,
      ...(end.error ? { error: end.error } : {}),
      ...(end.damaged ? { damaged: end.damaged } : {}),
      detectFailures: st.detectFailures,
      ...(st.lastDetectError ? { detectError: st.lastDetectError } : {}),
    };
    // What no later frame will carry: what was told and is still waiting, then vehicles still in a zone
    // leave it with the source.
    this.flushTold(st);
    const tail = st.analytics?.finish() ?? [];
    if (tail.length) this.emit('events', { source: st.spec.name, events: tail } satisfies SourceEvents);
    this.emit('status', this.status(st));
    this.emit('source-end', info);
    if (st.retiring) return this.forget(st);
    if (!this.active().every((s) => s.done)) return;
    if (this.replacing > 0) this.endedWhileReplacing = true;
    else this.markAllDone();
  }

  /** Drops a retired source that has ended, and its hold on its model's threads. */
  private forget(st: SourceState): void {
    this.states.splice(this.states.indexOf(st), 1);
    if (this.byName.get(st.spec.name) === st) this.byName.delete(st.spec.name);
    this.pools.release(st.lease);
    st.retiring?.();
  }

  private markAllDone(): void {
    const resolve = this.resolveFinished;
    // A later addSource() gets a fresh promise.
    this.finishedPromise = new Promise((r) => (this.resolveFinished = r));
    resolve();
    this.emit('done');
  }

  private status(st: SourceState): SourceStatus {
    const now = Date.now();
    const r = st.runner;
    const s: SourceStatus = {
      name: st.spec.name,
      // Shown to every dashboard viewer and API client: a camera's password is not theirs to read.
      url: redactSecrets(st.spec.url),
      state: r.state,
      decodedFps: round1(st.decoded.rate(now)),
      detectedFps: round1(st.detected.rate(now)),
      latencyMs: Math.round(st.latency.quantile(0.5, now)),
      droppedFrames: st.dropped,
      reconnects: r.reconnects,
      ...(r.behindMs !== undefined ? { behindMs: r.behindMs, resyncs: r.resyncs } : {}),
      lastFrameAt: r.lastFrameAt,
      lastFrameAgeMs: ageMs(r.msSinceLastFrame()),
      width: r.width,
      height: r.height,
      model: st.lease.id,
    };
    if (!this.opts.display) s.video = false;
    if (r.streamFps !== undefined) s.streamFps = round1(r.streamFps);
    if (r.lastError) s.lastError = redactSecrets(r.lastError);
    // The watchdog the runner really applies (a file's watchdogSeconds, else the pipeline's or the
    // ingest's default: 4 s for command-line sources), so /healthz judges the source by it too.
    s.watchdogMs = r.stallMs;
    s.startedAt = st.startedAt;
    s.detectorDownSince = st.lease.pool.emptySince;
    s.detectFailures = st.detectFailures;
    s.detectFailingSince = st.detectFailingSince;
    if (st.lastDetectError) s.lastDetectError = st.lastDetectError;
    return s;
  }
}

function countsOf(st: SourceState): SourceCounts | undefined {
  const counts = mergeCounts(st.carried, st.analytics?.counts(), DEFAULT_KEPT_INTERVALS);
  // A source restarted by a reload counts on from its predecessor's start.
  return counts && { ...counts, classes: st.counted, since: st.carried?.since ?? st.startedAt };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** A duration told in whole ms (null stays null). */
function ageMs(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms);
}

/**
 * The one place that decides a source's own threshold: its `thresh:`, else the operating threshold
 * its model's card recommends (a specialised model's, chosen for that camera); undefined when
 * neither is set and the pipeline's `detector.thresh` applies.
 */
function sourceThreshold(cfg: PipelineSource, pool: WorkerPool): { thresh: number; from: 'source' | 'model card' } | undefined {
  if (cfg.thresh !== undefined) return { thresh: cfg.thresh, from: 'source' };
  if (pool.operatingThresh !== undefined) return { thresh: pool.operatingThresh, from: 'model card' };
  return undefined;
}
