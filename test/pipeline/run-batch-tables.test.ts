/** A pipeline file's `mode: batch` source writes the counts and movements CSVs `xnorcam batch` writes of the same recording. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { synthRoad, type Segment } from '../helpers/synth-intersection.js';
import { xnorcam } from '../helpers/cli.js';

describe("xnorcam run: a mode: batch source's counts and movements CSVs", () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  /** Lines across the generated road near the camera and far up it: known movements between them. */
  let lines: { name: string; points: Segment }[];
  beforeAll(() => {
    tmp = tempDir();
    // 640x360: a quarter of the default's pixels to render and decode; the tables compared are the same either way.
    const road = synthRoad(tmp.dir, '640x360');
    video = road.video;
    lines = (['near', 'far'] as const).map((name) => ({ name, points: road.lines[name] }));
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it("are xnorcam batch's, row for row: each interval with its end (the 10 s recording's last 4 s interval is 8,10), then total rows", () => {
    const batchOut = join(tmp.dir, 'batch');
    const b = xnorcam(['batch', video, ...lines.flatMap((l) => ['--line', `${l.name}:${l.points.flat().join(',')}`]), '--movements', '--count-interval', '4', '-o', batchOut]);
    expect(b.status, b.stderr).toBe(0);

    const runOut = join(tmp.dir, 'run');
    const yaml = join(tmp.dir, 'p.yaml');
    writeFileSync(
      yaml,
      [
        'sources:',
        '  - name: traffic',
        `    url: ${video}`,
        '    mode: batch',
        '    movements: true',
        `    lines: ${JSON.stringify(lines)}`,
        'countIntervalSeconds: 4',
        'outputs:',
        '  dashboard: { enabled: false }',
        `  files: { dir: ${runOut}, counts: true }`,
        '',
      ].join('\n'),
    );
    const r = xnorcam(['run', yaml, '--stats', '0']);
    expect(r.status, r.stderr).toBe(0);

    const rows = (dir: string, kind: string) => readFileSync(join(dir, `traffic.${kind}.csv`), 'utf8').trim().split('\n');
    const counts = rows(runOut, 'counts');
    expect(counts).toEqual(rows(batchOut, 'counts'));
    expect(counts[0]).toBe('interval_start_s,interval_end_s,line,direction,class,count,covered_s');
    expect(new Set(counts.slice(1).map((l) => l.split(',').slice(0, 2).join(',')))).toEqual(new Set(['0,4', '4,8', '8,10', 'total,']));
    // Something was counted: the tables agree on traffic, not on empty rows alone.
    expect(counts.some((l) => l.startsWith('total,') && !l.endsWith(',0'))).toBe(true);
    const movements = rows(runOut, 'movements');
    expect(movements).toEqual(rows(batchOut, 'movements'));
    expect(movements.some((l) => l.startsWith('total,') && !l.endsWith(',0'))).toBe(true);
  }, 360_000);
});
