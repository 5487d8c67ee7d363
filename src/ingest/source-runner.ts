import { EventEmitter } from 'node:events';
import { monoNow } from '../core/clock.js';
import { logger } from '../core/log.js';
import type { FrameInfo } from '../core/types.js';
import { FfmpegRun, type FfmpegRunEnd } from './ffmpeg-run.js';
import type { FrameSlots } from './frame-slots.js';
import type { SourceSpec } from './source-spec.js';

export type RunnerState = 'starting' | 'running' | 'reconnecting' | 'stopped' | 'failed' | 'finished';

export interface ReconnectPolicy {
  /** No new frame for this long while running → ffmpeg is considered hung and restarted. */
  stallMs: number;
  /** No first frame this long after (re)starting ffmpeg → restart (never less than stallMs). */
  startMs: number;
  /** Backoff between attempts: doubles from min up to max, reset by a frame. */
  backoffMinMs: number;
  backoffMaxMs: number;
  /**
   * A live network source this far behind its camera is restarted to catch up (see trackBehind): decoding
   * slower than the camera sends backs its stream up in socket buffers, where no frame can be dropped.
   */
  maxBehindMs: number;
}

export const defaultReconnectPolicy: ReconnectPolicy = { stallMs: 4000, startMs: 10_000, backoffMinMs: 250, backoffMaxMs: 1000, maxBehindMs: 5000 };

/** Resyncs of one source at most this often: a restart costs its first keyframe, and is no cure for an overloaded box. */
const RESYNC_MIN_INTERVAL_MS = 15_000;

export interface SourceRunnerOptions {
  spec: SourceSpec;
  width: number;
  height: number;
  slots: FrameSlots;
  /** Reconnect forever (live cameras, or a looping file played live). */
  reconnect: boolean;
  realtime: boolean;
  loop: boolean;
  display?: { width: number; quality?: number };
  fpsCap?: number;
  policy?: Partial<ReconnectPolicy>;
}

/**
 * Keeps one source producing frames: runs ffmpeg, numbers the frames (seq keeps counting and ptsMs keeps
 * increasing across reconnects), and for live sources restarts ffmpeg with capped exponential backoff
 * whenever it exits or a watchdog sees no frame progress. ffmpeg's RTSP client can stay connected and
 * deliver nothing, so only frame progress is trusted, never process liveness.
 *
 * Events: 'frame' (slot, FrameInfo), 'display' (jpeg, FrameInfo), 'state' (RunnerState, reason?),
 * 'end' (FfmpegRunEnd of the last run) once when the source is finished, failed or stopped.
 */
export class SourceRunner extends EventEmitter {
  state: RunnerState = 'starting';
  reconnects = 0;
  lastError?: string;
  /** When the last frame arrived, by the wall clock (shown); how long ago is msSinceLastFrame's. */
  lastFrameAt: number | null = null;
  /** How far behind the camera this source is, ms; undefined where not measured (files, devices, batch). */
  behindMs: number | undefined;
  /** The camera's own frame rate, as its stream declares it (the last ffmpeg run's); undefined if unknown. */
  get streamFps(): number | undefined {
    return this.run?.streamFps ?? this.lastStreamFps;
  }
  private lastStreamFps?: number;
  /** Times ffmpeg was restarted to catch up with the camera (not outages: no reconnect, no source-down). */
  resyncs = 0;
  width = 0;
  height = 0;
  private seq = 0;
  private run?: FfmpegRun;
  private runFirstSeq = 0;
  private runFrames = 0;
  private ptsOffset = 0;
  private lastPts = -Infinity;
  private frameIntervalMs = 40;
  private backoffMs: number;
  private watchdog?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  /** On the monotonic clock, as every duration here: a step of the wall clock is no outage, nor a backlog. */
  private lastFrameOrStart = 0;
  private lastFrameMono: number | null = null;
  private readonly policy: ReconnectPolicy;
  /** Recent frame infos, to give display images the identity of their raw twin. */
  private readonly recent: (FrameInfo | undefined)[] = new Array(64);
  private readonly pendingDisplay = new Map<number, Buffer>();
  private readonly lag = new CameraLag();
  private lastResyncAt = -Infinity;
  private resyncing = false;
  private warnedBehind = false;

