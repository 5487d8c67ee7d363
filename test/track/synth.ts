/**
 * Generated traffic: vehicles moving on a ground plane, seen by a pinhole camera looking down a
 * road, turned into noisy detections per frame. Used to check counting, zones and speed against
 * known truth.
 */
import type { Box, Detection, FrameInfo } from '../../src/core/types.js';
import { rng } from '../helpers/random.js';

export { rng };

export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/**
 * Camera: height H metres above a flat road, focal length f pixels, principal point (cx, cy),
 * looking horizontally along +Y. Ground point (X, Y) → image (cx + f·X/Y, cy + f·H/Y). This is a
 * homography, so a 4-point calibration recovers it exactly.
 */
export const camera = { f: 800, H: 6, cx: 640, cy: 200, width: 1280, height: 720 };

export function project(X: number, Y: number): [number, number] {
  return [camera.cx + (camera.f * X) / Y, camera.cy + (camera.f * camera.H) / Y];
}

export const CLASS_NAMES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'];

/** A vehicle's position on the ground as a function of time (seconds); undefined = not present. */
export interface Vehicle {
  classId: number;
  /** Ground footprint width and visual height, metres. */
  widthM: number;
  heightM: number;
  at: (t: number) => [X: number, Y: number] | undefined;
  /** Time windows (seconds) in which the detector misses it (occlusion). */
  hidden?: [number, number][];
  /** Probability per frame of being reported with another class. */
  classFlip?: number;
}

/** A box given directly in image pixels (for image-space scenarios). */
export interface ImageObject {
  classId: number;
  at: (t: number) => Box | undefined;
  hidden?: [number, number][];
  score?: number;
}

export interface SceneOptions {
  fps: number;
  seconds: number;
  /** Box noise, pixels (σ), scaled by box size / 100. */
  noise?: number;
  seed?: number;
  /** Spurious one-frame detections per frame (probability). */
  clutter?: number;
  /** Detector scores of real objects, uniform in this range (default 0.8–0.95). */
  scoreRange?: [number, number];
  /** Cut boxes at the picture's edges, as a detector does for a vehicle partly out of view. */
  clipToFrame?: boolean;
}

export interface SceneFrame {
  frame: FrameInfo;
  detections: Detection[];
}

function groundBox(v: Vehicle, t: number): Box | undefined {
  const p = v.at(t);
  if (!p || p[1] <= 1) return undefined;
  const [x, y] = project(p[0], p[1]);
  const w = (camera.f * v.widthM) / p[1];
  const h = (camera.f * v.heightM) / p[1];
  return [x - w / 2, y - h, x + w / 2, y];
}

export function groundObjects(vs: Vehicle[]): ImageObject[] {
  return vs.map((v) => ({ classId: v.classId, hidden: v.hidden, at: (t: number) => groundBox(v, t) }));
}

export function renderScene(objects: ImageObject[], opts: SceneOptions, flip: number[] = []): SceneFrame[] {
  const r = rng(opts.seed ?? 1);
  const frames: SceneFrame[] = [];
  const n = Math.round(opts.seconds * opts.fps);
  const start = 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    const t = i / opts.fps;
    const detections: Detection[] = [];
    objects.forEach((o, k) => {
      const b = o.at(t);
      if (!b) return;
      if (o.hidden?.some(([a, z]) => t >= a && t < z)) return;
      const s = ((opts.noise ?? 1) * (b[3] - b[1])) / 100;
      const box: Box = [b[0] + s * gauss(r), b[1] + s * gauss(r), b[2] + s * gauss(r), b[3] + s * gauss(r)];
      if (box[2] < 0 || box[0] > camera.width || box[3] < 0 || box[1] > camera.height) return;
      if (opts.clipToFrame) {
        box[0] = Math.max(0, box[0]);
        box[1] = Math.max(0, box[1]);
        box[2] = Math.min(camera.width, box[2]);
        box[3] = Math.min(camera.height, box[3]);
      }
      let classId = o.classId;
      if (flip[k] && r() < flip[k]) classId = (classId + 1) % 3;
      detections.push({ classId, className: CLASS_NAMES[classId], score: o.score ?? (opts.scoreRange ? opts.scoreRange[0] + (opts.scoreRange[1] - opts.scoreRange[0]) * r() : 0.8 + 0.15 * r()), box });
    });
    if (opts.clutter && r() < opts.clutter) {
      const x = r() * camera.width;
      const y = r() * camera.height;
      detections.push({ classId: 0, className: 'car', score: 0.75, box: [x, y, x + 40, y + 30] });
    }
    frames.push({ frame: { source: 'synth', seq: i, ptsMs: t * 1000, capturedAt: start + t * 1000, width: camera.width, height: camera.height }, detections });
  }
  return frames;
}

/** Straight constant-speed path on the ground from (X, Y0) along +Y (positive speed) or −Y. */
export function straight(X: number, Y0: number, speedMs: number, tStart = 0): (t: number) => [number, number] | undefined {
  return (t) => (t < tStart ? undefined : [X, Y0 + speedMs * (t - tStart)]);
}

/**
 * The QA case from highway_overpass_us.mp4 at 10 fps, in its 640×360 image: a near car (a young
 * confirmed track, one missed frame) drives down below a line at y = 200 and off the bottom edge;
 * 1.1 s later a distant car appears ~190 px away, above the line, and drives down across it.
 * Boxes jitter by `jitter` × their height, as a small detector's do on a near vehicle.
 */
export function leaveAndFarArrival(jitter: number, r: () => number): { near: (t: number) => Box | undefined; far: (t: number) => Box | undefined } {
  const noisy = (b: Box): Box => {
    const s = jitter * (b[3] - b[1]);
    return [b[0] + s * gauss(r), b[1] + s * gauss(r), b[2] + s * gauss(r), Math.min(360, b[3] + s * gauss(r))];
  };
  return {
    near: (t) => {
      if (t > 0.95 || Math.abs(t - 0.8) < 0.01) return undefined;
      const cx = 205 - 40 * t;
      const h = 32 + 130 * t;
      const bottom = Math.min(360, 235 + 130 * t);
      return noisy([cx - 0.45 * h, bottom - h, cx + 0.45 * h, bottom]);
    },
    far: (t) => {
      if (t < 2) return undefined;
      const cx = 250 - 8 * (t - 2);
      const h = 24 + 6 * (t - 2);
      const bottom = 160 + 20 * (t - 2);
      return noisy([cx - 0.65 * h, bottom - h, cx + 0.65 * h, bottom]);
    },
  };
}
