/** /healthz must see a camera whose frames arrive while no detector thread can detect them. */
import { describe, expect, it } from 'vitest';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { healthOf } from '../../src/server/health.js';
import { repoRoot } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

interface Internals {
  byName: Map<string, { lease: { pool: { workers: { worker: { terminate(): Promise<number> } }[]; size: number } } }>;
}

describe('health of a source whose detector threads are down', () => {
  it('reports no detector thread once its only thread died and cannot restart, and healthy again when it can', async () => {
    const tmp = tempDir();
    const model = join(tmp.dir, 'm.xnor');
    copyFileSync(join(repoRoot, 'models', 'xnorcam-traffic-320.xnor'), model);
    const started = Date.now();
    const p = new Pipeline({ model: model, sources: [{ name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=10', mode: 'live', watchdogSeconds: 2 }], workers: 1 });
    await p.start();
    try {
      const health = () => healthOf(p.sources(), Date.now(), started).sources[0];
      await until('frames arriving', () => p.sources()[0].lastFrameAt !== null && p.sources()[0].detectorDownSince === null, 15_000);
      expect(health()).toMatchObject({ healthy: true });
      // The model file is away (being rewritten) while the thread dies: no replacement can load it.
      renameSync(model, `${model}.away`);
      const pool = (p as unknown as Internals).byName.get('cam')!.lease.pool;
      await pool.workers[0].worker.terminate();
      await until('the source judged unhealthy', () => !health().healthy, 8_000);
      const h = health();
      expect(h.reason).toMatch(/^no detector thread for \d+ s \(watchdog 2 s\): its model cannot be loaded$/);
      expect(h.state).toBe('running');
      expect(h.lastFrameAgeMs).toBeLessThan(2_000);
      renameSync(`${model}.away`, model);
      await until('detecting again', () => pool.size === 1 && health().healthy, 15_000);
    } finally {
      await p.close();
      tmp.cleanup();
    }
  }, 60_000);
});
