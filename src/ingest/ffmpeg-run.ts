import { redactSecrets } from '../core/redact.js';
import { monoNow } from '../core/clock.js';
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { ffmpegBinary } from './ffmpeg-binary.js';
import type { FrameSlots } from './frame-slots.js';
import type { SourceSpec } from './source-spec.js';
import { JpegSplitter } from './jpeg-splitter.js';
import { InputSizeReader, streamFps } from './input-size.js';
import { showinfoConfig, showinfoFrame, showinfoSeconds } from './showinfo.js';
import { DeclaredDuration, riffShortfall, shortOfDuration } from './truncation.js';

export interface FfmpegRunOptions {
  spec: SourceSpec;
  /** Model input size: ffmpeg resizes (stretch) to this and converts to rgb24. */
  width: number;
  height: number;
  slots: FrameSlots;
  /** Read a file or test source at its native rate (`-re`), as a camera would deliver it. */
  realtime?: boolean;
  /** Loop a file forever (`-stream_loop -1`); ffmpeg keeps timestamps increasing. */
  loop?: boolean;
  /** Second output: MJPEG at this width for the dashboard. */
  display?: { width: number; quality?: number };
  /** Decode at most this many frames per second. */
  fpsCap?: number;
}

export interface FfmpegRunEnd {
  /** Set when ffmpeg failed (not when we stopped it). */
  error?: string;
  /** Decoder/demuxer complaints seen on stderr: a truncated or corrupt input. */
  damaged?: string;
  frames: number;
  stopped: boolean;
}

// "File ended prematurely": Matroska and WebM cut short (the decoder, given whole frames up to the cut, says nothing).
const damageRe = /partial file|invalid data found|error while decoding|corrupt|truncat|missing picture|concealing|moov atom not found|invalid nal|no frame!|ended prematurely/i;
/** The input's start time in its header (`  Duration: 00:00:08.15, start: 1.420289, bitrate: …`): ffprobe's format start_time. */
const startRe = /^\s*Duration: .*?, start: (-?\d+(?:\.\d+)?)/;
const errorRe = /error|invalid|no such|refused|not found|denied|unauthori[sz]ed|timed out|timeout|unreachable|failed|cannot|could not|404|401|403|end of file/i;

/**
 * One ffmpeg process decoding one source into model-size rgb24 frames. Each frame is copied once, chunk
 * by chunk, from ffmpeg's stdout into a preallocated shared slot; its presentation time comes from
 * `showinfo` on stderr, paired with frames by order (every frame passes the filter once: passthrough sync).
 *
 * Events: 'size' (w, h) source size; 'frame' (slot, ptsMs, capturedAt, arrivedMono: monoNow() as it came);
 * 'display' (jpeg Buffer, index);
 * 'end' (FfmpegRunEnd) exactly once.
 */
export class FfmpegRun extends EventEmitter {
  readonly frameBytes: number;
  private command?: ffmpeg.FfmpegCommand;
  private stream?: Readable;
  private displayServer?: Server;
  private displaySocket?: Socket;
  private slot = -1;
  private filled = 0;
  private stash?: Buffer;
  /** Frames complete but waiting for their showinfo line (stderr can lag stdout). */
  private readonly waitingSlots: { slot: number; capturedAt: number; arrivedMono: number }[] = [];
  private readonly ptsQueue: number[] = [];
  /** showinfo's input time base (numerator, denominator), once it has said it. */
  private timeBase: [number, number] | undefined;
  /** The last frame time given, the step to it, and how many were given: to date a frame showinfo has none for. */
  private lastPtsMs = 0;
  private lastStepMs = 0;
  private ptsCount = 0;
  /** A recording's own clock (-copyts) less its start time from ffmpeg's header, where that is ptsMs's origin. */
  private readonly fileClock: boolean;
  private startSec: number | undefined;
  /** The duration the recording's header declares for its video. */
  private readonly declared = new DeclaredDuration();
  private frames = 0;
  private sourceSize?: [number, number];
  /** The input stream's own frame rate, as ffmpeg's header declares it (before any fpsCap); undefined if it says none. */
  streamFps?: number;
  private headerDone = false;
  private readonly sizeReader = new InputSizeReader();
  private lastLines: string[] = [];
  private damage?: string;
  private stopped = false;
  private ended = false;
  private ffmpegDone = false;
  private stdoutDone = false;
  private ffmpegError?: string;

