import { spawn } from 'node:child_process';
import { closeSync, createReadStream, renameSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openOutputFile } from '../core/open-output.js';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import { TRAFFIC_CLASSES } from '../core/traffic-classes.js';
import { drawText, textWidth } from '../core/font5x7.js';
import { showinfoConfig, showinfoFrame } from '../ingest/showinfo.js';

type Rgb = [number, number, number];

/**
 * Class colours by class name (car, truck, bus, motorcycle, bicycle, person): the dashboard's
 * (web/src/colors.ts, docs/dashboard.md), so a box has the same colour in both; a test holds them equal.
 * By name, not class number: a COCO model numbers car 2 and bus 5.
 */
export const ANNOTATE_CLASS_COLORS = ['#00e5ff', '#ffb000', '#ff4dff', '#7cff00', '#ffee00', '#ff3b3b'];
/** Other classes: a colour picked by the name, as the dashboard does (web/src/colors.ts classColor). */
export const ANNOTATE_OTHER_COLORS = ['#ff6a00', '#00ff95', '#c800ff', '#00a2ff', '#ff0080', '#b4ff00'];
const palette = new Map<string, Rgb>(TRAFFIC_CLASSES.map((c, i) => [c, hexRgb(ANNOTATE_CLASS_COLORS[i])]));
const others = ANNOTATE_OTHER_COLORS.map(hexRgb);

export function annotateColor(className: string): Rgb {
  const known = palette.get(className);
  if (known) return known;
  let h = 0x811c9dc5;
  for (let i = 0; i < className.length; i++) h = Math.imul(h ^ className.charCodeAt(i), 0x01000193) >>> 0;
  return others[h % others.length];
}

interface Rec {
  frame: number;
  ptsMs?: number;
  detections: { className: string; box: number[] }[];
  tracks: { id?: number; className: string; box: number[]; confirmed: boolean }[];
}

/** Counting lines and zones to draw (source pixels), with their names: a count checked against the video needs its line. */
export interface AnnotateOverlay {
  lines?: { name: string; points: readonly (readonly [number, number])[] }[];
  zones?: { name: string; polygon: readonly (readonly [number, number])[] }[];
}

export interface AnnotateOptions {
  /** Stop after this decoded frame (an interrupted run: the frames its JSONL covers). */
  lastFrame?: number;
  /** Aborted: stop at the next frame and finish the file with the frames drawn so far. */
  signal?: AbortSignal;
  /** Called after each input frame is drawn, with the number drawn so far (a progress bar). */
  onFrame?: (drawn: number) => void;
  overlay?: AnnotateOverlay;
  /**
   * False: the detections cover only part of the input (a stopped run). The video, like one `signal` stopped, is
   * then left at the partial name (annotatePartialPath), valid and shorter: only a video of the whole input gets `output`.
   */
  whole?: boolean;
}

export interface AnnotateResult {
  /** Input frames drawn (each once, however many output frames it spans). */
  frames: number;
  /** Input frames left out: a second frame within one period of the output's constant rate. */
  leftOut: number;
  /** False when stopped by `signal` before the input or `lastFrame` was reached. */
  complete: boolean;
  /** Where the video is: `output`, or the partial name when it is short of the input (not `complete`, or not `whole`). */
  path: string;
}

/** Above this a "nominal" rate is a timestamp resolution (e.g. 1000/1 for a VFR MKV), not a frame rate. */
const MAX_OUTPUT_FPS = 120;

/**
 * Writes an H.264 MP4 of `input` with the boxes of `jsonlPath` drawn in: confirmed tracks when the
 * file has tracks, detections otherwise; frames between strided results reuse the latest result.
 * Decoded at full size by one ffmpeg, drawn here, encoded by a second ffmpeg.
 *
 * Timing follows the input: raw frames piped to the encoder carry no timestamps, so the output runs
 * at the input's exact nominal rate (its `r_frame_rate`, a rational such as 24000/1001), on the clock
 * of the detections' ptsMs (from the start of the file), and each frame fills as many output frame periods as it lasts in the
 * input (its time rounded to the nearest period). A constant-rate input gives one output frame per
 * input frame; a variable-rate one shows every frame within half a period of its input time.
 */
