import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { imageA, testModel } from './model.js';
import type { Pixels } from './screenshot-pixels.js';
import { sleep, type RecordingClient } from './ws-client.js';

/** What the page reports it drew for one frame (globalThis.__xnorcamStats in the dashboard). */
export interface DrawnBox { kind: 'track' | 'detection'; box: [number, number, number, number]; classId: number; trackId: number | null }
export interface Drawn { seq: number; canvasWidth: number; canvasHeight: number; sourceWidth: number; sourceHeight: number; boxes: DrawnBox[] }

/** Points on the edges of the sizeable boxes (≥ 12 px), skipping edges on the picture's border (half clipped). */
export function edgeSamples(d: Drawn): [number, number][] {
  const out: [number, number][] = [];
  const inside = (v: number, max: number) => v >= 2 && v <= max - 2;
  for (const { box: [x1, y1, x2, y2] } of d.boxes.filter((b) => b.box[2] - b.box[0] >= 12 && b.box[3] - b.box[1] >= 12)) {
    for (let k = 1; k < 8; k++) {
      const fx = x1 + ((x2 - x1) * k) / 8, fy = y1 + ((y2 - y1) * k) / 8;
      for (const x of [x1, x2]) if (inside(x, d.sourceWidth)) out.push([x, fy]);
      for (const y of [y1, y2]) if (inside(y, d.sourceHeight)) out.push([fx, y]);
    }
  }
  return out;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * The browser tests' street: fixture A's image sliding left and right over a flat grey background
 * (8 s, 15 fps, 240×160, grey so that saturated pixels on a screenshot are overlays), played as a
 * looping live camera through a real pipeline with the small darknet-checked XNOR model, which finds
 * boxes of every size on it every frame; a counting line "mid" and a zone "kerb".
 */
export async function startStreetPipeline(dir: string): Promise<Pipeline> {
  const video = join(dir, 'moving.mp4');
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x606060:s=240x160:r=15',
    '-loop', '1', '-framerate', '15', '-i', imageA, '-filter_complex',
    "[1:v]format=gray,format=yuv420p[img];[0:v][img]overlay=x='80*abs(sin(t*0.8))':y=0:shortest=1,format=gray,format=yuv420p[v]",
    '-map', '[v]', '-t', '8', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '15', video], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not render the street video: ${r.stderr}`);
  const pipeline = new Pipeline({
    model: testModel,
    sources: [{ url: video, name: 'street', loop: true, lines: [{ name: 'mid', points: [[120, 0], [120, 160]] }], zones: [{ name: 'kerb', polygon: [[0, 120], [60, 120], [60, 160], [0, 160]] }] }],
    mode: 'live',
    workers: 1,
    display: { width: 480 },
    detect: { thresh: 0.25 },
    countIntervalMs: 5000,
  });
  await pipeline.start();
  return pipeline;
}

/**
 * What the page drew for a frame is what the server sent for that seq: its detections and confirmed
 * tracks, on the street's 240-px source, on a canvas the display JPEG's own size (480 px).
 */
export function expectDrawnAsSent(d: Drawn, recorder: RecordingClient): void {
  const sent = recorder.frames.find((f) => f.header.seq === d.seq);
  expect(sent, `the recorder saw seq ${d.seq}`).toBeDefined();
  const res = sent!.header.result!;
  const want = [
    ...res.detections.map((x) => ({ kind: 'detection', box: x.box, classId: x.classId })),
    ...res.tracks.filter((t) => t.confirmed).map((t) => ({ kind: 'track', box: t.box, classId: t.classId })),
  ];
  expect(d.boxes.map((b) => ({ kind: b.kind, box: b.box, classId: b.classId }))).toEqual(want);
  expect(d.sourceWidth).toBe(240);
  expect(d.canvasWidth).toBe(480);
}

/** The dashboard controls the pixel checks need, wrapped by each browser test around its own driver. */
export interface PausablePage {
  /** globalThis.__xnorcamStats.sources.street.lastDrawn */
  lastDrawn(): Promise<Drawn | null>;
  pause(): Promise<unknown>;
  resume(): Promise<unknown>;
}

/**
 * Pauses the page on a frame with boxes big enough to check pixel by pixel and returns what it drew
 * there (null when none came in 300 looks). The frame is read again after the pause: a draw already
 * under way finishes first, and the picture stays only if that one is big enough too.
 */
export async function pauseOnCheckableFrame(page: PausablePage): Promise<Drawn | null> {
  const big = (x: Drawn | null) => Boolean(x && edgeSamples(x).length >= 7);
  for (let i = 0; i < 300; i++) {
    if (!big(await page.lastDrawn())) {
      await sleep(30);
      continue;
    }
    await page.pause();
    await sleep(250);
    const frozen = await page.lastDrawn();
    if (big(frozen)) return frozen;
    await page.resume();
  }
  return null;
}

/**
 * Each sizeable box of the drawn frame is outlined where the result says, on a screenshot of the
 * whole canvas. The video is grey, so a coloured pixel is an overlay; raw detections are thin dashed
 * lines blended into the video when the canvas is scaled, so this looks for colour within 6 px
 * (which spans a dash gap) at 90 % of the edge samples, not for exact class colours.
 */
export function expectBoxesOutlined(shot: Pixels, d: Drawn): void {
  const sx = shot.width / d.sourceWidth, sy = shot.height / d.sourceHeight;
  let hits = 0, total = 0;
  for (const [x, y] of edgeSamples(d)) {
    total++;
    if (shot.saturatedNear(x * sx, y * sy, 6)) hits++;
  }
  expect(total).toBeGreaterThan(0);
  expect(hits / total).toBeGreaterThan(0.9);
}
