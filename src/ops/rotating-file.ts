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
    this.size = fstatSync(this.fd).size;
    this.headerIfEmpty();
  }

  private headerIfEmpty(): void {
    const { header } = this.opts;
    if (this.size === 0 && header) this.writeRaw(header.endsWith('\n') ? header : header + '\n');
  }

  writeLine(line: string): void {
    const data = line.endsWith('\n') ? line : line + '\n';
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
 * A live output file that outlives what a service meets over weeks: a full disk, a file moved away or
 * deleted (started again at its path within OUTPUT_MOVED_CHECK_MS), a folder made unwritable. A write that
 * fails drops its line (counted), the file is reopened at most every OUTPUT_RETRY_MS, and each failure and
 * recovery is one log line, instead of an exception that would stop every camera and the dashboard with it.
 */
export class LiveLineFile {
  private file?: RotatingLineFile;
  private failedAt = -Infinity;
  private checkedAt = -Infinity;
  /** Lines dropped since the last failure began. */
  lost = 0;
  /** Lines dropped over the life of this file, for /metrics (`lost` starts again at each failure). */
  totalLost = 0;

  constructor(
    readonly path: string,
    private readonly opts: { maxBytes: number; maxFiles: number; header?: string },
    private readonly log: { error(msg: string, f: Record<string, unknown>): void; info(msg: string, f: Record<string, unknown>): void },
    private readonly now: () => number = Date.now,
  ) {}

  writeLine(line: string): void {
    if (!this.file) {
      if (this.now() - this.failedAt < OUTPUT_RETRY_MS) {
        this.drop();
        return;
      }
      try {
        this.file = new RotatingLineFile(this.path, this.opts);
      } catch (e) {
        this.fail(e);
        this.drop();
        return;
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
      this.file.writeLine(line);
    } catch (e) {
      this.fail(e);
      this.drop();
      return;
    }
    // Told once a line is really written: an open that works (on a full disk) is no recovery.
    if (this.lost) this.log.info('output file writable again', { file: this.path, linesLost: this.lost });
    this.lost = 0;
  }

  private drop(): void {
    this.lost++;
    this.totalLost++;
  }

  private fail(e: unknown): void {
    const first = this.lost === 0;
    try {
      this.file?.close();
    } catch {
      // already unusable
    }
    this.file = undefined;
    this.failedAt = this.now();
    if (first) {
      this.log.error(`output file cannot be written; its lines are dropped until it can (tried again every ${OUTPUT_RETRY_MS / 1000} s)`, {
        file: this.path,
        error: (e as Error).message,
      });
    }
  }

  close(): void {
    try {
      this.file?.close();
    } catch {
      // nothing more to lose
    }
    this.file = undefined;
    if (this.lost) this.log.error('output file closed with lines dropped', { file: this.path, linesLost: this.lost });
  }
}
