import { describe, expect, it } from 'vitest';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerPool } from '../../src/pipeline/worker-pool.js';
import { repoRoot } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

describe('detector thread pool', () => {
  it('replaces a thread that died even when its first restart fails (the model file was being rewritten)', async () => {
    const tmp = tempDir();
    const model = join(tmp.dir, 'm.xnor');
    copyFileSync(join(repoRoot, 'models', 'xnorcam-traffic-320.xnor'), model);
    const pool = await WorkerPool.create(model, { workers: 1 });
    try {
      expect(pool.size).toBe(1);
      // The file is away while the thread dies: its replacement cannot load the model.
      renameSync(model, `${model}.away`);
      const threads = (pool as unknown as { workers: { worker: { terminate(): Promise<number> } }[] }).workers;
      await threads[0].worker.terminate();
      await new Promise((r) => setTimeout(r, 1500));
      expect(pool.size).toBe(0);
      // No thread since it died, however many restarts have failed since (/healthz reads this; it was
      // restarted by each failed try, so the alarm came late and then flapped).
      const since = pool.emptySince;
      expect(since).not.toBeNull();
      await new Promise((r) => setTimeout(r, 2500)); // tries at 1 s and 2 s fail meanwhile
      expect(pool.size).toBe(0);
      expect(pool.emptySince).toBe(since);
      // Back in place: the pool heals on a later try (it used to stay a thread short for good).
      renameSync(`${model}.away`, model);
      await until('the pool back at one thread', () => pool.size === 1, 10_000);
      expect(pool.emptySince).toBeNull();
    } finally {
      await pool.close();
      tmp.cleanup();
    }
  }, 30_000);
});
