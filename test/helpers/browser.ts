import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A page's window: its size in CSS px, and device pixels per CSS px (a zoomed page: 150 % zoom of 1366×768 is 911×512 at 1.5). */
export interface PageView {
  viewport?: { width: number; height: number };
  deviceScaleFactor?: number;
}

/**
 * Debian's chromium through playwright-core, with the flags that work on these machines
 * (playwright gives every launch a fresh temporary profile folder, its own --user-data-dir). Each page gets its own context (its own window), like separate viewers: a second
 * tab in one window would be a background tab, and browsers pause animation frames there.
 */
export async function launchChromium(): Promise<{ browser: Browser; newPage(view?: PageView): Promise<Page>; close(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: process.env.XNORCAM_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    browser,
    async newPage(view: PageView = {}) {
      const context = await browser.newContext({ viewport: view.viewport ?? { width: 1280, height: 900 }, deviceScaleFactor: view.deviceScaleFactor ?? 1 });
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('page error:', e.message));
      return page;
    },
    async close() {
      await browser.close();
    },
  };
}
