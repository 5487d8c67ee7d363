import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { DisplayFrame, PipelineFeed, SourceCounts, SourceOverlay, SourceStatus } from '../../src/core/feed.js';
import type { Box, FrameResult, LineCounts, TrafficEvent } from '../../src/core/types.js';

/**
 * A PipelineFeed for dashboard tests whose ground truth is known exactly: real ffmpeg renders a
 * grey moving test pattern (lavfi testsrc2) with a white rectangle sliding left to right, encodes
 * each frame as a real JPEG, and this class reports that rectangle as the detection and track of
 * the frame. Because the video is pure grey (chroma removed), any saturated pixel on a screenshot
 * is something the dashboard drew.
 */
export interface TestFeedOptions {
  source?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Pixels the rectangle moves per frame. */
  step?: number;
  /** JPEG quality scale for ffmpeg's -q:v (2 = large files, 31 = small). */
  quality?: number;
  /** Delay between a display frame and its result, like a detector's. */
  detectDelayMs?: number;
  intervalMs?: number;
  /** Grey noise on the background: large JPEGs, for tests about bandwidth. */
  noise?: boolean;
  /** The model in the source's status (`name@hash`, as the pipeline reports it). */
  model?: string;
}

export const BOX_W = 80;
export const BOX_H = 50;
export const BOX_Y = 150;
const CLASSES = ['car', 'truck', 'bus'];
// COCO's numbers for them, as a darknet COCO model gives: the page must colour by name, not number.
const CLASS_IDS = [2, 7, 5];

export class TestFeed extends EventEmitter implements PipelineFeed {
  readonly source: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly step: number;
  private ff: ChildProcess | null = null;
  private readonly detectDelayMs: number;
  private readonly quality: number;
  private readonly intervalMs: number;
  private readonly noise: boolean;
  private status: SourceStatus;
  private total: LineCounts = { 'stop-line': { forward: {}, backward: {} } };
  private intervals: { start: number; counts: LineCounts }[] = [];
  private frameTimes: number[] = [];
  /** When the run started the source, as the pipeline reports it (its counts' since). */
  private readonly startedAt = Date.now();
  readonly lineX: number;

  constructor(opts: TestFeedOptions = {}) {
    super();
    this.source = opts.source ?? 'cam1';
    this.width = opts.width ?? 640;
    this.height = opts.height ?? 360;
    this.fps = opts.fps ?? 15;
    this.step = opts.step ?? 8;
    this.quality = opts.quality ?? 5;
    this.detectDelayMs = opts.detectDelayMs ?? 5;
    this.intervalMs = opts.intervalMs ?? 5000;
    this.noise = opts.noise ?? false;
    this.lineX = Math.round(this.width / 2);
    this.status = {
      name: this.source, url: 'lavfi:testsrc2', state: 'starting', decodedFps: 0, detectedFps: 0, latencyMs: 0,
      droppedFrames: 0, reconnects: 0, lastFrameAt: null, width: this.width, height: this.height,
      ...(opts.model ? { model: opts.model } : {}),
    };
  }

  /** The rectangle's box in frame `seq` (what ffmpeg's overlay expression draws). */
  boxAt(seq: number): Box {
    const x = (seq * this.step) % (this.width - BOX_W);
    return [x, BOX_Y, x + BOX_W, BOX_Y + BOX_H];
  }

  /** One pass of the rectangle across the picture is one vehicle. */
  passOf(seq: number): number {
    return Math.floor((seq * this.step) / (this.width - BOX_W));
  }

  start(): this {
    const { width: w, height: h, fps } = this;
    const graph =
      // The background is dimmed (×3/4) so the white rectangle is the only pure white in the picture.
      `testsrc2=s=${w}x${h}:r=${fps},format=gray,lut=c0='val*3/4'${this.noise ? ',noise=alls=60:allf=t' : ''}[bg];color=c=white:s=${BOX_W}x${BOX_H}:r=${fps}[fg];` +
      // x from the frame's time, not overlay's `n` (which runs one frame ahead of the output's index).
      `[bg][fg]overlay=x='mod(round(t*${fps})*${this.step},${w - BOX_W})':y=${BOX_Y}:format=auto,format=gray[out0]`;
    const ff = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', graph,
      '-f', 'image2pipe', '-c:v', 'mjpeg', '-pix_fmt', 'yuvj420p', '-q:v', String(this.quality), 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.ff = ff;
    let pending: Buffer[] = [];
    let seq = 0;
    ff.stdout!.on('data', (chunk: Buffer) => {
      // What a stopped ffmpeg had written still comes: no frames after stop() (a camera down sends none).
      if (this.ff !== ff) return;
      // Frames end with the JPEG EOI marker FF D9 (0xFF inside entropy data is always stuffed).
      let start = 0;
      for (let i = 0; i < chunk.length; i++) {
        const prevFF = i === 0 ? pending.length > 0 && lastByte(pending) === 0xff : chunk[i - 1] === 0xff;
        if (chunk[i] === 0xd9 && prevFF) {
          pending.push(chunk.subarray(start, i + 1));
          this.frame(seq++, Buffer.concat(pending));
          pending = [];
          start = i + 1;
        }
      }
      if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
    });
    ff.stderr!.on('data', (d: Buffer) => process.stderr.write(`[test-feed ffmpeg] ${d}`));
    ff.on('exit', () => this.setState('stopped'));
    return this;
  }

