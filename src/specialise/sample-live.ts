import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { FrameSlots } from '../ingest/frame-slots.js';
import { probeVideo } from '../ingest/probe.js';
import { SourceRunner } from '../ingest/source-runner.js';
import type { SourceSpec } from '../ingest/source-spec.js';
import type { SampledFrame } from './sample-frames.js';

/**
 * The frames kept so far, a JSON line each, appended once the frame's JPEG is complete: a watch
 * interrupted after 50 of 60 minutes resumes from here instead of starting over.
 */
export const SAMPLED_LOG = 'sampled.jsonl';

/** A camera that sends nothing this long after a watch starts is off, or the URL is wrong: say so rather than wait out --minutes. */
const FIRST_FRAME_MS = 30_000;

export interface LiveSampleOptions {
  count: number;
  /** How long to watch, seconds. */
  rangeSec: number;
  onProgress?: (done: number) => void;
  firstFrameMs?: number;
}

/**
 * Watches a live camera for `rangeSec` of wall-clock time and keeps `count` frames evenly spread over it, as full-size
 * JPEGs. The camera goes through the product's ingest (SourceRunner), so a drop-out costs only the frames of the
 * minutes it was down: the watch reconnects and carries on, and says how much was missed. A frame's time is the
 * wall-clock seconds of watching before it arrived, summed over resumed watches.
 */
export async function sampleLiveFrames(spec: SourceSpec, dir: string, opts: LiveSampleOptions): Promise<SampledFrame[]> {
  mkdirSync(dir, { recursive: true });
  const interval = opts.rangeSec / opts.count;
  const taken = readSampledLog(dir);
  opts.onProgress?.(taken.length);
  // A resumed watch carries on the clock where the last one stopped, one interval on.
  const offsetSec = taken.length ? taken[taken.length - 1].timeSec + interval : 0;
  if (taken.length >= opts.count || offsetSec >= opts.rangeSec) return taken;

  const probe = await probeVideo(spec.input, spec.inputOptions).catch((e: Error) => {
    throw new UserError(`${spec.url}: ${e.message}`);
  });
  if (!probe.width || !probe.height) throw new UserError(`${spec.url}: the stream does not say its frame size`);
  const { width, height } = probe;
  // Up to two decoded frames an interval put a frame within half an interval of every tick; at least one a second
  // keeps the ingest's stall watchdog (4 s without a frame) from taking a sparse sampling rate for a hung camera.
  const fpsCap = Math.min(probe.fps > 0 ? probe.fps : Infinity, Math.max(1, 2 / interval));
  const slots = new FrameSlots(width * height * 3, 3);
  const runner = new SourceRunner({ spec, width, height, slots, reconnect: true, realtime: false, loop: false, fpsCap });

  const started = Date.now();
  let nextTick = offsetSec;
  let writes = Promise.resolve();
  let writeError: Error | undefined;
  let gotFrame = false;
  let drops = 0;
  let downSince: number | null = null;
  let downMs = 0;

  const watched = new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(rangeTimer);
      clearTimeout(firstFrameTimer);
      runner.once('end', () => (error ? reject(error) : resolve()));
      runner.stop();
    };
    runner.on('frame', (slot: number, info: { capturedAt: number }) => {
      const t = offsetSec + (info.capturedAt - started) / 1000;
      gotFrame = true;
      if (done || t < nextTick || t >= opts.rangeSec) {
        slots.release(slot);
        if (t >= opts.rangeSec) finish();
        return;
      }
      const rgb = Buffer.from(slots.view(slot));
      slots.release(slot);
      // After an outage the missed ticks are gone: the next one is an interval on from this frame.
      nextTick = nextTick + interval > t ? nextTick + interval : t + interval;
      const frame = { file: join(dir, `frame-${String(taken.length + 1).padStart(6, '0')}.jpg`), timeSec: t };
      const n = taken.push(frame);
      writes = writes.then(() => writeFrame(dir, frame, rgb, width, height).then(() => opts.onProgress?.(n))).catch((e: Error) => {
        writeError ??= e;
      });
      if (taken.length >= opts.count) finish();
    });
    runner.on('state', (state: string) => {
      if (state === 'reconnecting' && downSince === null) {
        downSince = Date.now();
        drops++;
      } else if (state === 'running' && downSince !== null) {
        downMs += Date.now() - downSince;
        downSince = null;
      }
    });
    const rangeTimer = setTimeout(() => finish(), (opts.rangeSec - offsetSec) * 1000);
    const firstFrameTimer = setTimeout(() => {
      if (!gotFrame) finish(new UserError(`${spec.url}: no frame within ${Math.round((opts.firstFrameMs ?? FIRST_FRAME_MS) / 1000)} s (${runner.lastError ?? 'the camera sent nothing'})`));
    }, opts.firstFrameMs ?? FIRST_FRAME_MS);
    runner.start();
  });
  await watched;
  await writes;
  if (writeError) throw new UserError(`${dir}: could not write a sampled frame (${writeError.message})`);
  if (taken.length === 0) throw new UserError(`${spec.url}: no frames could be sampled (${runner.lastError ?? 'the camera sent none'})`);
  if (downSince !== null) downMs += Date.now() - downSince;
  if (taken.length < opts.count) {
    logger.warn('fewer frames than asked: the camera was down', { source: spec.name, frames: taken.length, asked: opts.count, drops, downSeconds: Math.round(downMs / 100) / 10 });
  }
  return taken;
}

/** JPEG first under a temporary name, then the log line: a frame in the log is always a whole file. */
async function writeFrame(dir: string, frame: SampledFrame, rgb: Buffer, width: number, height: number): Promise<void> {
  const partial = `${frame.file}.partial`;
  await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toFile(partial);
  renameSync(partial, frame.file);
  appendFileSync(join(dir, SAMPLED_LOG), JSON.stringify({ file: basename(frame.file), timeSec: frame.timeSec }) + '\n');
}

/** The frames of an interrupted watch: whole lines naming files that exist (an interrupted append leaves a partial last line). */
function readSampledLog(dir: string): SampledFrame[] {
  const log = join(dir, SAMPLED_LOG);
  if (!existsSync(log)) return [];
  const frames: SampledFrame[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    try {
      const { file, timeSec } = JSON.parse(line) as { file: string; timeSec: number };
      if (existsSync(join(dir, file))) frames.push({ file: join(dir, file), timeSec });
    } catch {
      // the torn last line of an interrupted append
    }
  }
  return frames;
}
