/**
 * Turning movements of a live camera (a source with movements: true): a generated road played as a live file
 * through a real pipeline, its movements CSV beside the counts CSV, /api/counts, and the dashboard's from → to table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validatePipelineText } from '../../src/config/load.js';
import type { SourceCounts } from '../../src/core/feed.js';
import type { MovementCounts, TrafficEvent } from '../../src/core/types.js';
import { defaultModelPath } from '../../src/detect/default-model.js';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { startDashboardServer } from '../../src/server/index.js';
import { MOVEMENT_LATE_MS } from '../../src/track/analytics.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';
import { synthRoad } from '../helpers/synth-intersection.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

const INTERVAL_MS = 5000;
type Told = { from: string; to: string; className: string; at: number; toldAt: number };

function tally(list: Told[], bucketOf: (m: Told) => number): Map<number, MovementCounts> {
  const out = new Map<number, MovementCounts>();
  for (const m of list) {
    const k = bucketOf(m);
    const c = out.get(k) ?? {};
    out.set(k, c);
    const byClass = ((c[m.from] ??= {})[m.to] ??= {});
    byClass[m.className] = (byClass[m.className] ?? 0) + 1;
  }
  return out;
}

/** The interval a movement is counted in: its last crossing's, unless it was told well after that one ended. */
function intervalOf(m: Told): number {
  const end = (Math.floor(m.at / INTERVAL_MS) + 1) * INTERVAL_MS;
  const at = m.toldAt > end + MOVEMENT_LATE_MS ? m.toldAt : m.at;
  return Math.floor(at / INTERVAL_MS) * INTERVAL_MS;
}

