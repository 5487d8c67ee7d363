import { readFileSync } from 'node:fs';
import { logger } from '../core/log.js';
import { writeAtomically } from '../core/write-atomically.js';

/**
 * A small JSON object of one number per source that a live run keeps in its output folder for the next run
 * (`track-ids.json`, `count-intervals.json`). Read at first use, not when made: by then the run holds the
 * folder's lock, which keeps a second run from sharing the file.
 */
export class SourceRecord {
  private stored?: Record<string, number>;

  constructor(
    readonly path: string,
    private readonly valid: (n: number) => boolean,
    /** What is lost when the file cannot be read or written, for the warning: `…: <unreadable>`. */
    private readonly lost: { kind: string; unreadable: string; unwritable: string },
  ) {}

  /** What the runs before left: {} in the folder's first run, or where the file is no such record (told). */
  get values(): Readonly<Record<string, number>> {
    return (this.stored ??= this.read());
  }

  /** A source's number, if the runs before left one (own keys only: a source may be called `constructor`). */
  get(source: string): number | undefined {
    return Object.hasOwn(this.values, source) ? this.values[source] : undefined;
  }

  /** `changed` written over what the file holds: sources of earlier runs not in this one keep theirs. */
  write(changed: Readonly<Record<string, number>>): void {
    this.stored = { ...this.values, ...changed };
    try {
      writeAtomically(this.path, JSON.stringify(this.stored) + '\n');
    } catch (e) {
      logger.warn(`${this.path} cannot be written (${(e as Error).message}): ${this.lost.unwritable}`);
    }
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
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && Object.values(parsed).every((n) => typeof n === 'number' && this.valid(n))) return parsed as Record<string, number>;
    } catch {
      // told below
    }
    logger.warn(`${this.path} is not a ${this.lost.kind} file: ${this.lost.unreadable}`);
    return {};
  }
}
