import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import { probeVideo } from '../ingest/probe.js';
import { isCamera, parseSource } from '../ingest/source-spec.js';
import { sampleLiveFrames } from './sample-live.js';

export interface SampledFrame {
  file: string;
  /** Seconds from the start of the sampled range. */
  timeSec: number;
}

/**
 * Spreads `count` frames evenly over the whole time range (a recording's duration, or `minutes`
 * of a live camera), not a burst of near-copies of one second: a specialised model must see the
 * scene's variety (traffic density, light). Writes full-resolution JPEGs into `dir`. A camera (RTSP, a
 * video device) is watched through the ingest's reconnecting runner, resumably (sample-live.ts).
 */
export async function sampleFrames(
  url: string,
  dir: string,
  opts: { count: number; minutes?: number; onProgress?: (done: number) => void; beforeFirstFrame?: () => void },
): Promise<SampledFrame[]> {
  const spec = parseSource(url, { rtspTimeoutOption: ffmpegBinary().rtspTimeoutOption });
  // As errors name it: a camera's password is not for the terminal or a CI log.
  const shown = redactSecrets(url);
  let rangeSec: number;
  if (spec.kind === 'file') {
    const probe = await probeVideo(spec.input).catch((e: Error) => {
      throw new UserError(`${shown}: ${e.message}`);
    });
    if (!(probe.durationSec > 0)) throw new UserError(`${shown}: the video has no known duration; give --minutes to sample a time range`);
    rangeSec = opts.minutes ? Math.min(opts.minutes * 60, probe.durationSec) : probe.durationSec;
  } else {
    if (!opts.minutes) throw new UserError(`${shown}: a live source needs --minutes (how long to watch it)`, 2);
    rangeSec = opts.minutes * 60;
    // HTTP(S) is left to the single ffmpeg run below: often a finished recording, whose end is the end, not a drop-out.
    if (isCamera(spec)) return sampleLiveFrames(spec, dir, { ...opts, rangeSec });
  }
  mkdirSync(dir, { recursive: true });
  const rate = opts.count / rangeSec;
  const args = [
    '-hide_banner', '-nostdin', '-loglevel', 'error',
    ...spec.inputOptions, '-i', spec.input, '-t', rangeSec.toFixed(3), '-an',
    // fps= picks the frame nearest each tick of the output clock, i.e. evenly spaced in time.
    '-vf', `fps=${rate.toFixed(6)}`, '-frames:v', String(opts.count), '-q:v', '2',
    '-progress', 'pipe:1', join(dir, 'frame-%06d.jpg'),
  ];
  await new Promise<void>((resolve, reject) => {
    const p = spawn(ffmpegBinary().path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      const m = /frame=(\d+)\s*$/m.exec(d);
      if (m) opts.onProgress?.(Number(m[1]));
    });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new UserError(`${shown}: ffmpeg could not sample frames (${err.trim().split('\n').pop() ?? `exit ${code}`})`))));
  });
  const files = readdirSync(dir).filter((f) => /^frame-\d{6}\.jpg$/.test(f)).sort();
  if (files.length === 0) throw new UserError(`${shown}: no frames could be sampled`);
  return files.map((f, i) => ({ file: join(dir, f), timeSec: (i + 0.5) / rate }));
}

/** Time-ordered split: the first part trains, the last `holdout` fraction judges (no leakage of near-identical frames). */
export function splitByTime<T extends { timeSec: number }>(frames: T[], holdout: number): { train: T[]; validation: T[] } {
  const sorted = [...frames].sort((a, b) => a.timeSec - b.timeSec);
  const cut = Math.round(sorted.length * (1 - holdout));
  return { train: sorted.slice(0, cut), validation: sorted.slice(cut) };
}

/**
 * The seconds between consecutive frames of an evenly spread sample: the median gap, so that a live camera's outage
 * (one long gap with no frames in it) does not stretch it, and the frames x the interval stay the footage they show.
 */
export function samplingInterval(frames: readonly { timeSec: number }[]): number {
  if (frames.length < 2) return 0;
  const gaps = frames.slice(1).map((f, i) => f.timeSec - frames[i].timeSec).sort((a, b) => a - b);
  return gaps[gaps.length >> 1];
}
