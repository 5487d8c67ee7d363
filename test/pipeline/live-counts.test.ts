/** A live camera's counts CSV (outputs.files.counts) from a real pipeline: every interval it had frames in is a whole table. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validatePipelineText } from '../../src/config/load.js';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';
import { testModel } from '../helpers/model.js';

describe('a live counts CSV', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('has a row for every line, direction and class of every second the camera delivered frames in, 0 where none crossed', async () => {
    const { config } = validatePipelineText(`sources:\n  - name: cam\n    url: x.mp4\noutputs:\n  files: { dir: ${JSON.stringify(tmp.dir)}, counts: true }\n`);
    const p = new Pipeline({
      model: testModel,
      sources: [{ name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=5', mode: 'live', lines: [{ name: 'a', points: [[0, 60], [160, 60]] }, { name: 'b', points: [[80, 0], [80, 120]] }] }],
      workers: 1,
      countIntervalMs: 1000,
    });
    const outputs = new PipelineOutputs(p, { outputs: config!.outputs, retention: config!.retention });
    let frames = 0;
    p.on('result', () => frames++);
    await p.start();
    try {
      await until('frames over three seconds', () => frames >= 16, 30_000);
    } finally {
      await p.close();
      await outputs.close();
    }
    const [header, ...rows] = readFileSync(join(tmp.dir, 'cam.counts.csv'), 'utf8').trim().split('\n');
    expect(header).toBe('interval_start,interval_start_ms,line,direction,class,count,covered_s');
    const starts = [...new Set(rows.map((r) => Number(r.split(',')[1])))];
    expect(starts.length).toBeGreaterThanOrEqual(3);
    // Consecutive seconds: the camera never stopped, so none is missing.
    starts.forEach((s, i) => expect(s).toBe(starts[0] + i * 1000));
    // The test model's three classes (a model without traffic classes counts its own), alphabetically, in each.
    const table = ['a', 'b'].flatMap((line) => ['forward', 'backward'].flatMap((dir) => ['class0', 'class1', 'class2'].map((cls) => `${line},${dir},${cls}`)));
    for (const s of starts) {
      const block = rows.filter((r) => Number(r.split(',')[1]) === s);
      expect(block.map((r) => r.split(',').slice(2, 5).join(','))).toEqual(table);
      expect(block[0].split(',')[0]).toBe(new Date(s).toISOString());
    }
    // The count column: covered_s, not a count, ends each row.
    expect(rows.filter((r) => r.split(',')[5] === '0').length).toBeGreaterThan(0);
    // covered_s: each second between the first frame's and the last's whole (frames 0.2 s apart), those two in part.
    const covered = starts.map((s) => Number(rows.find((r) => Number(r.split(',')[1]) === s)!.split(',')[6]));
    expect(covered.slice(1, -1).every((c) => c === 1)).toBe(true);
    for (const c of [covered[0], covered.at(-1)!]) expect(c >= 0 && c <= 1).toBe(true);
  }, 60_000);
});
