import { closeSync } from 'node:fs';
import { appendLinesSync } from '../core/append-lines.js';
import { openOutputFile } from '../core/open-output.js';

/**
 * An append-only text file written in whole lines. Lines are buffered and flushed with one write per
 * flush, so the file on disk always ends at a line boundary: a stop at any moment leaves it valid.
 * A write that fails (a full disk) leaves the file at its last whole line and is thrown by the call that
 * made it, or, when the periodic flush made it, by the next writeLine() or close(): never from a timer,
 * where nobody could report it in a line.
 */
export class LineFile {
  private fd: number;
  private size = 0;
  private buf: string[] = [];
  private bytes = 0;
  private timer?: NodeJS.Timeout;
  private failure: unknown;

  constructor(
    readonly path: string,
    private readonly flushBytes = 64 * 1024,
    flushMs = 500,
  ) {
    this.fd = openOutputFile(path, 'w');
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch {
        // Kept by flush(), for the next writeLine() or close() to throw.
      }
    }, flushMs);
    this.timer.unref();
  }

  writeLine(line: string): void {
    if (this.failure !== undefined) throw this.failure;
    this.buf.push(line, '\n');
    this.bytes += line.length + 1;
    if (this.bytes >= this.flushBytes) this.flush();
  }

  flush(): void {
    if (this.failure !== undefined) throw this.failure;
    if (!this.buf.length || this.fd < 0) return;
    const data = this.buf.join('');
    this.buf = [];
    this.bytes = 0;
    try {
      this.size = appendLinesSync(this.fd, this.size, data, this.path);
    } catch (e) {
      // Its lines are lost: every later write fails too, rather than carry on past the gap.
      this.failure = e;
      clearInterval(this.timer);
      throw e;
    }
  }

  close(): void {
    if (this.fd < 0) return;
    clearInterval(this.timer);
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}
