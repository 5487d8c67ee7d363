import sharp from 'sharp';

/** A screenshot as raw RGB, with a colour test for pixel checks. */
export class Pixels {
  private constructor(readonly data: Buffer, readonly width: number, readonly height: number) {}

  static async fromPng(png: Buffer): Promise<Pixels> {
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return new Pixels(data, info.width, info.height);
  }

  at(x: number, y: number): [number, number, number] {
    const xi = Math.min(this.width - 1, Math.max(0, Math.round(x)));
    const yi = Math.min(this.height - 1, Math.max(0, Math.round(y)));
    const i = (yi * this.width + xi) * 3;
    return [this.data[i], this.data[i + 1], this.data[i + 2]];
  }

  /** True when a pixel within `r` of (x, y) is within `tol` of the colour on every channel. */
  near(x: number, y: number, hex: string, r = 2, tol = 40): boolean {
    const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const p = this.at(x + dx, y + dy);
        if (p.every((v, k) => Math.abs(v - want[k]) <= tol)) return true;
      }
    }
    return false;
  }

  /** Saturation proxy: max − min channel. Grey video is ~0; overlays are large. */
  chroma(x: number, y: number): number {
    const p = this.at(x, y);
    return Math.max(...p) - Math.min(...p);
  }

  /** True when some pixel within `r` of (x, y) is clearly coloured (on grey video: an overlay). */
  saturatedNear(x: number, y: number, r = 2, minChroma = 50): boolean {
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (this.chroma(x + dx, y + dy) >= minChroma) return true;
    return false;
  }

  luma(x: number, y: number): number {
    const [r, g, b] = this.at(x, y);
    return 0.299 * r + 0.587 * g + 0.114 * b;
  }
}
