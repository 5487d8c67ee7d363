import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';
import { sleep } from '../helpers/ws-client.js';
import { startReverseProxy, type ReverseProxy } from './reverse-proxy.js';

/**
 * When the server refuses the page's socket (a reverse proxy that rewrites Host, a token that changed
 * under an open page), retrying cannot help: the page must say why, and stop knocking.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- page-side code reaches the page's globals */
const framesDrawn = (page: Page) => page.evaluate(() => ((globalThis as any).__xnorcamStats?.framesDrawn ?? 0) as number);
const alertText = (page: Page) => page.locator('#alert').evaluate((e: any) => (e.hidden ? '' : (e.textContent as string)));

describe('dashboard whose socket the server refuses, in chromium', () => {
  let feed: TestFeed;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    buildWeb();
    feed = new TestFeed({ width: 320, height: 180, fps: 10 }).start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await browser?.close();
    await feed?.stop();
  });

  async function open(url: string): Promise<Page> {
    const page = await browser.newPage();
    cleanup.push(() => page.context().close());
    await page.goto(url);
    return page;
  }

  async function proxied(opts: { forwardedHost: boolean }): Promise<{ srv: DashboardServer; proxy: ReverseProxy }> {
    const srv = await startDashboardServer(feed, { port: 0 });
    cleanup.push(() => srv.close());
    const proxy = await startReverseProxy({ upstreamPort: Number(new URL(srv.url).port), forwardedHost: opts.forwardedHost });
    cleanup.push(() => proxy.close());
    return { srv, proxy };
  }

  it('behind a proxy that rewrites Host but forwards X-Forwarded-Host (docs/dashboard.md), the page is live', async () => {
    const { proxy } = await proxied({ forwardedHost: true });
    const page = await open(proxy.url);
    await page.waitForFunction(() => ((globalThis as any).__xnorcamStats?.framesDrawn ?? 0) > 5, undefined, { timeout: 15_000 });
    expect(await page.locator('#connection').textContent()).toBe('live');
    expect(await alertText(page)).toBe('');
  });

  it('behind a proxy that rewrites Host and forwards nothing, the page says the server refuses it as cross-origin, and stops trying', async () => {
    const { proxy } = await proxied({ forwardedHost: false });
    const page = await open(proxy.url);
    await expect.poll(() => alertText(page), { timeout: 10_000 }).toContain("refused by the server: cross-origin; check the proxy's Host header");
    expect(await page.locator('#connection').textContent()).toBe('refused');
    expect(await page.locator('#empty').isHidden()).toBe(true);
    expect(await page.evaluate(() => (globalThis as any).__xnorcamStats.refused)).toBe('cross-origin');
    const attempts = proxy.upgrades;
    await sleep(3000); // the old page retried every 0.5–5 s forever
    expect(proxy.upgrades).toBe(attempts);
    expect(await framesDrawn(page)).toBe(0);
  });

  it('after the server restarts with a new token, the open page says its token is no longer valid and stops trying', async () => {
    const srv = await startDashboardServer(feed, { port: 0, token: 'first-token-1111' });
    const port = Number(new URL(srv.url).port);
    const page = await open(`${srv.url}?token=first-token-1111`);
    await page.waitForFunction(() => ((globalThis as any).__xnorcamStats?.framesDrawn ?? 0) > 5, undefined, { timeout: 15_000 });
    await srv.close();
    await sleep(1000); // down for a while, as during a restart: the page keeps trying meanwhile
    expect(await alertText(page)).toBe('');
    const next = await startDashboardServer(feed, { port, token: 'second-token-2222' });
    cleanup.push(() => next.close());
    let upgrades = 0;
    next.server.on('upgrade', () => upgrades++);
    await expect.poll(() => alertText(page), { timeout: 15_000 }).toMatch(/access token is no longer valid.*\?token=/);
    expect(await page.locator('#connection').textContent()).toBe('token not valid');
    // The camera's state is not known without the server: no green RUNNING.
    expect(await page.locator('section.camera[data-source="cam1"] .badge').textContent()).toBe('unknown');
    const attempts = upgrades;
    await sleep(3000);
    expect(upgrades).toBe(attempts);
  });
});
