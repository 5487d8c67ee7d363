import { closeSync, constants, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendLinesSync } from '../core/append-lines.js';
import { openOutputFile } from '../core/open-output.js';

/**
 * An append-only line file that rotates by size: `events.jsonl` → `events.jsonl.1` → … up to
 * maxFiles, oldest deleted. Each line is written with one synchronous write, so a crash or kill
 * leaves every line that was written complete (a line is the unit of validity for JSONL/CSV).
 */
export class RotatingLineFile {
  private fd = -1;
  private size = 0;

  constructor(
    readonly path: string,
    private readonly opts: { maxBytes: number; maxFiles: number; header?: string },
  ) {
    this.openAtPath();
  }

  /** Opens the file at its path for appending (its folder made if need be); an empty one gets the header. */
  private openAtPath(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openOutputFile(this.path, 'a');
    try {
      this.size = fstatSync(this.fd).size;
      this.headerIfEmpty();
    } catch (e) {
      // A header a full disk refused: the descriptor went with the failed open (one leaked at every retry).
      closeSync(this.fd);
      this.fd = -1;
      throw e;
    }
  }

  private headerIfEmpty(): void {
    const { header } = this.opts;
    if (this.size === 0 && header) this.writeRaw(header.endsWith('\n') ? header : header + '\n');
  }

  writeLine(line: string): void {
    this.writeLines([line]);
  }

