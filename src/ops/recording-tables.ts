import type { SourceCounts } from '../core/feed.js';
import type { FrameResult, TrafficEvent } from '../core/types.js';
import { COUNTS_CSV_HEADER, CountsCsvWriter } from '../outputs/counts-csv.js';
import { MOVEMENTS_CSV_HEADER, MovementsCsvWriter } from '../outputs/movements-csv.js';

/**
 * A `mode: batch` source's counts CSV (and movements CSV, with `movements: true`): `xnorcam batch`'s own tables,
 * on the recording's clock, each interval with its end (`0,47.6,…`: a short last interval is not read as a
 * whole one) and `total` rows when the recording ends, so a pipeline file and `xnorcam batch` give one file the
 * same rows. A pass over the recording writes them afresh, as a batch rerun does.
 */
export class RecordingTables {
  private readonly counts: CountsCsvWriter;
  private readonly movements?: MovementsCsvWriter;

  /** The files a pass writes, each with the first line it starts with (a file there with another is no earlier pass's). */
  static files(base: string, now: Pick<SourceCounts, 'movements'>): { path: string; header: string }[] {
    const counts = { path: `${base}.counts.csv`, header: COUNTS_CSV_HEADER };
    return now.movements ? [counts, { path: `${base}.movements.csv`, header: MOVEMENTS_CSV_HEADER }] : [counts];
  }

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
    const [counts, movements] = RecordingTables.files(base, now);
    this.counts = new CountsCsvWriter(counts.path, now.intervalMs, lines, table);
    if (movements) this.movements = new MovementsCsvWriter(movements.path, now.intervalMs, lines, lostMs, table);
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
