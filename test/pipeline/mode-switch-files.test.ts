/**
 * A source switched between a camera (counts on the wall clock) and a recording (`mode: batch`, xnorcam batch's
 * tables) under one name: the files of the other kind at its counts CSV names are kept, rotated, never emptied
 * nor appended to in another format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validatePipelineText } from '../../src/config/load.js';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { Pipeline, type PipelineSource } from '../../src/pipeline/pipeline.js';
import { CLOCK_COUNTS_CSV_HEADER, COUNTS_CSV_HEADER } from '../../src/outputs/counts-csv.js';
import { CLOCK_MOVEMENTS_CSV_HEADER, MOVEMENTS_CSV_HEADER } from '../../src/outputs/movements-csv.js';
import type { FrameResult } from '../../src/core/types.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';
import { xnorcam } from '../helpers/cli.js';

const lines: NonNullable<PipelineSource['lines']> = [
  { name: 'a', points: [[0, 100], [320, 100]] },
  { name: 'b', points: [[160, 0], [160, 240]] },
];

/** Each counts CSV's kind, with its first line on the clock (a camera's) and in the recording's seconds (batch's). */
const headers = [
  ['counts', CLOCK_COUNTS_CSV_HEADER, COUNTS_CSV_HEADER],
  ['movements', CLOCK_MOVEMENTS_CSV_HEADER, MOVEMENTS_CSV_HEADER],
] as const;

/** A file's lines, without the empty one after the last newline. */
const rows = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

/** The `cam.*` files in `dir`, sorted. */
const camFiles = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('cam.') && n.includes('.csv')).sort();

