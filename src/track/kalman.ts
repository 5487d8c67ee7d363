/**
 * Constant-velocity Kalman filter on a box (cx, cy, w, h), with time steps in seconds so the same
 * tuning holds at 5 fps and at 30 fps.
 *
 * With diagonal process and measurement noise the 8×8 covariance never couples different box
 * coordinates, so it is stored as four independent 2×2 (position, velocity) blocks: 12 numbers
 * per track instead of 64, and no matrix allocation per step.
 *
 * Noise follows ByteTrack/BoT-SORT (σ_pos = size/20, σ_vel = size/160 per frame at 30 fps),
 * converted to per-second random-walk densities; x and w scale with the box width, y and h with
 * its height, which suits wide vehicles better than height-only scaling.
 */

/** State layout: [cx, cy, w, h, vcx, vcy, vw, vh] (velocities in pixels per second). */
export const STATE_SIZE = 8;
/** Covariance layout: for each coordinate k, [Ppp, Ppv, Pvv] at 3k. */
export const COV_SIZE = 12;

export interface KalmanNoise {
  /** Position noise as a fraction of box size (per reference frame). */
  position: number;
  /** Velocity noise as a fraction of box size (per reference frame). */
  velocity: number;
  /** Reference frame rate the fractions are expressed at. */
  referenceFps: number;
  /**
   * Standard deviation of a new track's (unknown) velocity, in box sizes per second. Vehicles
   * move several box lengths per second, far more than pedestrians, so this is wider than
   * ByteTrack's (≈1.9 at 30 fps); it only matters for a track's first few matches.
   */
  initialVelocity: number;
}

export const defaultNoise: KalmanNoise = { position: 1 / 20, velocity: 1 / 160, referenceFps: 30, initialVelocity: 3 };

function scaleOf(x: Float64Array, o: number, k: number): number {
  // x and w follow the width, y and h the height; never 0 so a degenerate box cannot freeze the filter.
  return Math.max(k === 0 || k === 2 ? x[o + 2] : x[o + 3], 1);
}

export function kalmanInit(x: Float64Array, xo: number, P: Float64Array, po: number, cx: number, cy: number, w: number, h: number, noise: KalmanNoise): void {
  x[xo] = cx;
  x[xo + 1] = cy;
  x[xo + 2] = w;
  x[xo + 3] = h;
  x[xo + 4] = x[xo + 5] = x[xo + 6] = x[xo + 7] = 0;
  for (let k = 0; k < 4; k++) {
    const s = scaleOf(x, xo, k);
    const sp = 2 * noise.position * s;
    const sv = noise.initialVelocity * s;
    P[po + 3 * k] = sp * sp;
    P[po + 3 * k + 1] = 0;
    P[po + 3 * k + 2] = sv * sv;
  }
}

/** Advances the state by dt seconds. `freezeSize` stops w/h velocity (used while a track is lost). */
export function kalmanPredict(x: Float64Array, xo: number, P: Float64Array, po: number, dt: number, noise: KalmanNoise, freezeSize = false): void {
  if (dt <= 0) return;
  if (freezeSize) x[xo + 6] = x[xo + 7] = 0;
  const f = noise.referenceFps;
  const frames = dt * f;
  for (let k = 0; k < 4; k++) {
    const s = scaleOf(x, xo, k);
    const qp = (noise.position * s) ** 2 * frames;
    const qv = (noise.velocity * s * f) ** 2 * frames;
    const b = po + 3 * k;
    const p00 = P[b], p01 = P[b + 1], p11 = P[b + 2];
    P[b] = p00 + 2 * dt * p01 + dt * dt * p11 + qp;
    P[b + 1] = p01 + dt * p11;
    P[b + 2] = p11 + qv;
    x[xo + k] += x[xo + 4 + k] * dt;
  }
  // A box cannot shrink below a pixel, whatever the size velocity says.
  if (x[xo + 2] < 1) x[xo + 2] = 1;
  if (x[xo + 3] < 1) x[xo + 3] = 1;
}

export function kalmanUpdate(x: Float64Array, xo: number, P: Float64Array, po: number, cx: number, cy: number, w: number, h: number, noise: KalmanNoise): void {
  for (let k = 0; k < 4; k++) {
    const s = scaleOf(x, xo, k);
    const r = (noise.position * s) ** 2;
    const b = po + 3 * k;
    const p00 = P[b], p01 = P[b + 1], p11 = P[b + 2];
    const S = p00 + r;
    const k0 = p00 / S;
    const k1 = p01 / S;
    const z = k === 0 ? cx : k === 1 ? cy : k === 2 ? w : h;
    const y = z - x[xo + k];
    x[xo + k] += k0 * y;
    x[xo + 4 + k] += k1 * y;
    P[b] = (1 - k0) * p00;
    P[b + 1] = (1 - k0) * p01;
    P[b + 2] = p11 - k1 * p01;
  }
}

/**
 * Squared Mahalanobis distance of a measured box from the predicted one (4 degrees of freedom;
 * 9.49 is the 95 % gate).
 */
export function kalmanDistance(x: Float64Array, xo: number, P: Float64Array, po: number, cx: number, cy: number, w: number, h: number, noise: KalmanNoise): number {
  let d = 0;
  for (let k = 0; k < 4; k++) {
    const s = scaleOf(x, xo, k);
    const r = (noise.position * s) ** 2;
    const z = k === 0 ? cx : k === 1 ? cy : k === 2 ? w : h;
    const y = z - x[xo + k];
    d += (y * y) / (P[po + 3 * k] + r);
  }
  return d;
}
