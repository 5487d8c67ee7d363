import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
const work = mkdtempSync(path.join(tmpdir(), 'xnorcam-synth-video-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const W = 320;
const H = 180;
const FPS = 25;
const SECONDS = 6;

interface Truth {
  width: number;
  height: number;
  fps: number;
  frames: number;
  line: { points: [[number, number], [number, number]]; world: [[number, number], [number, number]] };
  calibration: { image: [number, number][]; world: [number, number][] };
  crossings: { trackId: number; frame: number; direction: 'forward' | 'backward'; classId: number; className: string; speedKmh: number; ptsMs: number }[];
  counts: { forward: Record<string, number>; backward: Record<string, number> };
  tracks: { id: number; classId: number; firstFrame: number; lastFrame: number; speedKmh: number; maxSpeedKmh: number }[];
}

type Row = { frame: number; id: number; x: number; y: number; w: number; h: number; cls: number; vis: number };

function readGt(file: string): Row[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const f = l.split(',').map(Number);
      expect(f).toHaveLength(9);
      expect(f[6]).toBe(1);
      return { frame: f[0], id: f[1], x: f[2], y: f[3], w: f[4], h: f[5], cls: f[7], vis: f[8] };
    });
}

/** Solves the 3×3 homography mapping src → dst from four point pairs (DLT with h33 = 1). */
function homography(src: [number, number][], dst: [number, number][]): number[] {
  const A: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = src[i];
    const [u, v] = dst[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(A[r][c]) > Math.abs(A[p][c])) p = r;
    [A[c], A[p]] = [A[p], A[c]];
    [b[c], b[p]] = [b[p], b[c]];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const k = A[r][c] / A[c][c];
      for (let j = c; j < 8; j++) A[r][j] -= k * A[c][j];
      b[r] -= k * b[c];
    }
  }
  return [...b.map((v, i) => v / A[i][i]), 1];
}

function apply(h: number[], x: number, y: number): [number, number] {
  const w = h[6] * x + h[7] * y + h[8];
  return [(h[0] * x + h[1] * y + h[2]) / w, (h[3] * x + h[4] * y + h[5]) / w];
}