  constructor(private readonly opts: FfmpegRunOptions) {
    super();
    this.frameBytes = opts.width * opts.height * 3;
    if (opts.slots.frameBytes !== this.frameBytes) throw new Error('frame slot size does not match the model input');
    // A recording read through once (batch). ffmpeg shifts each input to start at 0, but for MPEG-TS (formats that
    // allow timestamp discontinuities) from the earliest stream it reads, the video alone, not the file's start:
    // a TS cut whose audio starts 46 ms before its video had its first frame at 0, where ffprobe's pts_time less
    // the file's start_time (the documented ptsMs, as for an MP4) gives 46.4. The file's own times, less its start.
    this.fileClock = !opts.realtime && !opts.loop && (opts.spec.kind === 'file' || opts.spec.kind === 'http');
  }

  /** True while reading is paused because every frame slot is taken (batch backpressure). */
  get backpressured(): boolean {
    return this.stash !== undefined;
  }

  get size(): [number, number] | undefined {
    return this.sourceSize;
  }

  async start(): Promise<void> {
    const { spec, width, height, display } = this.opts;
    const bin = ffmpegBinary();
    const showinfo = bin.major === 0 || bin.major >= 5 ? 'showinfo=checksum=0' : 'showinfo';
    const cap = this.opts.fpsCap ? capFilter(this.opts.fpsCap) : '';
    const model = `scale=${width}:${height}:flags=bilinear,format=rgb24,${showinfo}`;
    let displayUrl: string | undefined;
    if (display) displayUrl = await this.listenForDisplay();
    // The display picture in square pixels: a camera with non-square ones (an anamorphic 960×720 at SAR 4:3,
    // an analogue 704×576 encoder) is shown at its true shape (16:9), not squashed to its stored one. The
    // page scales boxes from source pixels to the JPEG's size on each axis, so they stay on the vehicles.
    const dw = display?.width ?? 0;
    // The display frames are renumbered 0, 1, 2…: the MJPEG encoder refuses a timestamp that goes back (an
    // RTSP server that restamps when a second client joins), which stopped ffmpeg and took the camera
    // down. Only their order matters here: each JPEG is paired with its raw twin by count, not by time.
    const graph = displayUrl
      ? `[0:v:0]${cap}split=2[a][b];[a]${model}[m];[b]setpts=N/TB,scale=${dw}:trunc(${dw}*ih/(iw*sar)/2)*2:flags=bilinear,setsar=1,format=yuvj420p[d]`
      : `[0:v:0]${cap}${model}[m]`;

    const cmd = ffmpeg()
      .setFfmpegPath(bin.path)
      .input(spec.input)
      .inputOptions([
        '-hide_banner',
        '-nostdin',
        '-nostats',
        ...(this.opts.realtime && spec.kind !== 'rtsp' && spec.kind !== 'v4l2' ? ['-re'] : []),
        ...(this.opts.loop && spec.kind === 'file' ? ['-stream_loop', '-1'] : []),
        ...(this.fileClock ? ['-copyts'] : []),
        ...spec.inputOptions,
      ])
      .complexFilter(graph);
    // fluent-ffmpeg applies outputOptions to the output added last, so add each output with its options.
    const out = new PassThrough({ highWaterMark: this.frameBytes });
    cmd.output(out).outputOptions(['-map', '[m]', ...bin.passthroughArgs, '-f', 'rawvideo', '-pix_fmt', 'rgb24']);
    if (displayUrl) {
      cmd.output(displayUrl).outputOptions(['-map', '[d]', ...bin.passthroughArgs, '-c:v', 'mjpeg', '-q:v', String(display!.quality ?? 7), '-f', 'mjpeg']);
    }
    cmd.on('stderr', (line: string) => this.onStderr(line));
    // fluent-ffmpeg spawns ffmpeg a few event-loop turns after run(): a stop() in between found no
    // process to kill, and the ffmpeg started later ran on forever (keeping xnorcam from exiting).
    cmd.on('start', () => {
      if (this.stopped) killQuietly(cmd);
    });
    cmd.on('error', (err: Error) => {
      // fluent-ffmpeg reports 'Output stream closed' when our stdout stream closes before ffmpeg's exit is
      // seen (a race under load); everything was delivered by then, so it is not a failure. Unless nothing
      // was, and ffmpeg said why: a file that is no video read as an empty recording.
      const saidWhy = this.frames === 0 && this.waitingSlots.length === 0 && this.lastLines.length > 0;
      const benign = this.stdoutDone && /Output stream closed/.test(err.message) && !saidWhy;
      if (!this.stopped && !benign) this.ffmpegError = this.describeFailure(err);
      this.ffmpegDone = true;
      this.maybeEnd();
    });
    cmd.on('end', () => {
      this.ffmpegDone = true;
      this.maybeEnd();
    });
    this.command = cmd;
    this.stream = out;
    cmd.run();
    out.on('data', (chunk: Buffer) => this.onData(chunk));
    out.on('end', () => {
      this.stdoutDone = true;
      this.maybeEnd();
    });
    out.on('error', () => {
      this.stdoutDone = true;
      this.maybeEnd();
    });
  }