export async function annotateVideo(input: string, jsonlPath: string, output: string, opts: AnnotateOptions = {}): Promise<AnnotateResult> {
  const bin = ffmpegBinary();
  // Drawn under another name, renamed once the encoder has finished it: a process killed meanwhile (SIGKILL,
  // a power cut) leaves a file that says it is partial, not one passing for the whole video (or one with no
  // stream at all, killed as it started).
  const partial = annotatePartialPath(output);
  const showinfo = bin.major === 0 || bin.major >= 5 ? 'showinfo=checksum=0' : 'showinfo';
  // Own process groups: a Ctrl-C on the terminal must not cut the encoder off mid-file (the
  // caller decides what a signal means), and if this process dies the encoder still sees the end
  // of its input and finishes a valid file.
  const dec = spawn(
    bin.path,
    // -copyts: showinfo reports the file's own timestamps (as ffprobe does), not ones shifted to start at 0.
    ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-copyts', '-i', input, '-map', '0:v:0', '-vf', showinfo, ...bin.passthroughArgs, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let decDone = false;
  const decClosed = new Promise<number | null>((resolve) => dec.on('close', (code) => ((decDone = true), resolve(code))));
  dec.on('error', () => undefined);

  // showinfo's lines on stderr, paired with stdout frames by order (passthrough: one line per frame).
  // stderr can lag stdout, so a complete frame waits for its line.
  let timeBase: [number, number] | undefined;
  let nominal: [number, number] | undefined;
  const infos: { pts: number | undefined; w: number; h: number; sar?: string }[] = [];
  let decErr = '';
  let wake: (() => void) | undefined;
  let stderrDone = false;
  const stderr = createInterface({ input: dec.stderr, crlfDelay: Infinity });
  stderr.on('line', (line) => {
    const f = showinfoFrame(line);
    const config = f ? undefined : showinfoConfig(line);
    if (f) infos.push({ pts: f.pts, w: f.width, h: f.height, ...(f.sar ? { sar: f.sar } : {}) });
    else if (config) {
      if (!timeBase) ({ timeBase, frameRate: nominal } = config);
    } else if (!line.includes('Parsed_showinfo')) decErr = line.trim() || decErr;
    wake?.();
  });
  stderr.on('close', () => {
    stderrDone = true;
    wake?.();
  });
  const nextInfo = async () => {
    while (!infos.length && !stderrDone) await new Promise<void>((r) => (wake = r));
    wake = undefined;
    return infos.shift();
  };

  const records = createInterface({ input: createReadStream(jsonlPath), crlfDelay: Infinity })[Symbol.asyncIterator]();
  let current: Rec | undefined;
  let upcoming: Rec | undefined;
  let recordsDone = false;
  const resultFor = async (seq: number): Promise<Rec | undefined> => {
    for (;;) {
      if (!upcoming && !recordsDone) {
        const n = await records.next();
        if (n.done) recordsDone = true;
        else if (n.value.trim()) upcoming = JSON.parse(n.value) as Rec;
        continue;
      }
      if (upcoming && upcoming.frame <= seq) {
        current = upcoming;
        upcoming = undefined;
        continue;
      }
      return current;
    }
  };

  let enc: ReturnType<typeof spawn> | undefined;
  let encErr = '';
  let encClosed: Promise<number | null> | undefined;
  const write = (buf: Buffer) => new Promise<void>((resolve, reject) => enc!.stdin!.write(buf, (err) => (err ? reject(err) : resolve())));

  let w = 0;
  let h = 0;
  let frameBytes = 0;
  let frame: Buffer | undefined;
  let prev: Buffer | undefined;
  let spare: Buffer | undefined;
  let filled = 0;
  let seq = 0;
  let firstPts = 0;
  let ticksPerSlot = 1;
  /** Output frame index of the last frame written, and of the frame being read. */
  let slot = -1;
  let frameSlot = 0;
  let complete = true;
  let leftOut = 0;
  let failure: Error | undefined;
  /** One input frame done with (drawn or left out): counted, reported; true when drawing stops here. */
  const frameDone = (): boolean => {
    seq++;
    opts.onFrame?.(seq);
    if (opts.lastFrame !== undefined && seq > opts.lastFrame) return true;
    if (opts.signal?.aborted) {
      complete = false;
      return true;
    }
    return false;
  };
  try {
    read: for await (const chunk of dec.stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        if (!frame) {
          const info = await nextInfo();
          if (!info) throw new Error(`${input}: the decoder's frame information is missing`);
          if (!frameBytes) {
            w = info.w;
            h = info.h;
            frameBytes = w * h * 3;
            const [tbN, tbD] = timeBase && timeBase[0] > 0 && timeBase[1] > 0 ? timeBase : [1, 90_000];
            const [rN, rD] = outputRate(nominal);
            firstPts = info.pts ?? 0;
            ticksPerSlot = (rD * tbD) / (rN * tbN);
            // On the detections' clock (ptsMs: the input's time from the start of the file), so that the
            // annotated video lines up with detections.jsonl and the counts CSV: an MPEG-TS file's own clock
            // may start an hour in, which would open the MP4 with an hour of nothing.
            const first = await resultFor(0);
            const startSec = first?.frame === 0 && first.ptsMs !== undefined ? first.ptsMs / 1000 : 0;
            // The input's own clock (1/90000 …) when it has one fine enough: then the output's times are
            // the input's, where the default (1/rate-based) one would round the start by up to a millisecond.
            const timescale = tbN === 1 && tbD >= rN / rD ? tbD : undefined;
            // Made here, not by ffmpeg, which follows a symbolic link planted at the name (and truncates its
            // target): a link is refused; ffmpeg then overwrites the regular file in place.
            closeSync(openOutputFile(partial, 'w'));
            ({ enc, closed: encClosed } = startEncoder(bin.path, { w, h, rate: `${rN}/${rD}`, startSec, timescale, sar: info.sar }, partial, (d) => (encErr += d)));
          }
          let at = info.pts === undefined ? slot + 1 : Math.round((info.pts - firstPts) / ticksPerSlot);
          if (at < slot - CLOCK_RESET_SLOTS) {
            // The file's clock went back (two recordings joined, a stream that restarted): the video goes on
            // from here, as the detections' clock does, rather than leaving out every frame after it.
            firstPts = info.pts! - (slot + 1) * ticksPerSlot;
            at = slot + 1;
          }
          frame = spare ?? Buffer.alloc(frameBytes);
          spare = undefined;
          filled = 0;
          frameSlot = outputSlot(at, slot);
        }
        const n = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(frame, filled, off, off + n);
        filled += n;
        off += n;
        if (filled < frameBytes) continue;
        const rec = await resultFor(seq);
        if (frameSlot < 0) {
          // Its period is taken by the frame before: left out, as a constant-rate conversion does.
          spare = frame;
          frame = undefined;
          leftOut++;
          if (frameDone()) break read;
          continue;
        }
        if (rec) {
          // Tracks labelled with their id (the id in the events and tracks files), else the frame's detections.
          const boxes: { id?: number; className: string; box: number[] }[] = rec.tracks.length ? rec.tracks.filter((t) => t.confirmed) : rec.detections;
          for (const b of boxes) {
            const c = annotateColor(b.className);
            drawBox(frame, w, h, b.box, c);
            drawLabel(frame, w, h, b.box, `${b.className}${b.id !== undefined ? ` ${b.id}` : ''}`, c);
          }
        }
        if (opts.overlay) drawOverlay(frame, w, h, opts.overlay);
        // The previous frame stays on screen until this one's time.
        while (prev && slot + 1 < frameSlot) {
          await write(prev);
          slot++;
        }
        await write(frame);
        slot = frameSlot;
        spare = prev;
        prev = frame;
        frame = undefined;
        if (frameDone()) break read;
      }
    }
  } catch (e) {
    failure = e as Error;
  }
  if (!decDone) dec.kill('SIGTERM');
  const decCode = await decClosed;
  stderr.close();
  await records.return?.();
  if (enc) {
    enc.stdin!.end();
    const code = await encClosed!;
    if (code !== 0) {
      // What it left is no video (no moov atom): a file there would pass for one.
      rmSync(partial, { force: true });
      throw new Error(`${output}: ffmpeg encoder failed: ${encErr.trim().split('\n').pop()}`);
    }
    if (complete && opts.whole !== false) renameSync(partial, output);
  }
  if (failure) throw failure;
  if (!seq) throw new Error(`${input}: no frame decoded${decCode ? ` (${decErr})` : ''}`);
  return { frames: seq - leftOut, leftOut, complete, path: complete && opts.whole !== false ? output : partial };
}