  constructor(private readonly opts: SourceRunnerOptions) {
    super();
    if (measuresBehind(opts)) this.behindMs = 0;
    const policy = { ...defaultReconnectPolicy, ...opts.policy };
    // A source is never given less time for its first frame than between frames: a pipeline file's
    // watchdogSeconds of 60 (a long GOP, a slow link) must not be cut short by the 10 s start limit.
    this.policy = { ...policy, startMs: Math.max(policy.startMs, policy.stallMs) };
    this.backoffMs = this.policy.backoffMinMs;
  }

  /** How long since the last frame arrived, ms (monotonic: a step of the clock is no outage); null before the first. */
  msSinceLastFrame(): number | null {
    return this.lastFrameMono === null ? null : monoNow() - this.lastFrameMono;
  }

  /** Frames decoded from this source so far (all runs). */
  get framesDecoded(): number {
    return this.seq;
  }

  get spec(): SourceSpec {
    return this.opts.spec;
  }

  /** The frame watchdog in force, ms: how long a running source may deliver nothing before it is restarted. */
  get stallMs(): number {
    return this.policy.stallMs;
  }

  start(): void {
    void this.startRun();
  }

  /** Stop for good; 'end' follows. */
  stop(): void {
    if (this.ended) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.clearWatchdog();
    if (this.run) this.run.stop();
    else this.finish('stopped', { frames: 0, stopped: true });
  }

  private async startRun(): Promise<void> {
    if (this.stopping) return;
    const { spec, width, height, slots, realtime, loop, display, fpsCap } = this.opts;
    const run = new FfmpegRun({ spec, width, height, slots, realtime, loop, display, fpsCap });
    this.run = run;
    this.runFirstSeq = this.seq;
    this.runFrames = 0;
    if (this.behindMs !== undefined) this.behindMs = 0;
    this.pendingDisplay.clear();
    run.on('size', (w: number, h: number) => {
      if (this.width && (w !== this.width || h !== this.height)) logger.warn('source size changed', { source: spec.name, from: `${this.width}x${this.height}`, to: `${w}x${h}` });
      this.width = w;
      this.height = h;
    });
    run.on('frame', (slot: number, pts: number, capturedAt: number, arrivedMono: number) => this.onFrame(slot, pts, capturedAt, arrivedMono));
    if (display) run.on('display', (jpeg: Buffer, index: number) => this.onDisplay(jpeg, index));
    run.on('end', (end: FfmpegRunEnd) => this.onRunEnd(run, end));
    this.lastFrameOrStart = monoNow();
    this.armWatchdog();
    try {
      await run.start();
    } catch (e) {
      this.onRunEnd(run, { frames: 0, stopped: false, error: (e as Error).message });
    }
  }

