import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameResult, Track, TrafficEvent } from '../../src/core/types.js';
import { CLOCK_COUNTS_CSV_HEADER, COUNTS_CSV_HEADER, CountsCsvWriter } from '../../src/outputs/counts-csv.js';
import { CROSSING_LOOKBACK_MS } from '../../src/track/lines.js';
import { SpeedStudyWriter } from '../../src/outputs/speeds-csv.js';
import { clockTime, dateEvents } from '../../src/ingest/start-time.js';
import { tempDir } from '../helpers/videos.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let seq = 0;
/** The wall clock of a run: it must not matter. */
let wall = 1.7e12;
function result(ptsMs: number, opts: { crossings?: [ptsMs: number, line: string, direction: 'forward' | 'backward', cls: string][]; tentative?: number[] } = {}): FrameResult {
  const events: TrafficEvent[] = (opts.crossings ?? []).map(([t, line, direction, className]) => ({ type: 'line-crossing', source: 's', ptsMs: t, at: wall + t, line, direction, trackId: 1, className }));
  // A tentative track of age `a` ms was born at ptsMs - a.
  const tracks = (opts.tentative ?? []).map((age, i) => ({ id: 100 + i, classId: 0, className: 'car', score: 0.9, box: [0, 0, 1, 1], velocity: [0, 0], confirmed: false, ageMs: age }) as Track);
  return { frame: { source: 's', seq: seq++, ptsMs, capturedAt: wall + ptsMs, width: 4, height: 4 }, detections: [], tracks, events, detectedAt: 0, detectMs: 0 } as FrameResult;
}

const read = (p: string) => readFileSync(p, 'utf8');
/** A result for decoded frame `seq` at `ptsMs` (strided runs skip numbers). */
function resultAt(ptsMs: number, seq: number, crossings: [number, string, 'forward' | 'backward', string][]): FrameResult {
  const r = result(ptsMs, { crossings });
  return { ...r, frame: { ...r.frame, seq } };
}

/**
 * One interval's rows, `start,end` first: every line, forward then backward, every class, with `counts` (`line,direction,class` → n),
 * 0 elsewhere, and the seconds of the interval the video covered.
 */
function block(interval: string, lines: string[], classes: string[], counts: Record<string, number>, covered: number): string[] {
  return lines.flatMap((l) => ['forward', 'backward'].flatMap((d) => classes.map((c) => `${interval},${l},${d},${c},${counts[`${l},${d},${c}`] ?? 0},${covered}`)));
}