  /** Lines written with one write: a failure leaves none of them in the file (appendLinesSync cuts it back). */
  writeLines(lines: readonly string[]): void {
    const data = lines.map((line) => (line.endsWith('\n') ? line : line + '\n')).join('');
    const bytes = Buffer.byteLength(data);
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) this.rotate();
    this.writeRaw(data);
  }

  private writeRaw(data: string): void {
    this.size = appendLinesSync(this.fd, this.size, data, this.path);
  }

  private rotate(): void {
    closeSync(this.fd);
    this.fd = -1;
    rotateFiles(this.path, this.opts.maxFiles);
    this.openAtPath();
  }

  /** Whether the open file is still the one at its path (not moved away or deleted meanwhile). */
  stillAtPath(): boolean {
    try {
      const here = statSync(this.path);
      const open = fstatSync(this.fd);
      return here.ino === open.ino && here.dev === open.dev;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /**
   * Whether the file was cut short under it (logrotate's `copytruncate` empties it in place, same inode):
   * then its length is read again and, emptied, it gets its header back (a counts CSV went on without one).
   */
  takeTruncation(): boolean {
    const actual = fstatSync(this.fd).size;
    if (actual >= this.size) return false;
    this.size = actual;
    this.headerIfEmpty();
    return true;
  }

  /** Starts the file at its path again (header included), after the open one was moved or deleted. */
  reopen(): void {
    closeSync(this.fd);
    this.fd = -1;
    this.openAtPath();
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}

/** `path` → `path.1` → … up to `path.maxFiles`, the oldest deleted (with maxFiles 0, `path` itself). */
export function rotateFiles(path: string, maxFiles: number): void {
  // A file an archive job moved or deleted meanwhile is simply not there to move on.
  ifPresent(() => rmSync(`${path}.${maxFiles}`));
  for (let i = maxFiles - 1; i >= 1; i--) ifPresent(() => renameSync(`${path}.${i}`, `${path}.${i + 1}`));
  ifPresent(() => (maxFiles >= 1 ? renameSync(path, `${path}.1`) : rmSync(path)));
}

/**
 * Before a table is started at `path`: a file there whose first line is not the table's `header` (a table of
 * another kind under the same name) is rotated away (rotateFiles) and so kept, where starting the table would
 * empty it or append rows of another format to it. 'none': no file there (or an empty one, or a link, which the
 * writer refuses itself); 'same': a table of this kind, left in place; 'rotated': the file is now `path.1`.
 */
export function rotateOtherTable(path: string, header: string, maxFiles: number): 'none' | 'same' | 'rotated' {
  const first = firstLine(path, header.length + 1);
  if (first === undefined) return 'none';
  if (first === header) return 'same';
  rotateFiles(path, maxFiles);
  return 'rotated';
}

/** The file's first line, read within its first `max` bytes (a longer one is cut); undefined for no file, an empty one or a link. */
function firstLine(path: string, max: number): string | undefined {
  let fd: number;
  try {
    // Not through a link: its target is no file of ours to judge (or move).
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw e;
  }
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return n === 0 ? undefined : buf.toString('utf8', 0, n).split('\n')[0];
  } finally {
    closeSync(fd);
  }
}

function ifPresent(op: () => void): void {
  try {
    op();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** How often a live output file that could not be written is tried again. */
export const OUTPUT_RETRY_MS = 10_000;

/** How often a live output file is checked for having been moved away or deleted. */
export const OUTPUT_MOVED_CHECK_MS = 1000;

/**
 * How many lines a live counts or movements CSV keeps while it cannot be written (~100 bytes each: 10 MB): a
 * day of a camera with four lines, six classes and 1-minute intervals (48 rows a minute, 69,120 a day).
 */
export const OUTPUT_HOLD_LINES = 100_000;

/** A live output file's failure while it lasts, for /healthz and /metrics. */
export interface OutputFailure {
  file: string;
  /** When writing began to fail (epoch ms). */
  since: number;
  error: string;
  /** Lines kept to be written once it can be. */
  held: number;
  /** Lines dropped since it began to fail (past the hold, or a file that holds none). */
  lost: number;
}

type Log = { error(msg: string, f: Record<string, unknown>): void; warn(msg: string, f: Record<string, unknown>): void; info(msg: string, f: Record<string, unknown>): void };

/**
 * A live output file that outlives what a service meets over weeks: a full disk, a file moved away or
 * deleted (started again at its path within OUTPUT_MOVED_CHECK_MS), a folder made unwritable. Lines are
 * written in blocks (an interval's rows), each whole or not at all. A block that cannot be written is held,
 * up to `holdLines` lines (the oldest blocks dropped past that, counted), and written before any newer
 * line as soon as the file can be written: tried again every OUTPUT_RETRY_MS, by a timer too, so held
 * rows do not wait for the next interval. A file holding none (`holdLines` 0: events, detections) drops
 * what fails. Each failure and recovery is one log line, instead of an exception that would stop every
 * camera and the dashboard with it.
 */
export class LiveLineFile {
  private file?: RotatingLineFile;
  private failedAt = -Infinity;
  private checkedAt = -Infinity;
  /** Blocks still to write, oldest first; `held`: one a failure kept (the rest came in behind). */
  private readonly queue: { lines: readonly string[]; held: boolean }[] = [];
  private queued = 0;
  private retryTimer?: NodeJS.Timeout;
  /** The failure in progress, if any: since when, why, and what it has cost and written late so far. */
  private failure?: { since: number; error: string; writtenLate: number; overflowTold: boolean };
  /** Lines dropped since the last failure began. */
  lost = 0;
  /** Lines dropped over the life of this file, for /metrics (`lost` starts again at each failure). */
  totalLost = 0;
  private readonly holdLines: number;

  constructor(
    readonly path: string,
    private readonly opts: { maxBytes: number; maxFiles: number; header?: string; holdLines?: number },
    private readonly log: Log,
    private readonly now: () => number = Date.now,
  ) {
    this.holdLines = opts.holdLines ?? 0;
  }

  /** Lines held to be written once the file can be. */
  get held(): number {
    return this.queued;
  }

  /** The failure in progress, or undefined while the file is written. */
  failing(): OutputFailure | undefined {
    const f = this.failure;
    return f && { file: this.path, since: f.since, error: f.error, held: this.queued, lost: this.lost };
  }

  writeLine(line: string): void {
    this.writeLines([line]);
  }

  /** A block of lines (an interval's rows): in the file whole, after every block before it, or not at all. */
  writeLines(lines: readonly string[]): void {
    if (!lines.length) return;
    this.queue.push({ lines, held: false });
    this.queued += lines.length;
    this.retry();
  }

  /** Writes what is held, in order, if the file can be written (not before OUTPUT_RETRY_MS after a failure). */
  retry(ignorePause = false): void {
    while (this.queue.length) {
      if (!this.tryWrite(this.queue[0].lines, ignorePause)) {
        for (const b of this.queue) b.held = true;
        this.keepWithinHold();
        this.scheduleRetry();
        return;
      }
      const block = this.queue.shift()!;
      this.queued -= block.lines.length;
      if (block.held && this.failure) this.failure.writtenLate += block.lines.length;
    }
    // Told once everything held is in the file: a line that fits in the last block of a full disk is no recovery.
    if (this.failure) {
      this.log.info('output file writable again', { file: this.path, linesWrittenLate: this.failure.writtenLate, linesLost: this.lost });
      this.failure = undefined;
      this.lost = 0;
    }
  }

  private tryWrite(lines: readonly string[], ignorePause: boolean): boolean {
    if (!this.file) {
      if (!ignorePause && this.now() - this.failedAt < OUTPUT_RETRY_MS) return false;
      try {
        this.file = new RotatingLineFile(this.path, this.opts);
      } catch (e) {
        this.fail(e);
        return false;
      }
    }
    try {
      // An archive job that moved the file away (or a person who deleted it) left every later line going
      // into the moved file, or into a deleted one where nothing could read it, without a word.
      const now = this.now();
      if (now - this.checkedAt >= OUTPUT_MOVED_CHECK_MS) {
        this.checkedAt = now;
        if (!this.file.stillAtPath()) {
          this.file.reopen();
          this.log.info('output file was moved or deleted; a new one is started at its path', { file: this.path });
        } else if (this.file.takeTruncation()) {
          this.log.info('output file was truncated (copytruncate); writing on from its new end', { file: this.path });
        }
      }
      this.file.writeLines(lines);
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** Past the hold, the oldest blocks go (whole: no interval is left in part), counted and said once a failure. */
  private keepWithinHold(): void {
    let dropped = 0;
    while (this.queued > this.holdLines && this.queue.length) {
      const block = this.queue.shift()!;
      this.queued -= block.lines.length;
      dropped += block.lines.length;
    }
    if (!dropped) return;
    this.lost += dropped;
    this.totalLost += dropped;
    const f = this.failure;
    if (f && this.holdLines > 0 && !f.overflowTold) {
      f.overflowTold = true;
      this.log.warn(`output file still cannot be written and holds ${this.holdLines} lines, its most: the oldest are dropped from now on (counted in linesLost)`, {
        file: this.path,
        linesLost: this.lost,
      });
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || !this.queue.length) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retry();
    }, OUTPUT_RETRY_MS);
    this.retryTimer.unref();
  }

  private fail(e: unknown): void {
    try {
      this.file?.close();
    } catch {
      // already unusable
    }
    this.file = undefined;
    this.failedAt = this.now();
    if (!this.failure) {
      this.failure = { since: Date.now(), error: (e as Error).message, writtenLate: 0, overflowTold: false };
      const what = this.holdLines > 0 ? `its lines are held (up to ${this.holdLines}) and written in order once it can be` : 'its lines are dropped until it can';
      this.log.error(`output file cannot be written; ${what} (tried again every ${OUTPUT_RETRY_MS / 1000} s)`, {
        file: this.path,
        error: (e as Error).message,
      });
    } else this.failure.error = (e as Error).message;
  }

  /**
   * A last try at what is held (the pause waived: space may have come meanwhile), then the file is closed.
   * Returns how many lines were lost in the end (dropped, and held that could not be written); with `report`,
   * logged in one line, else the caller sums up its files in one.
   */
  close(report = true): number {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.queue.length) this.retry(true);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const unsaved = this.queued;
    this.queue.length = 0;
    this.queued = 0;
    this.lost += unsaved;
    this.totalLost += unsaved;
    try {
      this.file?.close();
    } catch {
      // nothing more to lose
    }
    this.file = undefined;
    const lost = this.lost;
    if (lost && report) this.log.error('output file closed with lines not saved', { file: this.path, linesLost: lost, ...(unsaved ? { heldNotWritten: unsaved } : {}) });
    this.failure = undefined;
    this.lost = 0;
    return lost;
  }
}
