import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameResult, Track, TrafficEvent } from '../../src/core/types.js';
import { CLOCK_MOVEMENTS_CSV_HEADER, MOVEMENTS_CSV_HEADER, MovementsCsvWriter } from '../../src/outputs/movements-csv.js';
import { tempDir } from '../helpers/videos.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const LOST_MS = 1500;
let seq = 0;
const crossing = (trackId: number, ptsMs: number, line: string): TrafficEvent => ({ type: 'line-crossing', source: 's', ptsMs, at: ptsMs, line, direction: 'forward', trackId, className: 'car' });
const movement = (trackId: number, ptsMs: number, from: string, to: string, className = 'car'): TrafficEvent => ({ type: 'movement', source: 's', ptsMs, at: ptsMs, from, to, trackId, className });
/** A frame at ptsMs showing the (confirmed) tracks `seen`, with these events. */
function frame(ptsMs: number, seen: number[], events: TrafficEvent[] = []): FrameResult {
  const tracks = seen.map((id) => ({ id, classId: 0, className: 'car', score: 0.9, box: [0, 0, 1, 1], velocity: [0, 0], confirmed: true, ageMs: 5000 }) as Track);
  return { frame: { source: 's', seq: seq++, ptsMs, capturedAt: 1.7e12 + ptsMs, width: 4, height: 4 }, detections: [], tracks, events, detectedAt: 0, detectMs: 0 };
}
const read = (p: string) => readFileSync(p, 'utf8');

describe('MovementsCsvWriter (batch turning movements CSV)', () => {
  it('holds an interval while a track that crossed in it may still end with a movement, then writes it, flushed', () => {
    const path = join(tmp.dir, 'a.movements.csv');
    const w = new MovementsCsvWriter(path, 10_000, ['south', 'north', 'east'], LOST_MS, { classes: ['car'] });
    // On disk before any frame: a run killed now leaves a valid CSV.
    expect(read(path)).toBe(`${MOVEMENTS_CSV_HEADER}\n`);
    w.write(frame(0, [1, 2]));
    // Track 1 crosses south at 2 s and north at 8 s, then stands in view; track 2 crosses only east at 9 s and drives off.
    w.write(frame(2000, [1, 2], [crossing(1, 2000, 'south')]));
    w.write(frame(8000, [1, 2], [crossing(1, 8000, 'north')]));
    w.write(frame(9000, [1, 2], [crossing(2, 9000, 'east')]));
    w.write(frame(9500, [1]));
    // Long past [0, 10 s): still held, for track 1 (its movement, if any, dates from 8 s) and for track 2 until the tracker has dropped it.
    w.write(frame(15_000, [1]));
    expect(read(path)).toBe(`${MOVEMENTS_CSV_HEADER}\n`);
    // Track 1 ends at last: its movement is in [0, 10 s), dated at its last crossing, and the interval is written at once.
    w.write(frame(20_000, [], [movement(1, 8000, 'south', 'north')]));
    // Every movement between two different lines has its row, 0 where no vehicle went that way.
    // Each row ends in the seconds of its interval with video: frames up to 2 s apart (0-2, 8-9.5 s), not 6 s apart,
    // where the frame before the gap stands for one frame period (the shortest seen: 2 s at 2 s, 0.5 s at 9.5 s).
    const table = (start: string, end: string, covered: number, southNorth = 0) =>
      [`south,north,car,${southNorth}`, 'south,east,car,0', 'north,south,car,0', 'north,east,car,0', 'east,south,car,0', 'east,north,car,0'].map((r) => `${start},${end},${r},${covered}`);
    expect(read(path)).toBe([MOVEMENTS_CSV_HEADER, ...table('0', '10', 6, 1), ''].join('\n'));
    w.close();
    // The intervals with frames and no movement have their zeros (the last ends a frame after the last frame), then the totals.
    // The frames at 15 and 20 s, each far from the next, cover the shortest frame period seen, 0.5 s.
    expect(read(path).trim().split('\n')).toEqual([MOVEMENTS_CSV_HEADER, ...table('0', '10', 6, 1), ...table('10', '20', 0.5), ...table('20', '25', 0.5), ...table('total', '', 7, 1)]);
  });

  it('counts the movements the input’s end brings, rows in --line order of from, then to, then class', () => {
    const path = join(tmp.dir, 'b.movements.csv');
    const w = new MovementsCsvWriter(path, 60_000, ['south', 'north', 'east'], LOST_MS);
    w.write(frame(0, [1, 2, 3]));
    w.write(frame(30_000, [1, 2, 3]));
    w.events([movement(3, 29_000, 'east', 'north', 'truck'), movement(1, 21_000, 'north', 'south'), movement(2, 25_000, 'east', 'north')]);
    w.close();
    // The only interval ends where the video did: its last frame plus one frame's duration.
    const table = (start: string, end: string) =>
      [
        'south,north,car,0', 'south,north,truck,0', 'south,east,car,0', 'south,east,truck,0',
        'north,south,car,1', 'north,south,truck,0', 'north,east,car,0', 'north,east,truck,0',
        'east,south,car,0', 'east,south,truck,0', 'east,north,car,1', 'east,north,truck,1',
      ].map((r) => `${start},${end},${r},0`);
    // Two frames 30 s apart: no video between them, and none of the interval covered.
    expect(read(path).trim().split('\n')).toEqual([MOVEMENTS_CSV_HEADER, ...table('0', '60'), ...table('total', '')]);
  });

  it('with --start-time, dates its intervals on the clock as the counts CSV does, at its offset, and has the counted classes\' rows', () => {
    const path = join(tmp.dir, 'c.movements.csv');
    const start = Date.parse('2026-11-03T09:03:20+02:00');
    // People are no turning traffic: no rows for them.
    const w = new MovementsCsvWriter(path, 900_000, ['a', 'b'], LOST_MS, { classes: ['bus', 'car', 'person'], startMs: start, utcOffsetMin: 120 });
    w.write(frame(0, [1]));
    w.write(frame(60_000, [1], [crossing(1, 10_000, 'a'), crossing(1, 50_000, 'b')]));
    w.write(frame(1_000_000, [], [movement(1, 50_000, 'a', 'b')]));
    w.close();
    const q = (iso: string) => `${iso},${Date.parse(iso)}`;
    expect(read(path).trim().split('\n')).toEqual([
      CLOCK_MOVEMENTS_CSV_HEADER,
      // Frames a minute and more apart: none of either interval covered.
      ...['a,b,bus,0', 'a,b,car,1', 'b,a,bus,0', 'b,a,car,0'].map((r) => `${q('2026-11-03T09:00:00.000+02:00')},${r},0`),
      ...['a,b,bus,0', 'a,b,car,0', 'b,a,bus,0', 'b,a,car,0'].map((r) => `${q('2026-11-03T09:15:00.000+02:00')},${r},0`),
      ...['a,b,bus,0', 'a,b,car,1', 'b,a,bus,0', 'b,a,car,0'].map((r) => `total,,${r},0`),
    ]);
  });
});
