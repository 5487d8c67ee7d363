import { ftruncateSync, writeSync } from 'node:fs';

/**
 * Appends whole lines to an open file at `size` (its length so far) and returns the new length. A
 * write may take fewer bytes than it was given (a file-size limit, a nearly full disk): the rest is
 * written until all is out. If writing fails part-way, the file is cut back to `size`, so that it still
 * ends at a line boundary, and the error is thrown: output files must never end in half a line. A write
 * error names no file (it has only the descriptor): it is given `path`, so the user is told which file
 * the full disk stopped.
 */
export function appendLinesSync(fd: number, size: number, text: string, path?: string): number {
  const data = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < data.length) {
      // At an explicit position: after a failed write cut the file back, the file offset of a file not
      // opened for appending would still point past its end, and the next write would leave a gap of NULs.
      const n = writeSync(fd, data, done, data.length - done, size + done);
      if (n <= 0) throw Object.assign(new Error(`write took no bytes (${n})`), { code: 'EIO' });
      done += n;
    }
  } catch (e) {
    try {
      ftruncateSync(fd, size);
    } catch {
      // The write's own error is the one to report.
    }
    if (path !== undefined && e && typeof e === 'object' && !('path' in e)) Object.assign(e, { path });
    throw e;
  }
  return size + data.length;
}
