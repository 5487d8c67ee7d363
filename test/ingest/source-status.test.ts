import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { formatStatus } from '../../src/cli/run.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { imageA, testModel } from '../helpers/model.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ApiSource { name: string; state: string; lastError?: string; watchdogMs?: number }
interface Health { ok: boolean; sources: { name: string; healthy: boolean; watchdogMs: number; reason?: string }[] }

/**
 * What a live camera's status says through an outage and its recovery, as the dashboard server
 * reports it (/api/sources, /healthz) for a real pipeline on a real RTSP camera: the watchdog in force
 * is the one reported and judged (docs/pipeline.md: 4 s for command-line sources, `watchdogSeconds`
 * for a pipeline file's), and the reason it was down is not shown once it is back.
 */
describe('source status through an outage (real RTSP camera, pipeline and dashboard server)', () => {
  let cam: TestRtspServer;
  let pipeline: Pipeline;
  let srv: DashboardServer;
  afterAll(async () => {
    await srv?.close();
    await pipeline?.close();
    await cam?.stop();
  });

  it('reports and applies each source’s own watchdog, and drops the last error once the camera is back', async () => {
    cam = new TestRtspServer({ image: imageA, width: 160, height: 160, fps: 10 });
    await cam.start();
    pipeline = new Pipeline({
      model: testModel,
      mode: 'live',
      workers: 1,
      sources: [
        // As `xnorcam run rtsp://…` builds it (src/cli/run.ts): no watchdogSeconds.
        { url: cam.url, name: 'cam', mode: 'live' },
        // As a pipeline file's source, whose watchdogSeconds has a default of 10 (src/config/schema.ts).
        { url: 'lavfi:testsrc2=size=160x120:rate=5', name: 'file-source', watchdogSeconds: 10 },
      ],
    });
    await pipeline.start();
    srv = await startDashboardServer(pipeline, { port: 0 });
    const api = async () => ((await (await fetch(srv.url + 'api/sources')).json()) as { sources: ApiSource[] }).sources;
    const health = async () => {
      const r = await fetch(srv.url + 'healthz');
      return { status: r.status, body: (await r.json()) as Health };
    };
    const camStatus = async () => (await api()).find((s) => s.name === 'cam')!;

    await expect.poll(async () => (await camStatus()).state, { timeout: 15_000 }).toBe('running');
    expect(Object.fromEntries((await api()).map((s) => [s.name, s.watchdogMs]))).toEqual({ cam: 4000, 'file-source': 10_000 });
    await expect.poll(async () => (await health()).status, { timeout: 10_000 }).toBe(200);

    await cam.stop();
    const downAt = Date.now();
    // Unhealthy once its own 4 s have passed without a frame (the server's default would wait 10 s).
    await expect.poll(async () => (await health()).status, { timeout: 8000, interval: 250 }).toBe(503);
    const unhealthyAfterMs = Date.now() - downAt;
    const h = (await health()).body;
    expect(h.sources.find((s) => s.name === 'cam')).toMatchObject({ healthy: false, watchdogMs: 4000, reason: expect.stringContaining('watchdog 4 s') });
    expect(h.sources.find((s) => s.name === 'file-source')).toMatchObject({ healthy: true, watchdogMs: 10_000 });
    expect(unhealthyAfterMs).toBeGreaterThanOrEqual(3500);
    expect(unhealthyAfterMs).toBeLessThan(7000);
    await expect.poll(async () => (await camStatus()).lastError ?? '', { timeout: 5000 }).not.toBe('');
    expect((await camStatus()).state).toBe('reconnecting');

    await sleep(1000);
    await cam.start();
    await expect.poll(async () => (await camStatus()).state, { timeout: 15_000 }).toBe('running');
    const back = await camStatus();
    // Running again: the outage's reason is history (the log and the source-down event keep it).
    expect(back.lastError).toBeUndefined();
    expect(pipeline.sources().find((s) => s.name === 'cam')!.lastError).toBeUndefined();
    await expect.poll(async () => (await health()).status, { timeout: 10_000 }).toBe(200);

    // And the final stats line `xnorcam run` prints on exit names no stale error.
    await pipeline.close();
    const last = pipeline.sources().find((s) => s.name === 'cam')!;
    expect(last.state).toBe('stopped');
    expect(formatStatus(last)).not.toMatch(/\(/);
  }, 90_000);
});
