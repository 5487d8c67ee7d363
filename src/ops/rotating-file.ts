import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendLinesSync } from '../core/append-lines.js';

/**
 * An append-only line file that rotates by size: `events.jsonl` → `events.jsonl.1` → … up to
 * maxFiles, oldest deleted. Each line is written with one synchronous write, so a crash or kill
 * leaves every line that was written complete (a line is the unit of validity for JSONL/CSV).
 */
export class RotatingLineFile {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly opts: { maxBytes: number; maxFiles: number; header?: string },
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a');
    this.size = fstatSync(this.fd).size;
    if (this.size === 0 && opts.header) this.writeRaw(opts.header.endsWith('\n') ? opts.header : opts.header + '\n');
  }

  writeLine(line: string): void {
    const data = line.endsWith('\n') ? line : line + '\n';
    const bytes = Buffer.byteLength(data);
    if (this.size > 0 && this.size + bytes > this.opts.maxBytes) this.rotate();
    this.writeRaw(data);
  }

  private writeRaw(data: string): void {
    this.size = appendLinesSync(this.fd, this.size, data);
  }

  private rotate(): void {
    closeSync(this.fd);
    const { maxFiles } = this.opts;
    const oldest = `${this.path}.${maxFiles}`;
    if (existsSync(oldest)) rmSync(oldest);
    for (let i = maxFiles - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
    }
    if (maxFiles >= 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path);
    this.fd = openSync(this.path, 'a');
    this.size = 0;
    if (this.opts.header) this.writeRaw(this.opts.header.endsWith('\n') ? this.opts.header : this.opts.header + '\n');
  }

  close(): void {
    closeSync(this.fd);
  }
}
