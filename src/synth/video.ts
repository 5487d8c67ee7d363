import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../core/errors.js';
import { ffmpegBinary } from '../ingest/ffmpeg-binary.js';
import { CLASS_NAMES, type ObjectModel, buildObject } from './models.js';
import { drawOsd, sampleOsd } from './osd.js';
import { develop, sampleSensor } from './post.js';
import { FrameBuffer } from './raster.js';
import { BackgroundCache, renderBackground, renderObjects } from './render.js';
import { Rng } from './rng.js';
import { type Scene, sampleScene } from './scene.js';
import { type Agent, TrafficSim } from './traffic.js';

export interface VideoOptions {
  out: string;
  seconds: number;
  fps: number;
  width: number;
  height: number;
  seed: number;
  /** 'clear' = daylight, dry; 'any' = night, rain and fog too. */
  conditions: 'clear' | 'any';
  /** x264 constant rate factor (quality; higher = more compression). */
  crf: number;
  /** Boxes shorter than this (pixels) are left out of the ground truth. */
  minHeight: number;
  /** Burn a CCTV timestamp and camera name into the picture. */
  osd: boolean;
  onProgress?: (frame: number) => void;
}

export interface Crossing {
  trackId: number;
  /** 1-based frame (as in gt.txt) of the first frame past the line. */
  frame: number;
  ptsMs: number;
  direction: 'forward' | 'backward';
  classId: number;
  className: string;
  speedKmh: number;
  /** Visibility of the object in that frame (0..1): heavily occluded crossings are hard to count. */
  visibility: number;
}

export interface TrackTruth {
  id: number;
  classId: number;
  className: string;
  firstFrame: number;
  lastFrame: number;
  /** Mean ground speed while in the ground truth, km/h. */
  speedKmh: number;
  maxSpeedKmh: number;
  /** Whether it stood still (speed < 1 km/h) at some point (queues at the signal). */
  stopped: boolean;
}

export interface VideoTruth {
  generator: string;
  video: string;
  gt: string;
  seed: number;
  width: number;
  height: number;
  fps: number;
  frames: number;
  classes: readonly string[];
  camera: { pose: Scene['pose']; position: number[]; yawDeg: number; pitchDeg: number; fx: number; fy: number };
  conditions: { lighting: string; rain: number; visibilityM: number };
  line: { name: string; points: [[number, number], [number, number]]; world: [[number, number], [number, number]]; forward: string; anchor: string };
  /** Pasted as it is into a source's `calibration:` (world in metres on the ground: x across the road, y along it). */
  calibration: { image: [number, number][]; world: [number, number][] };
  signals: { /** Traffic direction the signal controls (world +y or -y). */ direction: string; stopLineY: number; greenS: number; redS: number }[];
  crossings: Crossing[];
  counts: { forward: Record<string, number>; backward: Record<string, number> };
  tracks: TrackTruth[];
}

/** Paths of the ground-truth files written beside a video. */
export function truthPaths(out: string): { gt: string; truth: string } {
  const base = out.replace(/\.[A-Za-z0-9]+$/, '');
  return { gt: `${base}.gt.txt`, truth: `${base}.truth.json` };
}

/** Ground y (along the road) whose projection at the road centre lands on image row v. */
function groundAtRow(scene: Scene, v: number): number | null {
  const cam = scene.camera;
  const xc = (scene.main.lo + scene.main.hi) / 2;
  let lo = scene.camera.pose.position[1] + 2;
  let hi = scene.far;
  const row = (s: number): number => cam.project(xc, s, 0)?.[1] ?? -Infinity;
  if (row(lo) < v || row(hi) > v) return null;
  for (let i = 0; i < 50; i++) {
    const m = (lo + hi) / 2;
    if (row(m) > v) lo = m;
    else hi = m;
  }
  return (lo + hi) / 2;
}

