/** `xnorcam batch --speeds`: a spot-speed study per interval from a generated video's crossings, checked against the events and the truth. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { xnorcam } from '../helpers/cli.js';

interface Truth {
  line: { points: [[number, number], [number, number]] };
  calibration: { image: [number, number][]; world: [number, number][] };
  crossings: { direction: string; className: string; speedKmh: number; ptsMs: number }[];
}
interface Crossing {
  type: string;
  ptsMs: number;
  at: number;
  line: string;
  direction: string;
  className: string;
  trackId: number;
  speedKmh?: number;
}

const INTERVAL_MS = 5000;
const csv = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(','));
/** The p-th percentile by nearest rank: the ⌈p·n/100⌉-th smallest. */
const percentile = (sorted: number[], p: number) => sorted[Math.ceil((p * sorted.length) / 100) - 1];

/**
 * What a row of the speeds CSV should hold for these crossings (speeds in `perKmh` units): count, with_speed,
 * mean, p15, p50, p85, max and, with a limit, limit and over_limit; empty figures where no speed.
 */
function expectedStats(crossings: Crossing[], perKmh: number, limit: number): { counts: string[]; mean?: number; figures: string[] } {
  const speeds = crossings.flatMap((c) => (c.speedKmh === undefined ? [] : [c.speedKmh / perKmh])).sort((a, b) => a - b);
  const counts = [String(crossings.length), String(speeds.length)];
  if (!speeds.length) return { counts, figures: ['', '', '', '', String(limit), ''] };
  const figures = [...[15, 50, 85].map((p) => percentile(speeds, p)), speeds.at(-1)!].map((v) => (Math.round(v * 10) / 10).toFixed(1));
  return { counts, mean: speeds.reduce((a, v) => a + v, 0) / speeds.length, figures: [...figures, String(limit), String(speeds.filter((v) => v > limit).length)] };
}

