import { readdirSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import { redactSecrets, withoutSecrets } from '../core/redact.js';
import { didYouMean } from '../core/suggest.js';
import { lavfiSourceProblem } from './lavfi-source.js';

export type SourceKind = 'rtsp' | 'http' | 'v4l2' | 'lavfi' | 'file';

/** A video source as ffmpeg will open it. */
export interface SourceSpec {
  /** Unique short name used in logs, outputs and the dashboard. */
  name: string;
  /** What the user gave (URL or path). */
  url: string;
  kind: SourceKind;
  /** ffmpeg `-i` argument. */
  input: string;
  /** Options placed before `-i`. */
  inputOptions: string[];
  /** Network and device sources are live by nature; files and test sources only when played live. */
  naturallyLive: boolean;
}

export interface SourceSpecOptions {
  name?: string;
  /** RTSP transport; TCP by default because UDP loses packets (and frames) on busy networks. */
  rtspTransport?: 'tcp' | 'udp';
  /** Socket timeout for network sources, ms. */
  timeoutMs?: number;
  rtspTimeoutOption?: string;
  /** A file must exist (default); false: only its name and kind are wanted. */
  checkFile?: boolean;
}

/** A camera (RTSP, a video device): it never ends, so an end or an error is a drop-out to reconnect from. */
export const isCamera = (spec: Pick<SourceSpec, 'kind'>): boolean => spec.kind === 'rtsp' || spec.kind === 'v4l2';

/** What kind of source a user-supplied string names (anything not recognised as a URL or device is a file path). */
export function sourceKind(url: string): SourceKind {
  if (/^rtsps?:\/\//i.test(url)) return 'rtsp';
  if (/^https?:\/\//i.test(url)) return 'http';
  if (/^v4l2:/i.test(url) || /^\/dev\/video\d+$/.test(url)) return 'v4l2';
  if (/^lavfi:/i.test(url)) return 'lavfi';
  return 'file';
}

/** The schemes a source may have (docs/pipeline.md, Sources); v4l2: and lavfi: are written without //. */
const SOURCE_SCHEMES = ['rtsp', 'rtsps', 'http', 'https', 'v4l2', 'lavfi'];

/**
 * Why a source's URL cannot be read: one whose scheme is none of ours (rstp://, a typo) would be taken for a
 * file path, which `check` passes (a recording may come later) and `run` calls missing; a `lavfi:` one that
 * is anything but one of the test sources allowed is refused (lavfiSourceProblem). Undefined if fine.
 */
export function sourceUrlProblem(url: string): string | undefined {
  if (sourceKind(url) === 'lavfi') return lavfiSourceProblem(url.slice('lavfi:'.length));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme === undefined || SOURCE_SCHEMES.includes(scheme.toLowerCase())) return undefined;
  const hint = didYouMean(scheme, SOURCE_SCHEMES);
  return `unknown scheme '${scheme}'${hint || ' (a source is an rtsp(s):// or http(s):// URL, /dev/videoN, lavfi:<test source> or a file path)'}`;
}

/**
 * The source as it should be recorded where the current folder must not matter (work folders, model cards): a
 * file by its absolute path, anything else as given with its password hidden, as those are copied and shared.
 */
export function absoluteSource(url: string): string {
  return sourceKind(url) === 'file' ? resolve(url) : redactSecrets(url);
}

/**
 * Turns a user-supplied source string into ffmpeg input arguments:
 * `rtsp://…`, `http(s)://…` (incl. HLS .m3u8), `/dev/videoN` or `v4l2:/dev/videoN`,
 * `lavfi:<test source>` (one ffmpeg test source, e.g. `lavfi:testsrc2=size=1280x720:rate=30`), or a file path.
 */
export function parseSource(url: string, opts: SourceSpecOptions = {}): SourceSpec {
  const urlProblem = sourceUrlProblem(url);
  if (urlProblem) throw new UserError(`${redactSecrets(url)}: ${urlProblem}`);
  const timeoutUs = String(Math.round((opts.timeoutMs ?? 5000) * 1000));
  const kind = sourceKind(url);
  if (kind === 'rtsp') {
    return {
      name: opts.name ?? nameFromUrl(url),
      url,
      kind: 'rtsp',
      input: url,
      // No `-fflags nobuffer`: it made the first frame wait for the second keyframe (10.9–11.8 s instead of
      // 2.4–2.5 s with a 10 s keyframe gap, which the start watchdog cut forever) and gained nothing once
      // running (the same frames arrived 0.1–0.2 ms apart, median, with and without it).
      inputOptions: ['-rtsp_transport', opts.rtspTransport ?? 'tcp', opts.rtspTimeoutOption ?? '-timeout', timeoutUs, '-flags', 'low_delay', '-analyzeduration', '1000000'],
      naturallyLive: true,
    };
  }
  if (kind === 'http') {
    return { name: opts.name ?? nameFromUrl(url), url, kind: 'http', input: url, inputOptions: ['-rw_timeout', timeoutUs], naturallyLive: true };
  }
  if (kind === 'v4l2') {
    const dev = url.replace(/^v4l2:/i, '');
    return { name: opts.name ?? basename(dev), url, kind: 'v4l2', input: dev, inputOptions: ['-f', 'v4l2'], naturallyLive: true };
  }
  if (kind === 'lavfi') {
    const source = url.slice('lavfi:'.length);
    return { name: opts.name ?? source.split('=')[0], url, kind: 'lavfi', input: source, inputOptions: ['-f', 'lavfi'], naturallyLive: false };
  }
  const path = resolve(url);
  const problem = opts.checkFile === false ? undefined : videoFileProblem(path, url);
  if (problem) throw new UserError(`${redactSecrets(url)}: ${problem}`);
  return { name: opts.name ?? basename(path, extname(path)), url, kind: 'file', input: path, inputOptions: [], naturallyLive: false };
}

/**
 * Why a recording's path cannot be read as one ('no such file', 'not a video file', a folder's), or undefined.
 * `given`: the path as it was written, for the example a folder gets: its videos, as the inputs of a batch or a
 * run (`clips/: a folder: give the videos in it, e.g. clips/*.mp4`; it said 'not a video file').
 */
export function videoFileProblem(path: string, given = path): string | undefined {
  const found = statSync(path, { throwIfNoEntry: false });
  if (!found) return 'no such file';
  if (found.isDirectory()) return `a folder: give the videos in it, e.g. ${inFolder(given, `*${commonestExtension(videosIn(path))}`)}`;
  return found.isFile() ? undefined : 'not a video file';
}

/**
 * A pipeline source's url that is a folder, in the words of videoFileProblem's, or undefined: a source is one
 * recording, so the example is one of the folder's (`.: a folder: a source's url is one recording, e.g. ./cam1.mp4`).
 */
export function folderSourceProblem(path: string, given: string): string | undefined {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  return `a folder: a source's url is one recording, e.g. ${inFolder(given, videosIn(path)[0] ?? 'cam1.mp4')}`;
}

const VIDEO_EXTENSION = /\.(mp4|m4v|mov|mkv|webm|avi|ts|mts|m2ts|mpg|mpeg|flv|wmv|asf|3gp|ogv)$/i;

/** The names of the files in folder `path` that a video's extension names, sorted; none if it cannot be read. */
function videosIn(path: string): string[] {
  try {
    return readdirSync(path).filter((n) => VIDEO_EXTENSION.test(n)).sort();
  } catch {
    return [];
  }
}

/** The extension most of `names` have (a DVR's folder of .avi files gets *.avi), .mp4 for none. */
function commonestExtension(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const ext of names.map((n) => extname(n))) counts.set(ext, (counts.get(ext) ?? 0) + 1);
  let best = '.mp4';
  for (const [ext, n] of counts) if (n > (counts.get(best) ?? 0)) best = ext;
  return best;
}

/** `name` inside the folder as it was written: `clips/` and `clips` give `clips/name`, `.` gives `./name`. */
function inFolder(given: string, name: string): string {
  return `${given.endsWith('/') ? given : `${given}/`}${name}`;
}

/**
 * Host and last path part: the name is in log lines, metric labels, tiles and file names, so it is made
 * without the user name, password or query, even of a URL the URL parser refuses (a # in the password).
 */
function nameFromUrl(url: string): string {
  const bare = withoutSecrets(url).replace(/[?#].*$/s, '');
  try {
    const u = new URL(bare);
    const last = u.pathname.split('/').filter(Boolean).pop();
    return (last ? `${u.hostname}-${last}` : u.hostname).replace(/[^\w.-]+/g, '_');
  } catch {
    return bare.replace(/[^\w.-]+/g, '_').slice(0, 40);
  }
}

/** Makes names unique by suffixing -2, -3… so outputs and dashboard tiles never collide. */
export function uniqueNames<T extends { name: string }>(specs: T[]): T[] {
  const seen = new Map<string, number>();
  return specs.map((s) => {
    const n = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, n);
    return n === 1 ? s : { ...s, name: `${s.name}-${n}` };
  });
}
