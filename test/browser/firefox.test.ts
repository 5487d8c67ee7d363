import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline } from '../../src/pipeline/pipeline.js';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { buildWeb } from '../helpers/build-web.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { FirefoxBidi, firefoxUnavailable } from '../helpers/firefox-bidi.js';
import { Pixels } from '../helpers/screenshot-pixels.js';
import { RecordingClient, sleep, waitFor, wsUrl } from '../helpers/ws-client.js';
import { tempDir } from '../helpers/videos.js';
import { expectBoxesOutlined, expectDrawnAsSent, pauseOnCheckableFrame, percentile, startStreetPipeline, type Drawn } from '../helpers/street-pipeline.js';

/**
 * The dashboard in Firefox (Debian's firefox-esr over WebDriver BiDi), on a REAL pipeline: the same
 * checks as pipeline.test.ts does in Chromium. The video is grey, so saturated pixels on the
 * screenshot are overlays; a Node client on the same socket records every frame's header, so what
 * the page drew can be checked against what the server sent for that frame.
 * Without Firefox the file is skipped, except in CI, where a missing browser is a failure.
 */
const missing = firefoxUnavailable();
const skip = missing !== null && !process.env.CI;
if (skip) console.warn(`firefox dashboard tests skipped: ${missing}`);

const CANVAS = 'section.camera[data-source="street"] canvas.video';


