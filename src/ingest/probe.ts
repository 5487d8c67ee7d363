import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { ffmpegBinary } from './ffmpeg-binary.js';
import { InputSizeReader, streamFps } from './input-size.js';
import { parseSource } from './source-spec.js';

export interface VideoProbe {
  width: number;
  height: number;
  /** Average frame rate, frames/s (0 when unknown). */
  fps: number;
  /** Container duration, seconds (0 when unknown, e.g. a stream). */
  durationSec: number;
  /** Estimated number of frames (duration × fps), for progress and ETA only. */
  estimatedFrames: number;
  /** The container's creation_time tag as ffmpeg prints it (a camera's recording: when it started), if it has one. */
  creationTime?: string;
}

/**
 * Reads a file's (or a stream's) header with ffmpeg itself (no ffprobe needed: the @ffmpeg-installer build ships
 * without it). Rejects with ffmpeg's one-line reason when it is not a readable video. `inputOptions`: a
 * source's own (an RTSP camera's transport and timeout).
 */
export function probeVideo(path: string, inputOptions: readonly string[] = []): Promise<VideoProbe> {
  return new Promise((resolve, reject) => {
    // ffmpeg's reason for a file with nothing in it is the format's (an MP4's moov atom, an AVI's invalid
    // data): it read as damaged, where a copy or a recording that never began is what it is.
    const file = statSync(path, { throwIfNoEntry: false });
    if (file?.isFile() && file.size === 0) return reject(new Error('empty file (0 bytes)'));
    const p = spawn(ffmpegBinary().path, ['-hide_banner', '-nostdin', ...inputOptions, '-i', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', () => {
      const video = /Stream #0:\d+.*?: Video: (.*)/.exec(err);
      // ffmpeg's text-art demuxers (tty for .txt, .nfo …; bin, xbin, adf, idf) render any text file as a "video".
      const demuxer = /^Input #0, ([^ ]+), from/m.exec(err)?.[1].replace(/,$/, '');
      if (video && (/^(tty|bin|xbin|adf|idf)$/.test(demuxer ?? '') || /^(ansi|bintext|xbin|idf)\b/.test(video[1]))) {
        return reject(new Error('not a video (ffmpeg reads it as a text file)'));
      }
      if (!video && /Stream #0:\d+/.test(err)) return reject(new Error('no video stream'));
      // A container header and nothing after it (an MP4's first bytes): its metadata lines are no reason.
      if (!video && /^Input #0/m.test(err)) return reject(new Error('not a readable video (no streams in it: the file is incomplete or truncated)'));
      if (!video) {
        const reason = err
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !/^(Input|Output|At least one output|Metadata|Duration)/.test(l))
          .pop();
        const why = (reason ?? 'no video stream').replace(/^.*?: (?=[A-Z])/, '');
        if (/moov atom not found/i.test(err)) return reject(new Error('not a readable video (moov atom not found: the MP4 is incomplete or truncated)'));
        return reject(new Error(/Invalid data/i.test(err) ? `not a readable video (${why})` : why.includes('At least one output') ? 'no video stream' : why));
      }
      const reader = new InputSizeReader();
      let size: [number, number] | undefined;
      for (const line of err.split('\n')) size ??= reader.line(line);
      size ??= reader.sofar;
      const dur = /Duration: (\d+):(\d+):([\d.]+)/.exec(err);
      const durationSec = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : 0;
      const rate = streamFps(video[0]) ?? 0;
      // The container's own metadata, printed before its Duration line (the streams' own come after it).
      const creationTime = /^\s+creation_time\s*: (.+)$/m.exec(err.split(/^\s*Duration:/m)[0])?.[1].trim();
      resolve({
        // As decoded: upright for a video recorded on its side.
        width: size ? size[0] : 0,
        height: size ? size[1] : 0,
        fps: rate,
        durationSec,
        estimatedFrames: Math.round(durationSec * rate),
        ...(creationTime ? { creationTime } : {}),
      });
    });
  });
}

/**
 * Refuses a live run's file source that is missing or no video (audio only, a text file ffmpeg would render
 * as one) in one line, `<file>: <why>`, before it starts: at start-up and on a reload alike. Cameras and
 * streams are left to the reconnecting ingest.
 */
export async function checkFileSource(url: string): Promise<void> {
  const s = parseSource(url);
  if (s.kind !== 'file') return;
  await probeVideo(s.input).catch((e: Error) => {
    throw new UserError(`${redactSecrets(url)}: ${e.message}`);
  });
}
