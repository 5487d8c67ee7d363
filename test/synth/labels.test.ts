import { describe, expect, it } from 'vitest';
import { CLASS_NAMES } from '../../src/synth/models.js';
import { buildVisible, populate } from '../../src/synth/populate.js';
import { FrameBuffer } from '../../src/synth/raster.js';
import { renderFrame } from '../../src/synth/render.js';
import { Rng } from '../../src/synth/rng.js';
import { SampleRenderer, yoloLines } from '../../src/synth/sample.js';
import { sampleScene } from '../../src/synth/scene.js';

describe('synth labels', () => {
  it('gives valid, plausible YOLO labels over many scenes', () => {
    const r = new SampleRenderer(320, 320);
    const perClass = CLASS_NAMES.map(() => 0);
    let images = 0;
    let boxes = 0;
    let empty = 0;
    for (let i = 0; i < 40; i++) {
      const s = r.render(1234, i);
      images++;
      if (s.labels.length === 0) empty++;
      for (const t of s.labels) {
        expect(t.classId).toBeGreaterThanOrEqual(0);
        expect(t.classId).toBeLessThanOrEqual(5);
        const [x1, y1, x2, y2] = t.box;
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2).toBeLessThanOrEqual(320);
        expect(y2).toBeLessThanOrEqual(320);
        expect(x2 - x1).toBeGreaterThanOrEqual(3);
        expect(y2 - y1).toBeGreaterThanOrEqual(6);
        perClass[t.classId]++;
        boxes++;
      }
      for (const line of yoloLines(s.labels, 320, 320).split('\n').filter(Boolean)) {
        const [c, cx, cy, w, h] = line.split(' ').map(Number);
        expect(Number.isInteger(c)).toBe(true);
        expect(cx - w / 2).toBeGreaterThanOrEqual(-1e-6);
        expect(cy - h / 2).toBeGreaterThanOrEqual(-1e-6);
        expect(cx + w / 2).toBeLessThanOrEqual(1 + 1e-6);
        expect(cy + h / 2).toBeLessThanOrEqual(1 + 1e-6);
      }
    }
    // Busy roads: several objects per image on average, every class present, few empty frames.
    expect(boxes / images).toBeGreaterThan(4);
    expect(boxes / images).toBeLessThan(80);
    for (let c = 0; c < 6; c++) expect(perClass[c], CLASS_NAMES[c]).toBeGreaterThan(0);
    expect(perClass[0]).toBe(Math.max(...perClass));
    expect(empty).toBeLessThan(8);
  });

  it('boxes contain every visible pixel of their object, and visibility matches the pixels', () => {
    const W = 256;
    const H = 256;
    const fb = new FrameBuffer(W, H);
    let checked = 0;
    for (let i = 0; i < 12; i++) {
      const rng = new Rng(77, i);
      const scene = sampleScene(rng.fork(1), { width: W, height: H });
      const objects = buildVisible(scene, populate(rng.fork(2), scene));
      const truth = renderFrame(fb, scene, objects, rng.fork(3));
      const seen = new Int32Array(objects.length + 1);
      let outside = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const k = fb.owner[y * W + x];
          if (k === 0) continue;
          seen[k]++;
          const [x1, y1, x2, y2] = truth[k - 1].box;
          // Pixel centres of the object lie inside its full-extent box.
          if (x + 0.5 < x1 - 1e-6 || x + 0.5 > x2 + 1e-6 || y + 0.5 < y1 - 1e-6 || y + 0.5 > y2 + 1e-6) outside++;
        }
      }
      expect(outside).toBe(0);
      truth.forEach((t, k) => {
        expect(t.pixels).toBe(seen[k + 1]);
        expect(t.visibility).toBeGreaterThanOrEqual(0);
        expect(t.visibility).toBeLessThanOrEqual(1 + 1e-9);
        if (t.pixels === 0) expect(t.unoccluded).toBe(0);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('does not draw objects below --min-size', () => {
    const r = new SampleRenderer(256, 256);
    let whole = 0;
    for (let i = 0; i < 10; i++) {
      const s = r.render(55, i, { minVisibility: 0.3, minHeight: 6, minWidth: 3, minSize: 40 });
      for (const t of s.all) {
        if (t.inImage < 1) continue;
        whole++;
        expect(t.box[3] - t.box[1]).toBeGreaterThanOrEqual(40 - 1e-6);
      }
    }
    expect(whole).toBeGreaterThan(5);
  });

  it('is a pure function of (seed, index) and differs between seeds', () => {
    const a = new SampleRenderer(160, 120);
    const b = new SampleRenderer(160, 120);
    const x = Buffer.from(a.render(3, 7).rgb);
    a.render(3, 8);
    const y = Buffer.from(b.render(3, 7).rgb);
    const z = Buffer.from(b.render(4, 7).rgb);
    expect(x.equals(y)).toBe(true);
    expect(x.equals(z)).toBe(false);
  });

  it('keeps distinct (seed, index) pairs from aliasing', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      for (let i = 0; i < 20; i++) {
        const r = new Rng(seed, i);
        seen.add(`${r.u32()}-${r.u32()}`);
      }
    }
    expect(seen.size).toBe(400);
  });
});
