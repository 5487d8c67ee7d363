import type { FrameResult } from '../core/types.js';
import { LineFile } from './line-file.js';

const r2 = (n: number) => Math.round(n * 100) / 100;

/**
 * MOTChallenge tracking output, written as frames complete: `frame,id,x,y,w,h,score,-1,-1,-1`
 * with 1-based frame numbers (frame = seq + 1) and only confirmed tracks.
 */
export class MotTracksWriter {
  private readonly file: LineFile;

  constructor(path: string) {
    this.file = new LineFile(path);
  }

  write(r: FrameResult): void {
    const frame = r.frame.seq + 1;
    const tracks = r.tracks.filter((t) => t.confirmed).sort((a, b) => a.id - b.id);
    for (const t of tracks) {
      const [x1, y1, x2, y2] = t.box;
      this.file.writeLine(`${frame},${t.id},${r2(x1)},${r2(y1)},${r2(x2 - x1)},${r2(y2 - y1)},${Math.round(t.score * 1e4) / 1e4},-1,-1,-1`);
    }
  }

  close(): void {
    this.file.close();
  }
}
