/** A reload restarting one source while another (a file played once) ends must not end the pipeline. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Pipeline, type PipelineSource } from '../../src/pipeline/pipeline.js';
import type { FrameResult } from '../../src/core/types.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

describe('replacing a source while the others end', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('keeps the pipeline running: the replacement is a source that has not ended', async () => {
    const clip = makeVideo(join(tmp.dir, 'short.mp4'), { seconds: 1, fps: 10 });
    const camera: PipelineSource = { name: 'cam', url: 'lavfi:testsrc2=size=320x240:rate=8', mode: 'live' };
    const p = new Pipeline({ model: testModel, sources: [{ name: 'once', url: clip, mode: 'live' }, camera], workers: 1 });
    const results: FrameResult[] = [];
    p.on('result', (r: FrameResult) => results.push(r));
    let done = false;
    p.on('done', () => (done = true));
    await p.start();
    try {
      let clipEnded!: () => void;
      const ended = new Promise<void>((r) => (clipEnded = r));
      p.on('source-end', (e: { source: string }) => e.source === 'once' && clipEnded());
      // The moment of the race, made certain: the old camera has stopped and its successor is not set up
      // yet when the file ends (it took a model load or an ffmpeg start before).
      const setup = (p as unknown as { setupSource: (...a: unknown[]) => Promise<unknown> }).setupSource.bind(p);
      (p as unknown as { setupSource: (...a: unknown[]) => Promise<unknown> }).setupSource = async (...a: unknown[]) => {
        await ended;
        return setup(...a);
      };
      const replacedAt = Date.now();
      await p.replaceSource('cam', { ...camera, url: 'lavfi:testsrc2=size=320x240:rate=9' });
      expect(done).toBe(false);
      // Its status dates it from the replacement: /healthz gives it its first-frame grace from then.
      expect(p.sources().find((s) => s.name === 'cam')!.startedAt).toBeGreaterThanOrEqual(replacedAt);
      const n = results.length;
      await until('five frames of the new camera', () => results.slice(n).filter((r) => r.frame.source === 'cam').length >= 5, 15_000);
      expect(done).toBe(false);
      expect(p.sources().find((s) => s.name === 'cam')?.state).toBe('running');
    } finally {
      await p.close();
    }
    expect(done).toBe(true);
  }, 60_000);

  it('restarting a recording (mode: batch) makes its last pass final and counts the replay afresh, on its own clock', async () => {
    const clip = makeVideo(join(tmp.dir, 'rec.mp4'), { seconds: 2, fps: 10 });
    const rec: PipelineSource = { name: 'rec', url: clip, mode: 'batch', lines: [{ name: 'l', points: [[0, 100], [320, 100]] }] };
    const p = new Pipeline({ model: testModel, sources: [rec], workers: 1 });
    const removed: { source: string; counts?: { asOf?: number } }[] = [];
    p.on('removed', (r: { source: string; counts?: { asOf?: number } }) => removed.push(r));
    await p.start();
    try {
      await p.finished;
      await p.replaceSource('rec', { ...rec, lines: [{ name: 'l', points: [[0, 120], [320, 120]] }] });
      expect(removed).toHaveLength(1);
      expect(removed[0].source).toBe('rec');
      expect(removed[0].counts?.asOf).toBeGreaterThan(1800);
      await p.finished;
      // The replay's counts are its own: its clock went from 0 to the end once, not on from the first pass.
      expect(p.counts('rec')?.asOf).toBeLessThan(2000);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('a camera-like source switched to mode: batch by a reload does not mix its wall-clock minutes into the recording\'s', async () => {
    const clip = makeVideo(join(tmp.dir, 'switch.mp4'), { seconds: 2, fps: 10 });
    const live: PipelineSource = { name: 'sw', url: clip, mode: 'live', loop: true, lines: [{ name: 'l', points: [[0, 100], [320, 100]] }] };
    const p = new Pipeline({ model: testModel, sources: [live], workers: 1 });
    const removed: { source: string; counts?: { asOf?: number } }[] = [];
    p.on('removed', (r: { source: string; counts?: { asOf?: number } }) => removed.push(r));
    await p.start();
    try {
      await until('a frame or two', () => (p.sources()[0]?.lastFrameAt ?? null) !== null, 15_000);
      await p.replaceSource('sw', { ...live, mode: 'batch', loop: false });
      expect(removed.map((r) => [r.source, r.counts?.asOf])).toEqual([['sw', undefined]]);
      await p.finished;
      expect(p.counts('sw')?.asOf).toBeGreaterThan(1800);
      for (const iv of p.counts('sw')!.intervals) expect(iv.start).toBeLessThan(2000);
    } finally {
      await p.close();
    }
  }, 60_000);
});