describe('a live camera\'s turning movements', () => {
  let tmp: ReturnType<typeof tempDir>;
  let road: ReturnType<typeof synthRoad>;
  beforeAll(() => {
    buildWeb();
    tmp = tempDir();
    road = synthRoad(tmp.dir, '640x360');
  }, 300_000);
  afterAll(() => tmp.cleanup());

  it('are written per clock interval beside its counts, answered by /api/counts and shown as a from → to table (none for a camera without them)', async () => {
    const out = join(tmp.dir, 'out');
    const { config } = validatePipelineText(`sources:\n  - name: cam\n    url: x.mp4\noutputs:\n  files: { dir: ${JSON.stringify(out)}, counts: true }\n`);
    const lines = Object.entries(road.lines).map(([name, points]) => ({ name, points }));
    const p = new Pipeline({
      model: defaultModelPath(),
      sources: [
        { name: 'junction', url: road.video, mode: 'live', lines, movements: true },
        // A camera without movements beside it: no table.
        { name: 'plain', url: 'lavfi:testsrc2=size=160x120:rate=2', mode: 'live', lines: [{ name: 'a', points: [[0, 60], [160, 60]] }] },
      ],
      workers: 1,
      countIntervalMs: INTERVAL_MS,
    });
    const outputs = new PipelineOutputs(p, { outputs: config!.outputs, retention: config!.retention });
    // Every movement with when it was told: in a frame's events, or (tracks still in view at the end) after the last frame.
    const told: Told[] = [];
    let lastFrameAt = -Infinity;
    const note = (events: TrafficEvent[], toldAt: number) => {
      for (const e of events) if (e.type === 'movement' && e.source === 'junction') told.push({ from: e.from, to: e.to, className: e.className, at: e.at, toldAt });
    };
    p.on('result', (r) => {
      if (r.frame.source !== 'junction') return;
      lastFrameAt = Math.max(lastFrameAt, r.frame.capturedAt);
      note(r.events, r.frame.capturedAt);
    });
    p.on('events', (e) => note(e.events, lastFrameAt));
    // Its end, not its state 'finished': that is the decoder's, and frames still being detected after it (a loaded
    // machine) and the tracks in view at the end tell their movements later, while the API was being asked.
    let ended = false;
    p.on('source-end', (e: { source: string }) => (ended ||= e.source === 'junction'));
    await p.start();
    const srv = await startDashboardServer(p, { port: 0 });
    const browser = await launchChromium();
    const page = await browser.newPage();
    let api: SourceCounts;
    try {
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.goto(srv.url);
      await until('the recording played to its end, its last frame detected', () => ended, 120_000);
      expect(told.length).toBeGreaterThan(3);

      // The API: the run's total, and each interval's own, from → to × class.
      api = (await (await fetch(srv.url + 'api/counts?source=junction')).json()) as SourceCounts;
      const whole = tally(told, () => 0).get(0);
      expect(api.movements).toEqual(whole);
      const byInterval = tally(told, intervalOf);
      for (const iv of api.intervals) expect(iv.movements, new Date(iv.start).toISOString()).toEqual(byInterval.get(iv.start) ?? {});
      expect(api.intervals.map((iv) => iv.start)).toEqual(expect.arrayContaining([...byInterval.keys()]));
      const plain = (await (await fetch(srv.url + 'api/counts?source=plain')).json()) as SourceCounts;
      expect(plain.movements).toBeUndefined();

      // The page: a row per line come in by, a column per line left by, vehicles of every class in each cell.
      const names = lines.map((l) => l.name);
      const want = names.map((from) => names.map((to) => (from === to ? '–' : String(Object.values(whole?.[from]?.[to] ?? {}).reduce((a, b) => a + b, 0)))));
      const shown = () =>
        page.evaluate(() => {
          const t = (globalThis as any).document.querySelector('[data-source="junction"] table.movements');
          return t ? [...t.querySelectorAll('tr[data-from]')].map((tr: any) => [...tr.querySelectorAll('td')].map((td: any) => td.textContent as string)) : null;
        });
      await expect.poll(shown, { timeout: 20_000 }).toEqual(want);
      const [from, to] = Object.entries(whole!).flatMap(([f, tos]) => Object.keys(tos).map((t) => [f, t]))[0];
      const title = await page.getAttribute(`[data-source="junction"] table.movements tr[data-from="${from}"] td[data-to="${to}"]`, 'title');
      expect(title).toBe(`${from} → ${to}: ${Object.entries(whole![from][to]).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
      // In view, whole, without scrolling the counts (first in them); none for the camera without movements.
      const inView = await page.evaluate(() => {
        const d = (globalThis as any).document;
        const t = d.querySelector('[data-source="junction"] table.movements').getBoundingClientRect();
        const col = d.querySelector('[data-source="junction"] .counts').getBoundingClientRect();
        return t.width > 0 && t.top >= col.top && t.bottom <= col.bottom && t.left >= col.left && t.right <= col.right && t.bottom <= 768;
      });
      expect(inView).toBe(true);
      expect(await page.locator('[data-source="plain"] .count-table').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-source="plain"] table.movements').count()).toBe(0);
      if (process.env.XNORCAM_SCREENSHOT_LAYOUT) await page.screenshot({ path: `${process.env.XNORCAM_SCREENSHOT_LAYOUT}-movements-1366x768.png` });
    } finally {
      await browser.close();
      await srv.close();
      await p.close();
      await outputs.close();
    }

    // The CSV: the counts CSV's intervals, each a whole table of line pairs × classes, 0 where none went that way.
    const csv = (kind: string) => readFileSync(join(out, `junction.${kind}.csv`), 'utf8').trim().split('\n');
    const [header, ...rows] = csv('movements');
    expect(header).toBe('interval_start,interval_start_ms,from,to,class,count,covered_s');
    const starts = [...new Set(csv('counts').slice(1).map((r) => Number(r.split(',')[1])))];
    // covered_s: each interval's as its counts have it (one interval, one covered time), whole between the first and last.
    const covered = new Map(csv('counts').slice(1).map((r) => [Number(r.split(',')[1]), r.split(',')[6]]));
    expect(starts.slice(1, -1).every((s) => covered.get(s) === String(INTERVAL_MS / 1000))).toBe(true);
    const classes = [...(api.classes ?? [])].filter((c) => c !== 'person').sort();
    const pairs = lines.flatMap((a) => lines.filter((b) => b !== a).map((b) => [a.name, b.name]));
    const counted = tally(told, intervalOf);
    expect(rows).toEqual(
      starts.flatMap((s) => pairs.flatMap(([f, t]) => classes.map((c) => `${new Date(s).toISOString()},${s},${f},${t},${c},${counted.get(s)?.[f]?.[t]?.[c] ?? 0},${covered.get(s)}`))),
    );
    expect(starts.every((s) => s % INTERVAL_MS === 0)).toBe(true);
    expect(rows.reduce((a, r) => a + Number(r.split(',')[5]), 0)).toBe(told.length);
    expect(() => readFileSync(join(out, 'plain.movements.csv'))).toThrow(/ENOENT/);
  }, 240_000);
});