  async stop(): Promise<void> {
    const ff = this.ff;
    this.ff = null;
    if (!ff || ff.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      ff.once('exit', () => resolve());
      ff.kill('SIGKILL');
    });
  }

  /**
   * The camera goes down as a network camera does: no more frames, the source reconnecting, its last frame's time
   * kept. `start()` brings it back. Returns that time.
   */
  async outage(): Promise<number> {
    await this.stop();
    this.setState('reconnecting');
    return this.status.lastFrameAt ?? this.startedAt;
  }

  /** A new model for this source, as when a specialised model is dropped in and reloaded. */
  setModel(model: string): void {
    this.status = { ...this.status, model };
    this.emit('status', this.status);
  }

  /** Detection failing on every frame since `since` (epoch ms), as the pipeline reports it; null: working. */
  setDetectionFailing(since: number | null, error?: string): void {
    this.status = { ...this.status, detectFailingSince: since, ...(error ? { lastDetectError: error } : {}) };
    this.emit('status', this.status);
  }

  private setState(state: SourceStatus['state']): void {
    if (this.status.state === state) return;
    this.status = { ...this.status, state };
    this.emit('status', this.status);
  }

  private frame(seq: number, jpeg: Buffer): void {
    const capturedAt = Date.now();
    this.frameTimes.push(capturedAt);
    if (this.frameTimes.length > 30) this.frameTimes.shift();
    const fps = this.frameTimes.length > 1 ? ((this.frameTimes.length - 1) * 1000) / (capturedAt - this.frameTimes[0]) : 0;
    this.status = { ...this.status, state: 'running', decodedFps: fps, detectedFps: fps, lastFrameAt: capturedAt, latencyMs: this.detectDelayMs };
    const ptsMs = (seq * 1000) / this.fps;
    const d: DisplayFrame = { source: this.source, seq, ptsMs, capturedAt, width: this.width, height: this.height, jpeg };
    this.emit('display', d);
    setTimeout(() => this.emit('result', this.resultFor(seq, ptsMs, capturedAt)), this.detectDelayMs);
  }

  resultFor(seq: number, ptsMs: number, capturedAt: number): FrameResult {
    const box = this.boxAt(seq);
    const pass = this.passOf(seq);
    const cls = pass % CLASSES.length;
    const trackId = pass + 1;
    const events: TrafficEvent[] = [];
    const cx = (box[0] + box[2]) / 2;
    const prevCx = seq > 0 && this.passOf(seq - 1) === pass ? (this.boxAt(seq - 1)[0] + this.boxAt(seq - 1)[2]) / 2 : -1;
    if (prevCx >= 0 && prevCx < this.lineX && cx >= this.lineX) {
      const at = Date.now();
      events.push({ type: 'line-crossing', source: this.source, ptsMs, at, line: 'stop-line', direction: 'forward', trackId, className: CLASSES[cls] });
      this.count(CLASSES[cls], at);
    }
    const detectedAt = Date.now();
    return {
      frame: { source: this.source, seq, ptsMs, capturedAt, width: this.width, height: this.height },
      detections: [{ classId: CLASS_IDS[cls], className: CLASSES[cls], score: 0.9, box }],
      tracks: [{ id: trackId, classId: CLASS_IDS[cls], className: CLASSES[cls], score: 0.9, box, velocity: [this.step * this.fps, 0], confirmed: true, ageMs: 0 }],
      events,
      detectedAt,
      detectMs: this.detectDelayMs,
    };
  }

  private count(cls: string, at: number): void {
    const start = at - (at % this.intervalMs);
    let iv = this.intervals[this.intervals.length - 1];
    if (!iv || iv.start !== start) {
      iv = { start, counts: { 'stop-line': { forward: {}, backward: {} } } };
      this.intervals.push(iv);
      if (this.intervals.length > 60) this.intervals.shift();
    }
    for (const c of [this.total, iv.counts]) c['stop-line'].forward[cls] = (c['stop-line'].forward[cls] ?? 0) + 1;
  }

  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  sources(): SourceStatus[] {
    return [this.status];
  }

  overlay(source: string): SourceOverlay {
    if (source !== this.source) return { lines: [], zones: [] };
    return {
      lines: [{ name: 'stop-line', points: [[this.lineX, this.height - 10], [this.lineX, 10]] }],
      zones: [{ name: 'lot', polygon: [[20, 250], [200, 250], [200, 340], [20, 340]] }],
    };
  }

  counts(source: string): SourceCounts | undefined {
    if (source !== this.source) return undefined;
    return { source, intervalMs: this.intervalMs, total: structuredClone(this.total), intervals: structuredClone(this.intervals), since: this.startedAt };
  }
}

function lastByte(bufs: Buffer[]): number {
  const b = bufs[bufs.length - 1];
  return b[b.length - 1];
}

/** Several TestFeeds as one pipeline with many cameras. */
export class MultiFeed extends EventEmitter implements PipelineFeed {
  constructor(readonly feeds: TestFeed[]) {
    super();
    for (const f of feeds) for (const ev of ['display', 'result', 'status'] as const) f.on(ev, (x: unknown) => this.emit(ev, x));
  }

  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  sources(): SourceStatus[] {
    return this.feeds.flatMap((f) => f.sources());
  }

  overlay(source: string): SourceOverlay {
    return this.feeds.find((f) => f.source === source)?.overlay(source) ?? { lines: [], zones: [] };
  }

  counts(source: string): SourceCounts | undefined {
    return this.feeds.find((f) => f.source === source)?.counts(source);
  }
}
