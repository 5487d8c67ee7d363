import { writeFileSync } from 'node:fs';
import { inputError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';

/** One MOTChallenge row: `frame,id,x,y,w,h,score,...` with (x, y) the top-left corner, frames 1-based. */
export interface MotRow {
  frame: number;
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
  score: number;
  /** The row's line in the file it was read from. */
  line?: number;
}

/** A decimal number as MOTChallenge files write them; '' (an empty field) and '0x10' are not (Number() says 0 and 16). */
const decimalRe = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
function decimal(s: string): number {
  return decimalRe.test(s) ? Number(s) : NaN;
}

/** Parses MOTChallenge text (comma or whitespace separated); errors name the file and line. */
export function parseMot(text: string, file: string): MotRow[] {
  const rows: MotRow[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s*,\s*|\s+/);
    // A trailing separator ("…,0.9,") ends the row; it is no empty field to read as a number.
    while (f.length > 6 && f[f.length - 1] === '') f.pop();
    if (f.length < 6) throw inputError(file, i + 1, `expected at least 6 fields (frame,id,x,y,w,h,...), got ${f.length}`);
    const nums = f.slice(0, 7).map(decimal);
    const bad = nums.findIndex((n) => !Number.isFinite(n));
    if (bad >= 0) throw inputError(file, i + 1, `field ${bad + 1} ('${f[bad]}') is not a number`);
    const [frame, id, x, y, w, h] = nums;
    if (!Number.isInteger(frame) || frame < 0) throw inputError(file, i + 1, `frame '${f[0]}' is not a non-negative integer`);
    if (w < 0 || h < 0) throw inputError(file, i + 1, `negative box size ${w}x${h}`);
    rows.push({ frame, id, x, y, w, h, score: nums.length > 6 ? nums[6] : 1, line: i + 1 });
  }
  return rows;
}

/**
 * Track files (ground truth or a tracker's output) give each object one integer id, once per frame;
 * a detection file (id -1) or a file with an id repeated in a frame would be scored as nonsense.
 */
export function checkTrackIds(rows: MotRow[], file: string): void {
  const seen = new Map<string, number | undefined>();
  for (const r of rows) {
    if (!Number.isInteger(r.id) || r.id < 0) {
      throw inputError(file, r.line ?? 0, `track id ${r.id} is not a non-negative integer${r.id === -1 ? ' (id -1: a detection file, not tracks?)' : ''}`);
    }
    const key = `${r.frame}:${r.id}`;
    if (seen.has(key)) throw inputError(file, r.line ?? 0, `track id ${r.id} appears twice in frame ${r.frame} (also line ${seen.get(key)})`);
    seen.set(key, r.line);
  }
}

export function readMotFile(file: string): MotRow[] {
  const text = readInputFile(file, 'a MOTChallenge .txt file', 'utf8');
  return parseMot(text, file);
}

/** MOTChallenge track rows `frame,id,x,y,w,h,score,-1,-1,-1`, sorted by frame then id. */
export function formatMotTracks(rows: MotRow[]): string {
  const sorted = [...rows].sort((a, b) => a.frame - b.frame || a.id - b.id);
  const r = (n: number) => String(Math.round(n * 100) / 100);
  return sorted.map((t) => `${t.frame},${t.id},${r(t.x)},${r(t.y)},${r(t.w)},${r(t.h)},${Math.round(t.score * 1e4) / 1e4},-1,-1,-1`).join('\n') + (sorted.length ? '\n' : '');
}

export function writeMotFile(file: string, rows: MotRow[]): void {
  writeFileSync(file, formatMotTracks(rows));
}
