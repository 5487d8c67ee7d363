/** Events not tied to a frame (source-down/up) come after the results of every frame received before them. */
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { FrameResult } from '../../src/core/types.js';
import type { SourceEvents } from '../../src/core/feed.js';
import { testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

type Done = (r: unknown) => void;
interface Internals {
  byName: Map<string, { framesIn: number; runner: { run?: { stop(): void } }; lease: { pool: { detect: (...a: unknown[]) => void } } }>;
}

describe('the order of a source\'s events and results', () => {
  it('a source-down waits for a frame from before the drop-out that is still being detected, though newer ones were dropped meanwhile', async () => {
    const p = new Pipeline({ model: testModel, sources: [{ name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=10', mode: 'live' }], workers: 1, reconnect: { backoffMinMs: 250 } });
    const log: string[] = [];
    p.on('result', (r: FrameResult) => log.push(`result ${r.frame.seq}`));
    p.on('events', (e: SourceEvents) => log.push(...e.events.map((x) => x.type)));
    await p.start();
    try {
      await until('frames flowing', () => log.some((l) => l.startsWith('result')), 15_000);
      const st = (p as unknown as Internals).byName.get('cam')!;
      const pool = st.lease.pool;
      const detect = pool.detect.bind(pool);
      let slowSeq: number | undefined;
      // One detection takes 3 s (a loaded machine); the camera drops out while it runs.
      pool.detect = (...a: unknown[]) => {
        if (slowSeq !== undefined) return detect(...a);
        slowSeq = st.framesIn - 1;
        const done = a[5] as Done;
        return detect(...a.slice(0, 5), (r: unknown) => setTimeout(() => done(r), 3000));
      };
      await until('the slow frame dispatched', () => slowSeq !== undefined, 5000);
      await new Promise((r) => setTimeout(r, 200)); // newer frames arrive and replace each other meanwhile
      // What is told from the drop-out on: a loaded machine's camera may have dropped out and come back
      // before its first result too, and that drop-out is not this one.
      const dropOut = log.length;
      st.runner.run!.stop();
      await until('the camera back', () => log.slice(dropOut).includes('source-up'), 15_000);
      await until('the slow frame out', () => log.some((l) => l === `result ${slowSeq}`), 10_000);
      const down = log.indexOf('source-down', dropOut);
      expect(down, log.join(' | ')).toBeGreaterThan(log.indexOf(`result ${slowSeq}`));
    } finally {
      await p.close();
    }
  }, 60_000);
});