  private onFrame(slot: number, rawPts: number, capturedAt: number, arrivedMono: number): void {
    if (this.runFrames === 1 && this.opts.spec.kind === 'rtsp' && mediaMs(rawPts, this.ptsOffset) <= this.lastPts) {
      // ffmpeg dates the frames it read while probing an RTSP stream before the camera's clock is synced: the
      // next ones can repeat the first's time (0, 0, 66.7 … ms). Such a frame has no time of its own, and a
      // tracker needs time to move on: it is left out (only at a connect, so a coarse clock's pairs stay).
      this.opts.slots.release(slot);
      return;
    }
    if (this.behindMs !== undefined) this.trackBehind(rawPts, arrivedMono);
    if (this.runFrames === 0) {
      // A new run restarts the stream's clock: shift it so ptsMs keeps increasing for trackers, and, for a live
      // source, by the time it was away: a camera down for 40 s is 40 s later in its own time too, not one frame.
      if (this.lastPts > -Infinity && rawPts + this.ptsOffset <= this.lastPts) {
        const away = this.opts.realtime && this.lastFrameMono !== null ? arrivedMono - this.lastFrameMono : 0;
        this.ptsOffset = this.lastPts + Math.max(this.frameIntervalMs, away) - rawPts;
      }
      if (this.state !== 'running') {
        if (this.state === 'reconnecting') logger.info('source reconnected', { source: this.opts.spec.name, reconnects: this.reconnects });
        // lastError says why the source is down; frames again mean it is not, and a stale reason
        // would read as a current fault (status, tooltips, the final stats line). The outage stays
        // on record in the log and the source-down event.
        this.lastError = undefined;
        this.setState('running');
      }
    }
    const ptsMs = mediaMs(rawPts, this.ptsOffset);
    if (this.lastPts > -Infinity && ptsMs > this.lastPts) this.frameIntervalMs = 0.9 * this.frameIntervalMs + 0.1 * Math.min(1000, ptsMs - this.lastPts);
    this.lastPts = Math.max(this.lastPts, ptsMs);
    this.runFrames++;
    this.lastFrameAt = capturedAt;
    this.lastFrameMono = arrivedMono;
    this.lastFrameOrStart = arrivedMono;
    this.backoffMs = this.policy.backoffMinMs;
    const info: FrameInfo = { source: this.opts.spec.name, seq: this.seq++, ptsMs, capturedAt, width: this.width, height: this.height };
    this.recent[info.seq % this.recent.length] = info;
    const jpeg = this.pendingDisplay.get(info.seq);
    if (jpeg) {
      this.pendingDisplay.delete(info.seq);
      this.emit('display', jpeg, info);
    }
    this.emit('frame', slot, info);
    if (this.behindMs !== undefined && this.behindMs > this.policy.maxBehindMs) this.resync();
  }

  /** How far behind the camera (CameraLag), by when frames arrived on the monotonic clock; a new ffmpeg run starts its reference afresh. */
  private trackBehind(rawPts: number, arrivedMono: number): void {
    if (this.runFrames === 0) this.lag.restart();
    this.behindMs = this.lag.observe(rawPts, arrivedMono);
  }

  /** Restart ffmpeg to drop the backlog queued ahead of it (at most every RESYNC_MIN_INTERVAL_MS). */
  private resync(): void {
    const now = monoNow();
    if (!this.run || this.resyncing || now - this.lastResyncAt < RESYNC_MIN_INTERVAL_MS) return;
    const source = this.opts.spec.name;
    const behindSeconds = Math.round(this.behindMs! / 100) / 10;
    if (!this.warnedBehind) {
      this.warnedBehind = true;
      logger.warn('source falling behind the camera: frames come slower than the camera dates them (decoding too slow here, or a slow link or camera)', {
        source,
        behindSeconds,
        fix: "if decoding is too slow here: lower this camera's resolution or frame rate at the camera (fpsCap does not reduce decoding), run fewer cameras, or give xnorcam more cores; if the camera or its link is slow (xnorcam's CPU idle): check the network and the camera",
      });
    }
    this.lastResyncAt = now;
    this.resyncs++;
    logger.info('source resync: restarting ffmpeg to catch up with the camera', { source, behindSeconds, resyncs: this.resyncs });
    this.resyncing = true;
    this.run.stop();
  }

  private onDisplay(jpeg: Buffer, index: number): void {
    const seq = this.runFirstSeq + index;
    const info = this.recent[seq % this.recent.length];
    if (info && info.seq === seq) this.emit('display', jpeg, info);
    else if (seq >= this.seq && this.pendingDisplay.size < 8) this.pendingDisplay.set(seq, jpeg);
  }

  private armWatchdog(): void {
    this.clearWatchdog();
    this.watchdog = setInterval(() => {
      const limit = this.runFrames === 0 ? this.policy.startMs : this.policy.stallMs;
      // Waiting on our own consumers (batch backpressure) is not a stall of the source.
      if (this.run?.backpressured) this.lastFrameOrStart = monoNow();
      if (monoNow() - this.lastFrameOrStart > limit && this.run) {
        // A camera's first frame waits for its next keyframe: one that sends them rarely needs a longer watchdog.
        const why = this.runFrames === 0 ? `no frame within ${limit} ms of starting (keyframes further apart than that? raise watchdogSeconds)` : `no frame for ${limit} ms`;
        logger.warn('source stalled, restarting ffmpeg', { source: this.opts.spec.name, reason: why });
        this.lastError = why;
        this.stalled = true;
        this.run.stop();
      }
    }, 250);
    this.watchdog.unref();
  }

