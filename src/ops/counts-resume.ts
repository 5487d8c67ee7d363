import { closeSync, fstatSync, ftruncateSync, readSync } from 'node:fs';
import { openOutputFile } from '../core/open-output.js';
import { bumpMovement } from '../core/source-counts.js';
import type { LineCounts, MovementCounts } from '../core/types.js';

/** The tail read first: an interval's rows are mostly a few KB; a larger one is read in a larger tail. */
const TAIL_BYTES = 64 * 1024;

/**
 * An interval's rows after the two time columns: three key fields (line, direction, class; or from, to, class), a
 * count, and the seconds of the interval covered so far (the same on each of its rows).
 */
type Row = { start: number; key: [string, string, string]; n: number; covered: number };

/** takeOpenInterval of a live counts CSV, as counts per line, direction and class. */
export function takeOpenCounts(path: string, intervalMs: number, nowMs: number): { start: number; counts: LineCounts; coveredSeconds: number; rows: number } | undefined {
  const open = takeOpenInterval(path, intervalMs, nowMs, ([, direction]) => direction === 'forward' || direction === 'backward');
  if (!open) return undefined;
  const counts: LineCounts = {};
  for (const { key: [line, direction, cls], n } of open.rows) {
    const d = (counts[line] ??= { forward: {}, backward: {} })[direction as 'forward' | 'backward'];
    d[cls] = (d[cls] ?? 0) + n;
  }
  return { start: open.start, counts, coveredSeconds: open.rows[0].covered, rows: open.rows.length };
}

/** takeOpenInterval of a live movements CSV (`…,from,to,class,count`), as movements. */
export function takeOpenMovements(path: string, intervalMs: number, nowMs: number): { start: number; movements: MovementCounts; coveredSeconds: number; rows: number } | undefined {
  const open = takeOpenInterval(path, intervalMs, nowMs, () => true);
  if (!open) return undefined;
  const movements: MovementCounts = {};
  for (const { key: [from, to, cls], n } of open.rows) bumpMovement(movements, from, to, cls, n);
  return { start: open.start, movements, coveredSeconds: open.rows[0].covered, rows: open.rows.length };
}

/**
 * A live counts or movements CSV (`interval_start,interval_start_ms,<three key fields>,count,covered_s`, wall clock) whose
 * last rows are of an interval still in progress: written on a stop, with the counts so far. A run started again
 * within it would write that interval's rest as a second set of rows of the same keys (23, then 3, for 26 cars).
 * Those rows (in the file's order) are taken off the file and returned, to be added to the new run's count and
 * written once when it ends. `isKey` says whether a row's key fields are of this kind of file. A file of the format
 * before covered_s (six columns) is not cut into: it is rotated whole when this run opens it (rotateOtherTable),
 * the interval's rest written in the new file with the seconds of it this run covered.
 */
function takeOpenInterval(path: string, intervalMs: number, nowMs: number, isKey: (key: [string, string, string]) => boolean): { start: number; rows: Row[] } | undefined {
  let fd: number;
  try {
    fd = openOutputFile(path, 'r+');
  } catch {
    return undefined; // no file yet (or a link, refused when the file is opened to write)
  }
  try {
    const size = fstatSync(fd).size;
    // The tail, grown until it holds the whole last interval: with a row for every line, direction and class
    // (8 lines × 80 classes is 1,280 rows, 81 KB) one interval can outgrow any fixed window, and cutting it at
    // the window's edge left its first rows in the file to be written again: the same keys twice.
    for (let tail = TAIL_BYTES; ; tail *= 4) {
      const from = Math.max(0, size - tail);
      const found = lastInterval(fd, size, from, isKey);
      if (found === 'more' && from > 0) continue;
      if (found === 'more' || !found) return undefined;
      // Only an interval on the wall clock that has not ended: a finished one is complete as written. And one on
      // this run's grid: another length's (a file from before the folder recorded its length) is no interval of this run.
      if (found.start < 1e11 || found.start + intervalMs <= nowMs || found.start > nowMs || found.start % intervalMs !== 0) return undefined;
      ftruncateSync(fd, found.cut);
      return { start: found.start, rows: found.rows };
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The rows of the file's last interval, read from `from` to its end, and where they begin; 'more' when the
 * window is all rows of that interval (it may begin before the window); undefined when the file is no counts CSV to cut.
 */
function lastInterval(fd: number, size: number, from: number, isKey: (key: [string, string, string]) => boolean): { start: number; rows: Row[]; cut: number } | 'more' | undefined {
  const buf = Buffer.alloc(size - from);
  readSync(fd, buf, 0, buf.length, from);
  const text = buf.toString('utf8');
  // Whole lines only, from the end: the last one ends the file.
  if (!text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  let start: number | undefined;
  let cut = size - 1;
  let k = lines.length - 1;
  const rows: Row[] = [];
  // The window's first line may be cut in two: not read.
  const first = from > 0 ? 1 : 0;
  for (; k >= first; k--) {
    const row = parseRow(lines[k], isKey);
    // A row that is not a count (other than the header) above the interval's: not a file to cut into.
    if (!row && !(k === 0 && from === 0)) return undefined;
    if (!row || (start !== undefined && row.start !== start)) break;
    start = row.start;
    rows.push(row);
    cut -= Buffer.byteLength(lines[k]) + 1;
  }
  if (k < first && from > 0) return 'more';
  if (start === undefined) return undefined;
  // In the file's order (read from the end): the lines are written again in it.
  return { start, rows: rows.reverse(), cut: cut + 1 };
}

function parseRow(line: string, isKey: (key: [string, string, string]) => boolean): Row | undefined {
  const f = csvFields(line);
  if (!f || f.length !== 7) return undefined;
  const start = Number(f[1]);
  const n = Number(f[5]);
  const covered = Number(f[6]);
  const key: [string, string, string] = [f[2], f[3], f[4]];
  if (!Number.isInteger(start) || !Number.isInteger(n) || !(covered >= 0) || !isKey(key)) return undefined;
  return { start, key, n, covered };
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
