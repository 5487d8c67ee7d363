import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../core/log.js';
import { writeAtomically } from '../core/write-atomically.js';

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
  private readonly path: string;
  private stored?: Record<string, number>;
  private readonly reserved = new Map<string, number>();

  constructor(dir: string) {
    super();
    this.path = join(dir, 'track-ids.json');
  }

  override next(source: string): number {
    // Read at the first id, not when made: by then the run holds the folder's lock.
    const stored = (this.stored ??= this.read());
    // Own keys only: a source may be called `constructor` or `toString`, names every object has.
    if (!this.nextIds.has(source)) this.nextIds.set(source, Object.hasOwn(stored, source) ? stored[source] : 1);
    const id = super.next(source);
    if (id >= (this.reserved.get(source) ?? (Object.hasOwn(stored, source) ? stored[source] : 1))) {
      this.reserved.set(source, id + TrackIdFile.RESERVE);
      this.write(this.reserved);
    }
    return id;
  }

  /** The run ends: the next run goes on from the last id given, not from the block's end. */
  close(): void {
    if (this.nextIds.size) this.write(this.nextIds);
  }

  private read(): Record<string, number> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return {}; // the folder's first run
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && Object.values(parsed).every((n) => Number.isSafeInteger(n) && n >= 1)) return parsed as Record<string, number>;
    } catch {
      // told below
    }
    logger.warn(`${this.path} is not a track-id file: track ids start again at 1, and may repeat ids of runs before`);
    return {};
  }

  private write(ids: ReadonlyMap<string, number>): void {
    // Sources of earlier runs not in this one keep their place.
    const all = { ...this.stored, ...Object.fromEntries(ids) };
    try {
      writeAtomically(this.path, JSON.stringify(all) + '\n');
    } catch (e) {
      logger.warn(`${this.path} cannot be written (${(e as Error).message}): after a restart track ids may repeat ids of this run`);
    }
  }
}