describe.skipIf(skip)(`dashboard in firefox on a real pipeline${skip ? ` (skipped: ${missing})` : ''}`, () => {
  let tmp: ReturnType<typeof tempDir>;
  let pipeline: Pipeline;
  let srv: DashboardServer;
  let port: number;
  let ff: FirefoxBidi;
  let recorder: RecordingClient;
  const stat = <T>(expr: string) => ff.evaluate<T>(`globalThis.__xnorcamStats.${expr}`);

  beforeAll(async () => {
    if (missing) throw new Error(`CI is set, so Firefox is required: ${missing}`);
    buildWeb();
    tmp = tempDir();
    pipeline = await startStreetPipeline(tmp.dir);
    srv = await startDashboardServer(pipeline, { port: 0 });
    port = Number(new URL(srv.url).port);
    recorder = new RecordingClient(wsUrl(srv.url));
    await recorder.subscribeAll();
    ff = await FirefoxBidi.launch({ width: 1280, height: 900 });
    await ff.goto(srv.url);
  });
  afterAll(async () => {
    recorder?.close();
    await ff?.close();
    await srv?.close();
    await pipeline?.close();
    tmp?.cleanup();
  });

  it('shows the pipeline’s frames with the boxes of exactly those frames', async () => {
    console.log(`firefox ${ff.version} over WebDriver BiDi`);
    await ff.evaluate('globalThis.__xnorcam.showDetections(true)');
    await ff.waitFor('(globalThis.__xnorcamStats?.framesDrawn ?? 0) > 40', 20_000, '40 frames drawn');
    const d = await pauseOnCheckableFrame({
      lastDrawn: () => stat<Drawn>('sources.street.lastDrawn'),
      pause: () => ff.evaluate('globalThis.__xnorcam.pause()'),
      resume: () => ff.evaluate('globalThis.__xnorcam.resume()'),
    });
    expect(d, 'a drawn frame with a box of at least 12×12 px').not.toBeNull();
    const png = await ff.screenshot({ selector: CANVAS });
    await ff.evaluate('globalThis.__xnorcam.resume()');

    expectDrawnAsSent(d!, recorder);

    const shot = await Pixels.fromPng(png);
    const css = await ff.evaluate<{ w: number; h: number }>(`(() => { const r = document.querySelector(${JSON.stringify(CANVAS)}).getBoundingClientRect(); return { w: r.width, h: r.height }; })()`);
    expect(Math.abs(shot.width - css.w)).toBeLessThanOrEqual(2); // the screenshot is the whole canvas
    expect(Math.abs(shot.height - css.h)).toBeLessThanOrEqual(2);
    expectBoxesOutlined(shot, d!);
    // Between the overlays the grey video shows through: most of the picture has no colour, and
    // it is the video's grey (0x60 background, the picture lighter or darker), not a black canvas.
    let greyPoints = 0, videoPoints = 0;
    for (let i = 0; i < 10; i++) {
      for (let j = 0; j < 10; j++) {
        const x = ((i + 0.5) / 10) * shot.width, y = ((j + 0.5) / 10) * shot.height;
        if (shot.chroma(x, y) < 30) greyPoints++;
        if (shot.luma(x, y) > 30) videoPoints++;
      }
    }
    expect(greyPoints).toBeGreaterThan(30);
    expect(videoPoints).toBeGreaterThan(60);
    // The video keeps moving: a later frame is drawn with a newer seq.
    await ff.waitFor(`globalThis.__xnorcamStats.sources.street.lastDrawn.seq > ${d!.seq}`, 5000, 'a newer frame after resuming');
  });

  it('shows the counting line, the counts panel and the figures', async () => {
    await waitFor(() => recorder.messages.some((m) => m.type === 'counts'), 10_000, 'counts message');
    await ff.waitFor(`document.querySelector('section.camera[data-source="street"] .count-table caption')`, 10_000, 'the counts table');
    expect(await ff.evaluate(`document.querySelector('section.camera[data-source="street"] .count-table caption').textContent`)).toBe('mid');
    await sleep(2500); // the page's fps is over the last 2 s, and the previous test paused it
    const fps = await ff.evaluate<string>(`document.querySelector('section.camera[data-source="street"] [data-figure="fps"] .figure-value').textContent`);
    expect(Number(fps)).toBeGreaterThan(5);
    // The counting line is drawn: on the video's grey, column x=120 (of 240) has colour down its length.
    const shot = await Pixels.fromPng(await ff.screenshot({ selector: CANVAS }));
    let onLine = 0;
    for (let k = 1; k < 10; k++) if (shot.saturatedNear(shot.width / 2, (k / 10) * shot.height, 3)) onLine++;
    expect(onLine).toBeGreaterThanOrEqual(7);
    // Click to enlarge (and back): the page's layout and subscription switch work in Firefox too.
    await ff.evaluate(`document.querySelector('section.camera[data-source="street"]').click()`);
    expect(await ff.evaluate('document.body.classList.contains("has-enlarged") && Boolean(document.querySelector("section.camera.enlarged"))')).toBe(true);
    const f0 = await stat<number>('framesDrawn');
    await ff.waitFor(`globalThis.__xnorcamStats.framesDrawn > ${f0 + 10}`, 5000, 'frames while enlarged');
    await ff.evaluate(`document.querySelector('section.camera[data-source="street"]').click()`);
    expect(await ff.evaluate('document.querySelector("section.camera.enlarged") === null')).toBe(true);
    expect(ff.log.filter((e) => e.type === 'javascript' || e.level === 'error'), 'page errors').toEqual([]);
  });

  it('measures capture → draw latency through the whole pipeline', async () => {
    await ff.evaluate('globalThis.__xnorcamStats.latencies.length = 0');
    await sleep(4000);
    const lat = await stat<number[]>('latencies');
    const p50 = percentile(lat, 50), p95 = percentile(lat, 95);
    // Where the time goes: the pipeline's capture → detections, and capture → arrival at a Node
    // client on the same socket (the server's share); the rest is Firefox receiving, decoding, drawing.
    const offset = await stat<number>('clockOffsetMs');
    const detectMs = pipeline.sources()[0].latencyMs;
    const socket = recorder.frames.slice(-lat.length).map((f) => f.at - f.header.capturedAt);
    console.log(
      `real pipeline, capture→draw in firefox ${ff.version} over ${lat.length} frames: p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms ` +
        `(capture→detections p50 ${detectMs} ms; capture→socket p50 ${percentile(socket, 50)} ms, p95 ${percentile(socket, 95)} ms; page clock offset ${offset} ms)`,
    );
    expect(lat.length).toBeGreaterThan(30);
    expect(p50).toBeGreaterThan(0);
    const shotPath = process.env.XNORCAM_SCREENSHOT_FIREFOX;
    if (shotPath) writeFileSync(shotPath, await ff.screenshot({ fullPage: true }));
  });

  it('reconnects by itself when the server restarts', async () => {
    const connects = await stat<number>('connects');
    await srv.close();
    await ff.waitFor('globalThis.__xnorcamStats.connected === false', 5000, 'the page to notice');
    expect(await ff.evaluate(`document.getElementById('connection').textContent`)).toMatch(/reconnecting/);
    await sleep(1000);
    srv = await startDashboardServer(pipeline, { port });
    await ff.waitFor(`globalThis.__xnorcamStats.connects > ${connects}`, 10_000, 'a reconnect');
    const f0 = await stat<number>('framesDrawn');
    await ff.waitFor(`globalThis.__xnorcamStats.framesDrawn > ${f0 + 15}`, 10_000, 'frames after the reconnect');
    expect(await ff.evaluate(`document.getElementById('connection').textContent`)).toBe('live');
  });

  it('updates counts and the total as vehicles cross the line', async () => {
    // The detector finds no crossings on the street video, so this one uses the test feed, whose
    // rectangle crosses its stop line every few seconds (real ffmpeg frames, known counts).
    const feed = new TestFeed({ step: 16 }).start();
    const counted = await startDashboardServer(feed, { port: 0 });
    try {
      await ff.goto(counted.url);
      const total = `Number(document.querySelector('section.camera[data-source="cam1"] .camera-total')?.textContent || 0)`;
      await ff.waitFor(`${total} > 0`, 20_000, 'a first crossing');
      const before = await ff.evaluate<number>(total);
      await ff.waitFor(`${total} > ${before}`, 20_000, 'the next crossing');
      const cells = await ff.evaluate<string[]>(`[...document.querySelectorAll('section.camera[data-source="cam1"] tr[data-line="stop-line"] td.fwd')].map((td) => td.textContent)`);
      const fromTable = cells.reduce((a, t) => a + Number(t), 0);
      const fromApi = (await (await fetch(counted.url + 'api/counts?source=cam1')).json()) as { total: Record<string, { forward: Record<string, number> }> };
      const apiTotal = Object.values(fromApi.total['stop-line'].forward).reduce((a, b) => a + b, 0);
      expect(fromTable).toBeGreaterThan(before);
      expect(apiTotal - fromTable).toBeLessThanOrEqual(1); // the page is at most one update behind
    } finally {
      await counted.close();
      await feed.stop();
    }
  });
});
