/**
 * Planar homography from four point pairs (image pixels → ground-plane metres), solved directly
 * (8×8 linear system, h33 = 1) with partial pivoting.
 */
import { UserError } from '../core/errors.js';
import { crossingSides } from './geometry.js';

export type Point = readonly [number, number];

export class Homography {
  private constructor(readonly h: Float64Array) {}

  /** `what` names the configuration in errors, e.g. "camera1: calibration". */
  static fromPoints(src: readonly Point[], dst: readonly Point[], what = 'calibration'): Homography {
    if (src.length !== 4 || dst.length !== 4) throw new UserError(`${what}: needs exactly 4 image and 4 world points`);
    // Which list is at fault, and how: the same point twice, or three on one line.
    for (const [pts, list] of [
      [src, 'image'],
      [dst, 'world'],
    ] as const) {
      for (let i = 0; i < 4; i++) {
        for (let j = i + 1; j < 4; j++) {
          if (pts[i][0] === pts[j][0] && pts[i][1] === pts[j][1]) throw new UserError(`${what}: ${list} points ${i + 1} and ${j + 1} are the same point`);
        }
      }
      for (let i = 0; i < 4; i++) {
        for (let j = i + 1; j < 4; j++) {
          for (let k = j + 1; k < 4; k++) {
            const [a, b, c] = [pts[i], pts[j], pts[k]];
            const area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
            const scale = Math.max(Math.hypot(b[0] - a[0], b[1] - a[1]), Math.hypot(c[0] - a[0], c[1] - a[1]), 1e-12) ** 2;
            if (Math.abs(area) < 1e-6 * scale) throw new UserError(`${what}: ${list} points ${i + 1}, ${j + 1} and ${k + 1} are on one line`);
          }
        }
      }
    }
    const A = new Float64Array(64);
    const b = new Float64Array(8);
    for (let i = 0; i < 4; i++) {
      const [x, y] = src[i];
      const [X, Y] = dst[i];
      A.set([x, y, 1, 0, 0, 0, -x * X, -y * X], 16 * i);
      A.set([0, 0, 0, x, y, 1, -x * Y, -y * Y], 16 * i + 8);
      b[2 * i] = X;
      b[2 * i + 1] = Y;
    }
    const sol = solve8(A, b);
    if (!sol) throw new UserError(`${what}: the four points do not define a homography`);
    const h = new Float64Array(9);
    h.set(sol);
    h[8] = 1;
    const H = new Homography(h);
    // Four pairs always give a homography, even when a world point is typed beside the wrong image
    // point; then the map folds the road over itself (its horizon runs through the calibrated area,
    // and half the road maps behind the camera). A true calibration keeps all four on one side.
    const sides = src.map((p) => H.side(p[0], p[1]));
    if (sides.some((v) => v !== sides[0])) throw new UserError(`${what}: ${foldProblem(src, dst)}`);
    return H;
  }

  /** Maps a point; returns false when it lies on or beyond the horizon of the plane. */
  apply(x: number, y: number, out: [number, number]): boolean {
    const h = this.h;
    const w = h[6] * x + h[7] * y + h[8];
    if (!(Math.abs(w) > 1e-12)) return false;
    out[0] = (h[0] * x + h[1] * y + h[2]) / w;
    out[1] = (h[3] * x + h[4] * y + h[5]) / w;
    return true;
  }

  /** Sign of w at a point; points of the calibrated quad share one sign, the horizon flips it. */
  side(x: number, y: number): number {
    return Math.sign(this.h[6] * x + this.h[7] * y + this.h[8]);
  }
}

/**
 * Why four pairs fold the map, as far as the two lists tell. Image points outlining a crossed shape where the world
 * points do not are at fault themselves: a typo (a point off the picture) or one listed out of turn.
 */
function foldProblem(src: readonly Point[], dst: readonly Point[]): string {
  const image = crossingSides(src);
  if (image && !crossingSides(dst)) {
    const side = (k: number) => `${k}–${(k % 4) + 1}, ${src[k - 1].join(',')} to ${src[k % 4].join(',')}`;
    return `image points, in the order given, outline a crossed shape (side ${side(image[0])}, crosses side ${side(image[1])}) where the world points do not: an image point is mistyped, off the picture or listed out of turn`;
  }
  return 'the world points are not in the same order as the image points (as paired, the map folds the road over): give each image point the ground coordinates of that same spot';
}

function solve8(A: Float64Array, b: Float64Array): Float64Array | null {
  const n = 8;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[piv * n + c])) piv = r;
    if (Math.abs(A[piv * n + c]) < 1e-12) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [A[c * n + k], A[piv * n + k]] = [A[piv * n + k], A[c * n + k]];
      [b[c], b[piv]] = [b[piv], b[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= A[r * n + k] * x[k];
    x[r] = s / A[r * n + r];
  }
  return x;
}
