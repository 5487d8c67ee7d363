/** `xnorcam run` of a source with movements: true: its movements CSV survives a restart within an interval as its counts CSV does. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xnorcam } from '../helpers/cli.js';
import { synthRoad } from '../helpers/synth-intersection.js';
import { tempDir } from '../helpers/videos.js';

/** Long enough for two runs of the 10 s recording to fall in one interval. */
const INTERVAL_S = 300;

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
    const lines = Object.entries(road.lines).map(([name, [a, b]]) => `      - { name: ${name}, points: [[${a}], [${b}]] }`);
    writeFileSync(yaml, ['sources:', '  - name: junction', `    url: ${JSON.stringify(road.video)}`, '    mode: live', '    movements: true', '    lines:', ...lines, `countIntervalSeconds: ${INTERVAL_S}`, 'outputs:', '  dashboard: { enabled: false }', `  files: { dir: ${JSON.stringify(out)}, events: true, counts: true }`, ''].join('\n'));
    // Both runs (about 15 s each, more on a busy machine) within one interval.
    const left = INTERVAL_S * 1000 - (Date.now() % (INTERVAL_S * 1000));
    if (left < 120_000) await new Promise((r) => setTimeout(r, left + 500));
    const interval = Math.floor(Date.now() / (INTERVAL_S * 1000)) * INTERVAL_S * 1000;

    const csv = (kind: string) => readFileSync(join(out, `junction.${kind}.csv`), 'utf8').trim().split('\n');
    const moved = () => readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'movement') as { from: string; to: string; className: string }[];
    const expected = () => {
      const [, ...counts] = csv('counts');
      const classes = [...new Set(counts.map((r) => r.split(',')[4]))].filter((c) => c !== 'person');
      const names = Object.keys(road.lines);
      const events = moved();
      const iso = new Date(interval).toISOString();
      return names.flatMap((f) => names.filter((t) => t !== f).flatMap((t) => classes.map((c) => `${iso},${interval},${f},${t},${c},${events.filter((e) => e.from === f && e.to === t && e.className === c).length}`)));
    };

    const first = xnorcam(['run', yaml]);
    expect(first.status, first.stderr).toBe(0);
    const once = moved().length;
    expect(once).toBeGreaterThan(3);
    // The stop wrote the interval in progress, whole.
    expect(csv('movements')).toEqual(['interval_start,interval_start_ms,from,to,class,count', ...expected()]);

    const second = xnorcam(['run', yaml]);
    expect(second.status, second.stderr).toBe(0);
    expect(moved().length).toBeGreaterThan(once);
    // One block for the interval (not the first run's, then the second's: the same keys twice), with both runs' movements.
    expect(csv('movements')).toEqual(['interval_start,interval_start_ms,from,to,class,count', ...expected()]);
    expect(new Set(csv('counts').slice(1).map((r) => r.split(',')[1]))).toEqual(new Set([String(interval)]));
  }, 300_000);
});