describe('xnorcam batch --speeds', () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  let truth: Truth;
  let lineArgs: string[];
  beforeAll(() => {
    tmp = tempDir();
    video = join(tmp.dir, 'gantry.mp4');
    const r = xnorcam(['synth', 'video', '--out', video, '--seconds', '12', '--seed', '1', '--size', '640x360']);
    expect(r.status, r.stderr).toBe(0);
    truth = JSON.parse(readFileSync(join(tmp.dir, 'gantry.truth.json'), 'utf8')) as Truth;
    const calibration = truth.calibration.image.map((p, i) => `${p.join(',')}=${truth.calibration.world[i].join(',')}`).join(' ');
    lineArgs = ['--line', `count:${truth.line.points.flat().join(',')}`, '--calibration', calibration, '--count-interval', String(INTERVAL_MS / 1000)];
  }, 300_000);
  afterAll(() => tmp.cleanup());

  /** Checks the speeds CSV's rows against the counts CSV's table and the crossings of the events file. */
  function checkTable(out: string, perKmh: number, limit: number, intervalOf: (row: string[]) => number): Crossing[] {
    const crossings = (readFileSync(join(out, 'gantry.events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) as Crossing[]).filter((e) => e.type === 'line-crossing');
    const speeds = csv(join(out, 'gantry.speeds.csv')).slice(1);
    const counts = csv(join(out, 'gantry.counts.csv')).slice(1);
    // The counts CSV's table, row for row: the same intervals, lines, directions, classes and counts, and seconds covered.
    expect(speeds.map((r) => [...r.slice(0, 6), r.at(-1)].join(','))).toEqual(counts.map((r) => r.join(',')));
    for (const row of speeds) {
      const [, , line, direction, cls] = row;
      const k = intervalOf(row);
      // Counted in the interval of the time it is shown at: its ptsMs to the ms, rounded.
      const these = crossings.filter((c) => c.line === line && c.direction === direction && c.className === cls && (Number.isNaN(k) || Math.floor(Math.round(c.ptsMs) / INTERVAL_MS) === k));
      const want = expectedStats(these, perKmh, limit);
      const label = row.join(',');
      expect(row.slice(5, 7), label).toEqual(want.counts);
      expect([row[8], row[9], row[10], row[11], row[12], row[13]], label).toEqual(want.figures);
      if (want.mean === undefined) expect(row[7], label).toBe('');
      else expect(Math.abs(Number(row[7]) - want.mean), label).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    // An interval with several speeds, whose percentiles differ.
    expect(Math.max(...speeds.filter((r) => r[0] !== 'total').map((r) => Number(r[6]))), 'speeds in an interval').toBeGreaterThanOrEqual(4);
    return crossings;
  }

  it('writes per interval, line, direction and class the counted vehicles and the nearest-rank speed percentiles of the crossings, then totals, and each crossing', () => {
    const out = join(tmp.dir, 'kmh');
    const r = xnorcam(['batch', video, ...lineArgs, '--speeds', '--speed-limit', '20', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'gantry.speeds.csv'), 'utf8').split('\n')[0]).toBe(
      'interval_start_s,interval_end_s,line,direction,class,count,with_speed,mean_kmh,p15_kmh,p50_kmh,p85_kmh,max_kmh,limit_kmh,over_limit,covered_s',
    );
    const crossings = checkTable(out, 1, 20, (row) => (row[0] === 'total' ? NaN : Math.floor((Number(row[0]) * 1000) / INTERVAL_MS)));
    expect(crossings.filter((c) => c.speedKmh !== undefined).length).toBeGreaterThan(crossings.length / 2);

    // Each crossing in time order, its spot speed as the event's (empty where none).
    const rows = csv(join(out, 'gantry.crossings.csv'));
    expect(rows[0].join(',')).toBe('time_s,ptsMs,line,direction,class,trackId,speed_kmh');
    const sorted = [...crossings].sort((a, b) => a.ptsMs - b.ptsMs);
    expect(rows.slice(1)).toEqual(sorted.map((c) => [String(Math.round(c.ptsMs) / 1000), String(c.ptsMs), c.line, c.direction, c.className, String(c.trackId), c.speedKmh === undefined ? '' : c.speedKmh.toFixed(1)]));

    // The study's median is the true one: each measured crossing against the same vehicle's in the truth.
    const pairs = sorted.flatMap((c) => {
      const t = truth.crossings.find((x) => x.direction === c.direction && Math.abs(x.ptsMs - c.ptsMs) <= 250);
      return c.speedKmh !== undefined && t ? [[c.speedKmh, t.speedKmh]] : [];
    });
    expect(pairs.length).toBeGreaterThan(5);
    const [measured, real] = [0, 1].map((i) => pairs.map((p) => p[i]).sort((a, b) => a - b));
    expect(Math.abs(percentile(measured, 50) - percentile(real, 50)) / percentile(real, 50), `${measured} vs ${real}`).toBeLessThan(0.1);
  }, 300_000);

  it('in mph on the clock with --start-time: the counts CSV\'s clock intervals, speeds and limit in mph', () => {
    const out = join(tmp.dir, 'mph');
    const r = xnorcam(['batch', video, ...lineArgs, '--speeds', '--speed-unit', 'mph', '--speed-limit', '12', '--start-time', '2026-11-03T07:00:00+01:00', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'gantry.speeds.csv'), 'utf8').split('\n')[0]).toBe(
      'interval_start,interval_start_ms,line,direction,class,count,with_speed,mean_mph,p15_mph,p50_mph,p85_mph,max_mph,limit_mph,over_limit,covered_s',
    );
    const startMs = Date.parse('2026-11-03T06:00:00Z');
    const crossings = checkTable(out, 1.609344, 12, (row) => (row[0] === 'total' ? NaN : (Number(row[1]) - startMs) / INTERVAL_MS));
    const rows = csv(join(out, 'gantry.crossings.csv'));
    expect(rows[0].join(',')).toBe('time,ptsMs,line,direction,class,trackId,speed_mph');
    // At --start-time's offset, as the tables' intervals: 07:00:01.234+01:00 for the user's 07:00. Each the
    // instant of its event's `at` (a crossing at 775.601 ms was …05.776 there and 07:00:05.775 here).
    const sorted = [...crossings].sort((a, b) => a.ptsMs - b.ptsMs);
    expect(sorted.some((c) => c.ptsMs % 1 >= 0.5), 'a crossing with a fraction of a ms to round up').toBe(true);
    expect(rows.slice(1).map((r) => r[0])).toEqual(sorted.map((c) => new Date(c.at + 3600_000).toISOString().replace('Z', '+01:00')));
    expect(sorted.map((c) => c.at)).toEqual(sorted.map((c) => startMs + Math.round(c.ptsMs)));
    expect(csv(join(out, 'gantry.speeds.csv'))[1][0]).toBe('2026-11-03T07:00:00.000+01:00');
  }, 300_000);

  it('refuses a study it could not make, in one line, before any work', () => {
    const calibration = lineArgs.slice(2, 4);
    const cases: [string[], string][] = [
      [['--speeds', '--line', 'a:0,100,640,100'], '--speeds: needs --calibration (four road points = ground metres): without it no speed is measured'],
      [['--speeds', ...calibration], '--speeds: needs a --line: speeds are taken where vehicles cross one'],
      [['--speed-limit', '50', ...lineArgs], '--speed-limit: only with --speeds (the limit is counted in <name>.speeds.csv)'],
      [['--speed-unit', 'mph', ...lineArgs], '--speed-unit: only with --speeds (events keep speedKmh)'],
      [['--speeds', '--speed-unit', 'knots', ...lineArgs], "--speed-unit: 'knots' is not kmh or mph"],
      [['--speeds', '--speed-limit', '0', ...lineArgs], "--speed-limit: '0' is not a number above 0"],
    ];
    for (const [args, message] of cases) {
      const r = xnorcam(['batch', video, ...args, '-o', join(tmp.dir, 'never')]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim(), args.join(' ')).toBe(`error: xnorcam batch: ${message} (see xnorcam batch --help)`);
    }
  });
});
