import type { Rng } from './rng.js';
import { drawText } from '../core/font5x7.js';

/**
 * The on-screen display of a CCTV camera: a timestamp and camera name burnt into the picture. Part
 * of real footage (and a distractor near objects), drawn with a 5×7 pixel font.
 */

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
