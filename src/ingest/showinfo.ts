/**
 * ffmpeg's `showinfo` filter, read from stderr: a line per frame that passes it, and a line saying its
 * configuration (time base and nominal rate) before the first and again whenever the stream changes.
 * Ingest and the annotated video both pair these lines with raw frames by order, so both read them here.
 */
export interface ShowinfoFrame {
  /** In time-base ticks; undefined for a frame without a timestamp (showinfo's NOPTS). */
  pts: number | undefined;
  /** showinfo's own seconds, printed to 6 significant digits: a fallback before the time base is known. */
  ptsTime: number | undefined;
  width: number;
  height: number;
  /** Pixel aspect ratio ("4/3") when not square. */
  sar?: string;
}

export interface ShowinfoConfig {
  timeBase: [number, number];
  frameRate?: [number, number];
}

const frameRe = /\] n:\s*\d+ pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(-?[\d.]+(?:e[+-]?\d+)?|NOPTS)\b.*? s:(\d+)x(\d+)/;
const sarRe = / sar:(\d+)\/(\d+) /;
const configRe = /\] config in time_base: (\d+)\/(\d+)(?:, frame_rate: (\d+)\/(\d+))?/;

export function showinfoFrame(line: string): ShowinfoFrame | undefined {
  const f = frameRe.exec(line);
  if (!f) return undefined;
  const sar = sarRe.exec(line);
  return {
    pts: f[1] === 'NOPTS' ? undefined : Number(f[1]),
    ptsTime: f[2] === 'NOPTS' ? undefined : Number(f[2]),
    width: Number(f[3]),
    height: Number(f[4]),
    ...(sar && Number(sar[1]) > 0 && sar[1] !== sar[2] ? { sar: `${sar[1]}/${sar[2]}` } : {}),
  };
}

/** The configuration line, when its time base is usable (a 0 in it is no time base). */
export function showinfoConfig(line: string): ShowinfoConfig | undefined {
  const c = configRe.exec(line);
  if (!c || !(Number(c[1]) > 0 && Number(c[2]) > 0)) return undefined;
  return { timeBase: [Number(c[1]), Number(c[2])], ...(c[3] !== undefined ? { frameRate: [Number(c[3]), Number(c[4])] as [number, number] } : {}) };
}

/**
 * A frame's time in seconds: pts × time base, not pts_time (10 ms steps after 17 minutes of stream time,
 * 100 ms after 2.8 hours); undefined when the frame has none.
 */
export function showinfoSeconds(f: ShowinfoFrame, timeBase: [number, number] | undefined): number | undefined {
  if (f.pts !== undefined && timeBase) return (f.pts * timeBase[0]) / timeBase[1];
  return f.ptsTime;
}
