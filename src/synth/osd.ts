import type { Rng } from './rng.js';

/**
 * The on-screen display of a CCTV camera: a timestamp and camera name burnt into the picture. Part
 * of real footage (and a distractor near objects), drawn with a 5×7 pixel font.
 */
const GLYPHS: Record<string, number[]> = {
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  '-': [0, 0, 0, 0x1f, 0, 0, 0],
  '/': [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
  ' ': [0, 0, 0, 0, 0, 0, 0],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
};

export interface Osd {
  /** Seconds since the epoch at frame 0. */
  start: number;
  camera: string;
  corner: 0 | 1 | 2 | 3;
  color: [number, number, number];
  scale: number;
}

export function sampleOsd(rng: Rng, height: number): Osd {
  const start = Date.UTC(2019, 0, 1) / 1000 + rng.int(0, 6 * 365 * 86400);
  return {
    start,
    camera: `CAM ${String(rng.int(1, 48)).padStart(2, '0')} ${rng.pick(['NB', 'SB', 'EB', 'WB', 'N', 'S'])}`,
    corner: rng.int(0, 3) as Osd['corner'],
    color: rng.pick([[255, 255, 255], [255, 255, 255], [255, 230, 40], [230, 30, 30]] as [number, number, number][]),
    scale: Math.max(1, Math.round((height / 416) * (rng.chance(0.5) ? 1 : 2))),
  };
}

function stamp(seconds: number): string {
  const d = new Date(Math.floor(seconds) * 1000);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Draws the OSD for a moment `t` seconds after its start into an RGB image. */
export function drawOsd(rgb: Uint8Array, width: number, height: number, osd: Osd, t: number): void {
  const lines = [stamp(osd.start + t), osd.camera];
  const s = osd.scale;
  const lineH = 9 * s;
  const margin = 4 * s;
  lines.forEach((text, i) => {
    const w = text.length * 6 * s;
    const x0 = osd.corner % 2 === 0 ? margin : width - margin - w;
    const y0 = osd.corner < 2 ? margin + i * lineH : height - margin - (lines.length - i) * lineH;
    // Dark outline first (offset copy), then the text.
    drawText(rgb, width, height, text, x0 + s, y0 + s, s, [0, 0, 0]);
    drawText(rgb, width, height, text, x0, y0, s, osd.color);
  });
}

function drawText(rgb: Uint8Array, width: number, height: number, text: string, x0: number, y0: number, s: number, c: [number, number, number]): void {
  for (let k = 0; k < text.length; k++) {
    const g = GLYPHS[text[k]] ?? GLYPHS[' '];
    for (let row = 0; row < 7; row++) {
      for (let col = 0; col < 5; col++) {
        if (!(g[row] & (0x10 >> col))) continue;
        for (let dy = 0; dy < s; dy++) {
          const y = y0 + row * s + dy;
          if (y < 0 || y >= height) continue;
          for (let dx = 0; dx < s; dx++) {
            const x = x0 + (k * 6 + col) * s + dx;
            if (x < 0 || x >= width) continue;
            const o = (y * width + x) * 3;
            rgb[o] = c[0];
            rgb[o + 1] = c[1];
            rgb[o + 2] = c[2];
          }
        }
      }
    }
  }
}
