/**
 * `xnorcam batch` run again into the same folder, as an analyst does over a month of recordings: an earlier run's
 * files it does not write are moved aside, a stopped input's files say they are partial, and --skip-done does only
 * what was not done. Real ffmpeg, a generated road, the bundled 320 model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { bin, repoRoot } from '../helpers/model.js';
import { errorLines, xnorcam } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

const model = ['--model', resolve(repoRoot, 'models/xnorcam-traffic-320.xnor'), '--workers', '1'];

interface Truth {
  line: { points: number[][] };
  calibration: { image: number[][]; world: number[][] };
}
interface RunRecord {
  name: string;
  status: string;
  stoppedBy?: string;
  stoppedAtSec?: number;
  frames?: number;
  videoSec?: number;
  files?: Record<string, number>;
}

/** The last batch-runs.jsonl record of each output name. */
function lastRecords(out: string): Map<string, RunRecord> {
  const records = readFileSync(join(out, 'batch-runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunRecord);
  return new Map(records.map((r) => [r.name, r]));
}

const totalRows = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.startsWith('total,'));
const batchLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('batch: '));

describe('xnorcam batch run again into the same folder', () => {
  let tmp: ReturnType<typeof tempDir>;
  /** 3 s and 18 s (the generated 6 s three times over) of the same road. */
  let short: string;
  let long: string;
  let near: string;
  let far: string;
  let calibration: string;
  beforeAll(() => {
    tmp = tempDir();
    const road = join(tmp.dir, 'road.mp4');
    const r = xnorcam(['synth', 'video', '--out', road, '--seconds', '6', '--seed', '3', '--size', '640x360']);
    expect(r.status, r.stderr).toBe(0);
    const truth = JSON.parse(readFileSync(join(tmp.dir, 'road.truth.json'), 'utf8')) as Truth;
    const ff = (args: string[]) => expect(spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]).status).toBe(0);
    short = join(tmp.dir, 'short.mp4');
    long = join(tmp.dir, 'long.mp4');
    ff(['-i', road, '-t', '3', '-c', 'copy', short]);
    ff(['-stream_loop', '2', '-i', road, '-c', 'copy', long]);
    // The preset line, and the calibration's near edge: two approaches, for movements.
    const corners = [...truth.calibration.image].sort((a, b) => b[1] - a[1]);
    near = `near:${[...corners[0], ...corners[1]].join(',')}`;
    far = `far:${truth.line.points.flat().join(',')}`;
    calibration = truth.calibration.image.map((p, i) => `${p.join(',')}=${truth.calibration.world[i].join(',')}`).join(' ');
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it("moves aside, saying so, the files of an earlier run with more options that this one does not write", () => {
    const out = join(tmp.dir, 'fewer');
    const first = xnorcam(['batch', short, ...model, '-o', out, '--line', near, '--line', far, '--movements', '--speeds', '--calibration', calibration, '--annotate']);
    expect(first.status, first.stderr).toBe(0);
    const earlier = (f: string) => readFileSync(join(out, f));
    const before = Object.fromEntries(['short.movements.csv', 'short.speeds.csv', 'short.crossings.csv', 'short.annotated.mp4'].map((f) => [f, earlier(f)]));
    expect(before['short.movements.csv'].toString()).toContain('near,far,');

    const again = xnorcam(['batch', short, ...model, '-o', out, '--line', near]);
    expect(again.status, again.stderr).toBe(0);
    expect(batchLines(again.stderr)).toContain(
      `batch: ${relative(process.cwd(), out)}/short.*: moved short.movements.csv, short.speeds.csv, short.crossings.csv, short.annotated.mp4 of an earlier run to ${relative(process.cwd(), out)}/superseded/ (this run does not write them)`,
    );
    // Only this run's files look current; the earlier ones are kept, as they were, out of the way.
    expect(readdirSync(out).sort()).toEqual(['batch-runs.jsonl', 'short.counts.csv', 'short.detections.jsonl', 'short.events.jsonl', 'short.tracks.txt', 'superseded']);
    for (const [f, data] of Object.entries(before)) expect(readFileSync(join(out, 'superseded', f)).equals(data), f).toBe(true);
    expect(readFileSync(join(out, 'short.counts.csv'), 'utf8')).not.toContain(',far,');
    expect(Object.keys(lastRecords(out).get('short')!.files!)).toEqual(['short.detections.jsonl', 'short.events.jsonl', 'short.tracks.txt', 'short.counts.csv']);
  }, 120_000);

  it('SIGTERM part way: the partial input is told by its files; a --skip-done rerun does only it and gives the files of an uninterrupted run', async () => {
    const options = ['--line', near, '--line', far, '--movements', '--count-interval', '2', '--jobs', '1'];
    const whole = join(tmp.dir, 'whole');
    const uninterrupted = xnorcam(['batch', short, long, ...model, '-o', whole, ...options]);
    expect(uninterrupted.status, uninterrupted.stderr).toBe(0);

    // One input at a time: the first is done when the second is stopped.
    const out = join(tmp.dir, 'stopped');
    const child = spawn(process.execPath, [bin, 'batch', short, long, ...model, '-o', out, ...options], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    await until('the second input part way', () => readFileSync(join(out, 'long.detections.jsonl'), 'utf8').split('\n').length > 40, 60_000);
    child.kill('SIGTERM');
    expect(await closed, stderr).toBe(143);

    // From the files alone: the manifest says which input is whole and where the other stopped, and the
    // partial tables have no totals.
    const records = lastRecords(out);
    const done = lastRecords(whole);
    expect(records.get('short')).toMatchObject({ status: 'complete', frames: done.get('short')!.frames });
    const partial = records.get('long')!;
    expect(partial).toMatchObject({ status: 'partial', stoppedBy: 'SIGTERM' });
    expect(partial.stoppedAtSec).toBeGreaterThan(1);
    expect(partial.stoppedAtSec).toBeLessThan(17);
    expect(partial.frames).toBeLessThan(done.get('long')!.frames!);
    for (const table of ['counts', 'movements']) {
      expect(totalRows(join(out, `long.${table}.csv`)), table).toEqual([]);
      expect(totalRows(join(out, `short.${table}.csv`)).length, table).toBeGreaterThan(0);
    }

    const rerun = xnorcam(['batch', short, long, ...model, '-o', out, ...options, '--skip-done']);
    expect(errorLines(rerun.stderr)).toEqual([]);
    expect(rerun.status).toBe(0);
    const said = batchLines(rerun.stderr);
    const shown = relative(process.cwd(), out);
    expect(said).toContainEqual(expect.stringMatching(new RegExp(`^batch: ${short}: skipped: done at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(${shown}/short\\.\\*, ${shown}/batch-runs\\.jsonl\\)$`)));
    expect(said).toContain(`batch: ${long}: done again: partial in the earlier run (stopped by SIGTERM at ${partial.stoppedAtSec} s)`);
    expect(said.at(-1)).toMatch(new RegExp(`^batch: ${done.get('long')!.frames} frames from 1 input \\(.*\\), 1 skipped \\(done before\\) → ${shown}$`));

    // The same files as the run never stopped, byte for byte (the manifest aside: it says when).
    const files = (dir: string) => readdirSync(dir).filter((f) => f !== 'batch-runs.jsonl').sort();
    expect(files(out)).toEqual(files(whole));
    for (const f of files(whole)) expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    expect([...lastRecords(out).values()].map((r) => [r.name, r.status])).toEqual([
      ['short', 'complete'],
      ['long', 'complete'],
    ]);
  }, 240_000);

  it('--skip-done does again an input whose file, options or outputs changed since', () => {
    const out = join(tmp.dir, 'changed');
    const run = (more: string[] = []) => {
      const r = xnorcam(['batch', short, ...model, '-o', out, '--line', near, '--skip-done', ...more]);
      expect(r.status, r.stderr).toBe(0);
      return batchLines(r.stderr).filter((l) => / skipped: | done again: /.test(l));
    };
    expect(run()).toEqual([]);
    expect(run()).toEqual([expect.stringMatching(new RegExp(`^batch: ${short}: skipped: done at `))]);
    expect(run(['--count-interval', '30'])).toEqual([`batch: ${short}: done again: other options than the earlier run's (--count-interval)`]);
    const t = statSync(short).mtime;
    utimesSync(short, t, new Date(t.getTime() + 60_000));
    expect(run(['--count-interval', '30'])).toEqual([`batch: ${short}: done again: the file changed since (its size or modification time)`]);
    rmSync(join(out, 'short.counts.csv'));
    expect(run(['--count-interval', '30'])).toEqual([`batch: ${short}: done again: short.counts.csv is gone`]);
    expect(run(['--count-interval', '30'])).toEqual([expect.stringMatching(/ skipped: done at /)]);
  }, 180_000);
});
