#!/usr/bin/env node
// Tracker cost per frame with N objects (default 100), and the full per-source analytics step
// (tracker + 2 lines + 1 zone + speed), at 30 fps timestamps. Needs dist/ (npx tsc -p tsconfig.json).
// Usage: node bench/tracker.mjs [--objects 100] [--frames 3000]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ByteTracker } from '../dist/track/tracker.js';
import { SourceAnalytics } from '../dist/track/analytics.js';
import { helpIfAsked } from './help.mjs';

helpIfAsked(import.meta.url);

const { values } = parseArgs({ options: { objects: { type: 'string', default: '100' }, frames: { type: 'string', default: '3000' } } });
const N = Number(values.objects);
const FRAMES = Number(values.frames);
const W = 1920, H = 1080, FPS = 30;

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
// Objects drive across the image in lanes, wrapping around; 5 % of boxes are missed each frame, a few clutter boxes appear.
const objs = Array.from({ length: N }, (_, i) => ({ x: rand() * W, y: 60 + ((i * 977) % (H - 120)), vx: (rand() < 0.5 ? -1 : 1) * (80 + rand() * 300), w: 40 + rand() * 80, h: 30 + rand() * 50, cls: i % 3 }));
const names = ['car', 'truck', 'bus'];
const frames = [];
for (let f = 0; f < FRAMES; f++) {
  const dets = [];
  for (const o of objs) {
    o.x = (o.x + o.vx / FPS + W) % W;
    if (rand() < 0.05) continue;
    const n = () => (rand() - 0.5) * 3;
    dets.push({ classId: o.cls, className: names[o.cls], score: 0.5 + rand() * 0.5, box: [o.x + n(), o.y + n(), o.x + o.w + n(), o.y + o.h + n()] });
  }
  for (let k = 0; k < 3; k++) { const x = rand() * W, y = rand() * H; dets.push({ classId: 0, className: 'car', score: 0.3 + rand() * 0.5, box: [x, y, x + 50, y + 40] }); }
  frames.push(dets);
}

function time(label, step) {
  const warm = Math.min(300, FRAMES / 4);
  for (let f = 0; f < warm; f++) step(f);
  const t0 = performance.now();
  for (let f = warm; f < FRAMES; f++) step(f);
  return { label, msPerFrame: (performance.now() - t0) / (FRAMES - warm) };
}

const tracker = new ByteTracker();
const a = time('tracker', (f) => tracker.update(frames[f], (f * 1000) / FPS));
const analytics = new SourceAnalytics({
  source: 'bench',
  lines: [{ name: 'a', points: [[0, 500], [1920, 520]] }, { name: 'b', points: [[960, 0], [960, 1080]] }],
  zones: [{ name: 'z', polygon: [[200, 200], [1700, 200], [1700, 900], [200, 900]] }],
  calibration: { image: [[0, 1080], [1920, 1080], [1400, 300], [500, 300]], world: [[0, 0], [20, 0], [20, 80], [0, 80]] },
});
const start = Date.now();
const b = time('analytics', (f) => analytics.update({ source: 'bench', seq: f, ptsMs: (f * 1000) / FPS, capturedAt: start + (f * 1000) / FPS, width: W, height: H }, frames[f]));
const live = tracker.all().length;
console.log(JSON.stringify({ bench: 'tracker', objects: N, frames: FRAMES, liveTracks: live, trackerMsPerFrame: +a.msPerFrame.toFixed(4), analyticsMsPerFrame: +b.msPerFrame.toFixed(4), node: process.version }, null, 2));
