import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { configureLog } from '../../src/core/log.js';
import { join } from 'node:path';
import { Pipeline, type PipelineSource } from '../../src/pipeline/pipeline.js';
import { planReload, type AppliedSource } from '../../src/pipeline/live-reload.js';
import type { FrameResult } from '../../src/core/types.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { writeFileSync } from 'node:fs';
import { imageA, testModel } from '../helpers/model.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import { encodeModel } from '../../src/engine/model-file/format.js';

/** Every frame result of a batch pipeline, run to its end. */
async function runToEnd(p: Pipeline): Promise<FrameResult[]> {
  const results: FrameResult[] = [];
  p.on('result', (r: FrameResult) => results.push(r));
  await p.start();
  try {
    await p.finished;
  } finally {
    await p.close();
  }
  return results;
}

describe('per-source detection threshold', () => {
  let tmp: ReturnType<typeof tempDir>;
  let clip: string;
  beforeAll(() => {
    tmp = tempDir();
    // A frame the test model detects on, over a moving pattern: scores spread across the range.
    clip = makeVideo(join(tmp.dir, 'clip.mp4'), { width: 160, height: 160, fps: 10, seconds: 2, image: imageA });
  });
  afterAll(() => tmp.cleanup());

  it("a source's thresh replaces the pipeline's for its detections only", async () => {
    const src = (name: string, thresh?: number): PipelineSource => ({ name, url: clip, mode: 'batch', ...(thresh !== undefined ? { thresh } : {}) });
    const p = new Pipeline({ model: testModel, sources: [src('high', 0.5), src('low', 0.05), src('default')], workers: 1, detect: { thresh: 0.25 } });
    const results = await runToEnd(p);
    const of = (name: string) => results.filter((r) => r.frame.source === name).flatMap((r) => r.detections);
    expect(results.filter((r) => r.frame.source === 'high')).toHaveLength(20);
    expect(results.filter((r) => r.frame.source === 'low')).toHaveLength(20);
    const [high, low, def] = [of('high'), of('low'), of('default')];
    expect(low.length).toBeGreaterThan(def.length);
    expect(def.length).toBeGreaterThan(high.length);
    // The test model tops out near 0.6 on this clip: 0.5 keeps a few boxes, so the bound below is not vacuous.
    expect(high.length).toBeGreaterThan(0);
    expect(low.some((d) => d.score < 0.25)).toBe(true);
    expect(def.every((d) => d.score >= 0.25)).toBe(true);
    expect(high.every((d) => d.score >= 0.5)).toBe(true);
  }, 60_000);

  it("a source without thresh runs at its model card's operating threshold (a specialised model's); its own thresh still wins", async () => {
    const model = join(tmp.dir, 'specialised.xnor');
    const m = loadDarknetModel(testModel.cfg, testModel.weights, testModel.names);
    writeFileSync(model, encodeModel(m, { producer: 'test', card: { kind: 'specialised', student: { thresh: 0.5 } } }));
    const p = new Pipeline({
      model: testModel,
      sources: [
        { name: 'card', url: clip, mode: 'batch', model },
        { name: 'own', url: clip, mode: 'batch', model, thresh: 0.05 },
        { name: 'plain', url: clip, mode: 'batch' },
      ],
      workers: 1,
      detect: { thresh: 0.25 },
    });
    // The log names the sources the card's threshold applies to: the same decision as the detections'.
    const logged: string[] = [];
    configureLog({ json: true });
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    let results: FrameResult[];
    try {
      results = await runToEnd(p);
    } finally {
      write.mockRestore();
    }
    const of = (name: string) => results.filter((r) => r.frame.source === name).flatMap((r) => r.detections);
    const [card, own, plain] = [of('card'), of('own'), of('plain')];
    expect(card.length).toBeGreaterThan(0);
    expect(card.every((d) => d.score >= 0.5)).toBe(true);
    expect(plain.some((d) => d.score < 0.5)).toBe(true);
    expect(own.some((d) => d.score < 0.25)).toBe(true);
    const cardLogs = logged.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; source?: string; thresh?: number }).filter((l) => l.msg === "using the model card's operating threshold");
    expect(cardLogs.map((l) => [l.source, l.thresh])).toEqual([['card', 0.5]]);
  }, 60_000);

  it('a changed source thresh restarts only that source on reload', () => {
    const applied = (url: string, thresh?: number): AppliedSource => ({ cfg: { url, ...(thresh !== undefined ? { thresh } : {}) }, modelKey: 'k', modelId: 'm@k' });
    const before = new Map([['a', applied('a.mp4', 0.35)], ['b', applied('b.mp4')]]);
    const after = new Map([['a', applied('a.mp4', 0.5)], ['b', applied('b.mp4')]]);
    expect(planReload(before, after)).toEqual({ add: [], remove: [], restart: [{ name: 'a', changed: ['thresh'] }], unchanged: ['b'] });
  });
});
