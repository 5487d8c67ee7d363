/** `xnorcam run` of a source with movements: true: its movements CSV through restarts and reloads, beside its counts CSV. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xnorcam } from '../helpers/cli.js';
import { bin } from '../helpers/model.js';
import { synthRoad } from '../helpers/synth-intersection.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

/**
 * Long enough for two runs of the 10 s recording to fall in one interval; an hour, so a test seldom has to wait
 * for the next interval to have the time it needs (with 5 min, 2 in 5 starts waited a minute on average).
 */
const INTERVAL_S = 3600;

describe('a live movements CSV', () => {
  let tmp: ReturnType<typeof tempDir>;
  let road: ReturnType<typeof synthRoad>;
  beforeAll(() => {
    tmp = tempDir();
    road = synthRoad(tmp.dir, '640x360');
  }, 300_000);
  afterAll(() => tmp.cleanup());

  it('a run started again within the interval writes that interval once, with both runs\' movements (as the counts CSV)', async () => {
    const out = join(tmp.dir, 'out');
    const yaml = join(tmp.dir, 'junction.yaml');
    writeFileSync(yaml, junction(road, out, ['    movements: true']));
    // Both runs (about 15 s each, more on a busy machine) within one interval.
    const interval = await intervalWithTimeLeft(120_000);

    const csv = (kind: string) => readFileSync(join(out, `junction.${kind}.csv`), 'utf8').trim().split('\n');
    const moved = () => movementEvents(out);
    const expected = () => {
      const [, ...counts] = csv('counts');
      const classes = [...new Set(counts.map((r) => r.split(',')[4]))].filter((c) => c !== 'person');
      // The seconds of the interval the camera had video: the counts rows', as each movements block is of their snapshot.
      const covered = counts[0].split(',').at(-1);
      const names = Object.keys(road.lines);
      const events = moved();
      const iso = new Date(interval).toISOString();
      return names.flatMap((f) => names.filter((t) => t !== f).flatMap((t) => classes.map((c) => `${iso},${interval},${f},${t},${c},${events.filter((e) => e.from === f && e.to === t && e.className === c).length},${covered}`)));
    };

    const first = xnorcam(['run', yaml]);
    expect(first.status, first.stderr).toBe(0);
    const once = moved().length;
    expect(once).toBeGreaterThan(3);
    // The stop wrote the interval in progress, whole.
    expect(csv('movements')).toEqual(['interval_start,interval_start_ms,from,to,class,count,covered_s', ...expected()]);

    const second = xnorcam(['run', yaml]);
    expect(second.status, second.stderr).toBe(0);
    expect(moved().length).toBeGreaterThan(once);
    // One block for the interval (not the first run's, then the second's: the same keys twice), with both runs' movements.
    expect(csv('movements')).toEqual(['interval_start,interval_start_ms,from,to,class,count,covered_s', ...expected()]);
    expect(new Set(csv('counts').slice(1).map((r) => r.split(',')[1]))).toEqual(new Set([String(interval)]));
  }, 300_000);

  it('a restart with 30 s intervals after 10 s ones starts new counts and movements files, and leaves the old ones, interval in progress included, as written', async () => {
    const out = join(tmp.dir, 'length');
    const yaml = join(tmp.dir, 'length.yaml');
    const csv = (name: string) => readFileSync(join(out, name), 'utf8');
    const start = (seconds: number) => {
      writeFileSync(yaml, junction(road, out, ['    loop: true', '    movements: true'], seconds));
      return startRun(yaml);
    };
    // Stopped a second into a 10 s interval off the 30 s grid (:10 or :20 past a 30 s mark), once the run has seen
    // a 10 s interval end, and started again within it: the audit's case, that interval carried on into the 30 s
    // run as an interval of its own. The stop is timed from the source's start, not from a guessed start-up time.
    const first = start(10);
    await until('the 10 s run\'s source up', () => sourceUps(out) === 1, 90_000);
    const offGrid = nextOffGridBoundary(Date.now());
    await new Promise((r) => setTimeout(r, offGrid + 1000 - Date.now()));
    expect(await first.stop(), first.log()).toBe(0);
    const before = { counts: csv('junction.counts.csv'), movements: csv('junction.movements.csv') };
    // The 30 s run goes on until it has told a movement of its own, so its files have rows.
    const told = movementEvents(out).length;
    const second = start(30);
    await until('a movement of the 30 s run', () => sourceUps(out) === 2 && movementEvents(out).length > told, 90_000);
    expect(await second.stop(), second.log()).toBe(0);
    const log = second.log();

    // The 10 s run's files as it wrote them (nothing taken off their end), rotated as by size.
    expect(csv('junction.counts.csv.1')).toBe(before.counts);
    expect(csv('junction.movements.csv.1')).toBe(before.movements);
    expect(log.split('\n').filter((l) => l.includes('countIntervalSeconds changed since the counts files were written'))).toEqual([expect.stringMatching(/"was":10,"now":30/)]);
    expect(log).not.toMatch(/carried on/);
    // The new ones: 30 s intervals only, on their grid, each key once.
    for (const name of ['junction.counts.csv', 'junction.movements.csv']) {
      const rows = csv(name).trim().split('\n').slice(1).map((l) => l.split(','));
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) expect(Number(r[1]) % 30_000).toBe(0);
      const keys = rows.map((r) => r.slice(1, 5).join(','));
      expect(new Set(keys).size).toBe(keys.length);
    }
    expect(JSON.parse(csv('count-intervals.json'))).toEqual({ junction: 30 });
  }, 300_000);

  it('a reload that turns movements off still writes the movements of the interval in progress, counted up to the reload', async () => {
    const out = join(tmp.dir, 'off');
    const yaml = join(tmp.dir, 'off.yaml');
    const loop = ['    loop: true'];
    writeFileSync(yaml, junction(road, out, [...loop, '    movements: true']));
    // The movements, the reload and the stop within one interval.
    const interval = await intervalWithTimeLeft(90_000);
    const run = startRun(yaml);
    try {
      await until('movements told', () => movementEvents(out).length >= 3, 90_000);
      // Saved as an editor does: a new file over the old.
      writeFileSync(`${yaml}.new`, junction(road, out, loop));
      renameSync(`${yaml}.new`, yaml);
      await until('the source restarted without movements', () => /"msg":"source restarted".*"changed":"movements"/.test(run.log()), 30_000);
      // Crossings after the reload: the interval goes on without movements.
      const crossings = () => readFileSync(join(out, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"line-crossing"')).length;
      const before = crossings();
      await until('a crossing after the reload', () => crossings() > before, 60_000);
    } finally {
      expect(await run.stop(), run.log()).toBe(0);
    }
    const told = movementEvents(out).filter((e) => e.className !== 'person');
    expect(told.length).toBeGreaterThan(0);
    // The interval's block was written (it was not: the stop saw a source without movements), with every movement told.
    const [header, ...rows] = readFileSync(join(out, 'junction.movements.csv'), 'utf8').trim().split('\n');
    expect(header).toBe('interval_start,interval_start_ms,from,to,class,count,covered_s');
    expect(new Set(rows.map((r) => r.split(',')[1]))).toEqual(new Set([String(interval)]));
    expect(rows.reduce((n, r) => n + Number(r.split(',')[5]), 0)).toBe(told.length);
  }, 300_000);
});

/** The pipeline file of the junction: the synthetic road as a live camera with the three lines, `extra` under the source. */
function junction(road: ReturnType<typeof synthRoad>, out: string, extra: string[], intervalSeconds = INTERVAL_S): string {
  const lines = Object.entries(road.lines).map(([name, [a, b]]) => `      - { name: ${name}, points: [[${a}], [${b}]] }`);
  return ['sources:', '  - name: junction', `    url: ${JSON.stringify(road.video)}`, '    mode: live', ...extra, '    lines:', ...lines, `countIntervalSeconds: ${intervalSeconds}`, 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${JSON.stringify(out)}, events: true, counts: true }`, ''].join('\n');
}

/** The start of the interval in progress, once it has at least `ms` left (waiting for the next one if not). */
async function intervalWithTimeLeft(ms: number): Promise<number> {
  const left = INTERVAL_S * 1000 - (Date.now() % (INTERVAL_S * 1000));
  if (left < ms) await new Promise((r) => setTimeout(r, left + 500));
  return Math.floor(Date.now() / (INTERVAL_S * 1000)) * INTERVAL_S * 1000;
}

/** `xnorcam run` of a pipeline file in the background, its JSON log kept; stop() is a Ctrl-C, answered with the exit code. */
function startRun(yaml: string): { log: () => string; stop: () => Promise<number | null> } {
  const run = spawn(process.execPath, [bin, 'run', yaml], { env: { ...process.env, XNORCAM_LOG_LEVEL: 'info', XNORCAM_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  run.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise<number | null>((resolve) => run.on('exit', resolve));
  return {
    log: () => log,
    stop: () => {
      run.kill('SIGINT');
      return exited;
    },
  };
}

/** The first 10 s boundary after `ms` that is not a 30 s one. */
function nextOffGridBoundary(ms: number): number {
  let b = Math.floor(ms / 10_000) * 10_000 + 10_000;
  while (b % 30_000 === 0) b += 10_000;
  return b;
}

/** How many times events.jsonl has told the source up (once a run). */
function sourceUps(out: string): number {
  const path = join(out, 'events.jsonl');
  if (!existsSync(path)) return 0;
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"source-up"')).length;
}

/** The movements events.jsonl has told. */
function movementEvents(out: string): { from: string; to: string; className: string }[] {
  const path = join(out, 'events.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"movement"')).map((l) => JSON.parse(l)).filter((e) => e.type === 'movement');
}