describe('CountsCsvWriter (batch counts CSV)', () => {
  it('buckets by video time and appends each interval once it is closed, header first, every line, direction and class in each', () => {
    const path = join(tmp.dir, 'a.counts.csv');
    // The classes counted, as the pipeline gives them (the model's traffic classes): rows in alphabetical order.
    const classes = ['bus', 'car', 'truck'];
    const w = new CountsCsvWriter(path, 10_000, ['north', 'south'], { classes: ['truck', 'car', 'bus'] });
    const table = (interval: string, covered: number, counts: Record<string, number> = {}) => block(interval, ['north', 'south'], classes, counts, covered);
    // On disk before any frame: a run killed now still leaves a valid CSV.
    expect(read(path)).toBe(`${COUNTS_CSV_HEADER}\n`);
    w.write(result(0));
    w.write(result(4000, { crossings: [[4000, 'south', 'forward', 'car']] }));
    w.write(result(9000, { crossings: [[9000, 'north', 'backward', 'truck'], [9000, 'north', 'forward', 'car']] }));
    w.write(result(12_900, { crossings: [[9990, 'north', 'forward', 'car']] }));
    // A crossing is dated when the vehicle went over the line, up to the lookback before the frame that reports it:
    // [0, 10 s) stays open until a frame that far past its end, then it is written and flushed, in --line order, forward first.
    expect(read(path)).toBe(`${COUNTS_CSV_HEADER}\n`);
    expect(CROSSING_LOOKBACK_MS).toBe(3000);
    w.write(result(13_000, { crossings: [[10_000, 'north', 'forward', 'car']] }));
    // Frames 4-5 s apart are no video in between (a gap over 2 s): [0, 10) had frames, and none of its time covered.
    // (A frame before such a gap stands for one frame period, the shortest seen so far if under 2 s: 0.1 s from 13 s on.)
    const first = table('0,10', 0, { 'north,forward,car': 2, 'north,backward,truck': 1, 'south,forward,car': 1 });
    expect(read(path)).toBe([COUNTS_CSV_HEADER, ...first, ''].join('\n'));
    // [10, 20) stays open while a tentative track born in it (at 18 s) may still report a crossing dated then.
    w.write(result(23_500, { tentative: [5500] }));
    expect(read(path).split('\n')).toHaveLength(2 + 12);
    w.write(result(23_600, { crossings: [[19_500, 'south', 'backward', 'bus']], tentative: [] }));
    expect(read(path).split('\n')).toHaveLength(2 + 2 * 12);
    w.write(result(55_000));
    w.close();
    expect(read(path).split('\n')).toEqual([
      COUNTS_CSV_HEADER,
      ...first,
      ...table('10,20', 0.2, { 'north,forward,car': 1, 'south,backward,bus': 1 }),
      // Intervals the video covers without a crossing: 0 for each, told apart from not counted.
      ...table('20,30', 0.2),
      ...table('30,40', 0),
      ...table('40,50', 0),
      // The last frame covers a frame period (the shortest seen, 0.1 s).
      ...table('50,60', 0.1),
      ...table('total,', 0.5, { 'north,forward,car': 3, 'north,backward,truck': 1, 'south,forward,car': 1, 'south,backward,bus': 1 }),
      '',
    ]);
  });

  it('starts the first interval where the video starts, when that is not 0 (a real clip\'s first frame at 1.86 s)', () => {
    const path = join(tmp.dir, 'late.csv');
    const w = new CountsCsvWriter(path, 15_000, ['l'], { classes: ['car'] });
    for (let t = 1860; t <= 31_860; t += 100) w.write(result(t, { crossings: t === 5_060 || t === 20_060 ? [[t, 'l', 'forward', 'car']] : [] }));
    w.close();
    expect(read(path).split('\n').slice(1, -1)).toEqual([
      ...block('1.86,15', ['l'], ['car'], { 'l,forward,car': 1 }, 13.14),
      ...block('15,30', ['l'], ['car'], { 'l,forward,car': 1 }, 15),
      ...block('30,31.96', ['l'], ['car'], {}, 1.96),
      ...block('total,', ['l'], ['car'], { 'l,forward,car': 2 }, 30.1),
    ]);
  });

  it('ends the last interval where the video ends, not at the full interval', () => {
    const path = join(tmp.dir, 'short.csv');
    const w = new CountsCsvWriter(path, 60_000);
    // A 33.4 s clip at 10 fps with a crossing at 12 s and one at 31 s; and, for a second check, one 20 s interval.
    for (let t = 0; t <= 33_300; t += 100) w.write(result(t, { crossings: t === 12_000 || t === 31_000 ? [[t, 'l', 'forward', 'car']] : [] }));
    w.close();
    expect(read(path).split('\n').slice(1, 2)).toEqual(['0,33.4,l,forward,car,2,33.4']);
    const path2 = join(tmp.dir, 'short20.csv');
    const w2 = new CountsCsvWriter(path2, 20_000);
    for (let t = 0; t <= 33_300; t += 100) w2.write(result(t, { crossings: t === 12_000 || t === 31_000 ? [[t, 'l', 'forward', 'car']] : [] }));
    w2.close();
    expect(read(path2).split('\n').slice(1, 5)).toEqual(['0,20,l,forward,car,1,20', '0,20,l,backward,car,0,20', '20,33.4,l,forward,car,1,13.4', '20,33.4,l,backward,car,0,13.4']);
    // With --stride 7 the frames written are 0.7 s apart: the last looked at is frame 329 (32.9 s), and the
    // count covers to its end, 33.0 s, not a stride past it (33.6 s, beyond the video's 33.4 s).
    const path3 = join(tmp.dir, 'strided.csv');
    const w3 = new CountsCsvWriter(path3, 60_000);
    for (let i = 0; i <= 333; i += 7) w3.write(resultAt(i * 100, i, i === 315 ? [[31_500, 'l', 'forward', 'car']] : []));
    w3.close();
    // Frames 0.7 s apart with 6 decoded between each are video throughout, however far apart a stride puts them.
    expect(read(path3).split('\n')[1]).toBe('0,33,l,forward,car,1,33');
  });

  it('does not depend on when it runs, and a tentative track holds an interval open only while it lives', () => {
    const once = (name: string, clock: number) => {
      wall = clock;
      const path = join(tmp.dir, name);
      const w = new CountsCsvWriter(path, 60_000);
      w.write(result(0));
      w.write(result(59_000, { tentative: [500] }));
      w.write(result(63_500, { tentative: [5000] }));
      const before = read(path);
      w.write(result(63_540, { crossings: [[59_900, 'l', 'forward', 'car']] }));
      const after = read(path);
      w.close();
      return { before, after, all: read(path) };
    };
    const a = once('b1.csv', 1.7e12);
    expect(a.before).toBe(`${COUNTS_CSV_HEADER}\n`);
    // Its frames 59 and 4.5 s apart: none of its time covered.
    expect(a.after).toBe(`${COUNTS_CSV_HEADER}\n0,60,l,forward,car,1,0\n0,60,l,backward,car,0,0\n`);
    expect(once('b2.csv', 1.9e12 + 12_345).all).toBe(a.all);
  });

  it('with a start time, writes the live format on the intervals of the clock, the first and last covering part of theirs', () => {
    const path = join(tmp.dir, 'clock.csv');
    // A recording from 07:03:20 (+01:00) to 07:31:40, 15-minute intervals, a car at 10 s and one at 20 min.
    const startMs = Date.UTC(2026, 10, 3, 6, 3, 20);
    const w = new CountsCsvWriter(path, 900_000, ['l'], { classes: ['car'], startMs });
    for (let t = 0; t <= 28 * 60_000 + 20_000; t += 1000) w.write(result(t, { crossings: t === 10_000 || t === 1_200_000 ? [[t, 'l', 'forward', 'car']] : [] }));
    w.close();
    const at = (h: number, m: number) => `${new Date(Date.UTC(2026, 10, 3, h, m)).toISOString()},${Date.UTC(2026, 10, 3, h, m)}`;
    expect(read(path).split('\n')).toEqual([
      CLOCK_COUNTS_CSV_HEADER,
      // From 07:03:20: 11 min 40 s of the first quarter hour; to 07:31:40 and its last second: 101 s of the last.
      ...block(at(6, 0), ['l'], ['car'], { 'l,forward,car': 1 }, 700),
      ...block(at(6, 15), ['l'], ['car'], { 'l,forward,car': 1 }, 900),
      ...block(at(6, 30), ['l'], ['car'], {}, 101),
      ...block('total,', ['l'], ['car'], { 'l,forward,car': 2 }, 1701),
      '',
    ]);
    expect(CLOCK_COUNTS_CSV_HEADER).toBe('interval_start,interval_start_ms,line,direction,class,count,covered_s');
  });

  it('counts a crossing in the interval its shown time reads, the time every output gives it (to the ms, rounded)', () => {
    // 0.4 ms before the 10 s boundary: shown as 10.000, so counted from 10 s; and one at 775.601 ms, shown as .776.
    const crossings: [number, string, 'forward' | 'backward', string][] = [
      [775.601, 'l', 'forward', 'car'],
      [9999.6, 'l', 'forward', 'car'],
    ];
    const frames = () => [result(0), result(800, { crossings: [crossings[0]] }), result(10_040, { crossings: [crossings[1]] }), result(19_960)];
    const startMs = Date.UTC(2026, 10, 3, 6, 0, 0);
    for (const clock of [{}, { startMs, utcOffsetMin: 60 }]) {
      const base = join(tmp.dir, `shown-${clock.startMs ?? 'video'}`);
      const counts = new CountsCsvWriter(`${base}.counts.csv`, 10_000, ['l'], { classes: ['car'], ...clock });
      const speeds = new SpeedStudyWriter(base, 10_000, ['l'], { classes: ['car'], unit: 'kmh', ...clock });
      const ats: number[] = [];
      for (const r of frames()) {
        dateEvents(r.events, clock.startMs);
        for (const e of r.events) ats.push(e.at);
        counts.write(r);
        speeds.write(r);
      }
      counts.close();
      speeds.close();
      const rows = (file: string) => read(`${base}.${file}.csv`).trim().split('\n').slice(1);
      // Each crossing's time in crossings.csv: its ptsMs rounded (video time), or its event's `at` on the clock.
      const shown = clock.startMs === undefined ? ['0.776', '10'] : ['2026-11-03T07:00:00.776+01:00', '2026-11-03T07:00:10.000+01:00'];
      expect(rows('crossings').map((r) => r.split(',')[0])).toEqual(shown);
      if (clock.startMs !== undefined) expect(ats.map((at) => clockTime(at, 60))).toEqual(shown);
      // The first interval has the first crossing, the second the one shown at its start.
      const interval = (k: number) => (clock.startMs === undefined ? `${k * 10},${k * 10 + 10}` : `${clockTime(startMs + k * 10_000, 60)},${startMs + k * 10_000}`);
      // (covered_s, the last column, left out: the frames here are sparse)
      const forward = rows('counts').filter((r) => r.includes(',l,forward,car,')).map((r) => r.slice(0, r.lastIndexOf(',')));
      expect(forward).toEqual([`${interval(0)},l,forward,car,1`, `${interval(1)},l,forward,car,1`, 'total,,l,forward,car,2']);
    }
  });
});
