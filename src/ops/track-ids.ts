import { join } from 'node:path';
import { SourceRecord } from './source-record.js';

/** Where a live source's new track ids come from (see TrackIdFile). */
export interface TrackIdSource {
  next(source: string): number;
}

/** Ids per source that go on for the whole run, a reload of the source included: 1, 2, … */
export class TrackIdCounter implements TrackIdSource {
  protected readonly nextIds = new Map<string, number>();

  next(source: string): number {
    const id = this.nextIds.get(source) ?? 1;
    this.nextIds.set(source, id + 1);
    return id;
  }
}

/**
 * Ids that go on across restarts of a live run: `track-ids.json` in its output folder holds, per source, the
 * first id not yet given. A consumer joining events by (source, trackId) would otherwise merge a vehicle of
 * today with one of before the restart that had the same id. Small integers still: ids are taken in blocks of
 * RESERVE, the block's end written before its first id is given, so a run that dies without closing (a
 * crash, SIGKILL) skips at most one block's unused ids, never gives one twice; close() writes the exact next id.
 * The folder's output lock keeps a second run from sharing the file.
 */
export class TrackIdFile extends TrackIdCounter {
  private static readonly RESERVE = 1000;
  private readonly record: SourceRecord;
  private readonly reserved = new Map<string, number>();

  constructor(dir: string) {
    super();
    this.record = new SourceRecord(join(dir, 'track-ids.json'), (n) => Number.isSafeInteger(n) && n >= 1, {
      kind: 'track-id',
      unreadable: 'track ids start again at 1, and may repeat ids of runs before',
      unwritable: 'after a restart track ids may repeat ids of this run',
    });
  }

  override next(source: string): number {
    const stored = this.record.get(source) ?? 1;
    if (!this.nextIds.has(source)) this.nextIds.set(source, stored);
    const id = super.next(source);
    if (id >= (this.reserved.get(source) ?? stored)) {
      this.reserved.set(source, id + TrackIdFile.RESERVE);
      this.record.write(Object.fromEntries(this.reserved));
    }
    return id;
  }

  /** The run ends: the next run goes on from the last id given, not from the block's end. */
  close(): void {
    if (this.nextIds.size) this.record.write(Object.fromEntries(this.nextIds));
  }
}
