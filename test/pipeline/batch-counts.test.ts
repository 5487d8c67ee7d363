import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { bin, shared } from '../helpers/model.js';
import { readJsonl, xnorcam } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

const video = resolve(shared, 'fixtures/real-traffic/video/urban_arterial_cn_cctv.mp4');
const line = ['--line', 'mid:0,170,640,170'];
const HEADER = 'interval_start_s,interval_end_s,line,direction,class,count,covered_s';

/** `start,end,line,direction,class` → count, from the crossing events of a detections JSONL (the truth). */
function crossingsByInterval(jsonl: string, intervalSec: number, upToMs = Infinity): Map<string, number> {
  const m = new Map<string, number>();
  for (const rec of readJsonl(jsonl)) {
    for (const e of rec.events as { type: string; ptsMs: number; line: string; direction: string; className: string }[]) {
      if (e.type !== 'line-crossing' || e.ptsMs >= upToMs) continue;
      const k = Math.floor(e.ptsMs / 1000 / intervalSec);
      const key = `${k * intervalSec},${(k + 1) * intervalSec},${e.line},${e.direction},${e.className}`;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return m;
}

/**
 * Interval rows of a counts CSV, checking it is well formed: header first, whole lines of 7 fields (a real clip's
 * video covering each interval whole: covered_s its end less its start), and
 * agreeing with `truth` (crossings by `start,end,line,direction,class`): 0 in a row it has none for.
 */
function expectTruth(rows: Map<string, number>, truth: Map<string, number>): void {
  for (const [k, n] of rows) expect([k, n]).toEqual([k, truth.get(k) ?? 0]);
  for (const k of truth.keys()) expect(rows.has(k), k).toBe(true);
}

function intervalRows(csv: string): Map<string, number> {
  expect(csv.endsWith('\n')).toBe(true);
  const lines = csv.trimEnd().split('\n');
  expect(lines[0]).toBe(HEADER);
  const m = new Map<string, number>();
  for (const l of lines.slice(1)) {
    const f = l.split(',');
    expect(f).toHaveLength(7);
    if (f[0] === 'total') continue;
    expect(Number(f[1]) - Number(f[0])).toBeGreaterThan(0);
    expect(Number(f[6])).toBeCloseTo(Number(f[1]) - Number(f[0]), 2);
    m.set(f.slice(0, 5).join(','), Number(f[5]));
  }
  return m;
}

describe('xnorcam batch: counts CSV', () => {
  let tmp: ReturnType<typeof tempDir>;
  let clip: string;
  beforeAll(() => {
    tmp = tempDir();
    clip = join(tmp.dir, 'urban.mp4');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', video, '-t', '4', '-c', 'copy', clip]);
    expect(r.status).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('is bucketed by video time from the start of the file, and the same on every run', () => {
    const run = (out: string) => {
      const r = xnorcam(['batch', clip, ...line, '--count-interval', '1', '-o', join(tmp.dir, out)]);
      expect(r.stderr).not.toMatch(/^error:/m);
      expect(r.status).toBe(0);
      return readFileSync(join(tmp.dir, out, 'urban.counts.csv'), 'utf8');
    };
    const csv = run('a');
    const truth = crossingsByInterval(join(tmp.dir, 'a', 'urban.detections.jsonl'), 1);
    expect(truth.size).toBeGreaterThan(1);
    const rows = intervalRows(csv);
    expectTruth(rows, truth);
    // Every interval has its table, crossings or not: one line, 2 directions, the bundled model's 6 classes, in
    // each second of the clip (and the few ms it runs past 4 s).
    const intervals = [...new Set([...rows.keys()].map((k) => k.split(',').slice(0, 2).join(',')))];
    expect(intervals.slice(0, 4)).toEqual(['0,1', '1,2', '2,3', '3,4']);
    expect(rows.size).toBe(intervals.length * 2 * 6);
    const totals = csv.split('\n').filter((l) => l.startsWith('total,'));
    expect(totals.reduce((a, l) => a + Number(l.split(',')[5]), 0)).toBe([...truth.values()].reduce((a, n) => a + n, 0));
    expect(run('b')).toBe(csv);
  });

  it('SIGKILL keeps every closed interval, in a valid CSV', async () => {
    const out = join(tmp.dir, 'killed');
    const child = spawn(process.execPath, [bin, 'batch', video, ...line, '--count-interval', '1', '-o', out], { stdio: 'ignore' });
    const csvPath = join(out, 'urban_arterial_cn_cctv.counts.csv');
    const jsonlPath = join(out, 'urban_arterial_cn_cctv.detections.jsonl');
    const lastPts = () => (existsSync(jsonlPath) ? (readJsonl(jsonlPath).pop()?.ptsMs ?? 0) : 0);
    // The first crossings are under 1 s into the clip: their interval closes within seconds of the start.
    try {
      await until('a counts row written while the batch ran', () => existsSync(csvPath) && readFileSync(csvPath, 'utf8').split('\n').length > 2 && lastPts() > 3000, 30_000);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.on('exit', r));
    const rows = intervalRows(readFileSync(csvPath, 'utf8'));
    expect(rows.size).toBeGreaterThan(0);
    // Rows agree with the crossings in the JSONL (flushed every 0.5 s, so it may end a little
    // before the CSV's last interval: compare the intervals it covers).
    const covered = Math.floor((lastPts() - 1000) / 1000) * 1000;
    const truth = crossingsByInterval(jsonlPath, 1, covered);
    const compared = [...rows].filter(([k]) => Number(k.split(',')[1]) * 1000 <= covered);
    expect(compared.length).toBeGreaterThan(0);
    for (const [k, n] of compared) expect([k, n]).toEqual([k, truth.get(k) ?? 0]);
  });
});

describe('xnorcam batch: counts CSV of a generated recording, on the clock with --start-time', () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  let tagged: string;
  let line: string;
  /** The bundled model's traffic classes, as the rows list them. */
  const classes = ['bicycle', 'bus', 'car', 'motorcycle', 'person', 'truck'];
  beforeAll(() => {
    tmp = tempDir();
    video = join(tmp.dir, 'road.mp4');
    const r = xnorcam(['synth', 'video', '--out', video, '--seconds', '6', '--seed', '3', '--size', '640x360']);
    expect(r.status, r.stderr).toBe(0);
    const truth = JSON.parse(readFileSync(join(tmp.dir, 'road.truth.json'), 'utf8')) as { line: { points: number[][] } };
    line = `count:${truth.line.points.flat().join(',')}`;
    // A camera's recording: the container says when it started (MP4 keeps whole seconds).
    tagged = join(tmp.dir, 'tagged.mp4');
    const t = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', video, '-c', 'copy', '-metadata', 'creation_time=2026-11-03T06:14:59Z', tagged]);
    expect(t.status, String(t.stderr)).toBe(0);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  /** Runs batch on `input` with 2 s intervals; its counts CSV's lines and its events (the detections JSONL's, and the events file). */
  const batch = (input: string, out: string, more: string[] = []) => {
    const r = xnorcam(['batch', input, '--line', line, '--count-interval', '2', '-o', join(tmp.dir, out), ...more]);
    expect(r.status, r.stderr).toBe(0);
    const name = input === video ? 'road' : 'tagged';
    const frames = readJsonl(join(tmp.dir, out, `${name}.detections.jsonl`));
    const events = frames.flatMap((f) => f.events as { type: string; ptsMs: number; at: number; line: string; direction: string; className: string }[]);
    const logged = readJsonl(join(tmp.dir, out, `${name}.events.jsonl`)) as unknown as { ptsMs: number; at: number }[];
    return { csv: readFileSync(join(tmp.dir, out, `${name}.counts.csv`), 'utf8').trimEnd().split('\n'), events, logged };
  };

  /**
   * The rows expected: for each interval (its label, the crossings' interval key and the seconds of it the video
   * covers), every direction and class, counted from the events; then the totals, of the whole 6 s.
   */
  function expectedRows(intervals: [label: string, key: number, covered: number][], keyOf: (ptsMs: number) => number, events: { type: string; ptsMs: number; direction: string; className: string }[]): string[] {
    const crossings = events.filter((e) => e.type === 'line-crossing');
    const n = (pred: (e: (typeof crossings)[number]) => boolean, dir: string, cls: string) => crossings.filter((e) => pred(e) && e.direction === dir && e.className === cls).length;
    const table = (label: string, covered: number, pred: (e: (typeof crossings)[number]) => boolean) =>
      ['forward', 'backward'].flatMap((dir) => classes.map((cls) => `${label},count,${dir},${cls},${n(pred, dir, cls)},${covered}`));
    return [...intervals.flatMap(([label, key, covered]) => table(label, covered, (e) => keyOf(e.ptsMs) === key)), ...table('total,', 6, () => true)];
  }

  it('has a row for every direction and class of every interval, 0 where nothing crossed; on the clock with --start-time WHEN', () => {
    const plain = batch(video, 'plain');
    expect(plain.events.filter((e) => e.type === 'line-crossing').length).toBeGreaterThan(3);
    expect(plain.csv).toEqual([HEADER, ...expectedRows([['0,2', 0, 2], ['2,4', 1, 2], ['4,6', 2, 2]], (t) => Math.floor(t / 2000), plain.events)]);
    expect(plain.csv.filter((l) => l.endsWith(',0,2')).length).toBeGreaterThan(plain.csv.length / 2);
    // Traffic events on the video's clock, as before.
    for (const e of plain.logged) expect(e.at).toBe(e.ptsMs);

    // Started at 07:14:59.5 (+01:00): intervals of the clock, 06:14:58Z (its last 0.5 s) to 06:15:04Z (its first 1.5 s).
    const start = Date.UTC(2026, 10, 3, 6, 14, 59, 500);
    const clock = batch(video, 'clock', ['--start-time', '2026-11-03T07:14:59.5+01:00']);
    // Written in the offset WHEN was given in: the user's 07:15, not 06:15Z (the same instant, the same epoch ms).
    const at = (s: number) => Date.UTC(2026, 10, 3, 6, 14, 58) + s * 1000;
    const local = ['07:14:58', '07:15:00', '07:15:02', '07:15:04'].map((t) => `2026-11-03T${t}.000+01:00`);
    // The first interval had the recording's first 0.5 s, the last its last 1.5 s: covered_s says so, a row's 0 cars no whole interval's.
    const covered = [0.5, 2, 2, 1.5];
    const intervals = [0, 2, 4, 6].map((s, i) => [`${local[i]},${at(s)}`, at(s), covered[i]] as [string, number, number]);
    expect(clock.csv[0]).toBe('interval_start,interval_start_ms,line,direction,class,count,covered_s');
    expect(clock.csv.slice(1)).toEqual(expectedRows(intervals, (t) => Math.floor((start + t) / 2000) * 2000, clock.events));
    expect(clock.csv[1]).toBe('2026-11-03T07:14:58.000+01:00,1793686498000,count,forward,bicycle,0,0.5');
    // The same crossings as without it, at the time of day they happened.
    expect(clock.events.map((e) => e.ptsMs)).toEqual(plain.events.map((e) => e.ptsMs));
    for (const e of [...clock.events, ...clock.logged]) expect(e.at).toBe(Math.round(start + e.ptsMs));
    expect(clock.logged.length).toBeGreaterThan(3);
  }, 180_000);

  it("takes the start from the file's creation_time tag with --start-time file, and refuses a file without one", () => {
    const tagRun = batch(tagged, 'tagged', ['--start-time', 'file']);
    const start = Date.UTC(2026, 10, 3, 6, 14, 59);
    // The tag is UTC: so are the times written.
    expect(tagRun.csv[1]).toBe('2026-11-03T06:14:58.000Z,1793686498000,count,forward,bicycle,0,1');
    expect(new Set(tagRun.csv.slice(1).map((l) => l.split(',')[0]))).toEqual(new Set(['2026-11-03T06:14:58.000Z', '2026-11-03T06:15:00.000Z', '2026-11-03T06:15:02.000Z', '2026-11-03T06:15:04.000Z', 'total']));
    for (const e of tagRun.logged) expect(e.at).toBe(Math.round(start + e.ptsMs));

    const r = xnorcam(['batch', video, '--line', line, '--start-time', 'file', '-o', join(tmp.dir, 'untagged')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${video}: --start-time file: it has no creation_time tag; give the time its recording started instead, e.g. --start-time 2026-11-03T07:00:00+01:00`]);
    expect(existsSync(join(tmp.dir, 'untagged'))).toBe(false);
  }, 180_000);

  it('refuses a --start-time that is not a date-time with an offset, in one line, before any work', () => {
    const cases: [string, string][] = [
      ['2026-11-03T07:00:00', "no UTC offset: add Z or the offset of the recording's time zone, e.g. 2026-11-03T07:00:00+01:00"],
      ['tomorrow 7am', 'expected an ISO 8601 date-time with an offset or Z (e.g. 2026-11-03T07:00:00+01:00), or file'],
      ['2026-02-30T07:00:00Z', 'no such date or time'],
      ['2026-11-03T07:00:00+25:00', 'no such UTC offset (+25:00)'],
    ];
    for (const [value, problem] of cases) {
      const r = xnorcam(['batch', video, '--start-time', value, '-o', join(tmp.dir, 'never')]);
      expect(r.status, value).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`error: --start-time '${value}': ${problem}`]);
    }
    expect(existsSync(join(tmp.dir, 'never'))).toBe(false);
  });
});
