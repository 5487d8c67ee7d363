import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * An append-only text file written in whole lines. Lines are buffered and flushed with one write per
 * flush, so the file on disk always ends at a line boundary: a stop at any moment leaves it valid.
 */
export class LineFile {
  private fd: number;
  private buf: string[] = [];
  private bytes = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    readonly path: string,
    private readonly flushBytes = 64 * 1024,
    flushMs = 500,
  ) {
    this.fd = openSync(path, 'w');
    this.timer = setInterval(() => this.flush(), flushMs);
    this.timer.unref();
  }

  writeLine(line: string): void {
    this.buf.push(line, '\n');
    this.bytes += line.length + 1;
    if (this.bytes >= this.flushBytes) this.flush();
  }

  flush(): void {
    if (!this.buf.length || this.fd < 0) return;
    const data = this.buf.join('');
    this.buf = [];
    this.bytes = 0;
    writeSync(this.fd, data);
  }

  close(): void {
    if (this.fd < 0) return;
    clearInterval(this.timer);
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }
}
