import { EventEmitter } from 'node:events';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineFeed, SourceCounts, SourceOverlay, SourceStatus } from '../../src/core/feed.js';
import { startDashboardServer } from '../../src/server/index.js';
import { MultiFeed, TestFeed } from '../helpers/dashboard-feed.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';

/**
 * docs/dashboard.md promises "a grid that fills the window", and wall displays rely on it: every
 * tile must be inside the viewport, however many cameras there are, with its picture at its own
 * aspect ratio, and the page must not scroll.
 */

/** Sources that report a status and never send a frame: enough for the page to lay out their tiles. */
class StatusOnlyFeed extends EventEmitter implements PipelineFeed {
  /** withCounts: each source has a counting line and counts, so its tile has a counts table and chart to show. */
  constructor(
    private readonly names: string[],
    private readonly withCounts = false,
  ) {
    super();
  }
  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }
  sources(): SourceStatus[] {
    return this.names.map((name) => ({
      name, url: `rtsp://cam/${name}`, state: 'running', decodedFps: 10, detectedFps: 10, latencyMs: 30,
      droppedFrames: 0, reconnects: 0, lastFrameAt: Date.now(), width: 1280, height: 720,
    }));
  }
  overlay(): SourceOverlay {
    return { lines: this.withCounts ? [{ name: 'stop', points: [[0, 400], [1280, 400]] }] : [], zones: [] };
  }
  counts(name: string): SourceCounts | undefined {
    if (!this.withCounts) return undefined;
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    const c = { stop: { forward: { car: 12, truck: 3 }, backward: { car: 9, bus: 1 } } };
    return { source: name, intervalMs: 60_000, total: c, intervals: [{ start: now - 60_000, counts: c }, { start: now, counts: c }] };
  }
}

interface Fit {
  innerWidth: number; innerHeight: number; scrollWidth: number; scrollHeight: number;
  tiles: { name: string; top: number; left: number; bottom: number; right: number; cw: number; ch: number; w: number; h: number }[];
}

// Page-side code reaches the page's globals through `globalThis as any` (test code compiles without the DOM library).
/* eslint-disable @typescript-eslint/no-explicit-any */
const measure = (page: Page) =>
  page.evaluate(() => {
    const d = (globalThis as any).document;
    const w = globalThis as any;
    return {
      innerWidth: w.innerWidth, innerHeight: w.innerHeight,
      scrollWidth: d.scrollingElement.scrollWidth, scrollHeight: d.scrollingElement.scrollHeight,
      tiles: [...d.querySelectorAll('section.camera')].map((t: any) => {
        const r = t.getBoundingClientRect();
        const c = t.querySelector('canvas.video');
        const cr = c.getBoundingClientRect();
        return { name: t.dataset.source, top: r.top, left: r.left, bottom: r.bottom, right: r.right, cw: c.width, ch: c.height, w: cr.width, h: cr.height };
      }),
    };
  }) as Promise<Fit>;

function expectFits(f: Fit, n: number, what: string): void {
  expect(f.tiles, what).toHaveLength(n);
  expect(f.scrollHeight, `${what}: page height`).toBeLessThanOrEqual(f.innerHeight);
  expect(f.scrollWidth, `${what}: page width`).toBeLessThanOrEqual(f.innerWidth);
  for (const t of f.tiles) {
    const where = `${what}: tile ${t.name} at ${Math.round(t.left)},${Math.round(t.top)}–${Math.round(t.right)},${Math.round(t.bottom)}`;
    expect(t.top, where).toBeGreaterThanOrEqual(0);
    expect(t.left, where).toBeGreaterThanOrEqual(0);
    expect(t.bottom, where).toBeLessThanOrEqual(f.innerHeight + 0.5);
    expect(t.right, where).toBeLessThanOrEqual(f.innerWidth + 0.5);
    // The picture is shown at the frames' own shape, neither stretched nor squeezed, and inside its tile.
    expect(t.w / t.h, `${where}: picture ${t.w}×${t.h} for frames ${t.cw}×${t.ch}`).toBeCloseTo(t.cw / t.ch, 1);
    expect(t.w, where).toBeGreaterThan(0);
  }
}

