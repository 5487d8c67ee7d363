import type { Vec3 } from './camera.js';

export type RGB = [number, number, number];

/** Surface kinds shade differently: glass reflects the sky, lamps glow at night. */
export const enum Surface {
  Matte = 0,
  Paint = 1,
  Glass = 2,
  Lamp = 3,
  /** Lit from inside at night (building windows, bus displays). */
  Window = 4,
}

/** A convex planar polygon in world space (xyz triplets) with its outward normal. */
export interface Poly {
  pts: number[];
  normal: Vec3;
  albedo: RGB;
  surface: Surface;
  /** Drawn from both sides (thin plates, wheels of two-wheelers); otherwise back faces are culled. */
  twoSided: boolean;
  /** Light emitted at night (lamps, lit windows), linear RGB. */
  glow?: RGB;
}

/** A local coordinate frame: origin plus right (a), forward (l) and up (z) axes. */
export class Frame {
  constructor(
    readonly o: Vec3,
    readonly ax: Vec3,
    readonly lx: Vec3,
    readonly zx: Vec3,
  ) {}

  /** A ground-aligned frame at (x, y, z) facing `heading` (0 = +y, clockwise towards +x). */
  static ground(x: number, y: number, heading: number, z = 0): Frame {
    const s = Math.sin(heading);
    const c = Math.cos(heading);
    return new Frame([x, y, z], [c, -s, 0], [s, c, 0], [0, 0, 1]);
  }

  point(a: number, l: number, z: number): Vec3 {
    const { o, ax, lx, zx } = this;
    return [o[0] + a * ax[0] + l * lx[0] + z * zx[0], o[1] + a * ax[1] + l * lx[1] + z * zx[1], o[2] + a * ax[2] + l * lx[2] + z * zx[2]];
  }

  /** A child frame at local point (a, l, z), pitched about the a-axis by `pitch` (limbs, forks). */
  child(a: number, l: number, z: number, pitch = 0, yaw = 0): Frame {
    const c = Math.cos(pitch);
    const s = Math.sin(pitch);
    // Pitch rotates l towards z.
    let lx = add(scale(this.lx, c), scale(this.zx, s));
    const zx = add(scale(this.zx, c), scale(this.lx, -s));
    let ax = this.ax;
    if (yaw) {
      const cy = Math.cos(yaw);
      const sy = Math.sin(yaw);
      const na = add(scale(ax, cy), scale(lx, -sy));
      lx = add(scale(lx, cy), scale(ax, sy));
      ax = na;
    }
    return new Frame(this.point(a, l, z), ax, lx, zx);
  }
}

export function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}
export function scale(a: Vec3, k: number): Vec3 {
  return [a[0] * k, a[1] * k, a[2] * k];
}

function newell(pts: Vec3[]): Vec3 {
  let nx = 0;
  let ny = 0;
  let nz = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i];
    const q = pts[(i + 1) % pts.length];
    nx += (p[1] - q[1]) * (p[2] + q[2]);
    ny += (p[2] - q[2]) * (p[0] + q[0]);
    nz += (p[0] - q[0]) * (p[1] + q[1]);
  }
  const len = Math.hypot(nx, ny, nz) || 1;
  return [nx / len, ny / len, nz / len];
}

export interface FaceStyle {
  albedo: RGB;
  surface?: Surface;
  glow?: RGB;
}

/** Adds a polygon whose normal points away from `inside` (or is taken as given when twoSided). */
export function pushPoly(out: Poly[], pts: Vec3[], style: FaceStyle, inside: Vec3 | null, twoSided = false): void {
  let n = newell(pts);
  if (inside) {
    let cx = 0;
    let cy = 0;
    let cz = 0;
    for (const p of pts) {
      cx += p[0];
      cy += p[1];
      cz += p[2];
    }
    const k = 1 / pts.length;
    if (n[0] * (cx * k - inside[0]) + n[1] * (cy * k - inside[1]) + n[2] * (cz * k - inside[2]) < 0) n = [-n[0], -n[1], -n[2]];
  }
  const flat: number[] = new Array(pts.length * 3);
  for (let i = 0; i < pts.length; i++) {
    flat[i * 3] = pts[i][0];
    flat[i * 3 + 1] = pts[i][1];
    flat[i * 3 + 2] = pts[i][2];
  }
  out.push({ pts: flat, normal: n, albedo: style.albedo, surface: style.surface ?? Surface.Matte, twoSided, glow: style.glow });
}

export interface HexaStyle {
  top: FaceStyle;
  front: FaceStyle;
  back: FaceStyle;
  left: FaceStyle;
  right: FaceStyle;
  bottom?: FaceStyle;
}

export function uniformStyle(s: FaceStyle): HexaStyle {
  return { top: s, front: s, back: s, left: s, right: s };
}

/**
 * A six-faced solid in a frame: bottom rectangle [a0,a1]×[l0,l1] at z0, top rectangle at z1 (the top
 * may be narrower or shorter: car cabins, windscreens). Returns its 8 corners (for shadows and boxes).
 */
