import { Rng } from './rng.js';

/** A tileable value-noise texture in [-1, 1], sampled bilinearly: asphalt wear, grass, paving. */
export class NoiseTexture {
  static readonly SIZE = 256;
  readonly data: Float32Array;

  constructor(seed: number) {
    const N = NoiseTexture.SIZE;
    const rng = new Rng(seed, 99);
    this.data = new Float32Array(N * N);
    // Octaves of lattice noise with periods that divide N, so the sum tiles.
    let amp = 1;
    let total = 0;
    for (const cells of [4, 8, 16, 32, 64, 128]) {
      const lattice = new Float32Array(cells * cells);
      for (let i = 0; i < lattice.length; i++) lattice[i] = rng.uniform(-1, 1);
      const step = N / cells;
      for (let y = 0; y < N; y++) {
        const gy = y / step;
        const iy = Math.floor(gy);
        const fy = smooth(gy - iy);
        for (let x = 0; x < N; x++) {
          const gx = x / step;
          const ix = Math.floor(gx);
          const fx = smooth(gx - ix);
          const a = lattice[(iy % cells) * cells + (ix % cells)];
          const b = lattice[(iy % cells) * cells + ((ix + 1) % cells)];
          const c = lattice[((iy + 1) % cells) * cells + (ix % cells)];
          const d = lattice[((iy + 1) % cells) * cells + ((ix + 1) % cells)];
          this.data[y * N + x] += amp * (a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy);
        }
      }
      total += amp;
      amp *= 0.6;
    }
    for (let i = 0; i < this.data.length; i++) this.data[i] /= total * 0.6;
  }

  /** Bilinear sample at texel coordinates (wrapping). */
  sample(u: number, v: number): number {
    const N = NoiseTexture.SIZE;
    const fu = Math.floor(u);
    const fv = Math.floor(v);
    const tu = u - fu;
    const tv = v - fv;
    const x0 = fu & (N - 1);
    const y0 = fv & (N - 1);
    const x1 = (x0 + 1) & (N - 1);
    const y1 = (y0 + 1) & (N - 1);
    const d = this.data;
    const a = d[y0 * N + x0];
    const b = d[y0 * N + x1];
    const c = d[y1 * N + x0];
    const e = d[y1 * N + x1];
    return a + (b - a) * tu + (c - a) * tv + (a - b - c + e) * tu * tv;
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

const cache = new Map<number, NoiseTexture>();
/** Textures are costly to build; a handful of variants (by seed modulo) serve every scene. */
export function noiseTexture(seed: number): NoiseTexture {
  const key = seed % 8;
  let t = cache.get(key);
  if (!t) {
    t = new NoiseTexture(key + 1);
    cache.set(key, t);
  }
  return t;
}
