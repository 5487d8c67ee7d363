/** A live camera through a step forward of the wall clock (NTP, a clock set by hand): no outage, no backlog. */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { healthOf } from '../../src/server/health.js';
import type { SourceEvents } from '../../src/core/feed.js';
import type { TrafficEvent } from '../../src/core/types.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { imageA, testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a step of the clock on a live camera (real RTSP camera and pipeline)', () => {
  let cam: TestRtspServer;
  let pipeline: Pipeline;
  afterAll(async () => {
    vi.restoreAllMocks();
    await pipeline?.close();
    await cam?.stop();
  });

  it('a step forward of 30 s is no camera outage: no restart, no source-down, no resync, /healthz stays 200', async () => {
    cam = new TestRtspServer({ image: imageA, width: 160, height: 160, fps: 10 });
    await cam.start();
    // The watchdog of a command-line source, 4 s: a step of 30 s read as 30 s without a frame.
    pipeline = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: cam.url, name: 'cam', mode: 'live' }] });
    const told: TrafficEvent[] = [];
    pipeline.on('events', (e: SourceEvents) => told.push(...e.events));
    await pipeline.start();
    const cam0 = () => pipeline.sources()[0];
    await until('the camera running', () => cam0().state === 'running' && cam0().lastFrameAt !== null, 15_000);
    await sleep(2000);
    const serverStarted = Date.now() - 3000;

    // Date.now() alone moves, as NTP steps the wall clock and not the monotonic one.
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() + 30_000);
    // At once, before another frame: what /healthz answers (its frame age is not 30 s).
    const h = healthOf(pipeline.sources(), Date.now(), serverStarted);
    expect(h.sources[0]).toMatchObject({ healthy: true });
    expect(h.sources[0].lastFrameAgeMs).toBeLessThan(1000);

    // Longer than the watchdog, with frames coming as before.
    const framesBefore = cam0().lastFrameAt!;
    await sleep(6000);
    const st = cam0();
    expect(st.lastFrameAt!).toBeGreaterThan(framesBefore + 30_000);
    expect(st).toMatchObject({ state: 'running', reconnects: 0, resyncs: 0 });
    expect(st.behindMs!).toBeLessThan(1000);
    expect(told.filter((e) => e.type === 'source-down')).toEqual([]);
    expect(healthOf(pipeline.sources(), Date.now(), serverStarted).ok).toBe(true);
  }, 60_000);
});
