import type { TrafficEvent } from '../core/types.js';
import { LineFile } from './line-file.js';

/**
 * One JSON object per traffic event (line crossings, zone enter/exit with dwell, source up/down), in
 * the order they happened: what a count or dwell study reads, without walking every frame's record.
 */
export class EventsJsonl {
  private readonly file: LineFile;
  lines = 0;

  constructor(path: string) {
    this.file = new LineFile(path);
  }

  write(events: readonly TrafficEvent[]): void {
    for (const e of events) {
      this.file.writeLine(JSON.stringify(e));
      this.lines++;
    }
  }

  close(): void {
    this.file.close();
  }
}
