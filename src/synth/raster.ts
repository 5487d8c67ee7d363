import type { Camera } from './camera.js';

/**
 * Frame buffers and a z-buffered convex-polygon rasteriser. Colour is linear RGB (0..1, lights may
 * exceed 1 before tone mapping). `owner` buffers record which labelled object each pixel shows, so
 * visibility under occlusion is measured, not guessed.
 */
export class FrameBuffer {
  readonly color: Float32Array;
  /** 1 / camera depth; 0 = sky (infinitely far). */
  readonly invz: Float32Array;
  /** Owner of the pixel: 0 = scenery, k = labelled object k. */
  readonly owner: Int32Array;
  /** Scratch for counting each object's silhouette exactly once per pixel. */
  readonly stamp: Int32Array;
  /** Scratch mask (shadows). */
  readonly mask: Uint8Array;
  /** Sharp colour, read by motion blur while it writes `color`. */
  readonly blurSource: Float32Array;
  /** Copy of the mask as the background left it. */
  readonly baseMask: Uint8Array;
  /** Silhouette pixel count per owner (index = owner). */
  silhouette = new Int32Array(256);

  constructor(readonly width: number, readonly height: number) {
    const n = width * height;
    this.color = new Float32Array(n * 3);
    this.blurSource = new Float32Array(n * 3);
    this.invz = new Float32Array(n);
    this.owner = new Int32Array(n);
    this.stamp = new Int32Array(n);
    this.mask = new Uint8Array(n);
    this.baseMask = new Uint8Array(n);
  }

  reset(maxOwners: number): void {
    this.invz.fill(0);
    this.owner.fill(0);
    this.stamp.fill(0);
    this.mask.fill(0);
    if (this.silhouette.length < maxOwners + 1) this.silhouette = new Int32Array(maxOwners + 1);
    else this.silhouette.fill(0);
  }

  /** Visible pixel count per owner. */
  visibleCounts(maxOwner: number): Int32Array {
    const out = new Int32Array(maxOwner + 1);
    const o = this.owner;
    for (let i = 0; i < o.length; i++) {
      const k = o[i];
      if (k > 0 && k <= maxOwner) out[k]++;
    }
    return out;
  }
}

export const enum Mode {
  /** Depth-tested and written; sets colour and owner. */
  Opaque = 0,
  /** Only where the polygon lies on the visible surface (a decal on the ground): raises `mask` to level `r`. */
  GroundMask = 1,
  /** Only where the polygon lies on the visible surface: adds colour (light pools, beams). */
  GroundAdd = 2,
  /** Depth-tested, not written: adds colour (glows, glass reflections). */
  Additive = 3,
}

const NEAR = 0.2;
// Scratch arrays for clipping and projection: polygons have at most a few dozen vertices.
const MAXV = 64;
const cxs = new Float64Array(MAXV * 3);
const clipped = new Float64Array(MAXV * 3);
const us = new Float64Array(MAXV);
const vs = new Float64Array(MAXV);

/**
 * Draws a convex planar polygon given as world-space xyz triplets; `gradient` brightens its top and
 * darkens its bottom by that fraction. Returns the number of pixels written (0 when off-screen).
 */
