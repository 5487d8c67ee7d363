import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { RecordingClient, sleep, waitFor, wsUrl } from '../helpers/ws-client.js';

/**
 * A client that stops reading must cost the server a bounded amount of memory and must not slow
 * the others. Run longer with XNORCAM_SLOW_CLIENT_S=30 (the default is a short run for CI).
 */
const seconds = Number(process.env.XNORCAM_SLOW_CLIENT_S ?? 8);
const FPS = 25;
const BUDGET = 256 * 1024;

describe('slow dashboard client', () => {
  let feed: TestFeed;
  let srv: DashboardServer;
  beforeAll(async () => {
    // Noisy pictures, big JPEGs (-q:v 2) at 25 fps: megabytes per second per client, so a stalled
    // client would fill the kernel's socket buffers within a second and then the server's memory.
    feed = new TestFeed({ fps: FPS, quality: 2, noise: true }).start();
    srv = await startDashboardServer(feed, { port: 0, hub: { frameBudgetBytes: BUDGET } });
  });
  afterAll(async () => {
    await srv?.close();
    await feed?.stop();
  });

  it(`drops frames for a client that stops reading for ${seconds} s; memory flat, others keep their rate`, { timeout: (seconds + 40) * 1000 }, async () => {
    const fast = new RecordingClient(wsUrl(srv.url));
    const slow = new RecordingClient(wsUrl(srv.url));
    await fast.subscribeAll();
    await slow.subscribeAll();
    await waitFor(() => fast.frames.length > FPS && slow.frames.length > FPS, 15_000, 'both clients receiving');
    const frameBytes = fast.frames.at(-1)!.jpegBytes;
    // Stop reading: the socket is paused, TCP windows fill up, then the server's own buffer would grow.
    slow.ws.pause();
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const fastStart = fast.frames.length;
    // The rate to compare with is what the feed really produced (ffmpeg slows down on a busy machine).
    let produced = 0;
    const onDisplay = () => produced++;
    feed.on('display', onDisplay);
    const t0 = Date.now();
    const samples: { t: number; rssMb: number; slowBuffered: number; slowDropped: number }[] = [];
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(500);
      const s = srv.clients().find((c) => c.id === 2)!;
      samples.push({ t: Date.now() - t0, rssMb: process.memoryUsage().rss / 2 ** 20, slowBuffered: s.bufferedAmount, slowDropped: s.framesDropped });
    }
    const elapsed = (Date.now() - t0) / 1000;
    feed.off('display', onDisplay);
    const fastFps = (fast.frames.length - fastStart) / elapsed;
    const feedFps = produced / elapsed;
    const stats = srv.clients();
    const slowStats = stats.find((c) => c.id === 2)!;
    const fastStats = stats.find((c) => c.id === 1)!;
    const maxBuffered = Math.max(...samples.map((s) => s.slowBuffered));
    const rssGrowthMb = Math.max(...samples.map((s) => s.rssMb)) - rss0 / 2 ** 20;
    const fedMb = (slowStats.framesDropped * frameBytes) / 2 ** 20;
    console.log(
      `slow client ${seconds} s: frame ${Math.round(frameBytes / 1024)} KiB, slow dropped ${slowStats.framesDropped} frames (~${fedMb.toFixed(0)} MiB not queued), ` +
        `max server buffer for it ${Math.round(maxBuffered / 1024)} KiB, RSS growth ${rssGrowthMb.toFixed(1)} MiB, fast client ${fastFps.toFixed(1)} fps of the feed's ${feedFps.toFixed(1)} (dropped ${fastStats.framesDropped})`,
    );
    console.log(`rss MiB over time: ${samples.filter((_, i) => i % 4 === 3).map((s) => `${(s.t / 1000).toFixed(0)}s:${s.rssMb.toFixed(0)}`).join(' ')}`);
    // The stalled client's queue never exceeds the budget plus one frame (and the state messages).
    expect(maxBuffered).toBeLessThan(BUDGET + frameBytes + 64 * 1024);
    expect(slowStats.framesDropped).toBeGreaterThan(produced * 0.5);
    // Memory stays bounded: far less than what the dropped frames would have taken.
    expect(rssGrowthMb).toBeLessThan(Math.max(40, fedMb / 2));
    // The reading client is untouched: no drops, frame rate near the source's.
    expect(fastStats.framesDropped).toBe(0);
    expect(fastFps).toBeGreaterThan(feedFps * 0.9);
    // When the slow client reads again it soon gets live frames: only what the kernel's socket
    // buffers and the budget held stands between it and the present, not a growing backlog.
    const resumedAt = Date.now();
    slow.ws.resume();
    await waitFor(() => slow.frames.some((f) => f.header.capturedAt > resumedAt), 10_000, 'a live frame after resuming');
    fast.close();
    slow.close();
  });
});