function inImage(scene: Scene, x: number, y: number, margin: number): [number, number] | null {
  const p = scene.camera.project(x, y, 0);
  if (!p || p[0] < margin || p[1] < margin || p[0] > scene.width - margin || p[1] > scene.height - margin) return null;
  return p;
}

/** Shrinks a ground segment from a→b until its end b is inside the image. */
function clipEnd(scene: Scene, a: [number, number], b: [number, number], margin: number): [number, number] {
  if (inImage(scene, b[0], b[1], margin)) return b;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 40; i++) {
    const m = (lo + hi) / 2;
    if (inImage(scene, a[0] + (b[0] - a[0]) * m, a[1] + (b[1] - a[1]) * m, margin)) lo = m;
    else hi = m;
  }
  return [a[0] + (b[0] - a[0]) * lo, a[1] + (b[1] - a[1]) * lo];
}

/**
 * The main road's stretch in view (its corners `margin` px off the edges) across ground row y, wherever it is in
 * the picture, if 2 m or more: a ground row is a straight line in the picture, so what of it is in view is one piece.
 */
function roadInView(scene: Scene, y: number, margin: number): [number, number] | null {
  const { lo, hi } = scene.main;
  const steps = 64;
  const inView: number[] = [];
  for (let k = 0; k <= steps; k++) if (inImage(scene, lo + ((hi - lo) * k) / steps, y, margin)) inView.push(k);
  if (!inView.length) return null;
  const mid: [number, number] = [lo + ((hi - lo) * inView[Math.floor(inView.length / 2)]) / steps, y];
  const left = clipEnd(scene, mid, [lo, y], margin)[0];
  const right = clipEnd(scene, mid, [hi, y], margin)[0];
  return right - left >= 2 ? [left, right] : null;
}

/** A counting line across the road about 62 % down the image, and a calibration rectangle around it. */
function layoutLine(scene: Scene): { lineY: number; world: [[number, number], [number, number]]; calibWorld: [number, number][] } | null {
  for (const frac of [0.62, 0.55, 0.7, 0.48, 0.78]) {
    const lineY = groundAtRow(scene, scene.height * frac);
    if (lineY === null) continue;
    const mid: [number, number] = [(scene.main.lo + scene.main.hi) / 2, lineY];
    if (!inImage(scene, mid[0], mid[1], 4)) continue;
    const a = clipEnd(scene, mid, [scene.main.lo - 1.2, lineY], 4);
    const b = clipEnd(scene, mid, [scene.main.hi + 1.2, lineY], 4);
    if (b[0] - a[0] < 4) continue;
    // Calibration: the road around the line as far along it as is in view (up to 20 m each way, each way on its own)
    // while at least 3/4 of the road in view at the line is in view there, each end as wide as the picture shows it:
    // a trapezoid on the ground, which a four-point calibration takes as well as a rectangle. A speed needs 0.4 s of a
    // vehicle inside it; the rectangle this replaced (its width kept, its depth cut until all four corners were in
    // view) was 4 m deep on a roadside view, where nothing faster than 17 km/h got a speed. An end needed the road's
    // middle in view, which on an oblique view left 0.76 m of the near side, its left lanes in view to 5 m (a
    // vehicle leaving by it had no speed at the line); a narrow end far out would leave most of the line outside.
    // Its corners keep off the picture's edges by 4 % of it: a detector's box for a vehicle the edge cuts off ends
    // a few pixels short of it, and its bottom there is the edge, not the wheels.
    const r = (v: number): number => Math.round(v * 1000) / 1000;
    const edge = Math.max(3, 0.04 * Math.min(scene.width, scene.height));
    const atLine = roadInView(scene, lineY, edge + 1);
    /** The road in view across ground row y, if it covers 3/4 of that at the line. */
    const across = (y: number): [number, number] | null => {
      const x = roadInView(scene, y, edge + 1);
      if (!x || !atLine) return x;
      return Math.min(x[1], atLine[1]) - Math.max(x[0], atLine[0]) >= 0.75 * (atLine[1] - atLine[0]) ? x : null;
    };
    /** The farthest ground row from the line, `sign` of it, up to 20 m, whose road is in view. */
    const reach = (sign: 1 | -1): { y: number; x: [number, number] } | null => {
      for (let d = 20; d > 0.5; d *= 0.9) {
        const x = across(lineY + sign * d);
        if (x) return { y: lineY + sign * d, x };
      }
      return null;
    };
    const near = reach(-1);
    const far = reach(1);
    if (near && far) {
      const corners: [number, number][] = [
        [near.x[0], near.y],
        [near.x[1], near.y],
        [far.x[1], far.y],
        [far.x[0], far.y],
      ];
      return { lineY, world: [a, b], calibWorld: corners.map(([x, y]) => [r(x), r(y)]) };
    }
  }
  return null;
}

