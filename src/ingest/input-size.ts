const videoRe = /Stream #0:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})[\s,[]/;
// ffmpeg 5+: the stream's side data; ffmpeg 4 also (or only) a `rotate` metadata tag.
const rotationRe = /displaymatrix: rotation of (-?[\d.]+) degrees|^\s*rotate\s*:\s*(-?\d+)\s*$/;
const headerEndRe = /^\s*Stream #|^Stream mapping|^Output #|^Press \[q\]/;

const streamFpsRe = /Stream #0:\d+.*?: Video: .*?, ([\d.]+)(k?) fps\b/;
// Without a declared rate (a test source, some streams), ffmpeg's guess of it; not a "90k tbr", which is a clock.
const streamTbrRe = /Stream #0:\d+.*?: Video: .*?, ([\d.]+)() tbr\b/;

/**
 * The frame rate a video stream line of ffmpeg's header declares (`…, 59.94 fps, …`, else `60 tbr`), or undefined; the
 * input's is the first such line, before `Output #`.
 */
export function streamFps(line: string): number | undefined {
  const m = streamFpsRe.exec(line) ?? streamTbrRe.exec(line);
  if (!m) return undefined;
  const fps = Number(m[1]) * (m[2] ? 1000 : 1);
  return fps > 0 ? fps : undefined;
}

/**
 * The size of the first video stream's pictures as ffmpeg decodes them, read from its header on stderr.
 * ffmpeg turns a video recorded on its side (a phone's rotation tag) upright, so a stream stored 640×360
 * and rotated 90° arrives as 360×640: boxes in source pixels must be in that frame, not the stored one.
 */
export class InputSizeReader {
  private size?: [number, number];
  private rotated = false;
  private settled = false;

  /** Feeds one line of ffmpeg's stderr; returns the size once its stream's header has ended. */
  line(l: string): [number, number] | undefined {
    if (this.settled) return undefined;
    if (!this.size) {
      const v = videoRe.exec(l);
      if (v) this.size = [Number(v[1]), Number(v[2])];
      return undefined;
    }
    const r = rotationRe.exec(l);
    if (r) {
      // A quarter turn either way swaps width and height; one tag is enough when ffmpeg prints two.
      if (!this.rotated && Math.round(Math.abs(Number(r[1] ?? r[2])) / 90) % 2 === 1) this.size = [this.size[1], this.size[0]];
      this.rotated = true;
      return undefined;
    }
    if (!headerEndRe.test(l)) return undefined;
    this.settled = true;
    return this.size;
  }

  /** The size read so far, for a header that ended without the lines that close it. */
  get sofar(): [number, number] | undefined {
    return this.size;
  }
}