describe('a source switching mode: batch under one name', () => {
  let tmp: ReturnType<typeof tempDir>;
  let clip: string;
  beforeAll(() => {
    tmp = tempDir();
    clip = makeVideo(join(tmp.dir, 'rec.mp4'), { seconds: 2, fps: 10 });
  });
  afterAll(() => tmp.cleanup());

  it("restarted as a recording (xnorcam run), keeps the camera's counts and movements CSVs, rotated; a pass after replaces its own table", () => {
    const out = join(tmp.dir, 'restart');
    mkdirSync(out);
    // A study's history: what a camera of this name wrote here before the pipeline file gave it `mode: batch`.
    const camCounts = [CLOCK_COUNTS_CSV_HEADER, '2026-11-01T10:00:00.000Z,1793527200000,a,forward,car,42', '2026-11-01T10:00:00.000Z,1793527200000,a,backward,car,7', ''].join('\n');
    const camMovements = [CLOCK_MOVEMENTS_CSV_HEADER, '2026-11-01T10:00:00.000Z,1793527200000,a,b,car,3', '2026-11-01T10:00:00.000Z,1793527200000,b,a,car,1', ''].join('\n');
    writeFileSync(join(out, 'cam.counts.csv'), camCounts);
    writeFileSync(join(out, 'cam.movements.csv'), camMovements);
    const yaml = join(tmp.dir, 'restart.yaml');
    writeFileSync(
      yaml,
      [
        'sources:',
        '  - name: cam',
        `    url: ${clip}`,
        '    mode: batch',
        '    movements: true',
        `    lines: ${JSON.stringify(lines)}`,
        'outputs:',
        '  dashboard: { enabled: false }',
        `  files: { dir: ${out} }`,
        '',
      ].join('\n'),
    );
    const r = xnorcam(['run', yaml, '--stats', '0', '--workers', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'cam.counts.csv.1'), 'utf8')).toBe(camCounts);
    expect(readFileSync(join(out, 'cam.movements.csv.1'), 'utf8')).toBe(camMovements);
    expect(rows(join(out, 'cam.counts.csv'))[0]).toBe(COUNTS_CSV_HEADER);
    expect(rows(join(out, 'cam.movements.csv'))[0]).toBe(MOVEMENTS_CSV_HEADER);
    // The warning names where each is kept.
    for (const kind of ['counts', 'movements']) expect(r.stderr).toContain(`"kept":"${join(out, `cam.${kind}.csv.1`)}"`);

    // Run again: the pass before's tables are replaced, as a batch rerun replaces its files; the camera's stay as kept.
    const again = xnorcam(['run', yaml, '--stats', '0', '--workers', '1']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('"kept"');
    expect(camFiles(out)).toEqual(['cam.counts.csv', 'cam.counts.csv.1', 'cam.movements.csv', 'cam.movements.csv.1']);
    expect(readFileSync(join(out, 'cam.counts.csv.1'), 'utf8')).toBe(camCounts);
    // One pass's table: one header, one set of totals.
    const table = rows(join(out, 'cam.counts.csv'));
    expect(table.filter((l) => l === COUNTS_CSV_HEADER)).toHaveLength(1);
    const totals = table.findIndex((l) => l.startsWith('total,,'));
    expect(totals).toBeGreaterThan(1);
    expect(table.slice(totals).every((l) => l.startsWith('total,,'))).toBe(true);
  }, 120_000);

  it('switched by reloads, camera → recording → camera: each kind its own file, the one before kept, rotated', async () => {
    const out = join(tmp.dir, 'reload');
    const { config } = validatePipelineText(`sources:\n  - name: cam\n    url: x.mp4\noutputs:\n  files: { dir: ${JSON.stringify(out)} }\n`);
    const camera: PipelineSource = { name: 'cam', url: 'lavfi:testsrc2=size=320x240:rate=5', mode: 'live', lines, movements: true };
    const recording: PipelineSource = { name: 'cam', url: clip, mode: 'batch', lines, movements: true };
    const p = new Pipeline({ model: testModel, sources: [camera], workers: 1, countIntervalMs: 1000 });
    const outputs = new PipelineOutputs(p, { outputs: config!.outputs, retention: config!.retention });
    const results: FrameResult[] = [];
    p.on('result', (r: FrameResult) => results.push(r));
    await p.start();
    try {
      await until('the camera over two seconds', () => results.length >= 12, 30_000);
      await p.replaceSource('cam', recording);
      // Its end is its table's totals.
      await until('the recording played to its end', () => existsSync(join(out, 'cam.counts.csv')) && /\ntotal,,[^\n]*\n$/.test(readFileSync(join(out, 'cam.counts.csv'), 'utf8')), 30_000);
      // The camera's rows (those of its interval in progress too) kept as it wrote them; the recording's table in its place.
      expect(camFiles(out)).toEqual(['cam.counts.csv', 'cam.counts.csv.1', 'cam.movements.csv', 'cam.movements.csv.1']);
      for (const [kind, clock, batch] of headers) {
        const cameraRows = rows(join(out, `cam.${kind}.csv.1`));
        expect(cameraRows[0]).toBe(clock);
        expect(cameraRows.length).toBeGreaterThan(1);
        const table = rows(join(out, `cam.${kind}.csv`));
        expect(table[0]).toBe(batch);
        expect(table.at(-1)).toMatch(/^total,,/);
      }

      const n = results.length;
      await p.replaceSource('cam', camera);
      await until('the camera again over two seconds', () => results.length - n >= 12, 30_000);
    } finally {
      await p.close();
      await outputs.close();
    }
    // The camera's new rows under their own header, the recording's table kept whole before them.
    expect(camFiles(out)).toEqual(['cam.counts.csv', 'cam.counts.csv.1', 'cam.counts.csv.2', 'cam.movements.csv', 'cam.movements.csv.1', 'cam.movements.csv.2']);
    for (const [kind, clock, batch] of headers) {
      const now = rows(join(out, `cam.${kind}.csv`));
      expect(now[0]).toBe(clock);
      expect(now.length).toBeGreaterThan(1);
      for (const row of now.slice(1)) expect(row).toMatch(/^\d{4}-\d\d-\d\dT[^,]+,\d{13},/);
      expect(rows(join(out, `cam.${kind}.csv.1`))[0]).toBe(batch);
      expect(rows(join(out, `cam.${kind}.csv.1`)).at(-1)).toMatch(/^total,,/);
      expect(rows(join(out, `cam.${kind}.csv.2`))[0]).toBe(clock);
    }
  }, 120_000);
});