describe('dashboard grid fits the window', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    buildWeb();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('three live cameras in a 1400×1000 window: all on screen, pictures at their aspect ratio', async () => {
    // Different shapes on purpose: 16:9, 4:3 and a portrait camera.
    const sizes: Record<string, [number, number]> = { arterial: [320, 180], highway: [320, 240], intersection: [180, 320] };
    const cams = new MultiFeed(Object.entries(sizes).map(([source, [width, height]]) => new TestFeed({ source, width, height, fps: 5, step: 4 }).start()));
    const srv = await startDashboardServer(cams, { port: 0 });
    const page = await browser.newPage();
    try {
      await page.setViewportSize({ width: 1400, height: 1000 });
      await page.goto(srv.url);
      await page.waitForFunction(
        () => ['arterial', 'highway', 'intersection'].every((n) => ((globalThis as any).__xnorcamStats?.sources[n]?.framesDrawn ?? 0) > 3),
        undefined,
        { timeout: 15_000 },
      );
      const f = await measure(page);
      expectFits(f, 3, '3 cameras, 1400×1000');
      for (const t of f.tiles) expect([t.cw, t.ch], t.name).toEqual(sizes[t.name]);
      // Fitting must not mean postage stamps: a 16:9 picture gets at least a third of the width.
      const arterial = f.tiles.find((t) => t.name === 'arterial')!;
      expect(arterial.w).toBeGreaterThan(1400 / 3 - 60);
      if (process.env.XNORCAM_SCREENSHOT_LAYOUT) await page.screenshot({ path: `${process.env.XNORCAM_SCREENSHOT_LAYOUT}-live-3.png` });
      // The window grows or shrinks: the grid follows.
      await page.setViewportSize({ width: 1000, height: 700 });
      await expect.poll(async () => (await measure(page)).tiles.every((t) => t.bottom <= 700.5 && t.right <= 1000.5), { timeout: 5000 }).toBe(true);
      expectFits(await measure(page), 3, '3 cameras, 1000×700');
    } finally {
      await page.context().close();
      await srv.close();
      await Promise.all(cams.feeds.map((f) => f.stop()));
    }
  });

  it('a wall screen of four cameras keeps each one\'s counts table and chart beside its picture', async () => {
    const feed = new StatusOnlyFeed(['cam1', 'cam2', 'cam3', 'cam4'], true);
    const srv = await startDashboardServer(feed, { port: 0 });
    const page = await browser.newPage();
    try {
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.goto(srv.url);
      await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('section.camera .count-table').length === 4, undefined, { timeout: 10_000 });
      expectFits(await measure(page), 4, '4 cameras with counts, 1920×1080');
      const lower = await page.evaluate(() =>
        [...(globalThis as any).document.querySelectorAll('section.camera')].map((t: any) => {
          const tile = t.getBoundingClientRect();
          const table = t.querySelector('.count-table').getBoundingClientRect();
          const chart = t.querySelector('canvas.chart').getBoundingClientRect();
          return { shown: (globalThis as any).getComputedStyle(t.querySelector('.camera-lower')).display !== 'none', tableBottom: table.bottom, chartH: chart.height, tileBottom: tile.bottom };
        }),
      );
      for (const l of lower) {
        expect(l.shown).toBe(true);
        // Inside the tile, not cut off by it.
        expect(l.tableBottom).toBeLessThanOrEqual(l.tileBottom);
        expect(l.chartH).toBeGreaterThan(0);
      }
      if (process.env.XNORCAM_SCREENSHOT_LAYOUT) await page.screenshot({ path: `${process.env.XNORCAM_SCREENSHOT_LAYOUT}-wall-counts.png` });
    } finally {
      await page.context().close();
      await srv.close();
    }
  });

  it('on a phone (390×844): one column that scrolls, pictures the screen\'s width, names and header readable; enlarged, the picture stays large', async () => {
    const cams = new MultiFeed(['junction-north', 'arterial-east', 'uk-m4', 'eu-motorway'].map((source) => new TestFeed({ source, width: 640, height: 360, fps: 5, step: 4 }).start()));
    const srv = await startDashboardServer(cams, { port: 0 });
    const page = await browser.newPage();
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(srv.url);
      await page.waitForFunction(() => Object.values((globalThis as any).__xnorcamStats?.sources ?? {}).filter((s: any) => s.framesDrawn > 2).length === 4, undefined, { timeout: 15_000 });
      const f = await measure(page);
      expect(f.scrollWidth).toBeLessThanOrEqual(390);
      for (const t of f.tiles) {
        // The picture spans the tile (it was 54 px wide when every camera had to fit the window).
        expect(t.w, t.name).toBeGreaterThan(300);
        expect(t.w / t.h).toBeCloseTo(640 / 360, 1);
      }
      const head = await page.evaluate(() => {
        const d = (globalThis as any).document;
        const top = d.querySelector('header.top').getBoundingClientRect();
        const right = Math.max(...[...d.querySelectorAll('header.top > *')].map((e: any) => e.getBoundingClientRect().right));
        const names = [...d.querySelectorAll('.camera-name')].map((e: any) => e.getBoundingClientRect().width);
        return { height: top.height, right, names };
      });
      expect(head.height).toBeLessThan(120);
      expect(head.right).toBeLessThanOrEqual(390);
      for (const w of head.names) expect(w).toBeGreaterThan(60);
      await page.locator('section.camera[data-source="junction-north"]').click();
      await expect.poll(async () => (await measure(page)).tiles.find((t) => t.name === 'junction-north')!.w, { timeout: 5000 }).toBeGreaterThan(300);
      if (process.env.XNORCAM_SCREENSHOT_LAYOUT) await page.screenshot({ path: `${process.env.XNORCAM_SCREENSHOT_LAYOUT}-phone-enlarged.png` });
    } finally {
      await page.context().close();
      await srv.close();
      await Promise.all(cams.feeds.map((f) => f.stop()));
    }
  });

  it.each([
    [1, 1280, 900],
    [2, 1024, 768],
    [4, 1920, 1080],
    [5, 1400, 1000],
    [9, 1920, 1080],
    [16, 1400, 1000],
    [6, 800, 1200],
  ])('%i cameras in a %i×%i window', async (n, width, height) => {
    const feed = new StatusOnlyFeed(Array.from({ length: n }, (_, i) => `cam${i + 1}`));
    const srv = await startDashboardServer(feed, { port: 0 });
    const page = await browser.newPage();
    try {
      await page.setViewportSize({ width, height });
      await page.goto(srv.url);
      await page.waitForFunction((k) => (globalThis as any).document.querySelectorAll('section.camera').length === k, n, { timeout: 10_000 });
      const f = await measure(page);
      expectFits(f, n, `${n} cameras, ${width}×${height}`);
      const share = f.tiles.reduce((a, t) => a + t.w * t.h, 0) / (width * height);
      console.log(`${n} cameras in ${width}×${height}: pictures ${Math.round(f.tiles[0].w)}×${Math.round(f.tiles[0].h)}, ${(share * 100).toFixed(0)} % of the window`);
      if (process.env.XNORCAM_SCREENSHOT_LAYOUT) await page.screenshot({ path: `${process.env.XNORCAM_SCREENSHOT_LAYOUT}-${n}-${width}x${height}.png` });
      // Fitting must not mean postage stamps: the pictures fill a fair part of the window.
      expect(share).toBeGreaterThan(0.3);
    } finally {
      await page.context().close();
      await srv.close();
    }
  });
});
