import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';
import { Pixels } from '../helpers/screenshot-pixels.js';
import { RecordingClient, sleep, waitFor, wsUrl } from '../helpers/ws-client.js';
import { tempDir } from '../helpers/videos.js';
import { expectBoxesOutlined, expectDrawnAsSent, pauseOnCheckableFrame, percentile, startStreetPipeline, type Drawn } from '../helpers/street-pipeline.js';

/**
 * The dashboard on a REAL pipeline: ffmpeg decoding a generated video, the XNOR detector in worker
 * threads, the tracker and line counter, the display JPEGs from ffmpeg's second output. The video
 * is grey, so saturated pixels on the screenshot are overlays; a Node client on the same socket
 * records every frame's header, so what the page drew can be checked against what the server sent.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- page-side code reaches the page's globals */

describe('dashboard on a real pipeline', () => {
  let tmp: ReturnType<typeof tempDir>;
  let pipeline: Pipeline;
  let srv: DashboardServer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let recorder: RecordingClient;

  beforeAll(async () => {
    buildWeb();
    tmp = tempDir();
    pipeline = await startStreetPipeline(tmp.dir);
    srv = await startDashboardServer(pipeline, { port: 0 });
    recorder = new RecordingClient(wsUrl(srv.url));
    await recorder.subscribeAll();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(srv.url);
  });
  afterAll(async () => {
    recorder?.close();
    await browser?.close();
    await srv?.close();
    await pipeline?.close();
    tmp?.cleanup();
  });

  it('shows the pipeline’s frames with the boxes of exactly those frames', async () => {
    await page.evaluate(() => (globalThis as any).__xnorcam.showDetections(true));
    await page.waitForFunction(() => ((globalThis as any).__xnorcamStats?.framesDrawn ?? 0) > 40, undefined, { timeout: 20_000 });
    const d = await pauseOnCheckableFrame({
      lastDrawn: async () => (await page.evaluate(() => JSON.parse(JSON.stringify((globalThis as any).__xnorcamStats.sources.street.lastDrawn)))) as Drawn,
      pause: () => page.evaluate(() => (globalThis as any).__xnorcam.pause()),
      resume: () => page.evaluate(() => (globalThis as any).__xnorcam.resume()),
    });
    expect(d, 'a drawn frame with a box of at least 12×12 px').not.toBeNull();
    const png = await page.locator('section.camera[data-source="street"] canvas.video').screenshot();
    await page.evaluate(() => (globalThis as any).__xnorcam.resume());

    expectDrawnAsSent(d!, recorder);

    const shot = await Pixels.fromPng(png);
    expectBoxesOutlined(shot, d!);
    // Between the overlays the grey video shows through: most of the picture has no colour.
    let greyPoints = 0;
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) if (shot.chroma(((i + 0.5) / 10) * shot.width, ((j + 0.5) / 10) * shot.height) < 30) greyPoints++;
    expect(greyPoints).toBeGreaterThan(30);
  });

  it('shows the counting line, the counts panel and the pipeline’s figures', async () => {
    await waitFor(() => recorder.messages.some((m) => m.type === 'counts'), 10_000, 'counts message');
    await sleep(2500); // the page's fps is over the last 2 s, and the previous test paused it
    await page.waitForSelector('section.camera[data-source="street"] .count-table caption', { timeout: 10_000 });
    expect(await page.locator('section.camera[data-source="street"] .count-table caption').first().textContent()).toBe('mid');
    // The zone's occupancy, beside the line counts: what stands in it now, per class (or empty).
    const zone = page.locator('section.camera[data-source="street"] table.occupancy[data-zone="kerb"]');
    expect(await zone.locator('caption').textContent()).toBe('kerb: in the zone now');
    const sent = recorder.messages.filter((m) => m.type === 'counts').at(-1) as { counts: { occupancy?: Record<string, Record<string, number>> } };
    expect(Object.keys(sent.counts.occupancy ?? {})).toEqual(['kerb']);
    expect(await zone.locator('td').first().textContent()).toMatch(/^(empty|car|truck|bus|motorcycle|bicycle|person)$/);
    const api = (await (await fetch(srv.url + 'api/sources')).json()) as { sources: { name: string; state: string; detectedFps: number; overlay: { lines: { name: string }[] } }[] };
    expect(api.sources[0]).toMatchObject({ name: 'street', state: 'running' });
    expect(api.sources[0].overlay.lines[0].name).toBe('mid');
    expect(api.sources[0].detectedFps).toBeGreaterThan(5);
    expect((await fetch(srv.url + 'healthz')).status).toBe(200);
    const fps = await page.locator('section.camera[data-source="street"] [data-figure="fps"] .figure-value').textContent();
    expect(Number(fps)).toBeGreaterThan(5);
  });

  it('shows the source pixels under the pointer (the 240×160 street, drawn from a 480-px JPEG at the tile\'s size); shift-click copies them', async () => {
    await page.waitForFunction(() => ((globalThis as any).__xnorcamStats?.sources.street?.framesDrawn ?? 0) > 5, undefined, { timeout: 20_000 });
    const tile = page.locator('section.camera[data-source="street"]');
    const box = (await tile.locator('canvas.video').boundingBox())!;
    // The line 'mid' runs down x = 120 of the source: halfway across, wherever the page puts the picture.
    const at = (x: number, y: number) => page.mouse.move(box.x + (x / 240) * box.width, box.y + (y / 160) * box.height);
    const readout = tile.locator('.pointer-readout');
    const shown = async () => (await readout.locator('.pointer-xy').textContent())!.split(',').map(Number);
    for (const [x, y] of [[120, 80], [30, 140], [200, 20]]) {
      await at(x, y);
      await expect.poll(() => readout.isVisible()).toBe(true);
      const [gx, gy] = await shown();
      // One screen pixel is less than a source pixel here (the picture is shown wider than 240 px): rounding only.
      expect(Math.abs(gx - x)).toBeLessThanOrEqual(1);
      expect(Math.abs(gy - y)).toBeLessThanOrEqual(1);
    }
    expect(await readout.locator('.pointer-note').textContent()).toBe(' of 240×160 · shift-click copies');

    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(srv.url).origin });
    await at(120, 80);
    const [cx, cy] = await shown();
    await page.keyboard.down('Shift');
    await page.mouse.down();
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await expect.poll(() => readout.locator('.pointer-note').textContent()).toBe(' copied');
    expect(await page.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(`${cx},${cy}`);
    // A copy, not a click to enlarge the camera.
    expect(await tile.evaluate((e) => e.classList.contains('enlarged'))).toBe(false);

    // Off the picture, no readout.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height + 40);
    await expect.poll(() => readout.isVisible()).toBe(false);
  });

  it('measures capture → draw latency through the whole pipeline', async () => {
    await sleep(3000);
    const lat = (await page.evaluate(() => (globalThis as any).__xnorcamStats.latencies.slice(-150))) as number[];
    const p50 = percentile(lat, 50), p95 = percentile(lat, 95);
    console.log(`real pipeline, capture→draw in chromium over ${lat.length} frames: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms`);
    expect(lat.length).toBeGreaterThan(50);
    expect(p50).toBeGreaterThan(0);
    if (process.env.XNORCAM_SCREENSHOT_PIPELINE) await page.screenshot({ path: process.env.XNORCAM_SCREENSHOT_PIPELINE, fullPage: true });
  });
});
