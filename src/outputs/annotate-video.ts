import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import { probeVideo } from '../ingest/probe.js';

type Rgb = [number, number, number];
/** One colour per traffic class (car, truck, bus, motorcycle, bicycle, person), then a fallback. */
const palette: Rgb[] = [
  [230, 50, 50],
  [255, 150, 0],
  [255, 230, 0],
  [220, 60, 220],
  [0, 210, 230],
  [60, 220, 60],
];
const fallback: Rgb = [255, 255, 255];

interface Rec {
  frame: number;
  detections: { classId: number; box: number[] }[];
  tracks: { classId: number; box: number[]; confirmed: boolean }[];
}

/**
 * Writes an H.264 MP4 of `input` with the boxes of `jsonlPath` drawn in: confirmed tracks when the
 * file has tracks, detections otherwise; frames between strided results reuse the latest result.
 * Decoded at full size by one ffmpeg, drawn here, encoded by a second ffmpeg.
 */
export async function annotateVideo(input: string, jsonlPath: string, output: string): Promise<void> {
  const probe = await probeVideo(input);
  const { width: w, height: h } = probe;
  const frameBytes = w * h * 3;
  const bin = ffmpegBinary();
  const dec = spawn(bin.path, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', input, '-map', '0:v:0', ...bin.passthroughArgs, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const enc = spawn(
    bin.path,
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${w}x${h}`, '-r', String(probe.fps || 25), '-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', output],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let encErr = '';
  enc.stderr.on('data', (d: Buffer) => (encErr += d.toString()));
  dec.stderr.resume();

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

  // A few frame buffers cycle between decoder, drawing and the encoder's pipe (write() keeps a reference).
  const free: Buffer[] = [Buffer.alloc(frameBytes), Buffer.alloc(frameBytes), Buffer.alloc(frameBytes)];
  let seq = 0;
  let frame = free.pop()!;
  let filled = 0;
  for await (const chunk of dec.stdout as AsyncIterable<Buffer>) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(frameBytes - filled, chunk.length - off);
      chunk.copy(frame, filled, off, off + n);
      filled += n;
      off += n;
      if (filled < frameBytes) continue;
      const rec = await resultFor(seq++);
      if (rec) {
        const boxes = rec.tracks.length ? rec.tracks.filter((t) => t.confirmed) : rec.detections;
        for (const b of boxes) drawBox(frame, w, h, b.box, palette[b.classId] ?? fallback);
      }
      const out = frame;
      await new Promise<void>((resolve, reject) => enc.stdin.write(out, (err) => (err ? reject(err) : resolve())));
      free.push(out);
      frame = free.pop()!;
      filled = 0;
    }
  }
  enc.stdin.end();
  const code = await new Promise<number | null>((resolve) => enc.on('close', resolve));
  if (code !== 0) throw new Error(`${output}: ffmpeg encoder failed: ${encErr.trim().split('\n').pop()}`);
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
