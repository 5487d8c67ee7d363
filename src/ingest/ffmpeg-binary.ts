import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';

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

function probe(path: string): FfmpegBinary | undefined {
  const r = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return undefined;
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
 * `npm ci` alone is enough to run.
 */
export function ffmpegBinary(): FfmpegBinary {
  if (cached) return cached;
  const candidates: string[] = [];
  if (process.env.FFMPEG_PATH) candidates.push(process.env.FFMPEG_PATH);
  candidates.push('ffmpeg');
  try {
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    if (installer.path && existsSync(installer.path)) candidates.push(installer.path);
  } catch {
    // optional dependency not installed for this platform
  }
  for (const c of candidates) {
    const found = probe(c);
    if (found) return (cached = found);
  }
  throw new Error(`ffmpeg not found (tried ${candidates.join(', ')}); install ffmpeg or set FFMPEG_PATH`);
}
