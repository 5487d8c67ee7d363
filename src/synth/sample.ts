import { drawOsd, sampleOsd } from './osd.js';
import { type SensorSettings, develop, sampleSensor } from './post.js';
import { FrameBuffer } from './raster.js';
import { type ObjectTruth, renderFrame } from './render.js';
import { Rng } from './rng.js';
import { type Scene, sampleScene } from './scene.js';
import { buildVisible, populate } from './populate.js';

/** Which rendered objects become labels. */
export interface LabelRules {
  /**
   * Minimum unoccluded fraction of the in-image part; below it an object is left unlabelled. Objects
   * cut by the image border are labelled while enough of them shows (a quarter of the box, or a large part).
   */
  minVisibility: number;
  /** Minimum box height and width in pixels. */
  minHeight: number;
  minWidth: number;
  /**
   * Objects whose whole projected height is below this (pixels, at the output size) are not drawn at
   * all, so no image holds an unlabelled speck of a vehicle. 0 draws everything.
   */
  minSize: number;
}

export const defaultLabelRules: LabelRules = { minVisibility: 0.3, minHeight: 6, minWidth: 3, minSize: 10 };

export interface Sample {
  rgb: Uint8Array;
  width: number;
  height: number;
  labels: ObjectTruth[];
  /** Every rendered object, labelled or not (for statistics and tests). */
  all: ObjectTruth[];
  scene: Scene;
  sensor: SensorSettings;
}

/** Reusable buffers for one worker: rendering allocates nothing per image beyond the geometry. */
export class SampleRenderer {
  private fb: FrameBuffer;
  private small = new Map<string, FrameBuffer>();
  private scratch: Float32Array;
  private rgb: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.fb = new FrameBuffer(width, height);
    this.scratch = new Float32Array(width * height * 3);
    this.rgb = new Uint8Array(width * height * 3);
  }

  /** Image `index` of dataset `seed`: a pure function of (seed, index, size, rules). The rgb buffer is reused. */
  render(seed: number, index: number, rules: LabelRules = defaultLabelRules): Sample {
    const rng = new Rng(seed, index);
    // A fifth of the images come from a low-resolution camera, upscaled: soft, blocky detail.
    const lowres = rng.fork(6);
    const scale = lowres.chance(0.2) ? lowres.uniform(0.45, 0.8) : 1;
    const sw = Math.max(16, Math.round(this.width * scale));
    const sh = Math.max(16, Math.round(this.height * scale));
    let fb = this.fb;
    if (scale !== 1) {
      const key = `${sw}x${sh}`;
      fb = this.small.get(key) ?? new FrameBuffer(sw, sh);
      this.small.set(key, fb);
    }
    const scene = sampleScene(rng.fork(1), { width: sw, height: sh });
    const placed = populate(rng.fork(2), scene);
    const objects = buildVisible(scene, placed, rules.minSize * scale);
    // Half the cameras use a shutter slow enough to smear moving objects (slowest at night).
    const shutter = rng.fork(8);
    const exposure = shutter.chance(0.5) ? (scene.light.kind === 'night' ? shutter.uniform(1 / 40, 1 / 12) : shutter.uniform(1 / 500, 1 / 50)) : 0;
    let all = renderFrame(fb, scene, objects, rng.fork(3), exposure);
    if (scale !== 1) {
      upscale(fb.color, sw, sh, this.fb.color, this.width, this.height);
      const kx = this.width / sw;
      const ky = this.height / sh;
      all = all.map((t) => ({ ...t, box: [t.box[0] * kx, t.box[1] * ky, t.box[2] * kx, t.box[3] * ky] as [number, number, number, number], pixels: t.pixels * kx * ky }));
    }
    const night = scene.light.kind === 'night';
    const sensor = sampleSensor(rng.fork(4), night, scene.light.exposure);
    develop(this.fb.color, this.width, this.height, sensor, rng.fork(5), this.rgb, this.scratch);
    const osdRng = rng.fork(7);
    if (osdRng.chance(0.35)) drawOsd(this.rgb, this.width, this.height, sampleOsd(osdRng, this.height), 0);
    const labels = all.filter((t) => keep(t, rules, this.width, this.height));
    return { rgb: this.rgb, width: this.width, height: this.height, labels, all, scene, sensor };
  }
}

/** Bilinear resize of a linear RGB float image (pixel centres aligned). */
function upscale(src: Float32Array, sw: number, sh: number, dst: Float32Array, dw: number, dh: number): void {
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(sh - 1, Math.max(0, ((y + 0.5) * sh) / dh - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(sh - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(sw - 1, Math.max(0, ((x + 0.5) * sw) / dw - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(sw - 1, x0 + 1);
      const tx = fx - x0;
      const a = (y0 * sw + x0) * 3;
      const b = (y0 * sw + x1) * 3;
      const c = (y1 * sw + x0) * 3;
      const d = (y1 * sw + x1) * 3;
      const o = (y * dw + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = src[a + k] + (src[b + k] - src[a + k]) * tx;
        const bot = src[c + k] + (src[d + k] - src[c + k]) * tx;
        dst[o + k] = top + (bot - top) * ty;
      }
    }
  }
}

export function keep(t: ObjectTruth, rules: LabelRules, width = 416, height = 416): boolean {
  const w = t.box[2] - t.box[0];
  const h = t.box[3] - t.box[1];
  if (t.unoccluded < rules.minVisibility || w < rules.minWidth || h < rules.minHeight || t.pixels < 12) return false;
  return t.inImage >= 0.25 || (w >= width * 0.12 && h >= height * 0.12);
}

/** YOLO label lines: `class cx cy w h`, normalised to the image size. */
export function yoloLines(labels: ObjectTruth[], width: number, height: number): string {
  return labels
    .map((t) => {
      const [x1, y1, x2, y2] = t.box;
      return `${t.classId} ${((x1 + x2) / 2 / width).toFixed(6)} ${((y1 + y2) / 2 / height).toFixed(6)} ${((x2 - x1) / width).toFixed(6)} ${((y2 - y1) / height).toFixed(6)}`;
    })
    .join('\n');
}