  private stalled = false;

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private onRunEnd(run: FfmpegRun, end: FfmpegRunEnd): void {
    if (run !== this.run) return;
    this.lastStreamFps = run.streamFps ?? this.lastStreamFps;
    this.run = undefined;
    this.clearWatchdog();
    const stalled = this.stalled;
    this.stalled = false;
    if (this.stopping) return this.finish('stopped', end);
    if (this.resyncing) {
      // Not an outage: the camera is fine, so no reconnect, no source-down, no backoff.
      this.resyncing = false;
      this.retryTimer = setTimeout(() => void this.startRun(), 0);
      return;
    }
    if (end.error) this.lastError = end.error;
    if (stalled && !end.error) end = { ...end, error: this.lastError };
    if (!this.opts.reconnect) {
      if (stalled) return this.finish('failed', end);
      if (end.error && end.frames === 0) return this.finish('failed', end);
      return this.finish('finished', end);
    }
    // Live: whatever happened (EOF, error, hang), try again after a pause that grows while failing.
    const reason = stalled ? this.lastError! : (end.error ?? 'stream ended');
    if (this.state !== 'reconnecting') {
      logger.warn('source down, reconnecting', { source: this.opts.spec.name, reason, frames: end.frames });
      this.setState('reconnecting', reason);
    } else {
      logger.debug('reconnect attempt failed', { source: this.opts.spec.name, reason, nextInMs: this.backoffMs });
    }
    this.reconnects++;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.policy.backoffMaxMs, this.backoffMs * 2);
    this.retryTimer = setTimeout(() => void this.startRun(), wait);
  }

  private ended = false;

  private finish(state: 'stopped' | 'failed' | 'finished', end: FfmpegRunEnd): void {
    if (this.ended) return;
    this.ended = true;
    this.setState(state, end.error);
    this.emit('end', end);
  }

  private setState(state: RunnerState, reason?: string): void {
    this.state = state;
    this.emit('state', state, reason);
  }
}

/** A frame's time on the runner's clock, to the microsecond (as it is compared and told). */
function mediaMs(rawPts: number, offset: number): number {
  return Math.round((rawPts + offset) * 1000) / 1000;
}

/** Live network sources only: a file or device is not queued up in a socket, and batch wants every frame. */
function measuresBehind(opts: SourceRunnerOptions): boolean {
  return opts.realtime && opts.reconnect && (opts.spec.kind === 'rtsp' || opts.spec.kind === 'http');
}

/**
 * How far behind its camera a live stream is: the growth of (arrival − camera time) over its least value, so
 * frames that arrive in a burst after a connect are not "ahead", and a camera that skips forward just sets a
 * new reference. Its clock going back (a camera restart, a pts discontinuity) starts the reference afresh.
 * The least value creeps up by DRIFT_ALLOWANCE of the time passed: a camera clock a few hundred ppm slower than
 * this machine's (cheap crystals drift 50–100 ppm) would otherwise read as a backlog growing forever, and be
 * "resynced" daily with a warning that decoding is too slow, where a real backlog grows 5 % of the time or faster.
 */
export class CameraLag {
  private floor = Infinity;
  private lastPts = -Infinity;
  private lastArrival = -Infinity;

  restart(): void {
    this.floor = Infinity;
    this.lastPts = -Infinity;
  }

  /** The lag after this frame, ms. */
  observe(pts: number, arrival: number): number {
    if (pts < this.lastPts) this.floor = Infinity;
    const lag = arrival - pts;
    const passed = Number.isFinite(this.lastArrival) ? Math.max(0, arrival - this.lastArrival) : 0;
    this.floor = Math.min(this.floor + passed * DRIFT_ALLOWANCE, lag);
    this.lastPts = pts;
    this.lastArrival = arrival;
    return Math.round(lag - this.floor);
  }
}

/** 1,000 ppm: ten times the drift of a cheap camera clock, a fiftieth of the slowest backlog worth a resync. */
const DRIFT_ALLOWANCE = 0.001;
