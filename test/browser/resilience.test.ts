import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';
import { RecordingClient, sleep, wsUrl } from '../helpers/ws-client.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- page-side code reaches the page's globals */
const drawn = (page: Page) => page.evaluate(() => (globalThis as any).__xnorcamStats.framesDrawn as number);
const pageState = (page: Page) =>
  page.evaluate(() => {
    const s = (globalThis as any).__xnorcamStats;
    return { connected: s.connected as boolean, connects: s.connects as number, framesDrawn: s.framesDrawn as number };
  });

/** A stalled viewer next to a real one, and a server restart under an open page. */
describe('dashboard resilience in chromium', () => {
  let feed: TestFeed;
  let srv: DashboardServer;
  let port: number;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  beforeAll(async () => {
    buildWeb();
    // Noisy frames (~100 KiB JPEGs): a stalled client fills its socket buffers within seconds.
    feed = new TestFeed({ fps: 15, quality: 3, noise: true }).start();
    srv = await startDashboardServer(feed, { port: 0 });
    port = Number(new URL(srv.url).port);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(srv.url);
    await page.waitForFunction(() => ((globalThis as any).__xnorcamStats?.framesDrawn ?? 0) > 15, undefined, { timeout: 15_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await srv?.close();
    await feed?.stop();
  });

  it('a client that stops reading costs bounded memory and does not slow the page', async () => {
    const t0 = Date.now();
    const a0 = await drawn(page);
    await sleep(2000);
    const fpsBefore = ((await drawn(page)) - a0) / ((Date.now() - t0) / 1000);

    const slow = new RecordingClient(wsUrl(srv.url));
    await slow.subscribeAll();
    await sleep(300);
    slow.ws.pause();
    const rss0 = process.memoryUsage().rss;
    const t1 = Date.now();
    const b0 = await drawn(page);
    let maxBuffered = 0;
    while (Date.now() - t1 < 10_000) {
      await sleep(250);
      maxBuffered = Math.max(maxBuffered, ...srv.clients().map((c) => c.bufferedAmount));
    }
    const fpsDuring = ((await drawn(page)) - b0) / ((Date.now() - t1) / 1000);
    const rssGrowthMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const slowStats = srv.clients().find((c) => c.framesDropped > 0);
    console.log(`page fps before ${fpsBefore.toFixed(1)}, while a client stalls 10 s ${fpsDuring.toFixed(1)}; stalled client dropped ${slowStats?.framesDropped ?? 0} frames; max server buffer ${Math.round(maxBuffered / 1024)} KiB; test-process RSS growth ${rssGrowthMb.toFixed(1)} MiB`);
    expect(slowStats).toBeDefined();
    expect(maxBuffered).toBeLessThan(1024 * 1024);
    expect(fpsDuring).toBeGreaterThan(Math.min(fpsBefore, feed.fps) * 0.8);
    expect(rssGrowthMb).toBeLessThan(40);
    slow.close();
  });

  it('reconnects by itself when the server restarts', async () => {
    const before = await pageState(page);
    expect(before.connected).toBe(true);
    await srv.close();
    await page.waitForFunction(() => (globalThis as any).__xnorcamStats.connected === false, undefined, { timeout: 5000 });
    expect(await page.locator('#connection').textContent()).toMatch(/reconnecting/);
    const notice = page.locator('section.camera[data-source="cam1"] .video-notice');
    expect(await notice.textContent()).toBe('OFFLINE');
    expect(await notice.isVisible()).toBe(true);
    // Over the picture, not under it: the notice is what the middle of the picture shows.
    const canvas = page.locator('section.camera[data-source="cam1"] canvas.video');
    const onTop = await canvas.evaluate((c: any) => {
      const r = c.getBoundingClientRect();
      return (globalThis as any).document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)?.className;
    });
    expect(onTop).toBe('video-notice');
    // Nobody can say the camera is running while the server is away.
    const badge = page.locator('section.camera[data-source="cam1"] .badge');
    expect(await badge.textContent()).toBe('unknown');
    expect(await badge.getAttribute('data-state')).toBe('unknown');
    // Nor quote the frame rates and latency it last heard as if they were current.
    const figure = (k: string) => page.locator(`section.camera[data-source="cam1"] [data-figure="${k}"] .figure-value`).textContent();
    for (const k of ['fps', 'latency', 'detect']) expect(await figure(k), k).toBe('–');
    // The header's latency too: those were frames from before the server went.
    await expect.poll(() => page.locator('#latency').textContent(), { timeout: 2000 }).toBe('');
    await sleep(1500); // down for a while: the page keeps retrying
    srv = await startDashboardServer(feed, { port });
    await page.waitForFunction((n) => (globalThis as any).__xnorcamStats.connects > n, before.connects, { timeout: 10_000 });
    const f0 = (await pageState(page)).framesDrawn;
    await page.waitForFunction((n) => (globalThis as any).__xnorcamStats.framesDrawn > n + 15, f0, { timeout: 10_000 });
    expect(await page.locator('#connection').textContent()).toBe('live');
    expect(await notice.isVisible()).toBe(false);
    expect(await badge.textContent()).toBe('running');
    await expect.poll(() => figure('detect'), { timeout: 5000 }).toMatch(/^\d+\.\d fps$/);
    await expect.poll(() => figure('fps'), { timeout: 5000 }).toMatch(/^\d+\.\d$/);
    expect(await page.locator('#alert').isHidden()).toBe(true);
  });

  it('says so over a live picture when nothing can be detected on it, after the watchdog', async () => {
    const tile = page.locator('section.camera[data-source="cam1"]');
    const notice = tile.locator('.video-notice');
    // Failing for a moment: a frame or two lost is no alarm.
    feed.setDetectionFailing(Date.now() - 1000, 'wasm memory exhausted');
    await sleep(1500);
    expect(await notice.isVisible()).toBe(false);
    // Failing for longer than the watchdog (10 s by default): the road is not empty, the detector is blind.
    feed.setDetectionFailing(Date.now() - 12_000, 'wasm memory exhausted');
    await expect.poll(() => notice.textContent(), { timeout: 5000 }).toBe('NO DETECTION · wasm memory exhausted');
    expect(await notice.isVisible()).toBe(true);
    // The picture itself is live: not greyed out as a camera that is down.
    expect(await tile.getAttribute('class')).not.toMatch(/not-live/);
    feed.setDetectionFailing(null);
    await expect.poll(() => notice.isVisible(), { timeout: 5000 }).toBe(false);
  });

  it('a camera that goes down says since when, for how long (ticking), and its interval without frames is not counted', async () => {
    const tile = page.locator('section.camera[data-source="cam1"]');
    const notice = tile.locator('.video-notice');
    const since = tile.locator('.interval-since');
    // Counted (a number) before: the test before had detection failing, and such an interval is not counted either.
    await expect.poll(() => since.textContent(), { timeout: 10_000 }).toMatch(/, since .+: \d+$/);
    const downAt = await feed.outage();
    let back = false;
    try {
      // By the operator's clock (the browser's time zone and language), to the second.
      const hms = await page.evaluate((ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }), downAt);
      const said = new RegExp(`^NO SIGNAL since (\\d+ \\w+ )?${hms.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((\\d+) s\\) · RECONNECTING$`);
      // It said 'NO SIGNAL · RECONNECTING', nothing of since when, while /healthz said 'no frame for 41 s'.
      await expect.poll(() => notice.textContent(), { timeout: 5000 }).toMatch(said);
      expect(await notice.isVisible()).toBe(true);
      const seconds = async () => Number(said.exec((await notice.textContent()) ?? '')?.[2] ?? NaN);
      const first = await seconds();
      await expect.poll(seconds, { timeout: 5000 }).toBeGreaterThan(first);
      // An interval begun since has no frame: the counts CSV has no rows of it, and the page no 0 (5 s intervals).
      const begunSince = async () => (Number(await since.getAttribute('data-start')) > downAt ? await since.textContent() : 'an interval begun before');
      await expect.poll(begunSince, { timeout: 15_000 }).toMatch(/, since .+: – not counted$/);
      // Back: live, and counting.
      feed.start();
      back = true;
      await expect.poll(() => notice.isVisible(), { timeout: 10_000 }).toBe(false);
      await expect.poll(() => since.textContent(), { timeout: 15_000 }).toMatch(/, since .+: \d+$/);
    } finally {
      if (!back) feed.start();
    }
  });

  it('says so over the picture when a source stops delivering', async () => {
    await feed.stop(); // ffmpeg gone: the source reports 'stopped'
    const notice = page.locator('section.camera[data-source="cam1"] .video-notice');
    await expect.poll(() => notice.textContent(), { timeout: 5000 }).toBe('STOPPED');
    expect(await notice.isVisible()).toBe(true);
    // A stopped camera has no frame rate or latency now: not the last ones heard.
    const figure = (k: string) => page.locator(`section.camera[data-source="cam1"] [data-figure="${k}"] .figure-value`).textContent();
    await expect.poll(() => figure('latency'), { timeout: 3000 }).toBe('–');
    expect(await figure('fps')).toBe('–');
  });
});
