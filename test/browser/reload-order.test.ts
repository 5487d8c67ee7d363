/**
 * The dashboard keeps the pipeline file's order of cameras across reloads: a real `xnorcam run` pipeline of three
 * generated cameras, its file edited and reloaded, /api/sources and the page's tiles looked at after each reload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupFromArgs } from '../../src/cli/run.js';
import { PipelineReloader } from '../../src/pipeline/live-reload.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startDashboardServer } from '../../src/server/index.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';
import { tempDir } from '../helpers/videos.js';

/** A pipeline file of these cameras, in this order; `lined` ones count on a line. */
function yaml(names: string[], lined: string[] = []): string {
  return [
    'sources:',
    ...names.flatMap((n) => [
      `  - name: ${n}`,
      '    url: lavfi:testsrc2=size=160x120:rate=5',
      ...(lined.includes(n) ? ['    lines: [{ name: stop, points: [[0, 60], [160, 60]] }]'] : []),
    ]),
    'outputs: { dashboard: { enabled: false } }',
    '',
  ].join('\n');
}

describe('cameras restarted or added by a reload', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    buildWeb();
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('keep their place in the pipeline file\'s order, in /api/sources and on the page', async () => {
    const file = join(tmp.dir, 'p.yaml');
    const all = ['north', 'middle', 'south'];
    writeFileSync(file, yaml(all));
    const setup = setupFromArgs([file], {});
    const p = new Pipeline(setup.options);
    const reloader = new PipelineReloader(p, file, () => ({ options: setupFromArgs([file], {}, true).options, fixed: {} }), { options: setup.options, fixed: {} });
    await p.start();
    const srv = await startDashboardServer(p, { port: 0 });
    const browser = await launchChromium();
    const apiOrder = async () => ((await (await fetch(srv.url + 'api/sources')).json()) as { sources: { name: string }[] }).sources.map((s) => s.name);
    const tilesOf = (page: Awaited<ReturnType<typeof browser.newPage>>) =>
      page.evaluate(() => [...(globalThis as any).document.querySelectorAll('section.camera')].map((t: any) => t.dataset.source as string));
    const edit = async (names: string[], lined: string[] = []) => {
      writeFileSync(file, yaml(names, lined));
      await reloader.reload('file');
    };
    try {
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.goto(srv.url);
      await expect.poll(() => tilesOf(page), { timeout: 10_000 }).toEqual(all);

      // A line added to the first camera restarts it: it stays first (it went to the bottom).
      await edit(all, ['north']);
      expect(p.overlay('north').lines.map((l) => l.name)).toEqual(['stop']);
      expect(await apiOrder()).toEqual(all);
      await expect.poll(() => tilesOf(page), { timeout: 10_000 }).toEqual(all);
      const fresh = await browser.newPage();
      await fresh.goto(srv.url);
      await expect.poll(() => tilesOf(fresh), { timeout: 10_000 }).toEqual(all);

      // Taken out, then put back at the top of the file: its tile goes, and comes back at the top.
      await edit(['middle', 'south'], ['north']);
      await expect.poll(() => tilesOf(page), { timeout: 10_000 }).toEqual(['middle', 'south']);
      await edit(all, ['north']);
      expect(await apiOrder()).toEqual(all);
      await expect.poll(() => tilesOf(page), { timeout: 10_000 }).toEqual(all);
    } finally {
      await browser.close();
      await srv.close();
      await reloader.close();
      await p.close();
    }
  }, 90_000);
});
