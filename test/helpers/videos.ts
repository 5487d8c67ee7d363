import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface VideoSpec {
  /** lavfi source, e.g. testsrc2, mandelbrot. */
  pattern?: string;
  width?: number;
  height?: number;
  /** Frame rate as ffmpeg takes it: 25, 30000/1001, 14.985 … */
  fps?: string | number;
  seconds?: number;
  codec?: 'libx264' | 'mpeg4' | 'mjpeg' | 'libx265';
  audio?: boolean;
  /** Make the frame rate variable: frames dropped irregularly, timestamps kept (mkv/mp4 only). */
  vfr?: boolean;
  /** Overlay an image (e.g. a frame the test model detects on) on the pattern. */
  image?: string;
}

/** Encodes a test video with real ffmpeg; returns its path. Throws with ffmpeg's message on failure. */
export function makeVideo(path: string, spec: VideoSpec = {}): string {
  const w = spec.width ?? 320;
  const h = spec.height ?? 240;
  const fps = spec.fps ?? 25;
  const seconds = spec.seconds ?? 2;
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `${spec.pattern ?? 'testsrc2'}=size=${w}x${h}:rate=${fps}`];
  if (spec.image) args.push('-loop', '1', '-framerate', String(fps), '-i', spec.image);
  if (spec.audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100`);
  const filters: string[] = [];
  if (spec.image) filters.push(`[1:v]scale=${w}:${h},format=yuv420p[img];[0:v][img]overlay=shortest=1`);
  else filters.push('[0:v]null');
  // VFR: keep frames whose index is not ≡ 1, 2 (mod 5) during the second half → uneven gaps, true timestamps kept.
  if (spec.vfr) filters[0] += `,select='not(gt(t\\,${seconds / 2})*(eq(mod(n\\,5)\\,1)+eq(mod(n\\,5)\\,2)))'`;
  filters[0] += '[v]';
  args.push('-filter_complex', filters[0], '-map', '[v]');
  if (spec.audio) args.push('-map', spec.image ? '2:a' : '1:a', '-c:a', 'aac', '-shortest');
  const codec = spec.codec ?? 'libx264';
  args.push('-t', String(seconds), '-c:v', codec);
  if (codec === 'libx264') args.push('-pix_fmt', 'yuv420p', '-preset', 'veryfast', '-g', '30');
  if (codec === 'mpeg4') args.push('-q:v', '5');
  if (codec === 'mjpeg') args.push('-q:v', '5', '-pix_fmt', 'yuvj420p');
  if (spec.vfr) args.push(...(path.endsWith('.mp4') || path.endsWith('.mkv') ? ['-fps_mode', 'vfr'] : []));
  args.push(path);
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${path}: ${r.stderr.trim()}`);
  return path;
}

/** Presentation times (ms) of every video frame, from ffprobe: the ground truth for ingest tests. */
export function probeFramePts(path: string): number[] {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffprobe ${path}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => Math.round(Number(l.split(',')[0]) * 1e6) / 1e3);
}

export function tempDir(prefix = 'xnorcam-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
