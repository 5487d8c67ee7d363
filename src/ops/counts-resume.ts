import { closeSync, fstatSync, ftruncateSync, readSync } from 'node:fs';
import { openOutputFile } from '../core/open-output.js';
import type { LineCounts } from '../core/types.js';

/** An interval's rows are a few dozen lines: its tail is all that is read of a counts file up to 100 MiB. */
const TAIL_BYTES = 64 * 1024;

/**
 * A live counts CSV (`interval_start,interval_start_ms,line,direction,class,count`, wall clock) whose last rows
 * are of an interval still in progress: written on a stop, with the counts so far. A run started again within it
 * would write that interval's rest as a second set of rows of the same keys (23, then 3, for 26 cars). Those rows
 * are taken off the file and returned, to be added to the new run's count and written once when it ends.
 */
export function takeOpenInterval(path: string, intervalMs: number, nowMs: number): { start: number; counts: LineCounts; rows: number } | undefined {
  let fd: number;
  try {
    fd = openOutputFile(path, 'r+');
  } catch {
    return undefined; // no file yet (or a link, refused when the file is opened to write)
  }
  try {
    const size = fstatSync(fd).size;
    const from = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - from);
    readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    // Whole lines only, from the end: the last one ends the file.
    if (!text.endsWith('\n')) return undefined;
    const lines = text.slice(0, -1).split('\n');
    let start: number | undefined;
    let cut = size - 1;
    let k = lines.length - 1;
    const rows: NonNullable<ReturnType<typeof parseRow>>[] = [];
    const first = from > 0 ? 1 : 0;
    for (; k >= first; k--) {
      const row = parseRow(lines[k]);
      // A row that is not a count (other than the header) above the interval's: not a file to cut into.
      if (!row && !(k === 0 && from === 0)) return undefined;
      if (!row || (start !== undefined && row.start !== start)) break;
      start = row.start;
      rows.push(row);
      cut -= Buffer.byteLength(lines[k]) + 1;
    }
    // In the file's order (read from the end): the lines are written again in it.
    const counts: LineCounts = {};
    for (const row of rows.reverse()) {
      counts[row.line] ??= { forward: {}, backward: {} };
      counts[row.line][row.direction][row.cls] = (counts[row.line][row.direction][row.cls] ?? 0) + row.n;
    }
    // Only an interval on the wall clock that has not ended: a finished one is complete as written.
    if (start === undefined || start < 1e11 || start + intervalMs <= nowMs || start > nowMs) return undefined;
    ftruncateSync(fd, cut + 1);
    return { start, counts, rows: lines.length - 1 - k };
  } finally {
    closeSync(fd);
  }
}

function parseRow(line: string): { start: number; line: string; direction: 'forward' | 'backward'; cls: string; n: number } | undefined {
  const f = csvFields(line);
  if (!f || f.length !== 6) return undefined;
  const start = Number(f[1]);
  const n = Number(f[5]);
  const direction = f[3];
  if (!Number.isInteger(start) || !Number.isInteger(n) || (direction !== 'forward' && direction !== 'backward')) return undefined;
  return { start, line: f[2], direction, cls: f[4], n };
}

/** A CSV line's fields, quoted ones ("a, b" and "" inside) undone; undefined for a line that is not CSV. */
function csvFields(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] !== '"') break;
        field += '"';
        i++;
      }
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      field = line.slice(i, end);
      if (field.includes('"')) return undefined;
      i = end;
    }
    out.push(field);
    if (i === line.length) return out;
    if (line[i] !== ',') return undefined;
    i++;
  }
}
