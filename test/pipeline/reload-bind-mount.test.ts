/**
 * A pipeline file Docker bind-mounts over the folder's entry is written through another folder: the
 * folder's watch hears nothing, yet the edit must be applied. A hard link written through another folder
 * is the same case without needing mount rights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupFromArgs } from '../../src/cli/run.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { PipelineReloader } from '../../src/pipeline/live-reload.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

describe('live reload of a pipeline file written through another path', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('applies the edit without a SIGHUP', async () => {
    const yaml = (y: number) =>
      ['sources:', '  - name: cam', '    url: lavfi:testsrc2=size=160x120:rate=5', `    lines: [{ name: l, points: [[0, ${y}], [160, ${y}]] }]`, 'outputs: { dashboard: { enabled: false } }', ''].join('\n');
    mkdirSync(join(tmp.dir, 'app'));
    mkdirSync(join(tmp.dir, 'host'));
    const file = join(tmp.dir, 'app', 'p.yaml');
    writeFileSync(file, yaml(60));
    // The host's copy: the same file, reached through another folder.
    const hostCopy = join(tmp.dir, 'host', 'p.yaml');
    linkSync(file, hostCopy);
    const setup = setupFromArgs([file], {});
    const p = new Pipeline(setup.options);
    const reloader = new PipelineReloader(p, file, () => ({ options: setupFromArgs([file], {}, true).options, fixed: {} }), { options: setup.options, fixed: {} });
    await p.start();
    reloader.start();
    try {
      // Edited once the camera runs, as a user would: an edit in the watcher's first moments, before its first
      // look at the file, has no earlier state to differ from (a busy CI machine hit that).
      await until('the camera running', () => p.sources()[0]?.state === 'running', 30_000);
      writeFileSync(hostCopy, yaml(90)); // in place, as an editor on the host saves a bind-mounted file
      await until('the edit applied', () => p.overlay('cam').lines[0].points[0][1] === 90, 15_000);
      expect(p.overlay('cam').lines[0].points).toEqual([[0, 90], [160, 90]]);
    } finally {
      await reloader.close();
      await p.close();
    }
  }, 60_000);
});
