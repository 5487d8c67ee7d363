import type { RGB } from './geometry.js';
import type { Rng } from './rng.js';

/** sRGB 0..255 → linear 0..1, so shading and light add up physically. */
export function lin(r: number, g: number, b: number): RGB {
  const f = (c: number): number => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  return [f(r), f(g), f(b)];
}

export function hex(h: string): RGB {
  const n = parseInt(h.replace('#', ''), 16);
  return lin((n >> 16) & 255, (n >> 8) & 255, n & 255);
}

export function mul(c: RGB, k: number): RGB {
  return [c[0] * k, c[1] * k, c[2] * k];
}

export function mix(a: RGB, b: RGB, t: number): RGB {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Jitters a colour's brightness and hue a little, so no two objects share an exact colour. */
export function jitter(rng: Rng, c: RGB, amount = 0.12): RGB {
  const k = 1 + rng.uniform(-amount, amount);
  return [
    Math.max(0.002, c[0] * k * (1 + rng.uniform(-amount, amount) / 2)),
    Math.max(0.002, c[1] * k * (1 + rng.uniform(-amount, amount) / 2)),
    Math.max(0.002, c[2] * k * (1 + rng.uniform(-amount, amount) / 2)),
  ];
}

// Real car colour shares are roughly white/grey/black/silver-heavy with a tail of colours.
const carPaints: [string, number][] = [
  ['#e8e8e6', 24],
  ['#1a1b1d', 20],
  ['#8d9094', 14],
  ['#b9bcc0', 12],
  ['#1f3f78', 8],
  ['#8e1a1a', 8],
  ['#4a4f55', 6],
  ['#2f5d3a', 2],
  ['#c9a227', 1.5],
  ['#6b4a2f', 1.5],
  ['#d06a1c', 1],
  ['#5d8fc4', 2],
];

export function carPaint(rng: Rng): RGB {
  const total = carPaints.reduce((s, [, w]) => s + w, 0);
  let r = rng.next() * total;
  for (const [h, w] of carPaints) {
    r -= w;
    if (r < 0) return jitter(rng, hex(h), 0.1);
  }
  return hex(carPaints[0][0]);
}

const busPaints = ['#c8102e', '#f2c200', '#f4f4f0', '#1b5e20', '#0d47a1', '#e65100', '#9e9e9e', '#00838f', '#ad1457'];
export function busPaint(rng: Rng): RGB {
  return jitter(rng, hex(rng.pick(busPaints)), 0.08);
}

const truckPaints = ['#f0f0ee', '#f0f0ee', '#c0c4c8', '#1c3d7a', '#b71c1c', '#2e7d32', '#f9a825', '#37474f', '#ef6c00', '#101010', '#6d4c41'];
export function truckPaint(rng: Rng): RGB {
  return jitter(rng, hex(rng.pick(truckPaints)), 0.1);
}

const clothes = ['#1d1d1f', '#2b3a55', '#3e4a3d', '#7a1f2b', '#d8d4c8', '#5a5a5a', '#a04f1e', '#2f6fa8', '#e0b020', '#c2c2c2', '#4b2e5a', '#8b7355', '#e86a8a', '#163020'];
export function clothing(rng: Rng): RGB {
  return jitter(rng, hex(rng.pick(clothes)), 0.15);
}

const skins = ['#f1c7a5', '#e0ac82', '#c68642', '#8d5524', '#5c3a1e', '#ffdbac'];
export function skin(rng: Rng): RGB {
  return jitter(rng, hex(rng.pick(skins)), 0.05);
}

const hairs = ['#1a1410', '#3b2a1e', '#6b4a2b', '#a88a5c', '#8a8a8a', '#d9c18f'];
export function hair(rng: Rng): RGB {
  return hex(rng.pick(hairs));
}

/** Saturated or plain colours for clutter (signs, bins, cabinets) that a model must not call vehicles. */
export function clutterPaint(rng: Rng): RGB {
  return jitter(rng, hex(rng.pick(['#2e7d32', '#546e7a', '#6d6d6d', '#8d6e63', '#1565c0', '#f9a825', '#c62828', '#e0e0e0', '#37474f', '#9e9d24', '#ff7043', '#212121'])), 0.15);
}