const round2 = (v: number): number => Number(v.toFixed(2));

/**
 * Renders a continuous traffic video and its ground truth: FILE.mp4 (H.264), FILE.gt.txt
 * (MOTChallenge rows: frame,id,x,y,w,h,1,class,visibility) and FILE.truth.json (counting line,
 * true crossings, speeds, calibration).
 */
export async function writeVideo(o: VideoOptions): Promise<VideoTruth> {
  const rng = new Rng(o.seed, 0x5eed);
  // Some scenes cannot host a counting line (the road leaves the view): draw scenes until one can.
  let scene: Scene | null = null;
  let layout: ReturnType<typeof layoutLine> = null;
  for (let attempt = 0; attempt < 50 && !layout; attempt++) {
    const srng = rng.fork(attempt + 1);
    scene = sampleScene(srng, { width: o.width, height: o.height, pose: srng.weighted({ pole: 55, gantry: 45 }), squeeze: 0, clear: o.conditions === 'clear' });
    layout = layoutLine(scene);
  }
  if (!scene || !layout) throw new Error('could not lay out a counting line in 50 scenes');
  const cam = scene.camera;
  const simRng = rng.fork(100);
  const sim = new TrafficSim(scene, simRng, { density: simRng.uniform(0.8, 1.8), lineAt: layout.lineY });
  // Warm up so the road is already busy at frame 1.
  for (let i = 0; i < 600; i++) sim.step(0.1);

  const [la, lb] = layout.world;
  // Rounded as written to truth.json, so anyone can recompute the crossings from the files exactly.
  const p0 = cam.project(la[0], la[1], 0)!.map(round2) as [number, number];
  const p1 = cam.project(lb[0], lb[1], 0)!.map(round2) as [number, number];
  // The tracker's convention: forward = the left-to-right normal of p0→p1, i.e. (-dy, dx) in image coordinates.
  const nx = -(p1[1] - p0[1]);
  const ny = p1[0] - p0[0];

  const fb = new FrameBuffer(o.width, o.height);
  renderBackground(fb, scene);
  const bg = new BackgroundCache(fb, scene);
  const sensor = sampleSensor(rng.fork(200), scene.light.kind === 'night', scene.light.exposure);
  // A fixed camera: no shake, and at most light optical blur (x264 smooths the rest).
  sensor.motion = 0;
  sensor.blur = Math.min(sensor.blur, 1);
  // Shutter time: moving objects smear along their motion, long exposures at night.
  const expRng = rng.fork(400);
  const exposure = scene.light.kind === 'night' ? expRng.uniform(1 / 40, 1 / 25) : expRng.uniform(1 / 500, 1 / 80);
  const osd = o.osd ? sampleOsd(rng.fork(300), o.height) : null;
  const scratch = new Float32Array(o.width * o.height * 3);
  const rgb = new Uint8Array(o.width * o.height * 3);

  await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  let ff: ReturnType<typeof ffmpegBinary>;
  try {
    ff = ffmpegBinary();
  } catch (e) {
    throw new UserError(`cannot encode ${o.out}: ${(e as Error).message}`);
  }
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-r', String(o.fps), '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(o.crf), '-pix_fmt', 'yuv420p', '-g', String(o.fps * 2), '-threads', '2', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-map_metadata', '-1', '-movflags', '+faststart', o.out];
  const proc = spawn(ff.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code) => resolve(code ?? 1));
  });
  const write = (buf: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      const ok = proc.stdin.write(buf, (err) => (err ? reject(err) : undefined));
      if (ok) resolve();
      else proc.stdin.once('drain', resolve);
    });

  const frames = Math.max(1, Math.round(o.seconds * o.fps));
  const dt = 1 / o.fps;
  const ids = new Map<number, number>();
  const ended = new Set<number>();
  const lastBottom = new Map<number, [number, number]>();
  const tracks = new Map<number, TrackTruth & { sum: number; n: number }>();
  const rows: string[] = [];
  const crossings: Crossing[] = [];
  let nextId = 1;
  const tmp: [number, number, number] = [0, 0, 0];
  for (let f = 1; f <= frames; f++) {
    // Build only what may be in view.
    const shown: Agent[] = [];
    const models: ObjectModel[] = [];
    for (const a of sim.agents) {
      cam.toCamera(a.q, a.s, 1, tmp);
      if (tmp[2] < 1) continue;
      const u = cam.cx + (cam.fx * tmp[0]) / tmp[2];
      const v = cam.cy + (cam.fy * tmp[1]) / tmp[2];
      if (u < -o.width || u > 2 * o.width || v < -o.height || v > 2 * o.height) continue;
      const { frame, state, velocity } = sim.pose(a);
      shown.push(a);
      const model = buildObject(a.shape, frame, state);
      model.velocity = velocity;
      models.push(model);
    }
    bg.restore(fb, models.length);
    const truth = renderObjects(fb, scene, models, new Rng(o.seed, 0x10000 + f), bg, exposure);
    develop(fb.color, o.width, o.height, sensor, new Rng(o.seed, 0x20000 + f), rgb, scratch);
    if (osd) drawOsd(rgb, o.width, o.height, osd, (f - 1) / o.fps);
    await write(rgb);

    for (const t of truth) {
      const a = shown[t.index];
      // Rounded as written to gt.txt, so crossings recomputed from the file agree exactly.
      const x1 = round2(t.box[0]);
      const y1 = round2(t.box[1]);
      const w = round2(t.box[2] - t.box[0]);
      const h = round2(t.box[3] - t.box[1]);
      const x2 = x1 + w;
      const y2 = y1 + h;
      const inGt = w > 0 && h >= o.minHeight;
      let id = ids.get(a.uid);
      if (!inGt) {
        if (id !== undefined) ended.add(a.uid);
        continue;
      }
      if (ended.has(a.uid)) continue;
      if (id === undefined) {
        id = nextId++;
        ids.set(a.uid, id);
      }
      rows.push(`${f},${id},${x1.toFixed(2)},${y1.toFixed(2)},${w.toFixed(2)},${h.toFixed(2)},1,${t.classId},${t.visibility.toFixed(3)}`);
      const kmh = a.v * 3.6;
      let tr = tracks.get(id);
      if (!tr) tracks.set(id, (tr = { id, classId: a.classId, className: CLASS_NAMES[a.classId], firstFrame: f, lastFrame: f, speedKmh: 0, maxSpeedKmh: 0, stopped: false, sum: 0, n: 0 }));
      tr.lastFrame = f;
      tr.sum += kmh;
      tr.n++;
      tr.maxSpeedKmh = Math.max(tr.maxSpeedKmh, kmh);
      if (kmh < 1) tr.stopped = true;
      // Crossing: the box's bottom centre moves across the line segment between consecutive frames.
      const bc: [number, number] = [(x1 + x2) / 2, y2];
      const prev = lastBottom.get(id);
      lastBottom.set(id, bc);
      if (prev) {
        const side0 = (prev[0] - p0[0]) * nx + (prev[1] - p0[1]) * ny;
        const side1 = (bc[0] - p0[0]) * nx + (bc[1] - p0[1]) * ny;
        if ((side0 < 0 && side1 >= 0) || (side0 >= 0 && side1 < 0)) {
          if (segmentsIntersect(prev, bc, p0, p1)) {
            crossings.push({ trackId: id, frame: f, ptsMs: round2(((f - 1) * 1000) / o.fps), direction: side1 >= 0 ? 'forward' : 'backward', classId: a.classId, className: CLASS_NAMES[a.classId], speedKmh: round2(kmh), visibility: Math.round(t.visibility * 1000) / 1000 });
          }
        }
      }
    }
    sim.step(dt);
    o.onProgress?.(f);
  }
  proc.stdin.end();
  const code = await exited;
  if (code !== 0) throw new UserError(`${o.out}: ffmpeg failed to encode the video (${stderr.trim().split('\n').pop() ?? `exit ${code}`})`);

  const { gt, truth: truthFile } = truthPaths(o.out);
  await writeFile(gt, rows.join('\n') + (rows.length ? '\n' : ''));
  const counts = { forward: {} as Record<string, number>, backward: {} as Record<string, number> };
  for (const c of crossings) counts[c.direction][c.className] = (counts[c.direction][c.className] ?? 0) + 1;
  const pose = cam.pose;
  const result: VideoTruth = {
    generator: 'xnorcam synth video',
    video: path.basename(o.out),
    gt: path.basename(gt),
    seed: o.seed,
    width: o.width,
    height: o.height,
    fps: o.fps,
    frames,
    classes: CLASS_NAMES,
    camera: { pose: scene.pose, position: pose.position.map(round2), yawDeg: round2((pose.yaw * 180) / Math.PI), pitchDeg: round2((pose.pitch * 180) / Math.PI), fx: round2(cam.fx), fy: round2(cam.fy) },
    conditions: { lighting: scene.light.kind, rain: round2(scene.weather.rain), visibilityM: Math.round(scene.weather.visibility) },
    line: {
      name: 'count',
      points: [p0, p1],
      world: [
        [round2(la[0]), round2(la[1])],
        [round2(lb[0]), round2(lb[1])],
      ],
      forward: 'the left-to-right normal of points[0]→points[1], i.e. (-dy, dx) in image coordinates (y down)',
      anchor: 'bottom centre of the ground-truth box, crossing the segment between consecutive frames',
    },
    calibration: {
      image: layout.calibWorld.map(([x, y]) => {
        const p = cam.project(x, y, 0)!;
        return [round2(p[0]), round2(p[1])] as [number, number];
      }),
      world: layout.calibWorld,
    },
    signals: sim.signals.map((s) => ({ direction: s.dir > 0 ? '+y' : '-y', stopLineY: round2(s.at), greenS: round2(s.green), redS: round2(s.red) })),
    crossings,
    counts,
    tracks: [...tracks.values()].map(({ sum, n, ...t }) => ({ ...t, speedKmh: round2(sum / n), maxSpeedKmh: round2(t.maxSpeedKmh) })),
  };
  await writeFile(truthFile, JSON.stringify(result, null, 2) + '\n');
  return result;
}

function segmentsIntersect(a: [number, number], b: [number, number], c: [number, number], d: [number, number]): boolean {
  const cr = (o: [number, number], p: [number, number], q: [number, number]): number => (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]);
  const d1 = cr(c, d, a);
  const d2 = cr(c, d, b);
  const d3 = cr(a, b, c);
  const d4 = cr(a, b, d);
  return ((d1 > 0 && d2 <= 0) || (d1 <= 0 && d2 > 0) || d1 === 0 || d2 === 0) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0) || d3 === 0 || d4 === 0);
}
