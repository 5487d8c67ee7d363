import type { SourceCounts } from '../core/feed.js';
import type { FrameResult, TrafficEvent } from '../core/types.js';
import { CountsCsvWriter } from '../outputs/counts-csv.js';
import { MovementsCsvWriter } from '../outputs/movements-csv.js';

/**
 * A `mode: batch` source's counts CSV (and movements CSV, with `movements: true`): `xnorcam batch`'s own tables,
 * on the recording's clock, each interval with its end (`0,47.6,…`: a short last interval is not read as a
 * whole one) and `total` rows when the recording ends, so a pipeline file and `xnorcam batch` give one file the
 * same rows. A pass over the recording writes them afresh, as a batch rerun does.
 */
export class RecordingTables {
  private readonly counts: CountsCsvWriter;
  private readonly movements?: MovementsCsvWriter;

  constructor(
    /** `<dir>/<source>`: the files are `<base>.counts.csv` and `<base>.movements.csv`. */
    base: string,
    /** The source's counts as its analytics has them: their interval, classes and whether it has movements. */
    now: SourceCounts,
    /** Its lines, in order: rows follow it. */
    lines: readonly string[],
    /** How long its tracker keeps a lost track, ms: when a movement still to come can no longer be dated in an interval. */
    lostMs: number,
  ) {
    const table = { classes: now.classes };
    this.counts = new CountsCsvWriter(`${base}.counts.csv`, now.intervalMs, lines, table);
    if (now.movements) this.movements = new MovementsCsvWriter(`${base}.movements.csv`, now.intervalMs, lines, lostMs, table);
  }

  write(r: FrameResult): void {
    this.counts.write(r);
    this.movements?.write(r);
  }

  /** Events not tied to a frame: the movements of the tracks the recording's end ended. */
  events(events: readonly TrafficEvent[]): void {
    this.movements?.events(events);
  }

  /** Writes the intervals still open and the totals: the recording has ended (or was stopped). */
  close(): void {
    this.counts.close();
    this.movements?.close();
  }
}