  /** Kill ffmpeg now; 'end' follows with stopped=true. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.command) killQuietly(this.command);
    this.stdoutDone = true;
    this.ffmpegDone = true;
    this.maybeEnd();
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    let offset = 0;
    const { slots } = this.opts;
    while (offset < chunk.length) {
      if (this.slot < 0) {
        this.slot = slots.acquire();
        if (this.slot < 0) {
          // No free slot: hold the rest of this chunk (a reference, not a copy) and stop reading.
          this.stash = offset ? chunk.subarray(offset) : chunk;
          this.stream!.pause();
          slots.onNextRelease(() => this.resume());
          return;
        }
      }
      const n = Math.min(this.frameBytes - this.filled, chunk.length - offset);
      slots.view(this.slot).set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        this.waitingSlots.push({ slot: this.slot, capturedAt: Date.now(), arrivedMono: monoNow() });
        this.slot = -1;
        this.filled = 0;
        this.flushFrames();
      }
    }
  }

  private resume(): void {
    if (this.stopped) return;
    const s = this.stash;
    this.stash = undefined;
    if (s) this.onData(s);
    if (!this.stash && this.stream?.isPaused()) this.stream.resume();
    // stdout may have ended while we held its last chunk: finish now that it is consumed.
    if (!this.stash) this.maybeEnd();
  }

  private onStderr(line: string): void {
    const f = showinfoFrame(line);
    if (f) {
      const raw = showinfoSeconds(f, this.timeBase);
      const seconds = raw !== undefined && this.fileClock ? raw - (this.startSec ?? 0) : raw;
      // A frame without a timestamp still has its line (frames and lines pair by order): dated a step after
      // the one before, rather than leaving every later frame paired with its predecessor's time.
      const ms = seconds !== undefined ? Math.round(seconds * 1e6) / 1e3 : this.lastPtsMs + this.lastStepMs;
      if (this.ptsCount++) this.lastStepMs = ms - this.lastPtsMs;
      this.lastPtsMs = ms;
      this.ptsQueue.push(ms);
      this.flushFrames();
      return;
    }
    const start = this.fileClock && this.startSec === undefined ? startRe.exec(line) : null;
    if (start) this.startSec = Number(start[1]);
    if (this.fileClock && !this.headerDone) this.declared.line(line);
    const config = showinfoConfig(line);
    if (config) {
      this.timeBase = config.timeBase;
      return;
    }
    if (line.includes('Parsed_showinfo')) return;
    if (!this.headerDone) {
      // Output streams are declared after 'Output #' at the rate they are written: not the camera's.
      if (line.startsWith('Output #')) this.headerDone = true;
      else this.streamFps ??= streamFps(line);
    }
    if (!this.sourceSize) {
      const size = this.sizeReader.line(line);
      if (size) {
        this.sourceSize = size;
        this.emit('size', size[0], size[1]);
        this.flushFrames();
        return;
      }
    }
    this.damage ??= damageIn(line, this.opts.spec.input);
    if (errorRe.test(line)) {
      this.lastLines.push(line.trim());
      if (this.lastLines.length > 5) this.lastLines.shift();
    }
  }

  private flushFrames(): void {
    if (!this.sourceSize) {
      // ffmpeg always prints the input stream before frames flow; if its format ever defeats the
      // parser, do not hold frames forever: boxes then come back in model pixels.
      if (this.waitingSlots.length < 3 || !this.ptsQueue.length) return;
      this.sourceSize = this.sizeReader.sofar ?? [this.opts.width, this.opts.height];
      this.emit('size', this.sourceSize[0], this.sourceSize[1]);
    }
    while (this.waitingSlots.length && this.ptsQueue.length) {
      const f = this.waitingSlots.shift()!;
      const pts = this.ptsQueue.shift()!;
      this.frames++;
      this.emit('frame', f.slot, pts, f.capturedAt, f.arrivedMono);
    }
  }

  private describeFailure(err: Error): string {
    const useful = this.lastLines.filter((l) => !/^(Input|Output|Stream|Press|\s)/.test(l) && !l.includes('Conversion failed'));
    let last = useful.pop() ?? err.message.split('\n')[0];
    // ffmpeg's last word on an unreachable camera is often a bare "Input/output error"; the line before
    // it said why ("Failed to resolve hostname camera-7: Name or service not known").
    if (/: Input\/output error$/.test(last)) last = useful.pop() ?? last;
    // Into logs, events and every dashboard viewer's screen: the camera's password stays out.
    return redactSecrets(last.replace(/^\[[^\]]*\]\s*/, '').replace(/^.*?: /, (p) => (p.includes('://') || p.startsWith('/') ? '' : p)).trim());
  }

  private maybeEnd(): void {
    if (this.ended || !(this.ffmpegDone && this.stdoutDone)) return;
    // Data still held back by backpressure belongs to frames that must not be lost.
    if (this.stash && !this.stopped) return;
    if (!this.stopped) this.flushFrames();
    this.ended = true;
    // Frames that never got a timestamp (only if ffmpeg died mid-frame): give their slots back.
    for (const f of this.waitingSlots.splice(0)) this.opts.slots.release(f.slot);
    if (this.slot >= 0) {
      this.opts.slots.release(this.slot);
      this.slot = -1;
    }
    this.displaySocket?.destroy();
    this.displayServer?.close();
    if (!this.stopped && !this.ffmpegError) this.damage ??= this.cutShort();
    const end: FfmpegRunEnd = { frames: this.frames, stopped: this.stopped };
    if (this.ffmpegError) end.error = this.ffmpegError;
    if (this.damage) end.damaged = this.damage;
    this.emit('end', end);
  }

  /**
   * A recording read through once that ended short of what its container declares, though ffmpeg said nothing
   * (truncation.ts): decoding stopped well before its duration, or (AVI) its RIFF header claims bytes past the
   * end of the file. Undefined for a whole one, and for cameras, streams, loops and replays at their own pace.
   */
  private cutShort(): string | undefined {
    if (!this.fileClock || !this.ptsCount) return undefined;
    const declaredSec = this.declared.seconds;
    const short = declaredSec !== undefined ? shortOfDuration(this.lastPtsMs / 1000, declaredSec) : undefined;
    return short ?? (this.opts.spec.kind === 'file' ? riffShortfall(this.opts.spec.input) : undefined);
  }

  /** ffmpeg connects to us for the MJPEG output (fluent-ffmpeg offers no extra pipes). */
  private listenForDisplay(): Promise<string> {
    const splitter = new JpegSplitter((jpeg, index) => this.emit('display', jpeg, index));
    const server = createServer((sock) => {
      this.displaySocket?.destroy();
      this.displaySocket = sock;
      sock.on('data', (d) => splitter.push(d));
      sock.on('error', () => undefined);
    });
    this.displayServer = server;
    return new Promise((resolveUrl, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const addr = server.address();
        if (!addr || typeof addr === 'string') return reject(new Error('display socket has no port'));
        resolveUrl(`tcp://127.0.0.1:${addr.port}`);
      });
    });
  }
}