/** A frame this many output periods before the last one written is a clock that went back, not a late frame. */
const CLOCK_RESET_SLOTS = 2;

/** Where an annotated video is drawn until it is finished, and stays when it is short of its input: `clip.annotated.partial.mp4`. */
export function annotatePartialPath(output: string): string {
  return output.replace(/(\.mp4)?$/i, '.partial.mp4');
}

interface EncoderTiming {
  w: number;
  h: number;
  /** Frames per second, a rational "num/den". */
  rate: string;
  startSec: number;
  timescale?: number;
  /** The input's non-square pixel aspect ratio ("4/3"): kept, or an anamorphic recording plays squashed. */
  sar?: string;
}

/** The encoder's filters: even sides for 4:2:0 (an odd side gets a black column or row), the input's pixel shape. */
function videoFilter(t: EncoderTiming): string[] {
  const f = [...(t.w % 2 || t.h % 2 ? ['pad=ceil(iw/2)*2:ceil(ih/2)*2'] : []), ...(t.sar ? [`setsar=${t.sar}`] : [])];
  return f.length ? ['-vf', f.join(',')] : [];
}

function startEncoder(path: string, t: EncoderTiming, output: string, onErr: (d: string) => void) {
  const enc = spawn(
    path,
    [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${t.w}x${t.h}`, '-framerate', t.rate, '-i', 'pipe:0'],
      // Even sides for 4:2:0 and the input's pixel shape (videoFilter); the boxes stay where they are.
      ...videoFilter(t),
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
      // -itsoffset does not survive on a raw input; this shifts the written timestamps.
      ...(t.startSec > 0 ? ['-output_ts_offset', t.startSec.toFixed(6)] : []),
      ...(t.timescale ? ['-video_track_timescale', String(t.timescale)] : []),
      ...['-movflags', '+faststart', output],
    ],
    { stdio: ['pipe', 'ignore', 'pipe'], detached: true },
  );
  enc.stderr!.setEncoding('utf8');
  enc.stderr!.on('data', onErr);
  enc.on('error', (e) => onErr(e.message));
  // A failed encoder turns writes into EPIPE: reported by the exit code and stderr instead.
  enc.stdin!.on('error', () => undefined);
  const closed = new Promise<number | null>((resolve) => enc.on('close', resolve));
  return { enc, closed };
}

/**
 * The output period (frame index) a decoded frame goes to: the one nearest its time (`at`), after the last
 * one written (`last`); -1 to leave it out when its period is already taken. Placing such a frame one period
 * late instead (every frame shown) made the video drift for good on a file a little faster than its nominal
 * rate: a clip said to be 24 fps and running at 24.013 fell 30-60 ms behind its detections from the middle on.
 */
export function outputSlot(at: number, last: number): number {
  return at > last ? at : last < 0 ? 0 : -1;
}

/** The input's nominal rate when it is one; otherwise a fine grid that still places every frame. */
function outputRate(nominal: [number, number] | undefined): [number, number] {
  if (!nominal || !(nominal[0] > 0) || !(nominal[1] > 0)) return [25, 1];
  return nominal[0] / nominal[1] > MAX_OUTPUT_FPS ? [MAX_OUTPUT_FPS, 1] : nominal;
}

function hexRgb(hex: string): Rgb {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Font pixels per label pixel: readable on a 320×240 clip and on 4K alike. */
function labelScale(h: number): number {
  return Math.max(1, Math.round(h / 480));
}

/** The label on a box's top edge (inside it when the box touches the top), dark text on the class colour. */
function drawLabel(img: Buffer, w: number, h: number, box: number[], text: string, c: Rgb): void {
  const s = labelScale(h);
  const label = text.toUpperCase();
  const lw = textWidth(label, s) + 2 * s;
  const lh = 9 * s;
  const x0 = clamp(Math.round(box[0]), 0, Math.max(0, w - lw));
  const top = Math.round(box[1]);
  const y0 = top - lh >= 0 ? top - lh : clamp(top, 0, Math.max(0, h - lh));
  for (let y = y0; y < Math.min(h, y0 + lh); y++) hline(img, w, x0, Math.min(w - 1, x0 + lw - 1), y, c);
  drawText(img, w, h, label, x0 + 2 * s, y0 + s, s, [0, 0, 0]);
}

const LINE_COLOR: Rgb = [255, 255, 255];
const ZONE_COLOR: Rgb = [255, 214, 0];

/** Counting lines (white) and zones (amber), each with its name, as the dashboard draws them. */
function drawOverlay(img: Buffer, w: number, h: number, overlay: AnnotateOverlay): void {
  const s = labelScale(h);
  for (const z of overlay.zones ?? []) {
    const p = z.polygon;
    for (let i = 0; i < p.length; i++) drawSegment(img, w, h, p[i], p[(i + 1) % p.length], ZONE_COLOR, 2);
    if (p.length) drawText(img, w, h, z.name.toUpperCase(), Math.round(p[0][0]) + 3 * s, Math.round(p[0][1]) + 3 * s, s, ZONE_COLOR);
  }
  for (const l of overlay.lines ?? []) {
    const [a, b] = l.points;
    if (!a || !b) continue;
    drawSegment(img, w, h, a, b, LINE_COLOR, 2);
    drawForwardArrow(img, w, h, a, b, 16 * s);
    drawText(img, w, h, l.name.toUpperCase(), Math.round(a[0]) + 3 * s, Math.round(a[1]) - 10 * s, s, LINE_COLOR);
  }
}

type Pt = readonly [number, number];

/**
 * An arrow from the line's middle to its forward side, as the dashboard draws it (web/src/overlay-draw.ts): forward
 * is from the left of a→b to its right (docs/tracking.md), whose normal in image coordinates (y down) is (−dy, dx).
 * Without it, which of the counts CSV's columns is which direction could not be read off the video.
 */
function drawForwardArrow(img: Buffer, w: number, h: number, a: Pt, b: Pt, size: number): void {
  const len = Math.hypot(b[0] - a[0], b[1] - a[1]) || 1;
  const ux = (b[0] - a[0]) / len, uy = (b[1] - a[1]) / len;
  const nx = -uy, ny = ux;
  const at = (n: number, u: number): Pt => [(a[0] + b[0]) / 2 + nx * n * size + ux * u * size, (a[1] + b[1]) / 2 + ny * n * size + uy * u * size];
  drawSegment(img, w, h, at(0, 0), at(1, 0), LINE_COLOR, 2);
  fillTriangle(img, w, h, [at(1.4, 0), at(1, 0.3), at(1, -0.3)], LINE_COLOR);
}

/** A filled triangle, clipped to the frame: each pixel whose centre is on the inner side of all three edges. */
function fillTriangle(img: Buffer, w: number, h: number, t: readonly [Pt, Pt, Pt], c: Rgb): void {
  const side = (p: Pt, q: Pt, x: number, y: number) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const xs = t.map((p) => p[0]), ys = t.map((p) => p[1]);
  for (let y = Math.max(0, Math.floor(Math.min(...ys))); y <= Math.min(h - 1, Math.ceil(Math.max(...ys))); y++) {
    for (let x = Math.max(0, Math.floor(Math.min(...xs))); x <= Math.min(w - 1, Math.ceil(Math.max(...xs))); x++) {
      const d = [side(t[0], t[1], x + 0.5, y + 0.5), side(t[1], t[2], x + 0.5, y + 0.5), side(t[2], t[0], x + 0.5, y + 0.5)];
      if (!(d.every((v) => v >= 0) || d.every((v) => v <= 0))) continue;
      const i = (y * w + x) * 3;
      img[i] = c[0];
      img[i + 1] = c[1];
      img[i + 2] = c[2];
    }
  }
}

/** A straight segment `width` pixels thick, clipped to the frame. */
function drawSegment(img: Buffer, w: number, h: number, a: readonly [number, number], b: readonly [number, number], c: Rgb, width: number): void {
  const steps = Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1])));
  for (let k = 0; k <= steps; k++) {
    const x = Math.round(a[0] + ((b[0] - a[0]) * k) / steps);
    const y = Math.round(a[1] + ((b[1] - a[1]) * k) / steps);
    for (let dy = 0; dy < width; dy++) {
      for (let dx = 0; dx < width; dx++) {
        const px = x + dx;
        const py = y + dy;
        if (px < 0 || py < 0 || px >= w || py >= h) continue;
        const i = (py * w + px) * 3;
        img[i] = c[0];
        img[i + 1] = c[1];
        img[i + 2] = c[2];
      }
    }
  }
}

/** A 2-pixel rectangle outline, clipped to the frame. */
function drawBox(img: Buffer, w: number, h: number, box: number[], c: Rgb): void {
  const x1 = clamp(Math.round(box[0]), 0, w - 1);
  const y1 = clamp(Math.round(box[1]), 0, h - 1);
  const x2 = clamp(Math.round(box[2]), 0, w - 1);
  const y2 = clamp(Math.round(box[3]), 0, h - 1);
  for (let t = 0; t < 2; t++) {
    hline(img, w, x1, x2, Math.min(y1 + t, h - 1), c);
    hline(img, w, x1, x2, Math.max(y2 - t, 0), c);
    vline(img, w, Math.min(x1 + t, w - 1), y1, y2, c);
    vline(img, w, Math.max(x2 - t, 0), y1, y2, c);
  }
}

function hline(img: Buffer, w: number, x1: number, x2: number, y: number, c: Rgb): void {
  for (let x = x1, i = (y * w + x1) * 3; x <= x2; x++, i += 3) {
    img[i] = c[0];
    img[i + 1] = c[1];
    img[i + 2] = c[2];
  }
}

function vline(img: Buffer, w: number, x: number, y1: number, y2: number, c: Rgb): void {
  for (let y = y1, i = (y1 * w + x) * 3; y <= y2; y++, i += w * 3) {
    img[i] = c[0];
    img[i + 1] = c[1];
    img[i + 2] = c[2];
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