export function pushHexa(
  out: Poly[],
  f: Frame,
  b: [a0: number, a1: number, l0: number, l1: number, z0: number],
  t: [a0: number, a1: number, l0: number, l1: number, z1: number],
  style: HexaStyle,
): Vec3[] {
  const c = [
    f.point(b[0], b[2], b[4]),
    f.point(b[1], b[2], b[4]),
    f.point(b[1], b[3], b[4]),
    f.point(b[0], b[3], b[4]),
    f.point(t[0], t[2], t[4]),
    f.point(t[1], t[2], t[4]),
    f.point(t[1], t[3], t[4]),
    f.point(t[0], t[3], t[4]),
  ];
  const inside = f.point((b[0] + b[1] + t[0] + t[1]) / 4, (b[2] + b[3] + t[2] + t[3]) / 4, (b[4] + t[4]) / 2);
  pushPoly(out, [c[4], c[5], c[6], c[7]], style.top, inside);
  pushPoly(out, [c[3], c[2], c[6], c[7]], style.front, inside);
  pushPoly(out, [c[0], c[1], c[5], c[4]], style.back, inside);
  pushPoly(out, [c[0], c[3], c[7], c[4]], style.left, inside);
  pushPoly(out, [c[1], c[2], c[6], c[5]], style.right, inside);
  if (style.bottom) pushPoly(out, [c[0], c[1], c[2], c[3]], style.bottom, inside);
  return c;
}

/** Simple axis box in a frame, centred on a/l, from z0 to z1. */
export function pushBox(out: Poly[], f: Frame, a: number, l: number, w: number, len: number, z0: number, z1: number, style: HexaStyle | FaceStyle): Vec3[] {
  const s = 'top' in style ? style : uniformStyle(style);
  return pushHexa(out, f, [a - w / 2, a + w / 2, l - len / 2, l + len / 2, z0], [a - w / 2, a + w / 2, l - len / 2, l + len / 2, z1], s);
}

/** A disc in the frame's (l, z) plane at lateral offset a: wheels. */
export function pushDisc(out: Poly[], f: Frame, a: number, l: number, z: number, r: number, style: FaceStyle, outward: number, n = 10, twoSided = false): void {
  const pts: Vec3[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i / n) * Math.PI * 2;
    pts.push(f.point(a, l + r * Math.cos(t), z + r * Math.sin(t)));
  }
  pushPoly(out, pts, style, f.point(a - outward, l, z), twoSided);
}

/** A ring (bicycle wheel) in the (l, z) plane as thin segments. */
export function pushRing(out: Poly[], f: Frame, a: number, l: number, z: number, r: number, thick: number, style: FaceStyle, n = 12): void {
  for (let i = 0; i < n; i++) {
    const t0 = (i / n) * Math.PI * 2;
    const t1 = ((i + 1) / n) * Math.PI * 2;
    const ri = r - thick;
    pushPoly(
      out,
      [
        f.point(a, l + r * Math.cos(t0), z + r * Math.sin(t0)),
        f.point(a, l + r * Math.cos(t1), z + r * Math.sin(t1)),
        f.point(a, l + ri * Math.cos(t1), z + ri * Math.sin(t1)),
        f.point(a, l + ri * Math.cos(t0), z + ri * Math.sin(t0)),
      ],
      style,
      null,
      true,
    );
  }
}

/** A thin flat bar between two local (l, z) points in the (l, z) plane: bicycle tubes, poles seen side-on. */
export function pushBar(out: Poly[], f: Frame, a: number, l0: number, z0: number, l1: number, z1: number, width: number, style: FaceStyle): void {
  const dl = l1 - l0;
  const dz = z1 - z0;
  const len = Math.hypot(dl, dz) || 1;
  const nl = (-dz / len) * (width / 2);
  const nz = (dl / len) * (width / 2);
  pushPoly(out, [f.point(a, l0 + nl, z0 + nz), f.point(a, l1 + nl, z1 + nz), f.point(a, l1 - nl, z1 - nz), f.point(a, l0 - nl, z0 - nz)], style, null, true);
}

/**
 * A rounded solid (tree crowns, heads, tanks): rings of n points at several heights, given as
 * [z, radiusA, radiusL] from bottom to top.
 */
export function pushLathe(out: Poly[], f: Frame, rings: [number, number, number][], n: number, style: FaceStyle, phase = 0): Vec3[] {
  const pts: Vec3[][] = rings.map(([z, ra, rl]) => {
    const ring: Vec3[] = [];
    for (let i = 0; i < n; i++) {
      const t = phase + (i / n) * Math.PI * 2;
      ring.push(f.point(ra * Math.cos(t), rl * Math.sin(t), z));
    }
    return ring;
  });
  const zc = (rings[0][0] + rings[rings.length - 1][0]) / 2;
  const inside = f.point(0, 0, zc);
  for (let k = 0; k + 1 < pts.length; k++) {
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const quad = [pts[k][i], pts[k][j], pts[k + 1][j], pts[k + 1][i]];
      if (rings[k][1] === 0 && rings[k][2] === 0) quad.splice(0, 1);
      else if (rings[k + 1][1] === 0 && rings[k + 1][2] === 0) quad.splice(2, 1);
      pushPoly(out, quad, style, inside);
    }
  }
  const top = rings[rings.length - 1];
  if (top[1] > 0 || top[2] > 0) pushPoly(out, pts[pts.length - 1], style, inside);
  return pts.flat();
}
