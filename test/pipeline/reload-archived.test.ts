/** A reload after a recording an unchanged source finished with has been archived (moved away). */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configureLog } from '../../src/core/log.js';
import { copyFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { repoRoot } from '../helpers/model.js';
import { join } from 'node:path';
import { setupFromArgs } from '../../src/cli/run.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { PipelineReloader } from '../../src/pipeline/live-reload.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

describe('reloading a pipeline whose finished recording is gone', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('applies an edit to another source, and still refuses a source that needs the missing file', async () => {
    makeVideo(join(tmp.dir, 'rec.mp4'), { width: 160, height: 120, fps: 10, seconds: 1 });
    const file = join(tmp.dir, 'p.yaml');
    const yaml = (y: number, recUrl = 'rec.mp4') =>
      [
        'sources:',
        '  - name: cam',
        '    url: lavfi:testsrc2=size=160x120:rate=5',
        `    lines: [{ name: l, points: [[0, ${y}], [160, ${y}]] }]`,
        '  - name: rec',
        `    url: ${recUrl}`,
        '    mode: batch',
        'outputs: { dashboard: { enabled: false } }',
        '',
      ].join('\n');
    writeFileSync(file, yaml(60));
    const setup = setupFromArgs([file], {});
    const p = new Pipeline(setup.options);
    const reloader = new PipelineReloader(p, file, () => ({ options: setupFromArgs([file], {}, true).options, fixed: {} }), { options: setup.options, fixed: {} });
    await p.start();
    try {
      await until('the recording processed', () => p.sources().find((s) => s.name === 'rec')?.state === 'finished', 30_000);
      rmSync(join(tmp.dir, 'rec.mp4')); // archived
      writeFileSync(file, yaml(80));
      await reloader.reload('signal');
      expect(p.overlay('cam').lines[0].points).toEqual([[0, 80], [160, 80]]);
      // A change to the recording's own source does need its file: refused, the rest as it was.
      writeFileSync(file, yaml(80, 'rec2.mp4'));
      await reloader.reload('signal');
      expect(p.sources().map((s) => s.name).sort()).toEqual(['cam', 'rec']);
      expect(p.sources().find((s) => s.name === 'rec')!.url).toMatch(/rec\.mp4$/);
    } finally {
      await reloader.close();
      await p.close();
    }
  }, 60_000);

  it('counts in its summary what was done: a restart its model refused is no restart', async () => {
    const model = join(tmp.dir, 'm.xnor');
    copyFileSync(join(repoRoot, 'models', 'xnorcam-traffic-320.xnor'), model);
    const file = join(tmp.dir, 'm.yaml');
    writeFileSync(file, ['model: m.xnor', 'sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', 'outputs: { dashboard: { enabled: false } }', ''].join('\n'));
    const setup = setupFromArgs([file], {});
    const p = new Pipeline(setup.options);
    const reloader = new PipelineReloader(p, file, () => ({ options: setupFromArgs([file], {}, true).options, fixed: {} }), { options: setup.options, fixed: {} });
    await p.start();
    configureLog({ json: true });
    const lines: { msg: string; [k: string]: unknown }[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      if (String(chunk).startsWith('{')) lines.push(JSON.parse(String(chunk)));
      return true;
    });
    try {
      // The model file cut short (a copy still being written): the source cannot load it and keeps its old one.
      truncateSync(model, 1_500_000);
      await reloader.reload('signal');
    } finally {
      spy.mockRestore();
      await reloader.close();
      await p.close();
    }
    expect(lines.some((l) => /^source not restarted|^source stopped/.test(l.msg))).toBe(true);
    expect(lines.filter((l) => /^pipeline reloaded/.test(l.msg))).toEqual([expect.objectContaining({ msg: 'pipeline reloaded in part', level: 'warn', restarted: 0, failed: 1 })]);
  }, 60_000);
});
