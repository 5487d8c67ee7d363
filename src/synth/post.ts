import { Rng } from './rng.js';

/** Camera-side effects applied after rendering, in the order a real camera applies them. */
export interface SensorSettings {
  exposure: number;
  /** Per-channel gain (white balance error). */
  gain: [number, number, number];
  /** Optical blur passes of a [1 2 1] kernel (0..2). */
  blur: number;
  /** Motion (shake) blur length in pixels along (dx, dy); 0 = none. */
  motion: number;
  motionDir: [number, number];
  /** Sensor noise standard deviation on the 0..255 scale. */
  noise: number;
  vignette: number;
  contrast: number;
  /** Colour saturation, at most 1 (as rendered) so values stay non-negative; CCTV is usually washed out. */
  saturation: number;
}

export function sampleSensor(rng: Rng, night: boolean, exposure: number): SensorSettings {
  const a = rng.uniform(0, Math.PI);
  return {
    exposure: exposure * rng.uniform(0.8, 1.25),
    gain: [1 + rng.normal(0, 0.04), 1 + rng.normal(0, 0.02), 1 + rng.normal(0, 0.05)],
    blur: rng.weighted({ '0': 25, '1': 55, '2': 20 }) === '0' ? 0 : rng.chance(0.25) ? 2 : 1,
    motion: rng.chance(0.08) ? rng.uniform(2, 6) : 0,
    motionDir: [Math.cos(a), Math.sin(a)],
    noise: night ? rng.uniform(3, 9) : rng.uniform(0.8, 4),
    vignette: rng.uniform(0, 0.35),
    contrast: rng.uniform(0.85, 1.1),
    saturation: rng.uniform(0.55, 1.0),
  };
}

// A fixed table of normal deviates: per-image offsets into it give noise fast and deterministically.
const NOISE_N = 1 << 16;
const noiseTable = (() => {
  const rng = new Rng(12345, 5);
  const t = new Float32Array(NOISE_N);
  for (let i = 0; i < NOISE_N; i++) t[i] = rng.normal();
  return t;
})();

// sRGB encoding of linear values in [0, 1], 4096 steps.
const SRGB_STEPS = 4096;
const srgb = (() => {
  const t = new Float32Array(SRGB_STEPS + 1);
  for (let i = 0; i <= SRGB_STEPS; i++) {
    const c = i / SRGB_STEPS;
    t[i] = 255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * Math.pow(c, 1 / 2.4) - 0.055);
  }
  return t;
})();

const LUT_SCALE = 1024;
const LUT_N = 4 * LUT_SCALE;
const lut = new Float32Array(LUT_N + 1);

/** Filmic-ish shoulder so lamps and sky saturate softly instead of clipping hard. */
function tone(v: number): number {
  if (v <= 0) return 0;
  if (v < 0.75) return v;
  return 0.75 + 0.25 * (1 - Math.exp(-(v - 0.75) / 0.25));
}

/**
 * Linear colour → 8-bit RGB with the sensor's blur, gain, tone curve, vignetting and noise.
 * `scratch` must hold width*height*3 floats.
 */
export function develop(color: Float32Array, width: number, height: number, s: SensorSettings, rng: Rng, out: Uint8Array, scratch: Float32Array): Uint8Array {
  for (let i = 0; i < s.blur; i++) blur121(color, width, height, scratch);
  if (s.motion > 0) motionBlur(color, width, height, s.motion, s.motionDir, scratch);
  // One lookup per channel: tone curve, contrast and sRGB encoding folded into a per-image table.
  for (let i = 0; i <= LUT_N; i++) {
    let v = tone(i / LUT_SCALE);
    v = 0.5 + (v - 0.5) * s.contrast;
    lut[i] = v <= 0 ? 0 : v >= 1 ? 255 : srgb[(v * SRGB_STEPS) | 0];
  }
  const cx = width / 2;
  const cy = height / 2;
  const rr = s.vignette / (cx * cx + cy * cy);
  let ni = rng.int(0, NOISE_N - 1);
  const stride = rng.pick([1, 3, 7, 13]);
  const gr = s.gain[0] * s.exposure * LUT_SCALE;
  const gg = s.gain[1] * s.exposure * LUT_SCALE;
  const gb = s.gain[2] * s.exposure * LUT_SCALE;
  const sat = s.saturation;
  const sn = s.noise;
  const sc = s.noise * 0.35;
  // A clamped view rounds and saturates on store.
  const dst = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  for (let y = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0, p = y * width * 3; x < width; x++, p += 3) {
      const dx = x - cx;
      const vig = 1 - (dx * dx + dy * dy) * rr;
      // Luma noise shared by the channels plus a smaller chroma part.
      ni = (ni + stride) & (NOISE_N - 1);
      const nl = noiseTable[ni] * sn;
      ni = (ni + stride) & (NOISE_N - 1);
      const nc = noiseTable[ni] * sc;
      // Linear values are never negative: only the top needs clamping.
      const y = 0.2126 * color[p] + 0.7152 * color[p + 1] + 0.0722 * color[p + 2];
      const ir = (y + sat * (color[p] - y)) * gr * vig;
      const ig = (y + sat * (color[p + 1] - y)) * gg * vig;
      const ib = (y + sat * (color[p + 2] - y)) * gb * vig;
      dst[p] = lut[ir < LUT_N ? ir | 0 : LUT_N] + nl + nc;
      dst[p + 1] = lut[ig < LUT_N ? ig | 0 : LUT_N] + nl - nc;
      dst[p + 2] = lut[ib < LUT_N ? ib | 0 : LUT_N] + nl + nc;
    }
  }
  return out;
}

function blur121(c: Float32Array, w: number, h: number, tmp: Float32Array): void {
  // Separable [1 2 1]/4: vertical into tmp, then horizontal back into c with a carried left value.
  const row = w * 3;
  for (let y = 0; y < h; y++) {
    const o = y * row;
    const up = y > 0 ? o - row : o;
    const dn = y < h - 1 ? o + row : o;
    for (let i = 0; i < row; i++) tmp[o + i] = 0.5 * c[o + i] + 0.25 * (c[up + i] + c[dn + i]);
  }
  for (let y = 0; y < h; y++) {
    const o = y * row;
    for (let k = 0; k < 3; k++) {
      let left = tmp[o + k];
      let mid = left;
      for (let x = 0, i = o + k; x < w; x++, i += 3) {
        const right = x < w - 1 ? tmp[i + 3] : mid;
        c[i] = 0.5 * mid + 0.25 * (left + right);
        left = mid;
        mid = right;
      }
    }
  }
}

function motionBlur(c: Float32Array, w: number, h: number, len: number, dir: [number, number], tmp: Float32Array): void {
  const n = Math.max(2, Math.round(len));
  tmp.set(c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const t = k - (n - 1) / 2;
        let sx = Math.round(x + dir[0] * t);
        let sy = Math.round(y + dir[1] * t);
        sx = sx < 0 ? 0 : sx >= w ? w - 1 : sx;
        sy = sy < 0 ? 0 : sy >= h ? h - 1 : sy;
        const o = (sy * w + sx) * 3;
        r += tmp[o];
        g += tmp[o + 1];
        b += tmp[o + 2];
      }
      const o = (y * w + x) * 3;
      c[o] = r / n;
      c[o + 1] = g / n;
      c[o + 2] = b / n;
    }
  }
}
