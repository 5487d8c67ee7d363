/**
 * Ground speed of one track: a least-squares line through its ground positions over the last
 * `windowSec` seconds (robust to per-frame box jitter, unlike first-to-last displacement), with
 * values refused rather than reported when they are implausible:
 *  - fewer than `minPoints` positions or less than `minSpanSec` of history;
 *  - faster than `maxKmh` (an ID switch or a calibration far outside its quad);
 *  - unstable: the slope's standard error is large compared with the speed itself.
 */
export interface SpeedConfig {
  windowSec: number;
  minSpanSec: number;
  minPoints: number;
  maxKmh: number;
  /** Largest accepted standard error, as a fraction of the speed (with a floor of `minErrorKmh`). */
  maxRelativeError: number;
  minErrorKmh: number;
}

export const defaultSpeedConfig: SpeedConfig = { windowSec: 1.0, minSpanSec: 0.4, minPoints: 3, maxKmh: 250, maxRelativeError: 0.15, minErrorKmh: 3 };

const CAPACITY = 64;

export class SpeedEstimator {
  private t = new Float64Array(CAPACITY);
  private x = new Float64Array(CAPACITY);
  private y = new Float64Array(CAPACITY);
  private head = 0;
  private size = 0;
  /** Whether the last estimate() was refused for being over maxKmh (not for too little or too unsteady a track). */
  tooFast = false;

  constructor(private readonly cfg: SpeedConfig = defaultSpeedConfig) {}

  /** Adds a ground position (metres) at time tMs. */
  add(tMs: number, X: number, Y: number): void {
    const i = (this.head + this.size) % CAPACITY;
    this.t[i] = tMs / 1000;
    this.x[i] = X;
    this.y[i] = Y;
    if (this.size < CAPACITY) this.size++;
    else this.head = (this.head + 1) % CAPACITY;
  }

  /** Speed in km/h, or undefined when there is no trustworthy value. */
  estimate(): number | undefined {
    const { cfg } = this;
    this.tooFast = false;
    if (this.size < cfg.minPoints) return undefined;
    const tEnd = this.t[(this.head + this.size - 1) % CAPACITY];
    let n = 0, st = 0, sx = 0, sy = 0, tMin = Infinity;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % CAPACITY;
      if (tEnd - this.t[i] > cfg.windowSec) continue;
      n++;
      st += this.t[i];
      sx += this.x[i];
      sy += this.y[i];
      if (this.t[i] < tMin) tMin = this.t[i];
    }
    if (n < cfg.minPoints || tEnd - tMin < cfg.minSpanSec) return undefined;
    const mt = st / n, mx = sx / n, my = sy / n;
    let stt = 0, stx = 0, sty = 0;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % CAPACITY;
      if (tEnd - this.t[i] > cfg.windowSec) continue;
      const dt = this.t[i] - mt;
      stt += dt * dt;
      stx += dt * (this.x[i] - mx);
      sty += dt * (this.y[i] - my);
    }
    if (stt <= 0) return undefined;
    const vx = stx / stt, vy = sty / stt;
    let rss = 0;
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) % CAPACITY;
      if (tEnd - this.t[i] > cfg.windowSec) continue;
      const dt = this.t[i] - mt;
      const rx = this.x[i] - mx - vx * dt;
      const ry = this.y[i] - my - vy * dt;
      rss += rx * rx + ry * ry;
    }
    const kmh = Math.hypot(vx, vy) * 3.6;
    // Standard error of the 2-D velocity (both axes' residuals pooled), in km/h.
    const se = n > 2 ? Math.sqrt(rss / (2 * (n - 2)) / stt) * 3.6 * Math.SQRT2 : Infinity;
    if (!Number.isFinite(kmh) || kmh > cfg.maxKmh) {
      this.tooFast = true;
      return undefined;
    }
    if (se > Math.max(cfg.maxRelativeError * kmh, cfg.minErrorKmh)) return undefined;
    return kmh;
  }
}
