/**
 * A detector thread that fails on every frame keeps the pool full while nothing is detected: the frames must
 * say so (not pass for an empty road), and /healthz must see it, as it sees a pool with no thread.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { healthOf } from '../../src/server/health.js';
import { frameRecord } from '../../src/outputs/detections-jsonl.js';
import type { FrameResult } from '../../src/core/types.js';
import { repoRoot } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

interface SlotsLike {
  buffer: SharedArrayBuffer;
  frameBytes: number;
  capacity: number;
}
interface Internals {
  byName: Map<string, { slots: SlotsLike; lease: { pool: { workers: { worker: { postMessage(m: unknown): void } }[]; buffers: Map<SlotsLike, number> } } }>;
}

describe('health of a source whose every detection fails', () => {
  it('marks the failed frames, reports the source unhealthy after its watchdog, and healthy again once detections succeed', async () => {
    const model = join(repoRoot, 'models', 'xnorcam-traffic-320.xnor');
    const started = Date.now();
    const p = new Pipeline({ model: model, sources: [{ name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=10', mode: 'live', watchdogSeconds: 2 }], workers: 1 });
    const results: FrameResult[] = [];
    p.on('result', (r: FrameResult) => results.push(r));
    await p.start();
    try {
      const status = () => p.sources()[0];
      const health = () => healthOf(p.sources(), Date.now(), started).sources[0];
      await until('detections arriving', () => results.length > 0, 15_000);
      expect(results.every((r) => r.detectError === undefined)).toBe(true);
      expect(health()).toMatchObject({ healthy: true });

      // The thread loses its view of the source's frames (as a bug in it would): every detection now throws.
      const st = (p as unknown as Internals).byName.get('cam')!;
      const pool = st.lease.pool;
      const id = pool.buffers.get(st.slots)!;
      pool.workers[0].worker.postMessage({ type: 'forget', id });
      await until('the source judged unhealthy', () => !health().healthy, 10_000);
      expect(health().reason).toMatch(/^every detection failing for \d+ s \(watchdog 2 s\): /);
      expect(health().lastFrameAgeMs).toBeLessThan(2_000);
      expect(status().detectFailures).toBeGreaterThan(5);
      const failed = results.filter((r) => r.detectError !== undefined);
      expect(failed.length).toBeGreaterThan(5);
      expect(failed[0].detections).toEqual([]);
      // The detections file says why the frame has none, rather than passing it off as an empty road.
      expect(frameRecord(failed[0])).toMatchObject({ detections: [], error: failed[0].detectError });
      expect(frameRecord(results[0])).not.toHaveProperty('error');

      // The view given back: detections succeed, the source is healthy again, the failures stay counted.
      const { buffer, frameBytes, capacity } = st.slots;
      pool.workers[0].worker.postMessage({ type: 'buffer', id, buffer, frameBytes, capacity });
      await until('detecting again', () => health().healthy && status().detectFailingSince === null, 10_000);
      expect(results.at(-1)!.detectError).toBeUndefined();
      // Every failed frame counted, those after the snapshot above included.
      expect(status().detectFailures).toBe(results.filter((r) => r.detectError !== undefined).length);
    } finally {
      await p.close();
    }
  }, 60_000);
});
