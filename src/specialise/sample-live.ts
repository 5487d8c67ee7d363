import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { logger } from '../core/log.js';
import { writeAtomically } from '../core/write-atomically.js';
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

/**
 * A camera that answers but sends no frame this long after a watch starts is not going to: say so rather than wait out
 * --minutes (a wrong URL, or a camera that is off, fails sooner, in the probe, with ffmpeg's reason).
 */
const FIRST_FRAME_MS = 30_000;

export interface LiveSampleOptions {
  count: number;
  /** How long to watch, seconds. */
  rangeSec: number;
  onProgress?: (done: number) => void;
  /** Called once, before the first frame of this watch is logged: a log must never exist without the options it was made with. */
  beforeFirstFrame?: () => void;
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
  const taken = resumeSampledLog(dir);
  opts.onProgress?.(taken.length);
  // The time watched after the last kept frame was not recorded: a resumed watch carries on one interval after it.
  const offsetSec = taken.length ? taken[taken.length - 1].timeSec + interval : 0;
  if (taken.length >= opts.count || offsetSec >= opts.rangeSec) return taken;
  // Past the highest number on disk, so a frame kept earlier is never overwritten (one may have been deleted by hand).
  let nextIndex = 1 + Math.max(0, ...readdirSync(dir).map((f) => Number(/^frame-(\d{6})\.jpg/.exec(f)?.[1] ?? 0)));

  const shown = redactSecrets(spec.url);
  const probe = await probeVideo(spec.input, spec.inputOptions).catch((e: Error) => {
    throw new UserError(`${shown}: ${e.message}`);
  });
  if (!probe.width || !probe.height) throw new UserError(`${shown}: the stream does not say its frame size`);
  const { width, height } = probe;
  // Up to two decoded frames an interval put a frame within half an interval of every tick; at least one a second
  // keeps the ingest's stall watchdog (defaultReconnectPolicy.stallMs) from taking a sparse sampling rate for a hung camera.
  const fpsCap = Math.min(probe.fps > 0 ? probe.fps : Infinity, Math.max(1, 2 / interval));
  const slots = new FrameSlots(width * height * 3, 3);
  const runner = new SourceRunner({ spec, width, height, slots, reconnect: true, realtime: false, loop: false, fpsCap });

  const started = Date.now();
  const watchedSec = (at = Date.now()) => offsetSec + (at - started) / 1000;
  let nextTick = offsetSec;
  let writes = Promise.resolve();
  let writeError: UserError | undefined;
  let firstLogged = false;
  let gotFrame = false;
  let drops = 0;
  let downSince: number | null = null;
  let downMs = 0;

  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearInterval(rangeCheck);
      clearTimeout(firstFrameTimer);
      runner.once('end', () => (error ? reject(error) : resolve()));
      runner.stop();
    };
    runner.on('frame', (slot: number, info: { capturedAt: number }) => {
      const t = watchedSec(info.capturedAt);
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
      const frame = { file: join(dir, `frame-${String(nextIndex++).padStart(6, '0')}.jpg`), timeSec: t };
      const n = taken.push(frame);
      writes = writes
        .then(async () => {
          await writeJpeg(frame.file, rgb, width, height);
          if (!firstLogged) opts.beforeFirstFrame?.();
          firstLogged = true;
          appendFileSync(join(dir, SAMPLED_LOG), logLine(dir, frame));
          opts.onProgress?.(n);
        })
        // A full disk ends the watch now, not at the end of --minutes.
        .catch((e: Error) => {
          writeError ??= new UserError(`${dir}: could not save a sampled frame (${e.message})`);
          finish(writeError);
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
    // Polled rather than one timer for the whole watch: setTimeout fires at once past 2^31 ms (24.8 days).
    const rangeCheck = setInterval(() => watchedSec() >= opts.rangeSec && finish(), 250);
    const firstFrameTimer = setTimeout(() => {
      if (!gotFrame) finish(new UserError(`${shown}: no frame within ${FIRST_FRAME_MS / 1000} s (${runner.lastError ?? 'the camera sent nothing'})`));
    }, FIRST_FRAME_MS);
    runner.start();
  });
  await writes;
  if (writeError) throw writeError;
  if (taken.length === 0) throw new UserError(`${shown}: no frames could be sampled (${runner.lastError ?? 'the camera sent none'})`);
  if (downSince !== null) downMs += Date.now() - downSince;
  if (taken.length < opts.count) {
    const why = drops > 0 ? 'the camera was down' : "the camera's frames came further apart than the sampling interval";
    logger.warn(`fewer frames than asked: ${why}`, { source: spec.name, frames: taken.length, asked: opts.count, drops, downSeconds: Math.round(downMs / 100) / 10 });
  }
  return taken;
}

/** Under a temporary name first: a frame in the log is always a whole file. */
async function writeJpeg(file: string, rgb: Buffer, width: number, height: number): Promise<void> {
  await sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toFile(`${file}.partial`);
  renameSync(`${file}.partial`, file);
}

const logLine = (dir: string, frame: SampledFrame) => JSON.stringify({ file: relative(dir, frame.file), timeSec: frame.timeSec }) + '\n';

/**
 * The frames of an interrupted watch, the log rewritten to hold only them: lines naming files that exist. A line cut
 * short by the interruption would otherwise swallow the next one appended after it.
 */
function resumeSampledLog(dir: string): SampledFrame[] {
  const log = join(dir, SAMPLED_LOG);
  if (!existsSync(log)) return [];
  const frames: SampledFrame[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    try {
      const { file, timeSec } = JSON.parse(line) as { file: string; timeSec: number };
      if (existsSync(join(dir, file))) frames.push({ file: join(dir, file), timeSec });
    } catch {
      // a cut line, or the empty string after the last newline
    }
  }
  writeAtomically(log, frames.map((f) => logLine(dir, f)).join(''));
  return frames;
}