describe('xnorcam synth video', () => {
  const out = path.join(work, 'a', 'traffic.mp4');
  let truth: Truth;
  let rows: Row[];

  beforeAll(() => {
    const r = xnorcam('synth', 'video', '--out', out, '--seconds', String(SECONDS), '--size', `${W}x${H}`, '--seed', '3', '--min-height', '6');
    expect(r.status, r.stderr).toBe(0);
    truth = JSON.parse(readFileSync(path.join(work, 'a', 'traffic.truth.json'), 'utf8')) as Truth;
    rows = readGt(path.join(work, 'a', 'traffic.gt.txt'));
  });

  it('encodes an H.264 video with the stated number of frames', () => {
    expect(truth.frames).toBe(SECONDS * FPS);
    const ffmpeg = spawnSync('ffmpeg', ['-v', 'error', '-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: 1 << 28 });
    expect(ffmpeg.status).toBe(0);
    expect(ffmpeg.stdout.length).toBe(W * H * 3 * SECONDS * FPS);
    const probe = spawnSync('ffmpeg', ['-hide_banner', '-i', out], { encoding: 'utf8' });
    expect(probe.stderr).toMatch(/Video: h264/);
  });

  it('writes MOTChallenge ground truth with continuous ids and boxes in the image', () => {
    expect(rows.length).toBeGreaterThan(100);
    const byId = new Map<number, Row[]>();
    for (const r of rows) {
      expect(r.frame).toBeGreaterThanOrEqual(1);
      expect(r.frame).toBeLessThanOrEqual(truth.frames);
      expect(r.cls).toBeGreaterThanOrEqual(0);
      expect(r.cls).toBeLessThanOrEqual(5);
      expect(r.vis).toBeGreaterThanOrEqual(0);
      expect(r.vis).toBeLessThanOrEqual(1);
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.y).toBeGreaterThanOrEqual(0);
      expect(r.x + r.w).toBeLessThanOrEqual(W + 0.02);
      expect(r.y + r.h).toBeLessThanOrEqual(H + 0.02);
      expect(r.h).toBeGreaterThanOrEqual(6);
      let list = byId.get(r.id);
      if (!list) byId.set(r.id, (list = []));
      list.push(r);
    }
    // Ids are 1..N in order of appearance, each present in one unbroken run of frames with one class.
    const ids = [...byId.keys()].sort((a, b) => a - b);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    for (const [id, list] of byId) {
      const frames = list.map((r) => r.frame);
      for (let i = 1; i < frames.length; i++) expect(frames[i], `id ${id}`).toBe(frames[i - 1] + 1);
      expect(new Set(list.map((r) => r.cls)).size).toBe(1);
      const t = truth.tracks.find((x) => x.id === id)!;
      expect(t.firstFrame).toBe(frames[0]);
      expect(t.lastFrame).toBe(frames[frames.length - 1]);
      expect(t.classId).toBe(list[0].cls);
      expect(t.speedKmh).toBeGreaterThanOrEqual(0);
      expect(t.maxSpeedKmh).toBeLessThan(160);
    }
    expect(truth.tracks).toHaveLength(byId.size);
    // Vehicles move at road speeds; people at walking pace.
    const cars = truth.tracks.filter((t) => t.classId === 0);
    expect(cars.length).toBeGreaterThan(0);
    expect(Math.max(...cars.map((t) => t.maxSpeedKmh))).toBeGreaterThan(15);
    for (const p of truth.tracks.filter((t) => t.classId === 5)) expect(p.maxSpeedKmh).toBeLessThan(8);
  });

  it('lists exactly the line crossings that the ground-truth boxes make', () => {
    const [p0, p1] = truth.line.points;
    const nx = -(p1[1] - p0[1]);
    const ny = p1[0] - p0[0];
    const side = (x: number, y: number) => (x - p0[0]) * nx + (y - p0[1]) * ny;
    const cr = (o: number[], a: number[], b: number[]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const expected: { trackId: number; frame: number; direction: string; classId: number }[] = [];
    const byId = new Map<number, Row[]>();
    for (const r of rows) (byId.get(r.id) ?? byId.set(r.id, []).get(r.id)!).push(r);
    for (const [id, list] of byId) {
      for (let i = 1; i < list.length; i++) {
        const a = [list[i - 1].x + list[i - 1].w / 2, list[i - 1].y + list[i - 1].h];
        const b = [list[i].x + list[i].w / 2, list[i].y + list[i].h];
        const s0 = side(a[0], a[1]);
        const s1 = side(b[0], b[1]);
        if (s0 < 0 === s1 < 0) continue;
        // The motion must pass between the segment's end points.
        if (Math.sign(cr(a, b, p0)) === Math.sign(cr(a, b, p1)) && cr(a, b, p0) !== 0) continue;
        expected.push({ trackId: id, frame: list[i].frame, direction: s1 >= 0 ? 'forward' : 'backward', classId: list[i].cls });
      }
    }
    const got = truth.crossings.map(({ trackId, frame, direction, classId }) => ({ trackId, frame, direction, classId }));
    const key = (c: { trackId: number; frame: number }) => c.trackId * 1e6 + c.frame;
    expect(got.sort((a, b) => key(a) - key(b))).toEqual(expected.sort((a, b) => key(a) - key(b)));
    expect(got.length).toBeGreaterThan(0);
    const total = Object.values(truth.counts.forward).reduce((a, b) => a + b, 0) + Object.values(truth.counts.backward).reduce((a, b) => a + b, 0);
    expect(total).toBe(got.length);
    for (const c of truth.crossings) expect(c.ptsMs).toBeCloseTo(((c.frame - 1) * 1000) / FPS, 1);
  });

  it('gives a calibration consistent with the counting line', () => {
    expect(truth.calibration.image).toHaveLength(4);
    for (const [u, v] of truth.calibration.image) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThanOrEqual(W);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(H);
    }
    // The ground→image homography of the calibration maps the line's ground end points onto its pixels.
    const h = homography(truth.calibration.world, truth.calibration.image);
    for (let i = 0; i < 2; i++) {
      const [u, v] = apply(h, ...truth.line.world[i]);
      expect(Math.abs(u - truth.line.points[i][0])).toBeLessThan(0.5);
      expect(Math.abs(v - truth.line.points[i][1])).toBeLessThan(0.5);
    }
  });

  it('calibrates the road past the line on the near side too, as far as the picture shows it (an oblique pole view)', () => {
    // Seed 5: the road's middle leaves the picture 0.76 m past the line, its left lanes 5 m past it; the calibration
    // stopped at 0.76 m, and a vehicle leaving by the near side had no speed at the line.
    const dir = path.join(work, 'oblique');
    const r = xnorcam('synth', 'video', '--out', path.join(dir, 'traffic.mp4'), '--seconds', '0.2', '--size', `${W}x${H}`, '--seed', '5', '--min-height', '6');
    expect(r.status, r.stderr).toBe(0);
    const t = JSON.parse(readFileSync(path.join(dir, 'traffic.truth.json'), 'utf8')) as Truth;
    const [near0, near1, far1, far0] = t.calibration.world;
    const lineY = t.line.world[0][1];
    expect(lineY - near0[1]).toBeGreaterThan(2.5);
    expect(far0[1] - lineY).toBeGreaterThan(15);
    // Still across most of the line: the calibrated trapezoid's width where the line is.
    const f = (lineY - near0[1]) / (far0[1] - near0[1]);
    const [left, right] = [near0[0] + f * (far0[0] - near0[0]), near1[0] + f * (far1[0] - near1[0])];
    const [x0, x1] = [t.line.world[0][0], t.line.world[1][0]];
    expect((Math.min(right, x1) - Math.max(left, x0)) / (x1 - x0)).toBeGreaterThan(0.6);
  });

  it('writes identical files for the same seed', () => {
    const dir = path.join(work, 'b');
    mkdirSync(dir, { recursive: true });
    const r = xnorcam('synth', 'video', '--out', path.join(dir, 'traffic.mp4'), '--seconds', String(SECONDS), '--size', `${W}x${H}`, '--seed', '3', '--min-height', '6');
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['traffic.mp4', 'traffic.gt.txt', 'traffic.truth.json']) {
      expect(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(work, 'a', f))), f).toBe(true);
    }
  });
});
