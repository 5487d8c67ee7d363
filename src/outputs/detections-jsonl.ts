import type { Box, Detection, FrameResult, Track, TrafficEvent } from '../core/types.js';
import { LineFile } from './line-file.js';

const r1 = (n: number) => Math.round(n * 10) / 10;
const r4 = (n: number) => Math.round(n * 1e4) / 1e4;
const box = (b: Box): Box => [r1(b[0]), r1(b[1]), r1(b[2]), r1(b[3])];

/**
 * One JSON object per processed frame: `{"frame","ptsMs","detections","tracks","events"}`, boxes in source pixels,
 * and `"error"` on a frame whose detection failed.
 */
export function frameRecord(r: FrameResult): Record<string, unknown> {
  return {
    frame: r.frame.seq,
    ptsMs: r.frame.ptsMs,
    detections: r.detections.map((d: Detection) => ({ classId: d.classId, className: d.className, score: r4(d.score), box: box(d.box) })),
    tracks: r.tracks.map((t: Track) => ({
      id: t.id,
      classId: t.classId,
      className: t.className,
      score: r4(t.score),
      box: box(t.box),
      velocity: [r1(t.velocity[0]), r1(t.velocity[1])],
      ...(t.speedKmh !== undefined ? { speedKmh: r1(t.speedKmh) } : {}),
      confirmed: t.confirmed,
    })),
    events: r.events as TrafficEvent[],
    // Not an empty road: a frame the detector could not do says so, so no reader takes it for one.
    ...(r.detectError ? { error: r.detectError } : {}),
  };
}

export class DetectionsJsonl {
  private readonly file: LineFile;
  lines = 0;

  constructor(path: string) {
    this.file = new LineFile(path);
  }

  get path(): string {
    return this.file.path;
  }

  write(r: FrameResult): void {
    this.file.writeLine(JSON.stringify(frameRecord(r)));
    this.lines++;
  }

  close(): void {
    this.file.close();
  }
}
