import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline, type PipelineSource } from '../../src/pipeline/pipeline.js';
import { planReload, type AppliedSource } from '../../src/pipeline/live-reload.js';
import { defaultModelPath } from '../../src/detect/default-model.js';
import type { FrameResult } from '../../src/core/types.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { testModel } from '../helpers/model.js';

const until = async (cond: () => boolean, ms = 15_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('per-source models on one pipeline', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('each source runs its own model; a replacement whose model cannot load leaves the source running', async () => {
    const src = (name: string, model?: PipelineSource['model']): PipelineSource => ({ name, url: 'lavfi:testsrc2=size=320x240:rate=8', mode: 'live', ...(model ? { model } : {}) });
    const p = new Pipeline({ model: defaultModelPath(), sources: [src('x'), src('y', testModel), src('z')], workers: 1 });
    const results: FrameResult[] = [];
    p.on('result', (r: FrameResult) => results.push(r));
    await p.start();
    try {
      await until(() => ['x', 'y', 'z'].every((n) => results.some((r) => r.frame.source === n)));
      const models = Object.fromEntries(p.sources().map((s) => [s.name, s.model]));
      expect(models.x).toMatch(/^xnorcam-traffic@[0-9a-f]{8}$/);
      expect(models.z).toBe(models.x);
      expect(models.y).toMatch(/^yolov3-tiny_xnor_160_slim@[0-9a-f]{8}$/);

      const broken = join(tmp.dir, 'broken.xnor');
      writeFileSync(broken, 'not a model');
      await expect(p.replaceSource('x', src('x', broken))).rejects.toThrow();
      const seqBefore = results.filter((r) => r.frame.source === 'x').at(-1)!.frame.seq;
      await until(() => results.some((r) => r.frame.source === 'x' && r.frame.seq > seqBefore + 3));
      expect(p.modelOf('x')).toBe(models.x);

      // Likewise a calibration the analytics refuse (three points on one line): checked before the
      // old source stops, which used to stop it for good.
      const collinear = { image: [[0, 0], [10, 10], [20, 20], [0, 30]] as [number, number][], world: [[0, 0], [3, 0], [3, 10], [0, 10]] as [number, number][] };
      await expect(p.replaceSource('x', { ...src('x'), calibration: collinear })).rejects.toThrow(/image points 1, 2 and 3 are on one line/);
      const seqThen = results.filter((r) => r.frame.source === 'x').at(-1)!.frame.seq;
      await until(() => results.some((r) => r.frame.source === 'x' && r.frame.seq > seqThen + 3));

      // x moves to y's model (shared threads); z is removed; nothing ends the pipeline.
      await p.replaceSource('x', src('x', testModel));
      await p.removeSource('z');
      // A replaced source keeps its place (the file's order: the dashboard's tiles follow it).
      expect(p.sourceNames()).toEqual(['x', 'y']);
      expect(p.modelOf('x')).toBe(models.y);
      const n = results.length;
      await until(() => results.slice(n).some((r) => r.frame.source === 'x' && r.frame.seq > 2));
      expect(results.slice(n).some((r) => r.frame.source === 'z')).toBe(false);

      // A file played once has ended; editing it starts it again (nothing waits for an end that came).
      const clip = makeVideo(join(tmp.dir, 'short.mp4'), { width: 160, height: 120, fps: 10, seconds: 1 });
      await p.addSource({ name: 'once', url: clip, mode: 'live' });
      await until(() => p.sources().find((s) => s.name === 'once')?.state === 'finished');
      const m = results.length;
      await p.replaceSource('once', { name: 'once', url: clip, mode: 'live', model: testModel });
      await until(() => results.slice(m).some((r) => r.frame.source === 'once'));
      expect(p.sourceNames()).toEqual(['x', 'y', 'once']);
    } finally {
      await p.close();
    }
  }, 60_000);
});

describe('planReload', () => {
  const applied = (url: string, modelKey = 'k1', extra: Partial<PipelineSource> = {}): AppliedSource => ({ cfg: { url, loop: true, lines: [], ...extra }, modelKey, modelId: 'm@' + modelKey });
  it('restarts only what changed, naming the keys', () => {
    const before = new Map([['a', applied('a.mp4')], ['b', applied('b.mp4')], ['c', applied('c.mp4')]]);
    const after = new Map([
      ['a', applied('a.mp4')],
      ['b', applied('b.mp4', 'k2', { lines: [{ name: 'l', points: [[0, 0], [1, 1]] }] })],
      ['d', applied('d.mp4')],
    ]);
    expect(planReload(before, after)).toEqual({ add: ['d'], remove: ['c'], restart: [{ name: 'b', changed: ['lines', 'model'] }], unchanged: ['a'] });
  });
});