/**
 * The decoder's or demuxer's complaint in a stderr line, without its `[h264 @ 0x…]` prefix, or undefined. The
 * lines describing the input (`Input #0, mov… from '<path>':`, its metadata and streams, indented) echo its path
 * and tags, and the path can also begin a diagnostic (`<path>: Invalid data found…`): matched without it, so a
 * healthy `truncated-feed.mp4` or `recovered (corrupt drive)/cam1.mp4` is not reported as damaged.
 */
function damageIn(line: string, input: string): string | undefined {
  if (/^(\s|Input #|Output #)/.test(line)) return undefined;
  const own = line.split(input).join('');
  if (!damageRe.test(own)) return undefined;
  return line
    .replace(/^\[[^\]]*\]\s*/, '')
    .replace(`${input}: `, '')
    .trim();
}

function killQuietly(cmd: ffmpeg.FfmpegCommand): void {
  try {
    cmd.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * At most `fps` frames a second, each with its own time: the first frame of each 1/fps period is kept and the
 * rest dropped. Not ffmpeg's `fps` filter, which makes a constant rate: it repeats frames to fill a variable-rate
 * file's gaps and moves every frame to its grid (a 10 fps cap put 709 of 732 frames of a real variable-rate clip
 * at times that were no frame of it, up to 341 ms off, and repeated pictures under new times).
 */
function capFilter(fps: number): string {
  return `select=isnan(prev_selected_t)+gt(floor(t*${fps})\\,floor(prev_selected_t*${fps})),`;
}