export function fillPolygon(fb: FrameBuffer, cam: Camera, pts: ArrayLike<number>, r: number, g: number, b: number, owner: number, mode: Mode, gradient = 0): number {
  const nv = pts.length / 3;
  if (nv < 3 || nv > MAXV / 2) return 0;
  const tmp: [number, number, number] = [0, 0, 0];
  let anyFront = false;
  for (let i = 0; i < nv; i++) {
    cam.toCamera(pts[i * 3], pts[i * 3 + 1], pts[i * 3 + 2], tmp);
    cxs[i * 3] = tmp[0];
    cxs[i * 3 + 1] = tmp[1];
    cxs[i * 3 + 2] = tmp[2];
    if (tmp[2] > NEAR) anyFront = true;
  }
  if (!anyFront) return 0;
  // Clip against the near plane (Sutherland–Hodgman, one plane).
  let n = 0;
  for (let i = 0; i < nv; i++) {
    const j = (i + 1) % nv;
    const zi = cxs[i * 3 + 2];
    const zj = cxs[j * 3 + 2];
    if (zi > NEAR) {
      clipped[n * 3] = cxs[i * 3];
      clipped[n * 3 + 1] = cxs[i * 3 + 1];
      clipped[n * 3 + 2] = zi;
      n++;
    }
    if (zi > NEAR !== zj > NEAR) {
      const t = (NEAR - zi) / (zj - zi);
      clipped[n * 3] = cxs[i * 3] + t * (cxs[j * 3] - cxs[i * 3]);
      clipped[n * 3 + 1] = cxs[i * 3 + 1] + t * (cxs[j * 3 + 1] - cxs[i * 3 + 1]);
      clipped[n * 3 + 2] = NEAR;
      n++;
    }
  }
  if (n < 3) return 0;
  // Plane of the polygon in camera space, for perspective-correct 1/z: n·X = k.
  const ax = clipped[3] - clipped[0];
  const ay = clipped[4] - clipped[1];
  const az = clipped[5] - clipped[2];
  let nx = 0;
  let ny = 0;
  let nz = 0;
  for (let i = 2; i < n && nx * nx + ny * ny + nz * nz < 1e-12; i++) {
    const bx = clipped[i * 3] - clipped[0];
    const by = clipped[i * 3 + 1] - clipped[1];
    const bz = clipped[i * 3 + 2] - clipped[2];
    nx = ay * bz - az * by;
    ny = az * bx - ax * bz;
    nz = ax * by - ay * bx;
  }
  const k = nx * clipped[0] + ny * clipped[1] + nz * clipped[2];
  const nlen = Math.sqrt(nx * nx + ny * ny + nz * nz);
  if (nlen < 1e-12 || Math.abs(k) < 1e-9 * nlen) return 0;
  const fx = cam.fx;
  const fy = cam.fy;
  const pa = nx / (fx * k);
  const pb = ny / (fy * k);
  const pc = (nz - (nx * cam.cx) / fx - (ny * cam.cy) / fy) / k;

  let minV = Infinity;
  let maxV = -Infinity;
  for (let i = 0; i < n; i++) {
    const z = clipped[i * 3 + 2];
    us[i] = cam.cx + (fx * clipped[i * 3]) / z;
    vs[i] = cam.cy + (fy * clipped[i * 3 + 1]) / z;
    if (vs[i] < minV) minV = vs[i];
    if (vs[i] > maxV) maxV = vs[i];
  }
  const W = fb.width;
  const H = fb.height;
  const y0 = Math.max(0, Math.ceil(minV - 0.5));
  const y1 = Math.min(H - 1, Math.floor(maxV - 0.5));
  if (y0 > y1) return 0;
  const color = fb.color;
  const invz = fb.invz;
  const own = fb.owner;
  const stamp = fb.stamp;
  const mask = fb.mask;
  let written = 0;
  const r0 = r;
  const g0 = g;
  const b0 = b;
  const span = maxV - minV > 1e-6 ? maxV - minV : 1;
  for (let y = y0; y <= y1; y++) {
    const vc = y + 0.5;
    if (gradient !== 0) {
      // Brighter at the top of the face than at its bottom (sky light, reflections).
      const k = 1 + gradient * (1 - (2 * (vc - minV)) / span);
      r = r0 * k;
      g = g0 * k;
      b = b0 * k;
    }
    let xl = Infinity;
    let xr = -Infinity;
    for (let i = 0; i < n; i++) {
      const j = i + 1 === n ? 0 : i + 1;
      const va = vs[i];
      const vb = vs[j];
      if ((va <= vc && vb > vc) || (vb <= vc && va > vc)) {
        const x = us[i] + ((vc - va) * (us[j] - us[i])) / (vb - va);
        if (x < xl) xl = x;
        if (x > xr) xr = x;
      }
    }
    if (!(xr > xl)) continue;
    const x0 = Math.max(0, Math.ceil(xl - 0.5));
    const x1 = Math.min(W - 1, Math.ceil(xr - 0.5) - 1);
    let w = pa * (x0 + 0.5) + pb * vc + pc;
    let p = y * W + x0;
    for (let x = x0; x <= x1; x++, p++, w += pa) {
      if (mode === Mode.Opaque) {
        if (owner > 0 && stamp[p] !== owner) {
          stamp[p] = owner;
          fb.silhouette[owner]++;
        }
        if (w <= invz[p]) continue;
        invz[p] = w;
        own[p] = owner;
        color[p * 3] = r;
        color[p * 3 + 1] = g;
        color[p * 3 + 2] = b;
        written++;
      } else if (mode === Mode.Additive) {
        if (w < invz[p]) continue;
        color[p * 3] += r;
        color[p * 3 + 1] += g;
        color[p * 3 + 2] += b;
        written++;
      } else {
        // On the visible surface when the depths agree to within 2 % (decals on the ground).
        const s = invz[p];
        if (Math.abs(w - s) > 0.02 * s) continue;
        if (mode === Mode.GroundMask) {
          if (mask[p] < r) mask[p] = r;
        }
        else {
          color[p * 3] += r;
          color[p * 3 + 1] += g;
          color[p * 3 + 2] += b;
        }
        written++;
      }
    }
  }
  return written;
}
