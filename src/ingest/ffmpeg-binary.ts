import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileErrorReason, UserError } from '../core/errors.js';

/** Where ffmpeg lives and which option spellings it understands (4.x and 5.x differ). */
export interface FfmpegBinary {
  path: string;
  /** Major version, e.g. 5; 0 when the version line could not be parsed (git builds). */
  major: number;
  /** `-fps_mode passthrough` (≥ 5.1) or `-vsync 0` (older builds such as @ffmpeg-installer's 4.1). */
  passthroughArgs: string[];
  /** RTSP socket timeout option: `-timeout` (≥ 5) or `-stimeout` (4.x), microseconds. */
  rtspTimeoutOption: string;
}

let cached: FfmpegBinary | undefined;

/** The binary's options, or why it cannot be run as ffmpeg. */
function probe(path: string): FfmpegBinary | string {
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return fileErrorReason((r.error as NodeJS.ErrnoException).code) ?? r.error.message;
  if (r.status !== 0) return `not a working ffmpeg (\`-version\` exited with ${r.status ?? r.signal})`;
  const m = /ffmpeg version n?(\d+)\.(\d+)/.exec(r.stdout);
  const major = m ? Number(m[1]) : 0;
  const minor = m ? Number(m[2]) : 0;
  const modern = major === 0 || major > 5 || (major === 5 && minor >= 1);
  return {
    path,
    major,
    passthroughArgs: modern ? ['-fps_mode', 'passthrough'] : ['-vsync', '0'],
    rtspTimeoutOption: major === 0 || major >= 5 ? '-timeout' : '-stimeout',
  };
}

/**
 * FFMPEG_PATH, else the system `ffmpeg`, else the static build from @ffmpeg-installer/ffmpeg, so
 * `npm ci` alone is enough to run. An FFMPEG_PATH that does not run is refused: another ffmpeg used in
 * its place (another version, other codecs) hid the mistake until something behaved differently.
 */
export function ffmpegBinary(): FfmpegBinary {
  if (cached) return cached;
  const chosen = process.env.FFMPEG_PATH;
  if (chosen) {
    const found = probe(chosen);
    if (typeof found === 'string') throw new UserError(`FFMPEG_PATH=${chosen}: ${found}`);
    return (cached = found);
  }
  const candidates = ['ffmpeg'];
  try {
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    if (installer.path && existsSync(installer.path)) candidates.push(installer.path);
  } catch {
    // optional dependency not installed for this platform
  }
  for (const c of candidates) {
    const found = probe(c);
    if (typeof found !== 'string') return (cached = found);
  }
  throw new Error(`ffmpeg not found (tried ${candidates.join(', ')}); install ffmpeg or set FFMPEG_PATH`);
}
