import type { Vec3 } from './camera.js';
import { Frame, type FaceStyle, type HexaStyle, type Poly, type RGB, Surface, pushBar, pushBox, pushDisc, pushHexa, pushLathe, pushPoly, pushRing, uniformStyle } from './geometry.js';
import { busPaint, carPaint, clothing, hair, hex, jitter, mul, skin, truckPaint } from './palette.js';
import type { Rng } from './rng.js';

/** The traffic classes, in the order every part of xnorcam uses (ids 0..5). */
export const CLASS_NAMES = ['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

export interface Lamp {
  pos: Vec3;
  /** Direction the lamp faces (beams are cast along it). */
  dir: Vec3;
  color: RGB;
  /** Lamp radius, metres. */
  size: number;
  kind: 'head' | 'tail';
}

/** One labelled object, built in world space for one instant. */
export interface ObjectModel {
  classId: number;
  polys: Poly[];
  /** Corner sets of the solids, projected along the sun for shadows. */
  solids: Vec3[][];
  /** Ground quad under the object, darkened as contact shadow. */
  footprint: Vec3[];
  lamps: Lamp[];
  /** Ground velocity, m/s (for motion blur); absent = standing still. */
  velocity?: Vec3;
}

/** Everything random about an object's look, drawn once so a video object keeps its shape. */
export type Shape = CarShape | TruckShape | BusShape | MotoShape | BikeShape | PersonShape;

export interface AnimState {
  /** Walk / pedal cycle phase, radians. */
  phase: number;
  /** Walking or riding (limbs move) or standing. */
  moving: boolean;
  lightsOn: boolean;
  braking: boolean;
}

const tyre: FaceStyle = { albedo: hex('#151515') };
const darkPlastic: FaceStyle = { albedo: hex('#202224') };
const chrome: FaceStyle = { albedo: hex('#9a9da0'), surface: Surface.Paint };
const glassBase = hex('#10161c');

function glass(tint = 1): FaceStyle {
  return { albedo: mul(glassBase, tint), surface: Surface.Glass };
}

function headLamp(on: boolean): FaceStyle {
  return { albedo: hex('#d8d8d0'), surface: Surface.Lamp, glow: on ? [6, 5.6, 4.8] : undefined };
}
function tailLamp(on: boolean, braking: boolean): FaceStyle {
  return { albedo: hex('#8a1010'), surface: Surface.Lamp, glow: on || braking ? (braking ? [7, 0.4, 0.2] : [2.4, 0.12, 0.06]) : undefined };
}

/** A vertical lamp quad on the frame's front (+l, dir=1) or back (dir=-1) face. */
function lampQuad(out: Poly[], f: Frame, a0: number, a1: number, l: number, z0: number, z1: number, style: FaceStyle, dir: number): void {
  const pts = [f.point(a0, l, z0), f.point(a1, l, z0), f.point(a1, l, z1), f.point(a0, l, z1)];
  pushPoly(out, pts, style, f.point((a0 + a1) / 2, l - dir, (z0 + z1) / 2));
}

function footprint(f: Frame, w: number, len: number, grow = 0.25): Vec3[] {
  const a = w / 2 + grow;
  const l = len / 2 + grow;
  return [f.point(-a, -l, 0.01), f.point(a, -l, 0.01), f.point(a, l, 0.01), f.point(-a, l, 0.01)];
}

// ---------------------------------------------------------------- cars

export interface CarShape {
  kind: 'car';
  style: 'sedan' | 'hatch' | 'suv' | 'van' | 'pickup' | 'wagon';
  L: number;
  W: number;
  H: number;
  clearance: number;
  belt: number;
  hood: number;
  trunk: number;
  inset: number;
  rakeF: number;
  rakeR: number;
  paint: RGB;
  roof: RGB;
  bumper: RGB;
  wheelR: number;
  overhang: number;
  glassTint: number;
  hubs: RGB;
}

export function sampleCar(rng: Rng): CarShape {
  const style = rng.weighted({ sedan: 30, hatch: 22, suv: 25, van: 8, pickup: 7, wagon: 8 });
  const paint = carPaint(rng);
  const taxi = rng.chance(0.03);
  const p = taxi ? hex('#f2c400') : paint;
  const base = {
    kind: 'car' as const,
    style,
    paint: p,
    roof: rng.chance(0.12) ? hex(rng.pick(['#111111', '#eeeeee'])) : p,
    bumper: rng.chance(0.5) ? p : jitter(rng, hex('#232427')),
    glassTint: rng.uniform(0.7, 1.6),
    hubs: rng.chance(0.6) ? hex('#a8abb0') : hex('#2a2a2a'),
    inset: rng.uniform(0.1, 0.18),
  };
  switch (style) {
    case 'sedan':
      return { ...base, L: rng.uniform(4.3, 5.0), W: rng.uniform(1.72, 1.9), H: rng.uniform(1.38, 1.5), clearance: 0.15, belt: rng.uniform(0.78, 0.9), hood: rng.uniform(1.0, 1.35), trunk: rng.uniform(0.75, 1.0), rakeF: rng.uniform(0.55, 0.8), rakeR: rng.uniform(0.4, 0.6), wheelR: rng.uniform(0.3, 0.34), overhang: rng.uniform(0.85, 1.0) };
    case 'hatch':
      return { ...base, L: rng.uniform(3.6, 4.3), W: rng.uniform(1.65, 1.8), H: rng.uniform(1.42, 1.55), clearance: 0.15, belt: rng.uniform(0.8, 0.9), hood: rng.uniform(0.8, 1.05), trunk: rng.uniform(0.1, 0.25), rakeF: rng.uniform(0.5, 0.75), rakeR: rng.uniform(0.15, 0.35), wheelR: rng.uniform(0.29, 0.32), overhang: rng.uniform(0.7, 0.85) };
    case 'suv':
      return { ...base, L: rng.uniform(4.3, 5.1), W: rng.uniform(1.8, 2.0), H: rng.uniform(1.62, 1.86), clearance: 0.22, belt: rng.uniform(0.98, 1.1), hood: rng.uniform(0.95, 1.2), trunk: rng.uniform(0.08, 0.2), rakeF: rng.uniform(0.4, 0.6), rakeR: rng.uniform(0.1, 0.25), wheelR: rng.uniform(0.35, 0.4), overhang: rng.uniform(0.85, 1.0) };
    case 'van':
      return { ...base, L: rng.uniform(4.7, 5.3), W: rng.uniform(1.85, 2.0), H: rng.uniform(1.75, 2.0), clearance: 0.17, belt: rng.uniform(0.95, 1.05), hood: rng.uniform(0.55, 0.8), trunk: 0.05, rakeF: rng.uniform(0.5, 0.8), rakeR: 0.08, wheelR: rng.uniform(0.32, 0.35), overhang: rng.uniform(0.8, 0.95) };
    case 'pickup':
      return { ...base, L: rng.uniform(5.0, 5.8), W: rng.uniform(1.85, 2.02), H: rng.uniform(1.75, 1.92), clearance: 0.25, belt: rng.uniform(1.05, 1.18), hood: rng.uniform(1.2, 1.5), trunk: rng.uniform(1.6, 2.0), rakeF: rng.uniform(0.4, 0.55), rakeR: 0.05, wheelR: rng.uniform(0.38, 0.42), overhang: rng.uniform(0.95, 1.1) };
    default:
      return { ...base, L: rng.uniform(4.5, 5.0), W: rng.uniform(1.75, 1.9), H: rng.uniform(1.45, 1.55), clearance: 0.15, belt: rng.uniform(0.82, 0.9), hood: rng.uniform(0.95, 1.2), trunk: rng.uniform(0.08, 0.15), rakeF: rng.uniform(0.55, 0.75), rakeR: rng.uniform(0.08, 0.15), wheelR: rng.uniform(0.31, 0.33), overhang: rng.uniform(0.85, 1.0) };
  }
}

function buildCar(s: CarShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  const { L, W, H, clearance: c, belt } = s;
  const paint: FaceStyle = { albedo: s.paint, surface: Surface.Paint };
  const bump = c + 0.24;
  // Bumper band: protrudes a little so it never fights the body for depth.
  solids.push(pushBox(polys, f, 0, 0, W + 0.02, L + 0.04, c, bump, { albedo: s.bumper, surface: Surface.Paint }));
  const taperF = 0.12;
  solids.push(pushHexa(polys, f, [-W / 2, W / 2, -L / 2, L / 2, bump - 0.02], [-W / 2 + 0.04, W / 2 - 0.04, -L / 2 + 0.06, L / 2 - taperF, belt], uniformStyle(paint)));
  const g = glass(s.glassTint);
  const cabin: HexaStyle = { top: { albedo: s.roof, surface: Surface.Paint }, front: g, back: g, left: g, right: g };
  const cl0 = -L / 2 + s.trunk;
  const cl1 = L / 2 - s.hood;
  if (s.style === 'pickup') {
    const cab1 = cl1;
    const cab0 = cab1 - 1.7;
    solids.push(pushHexa(polys, f, [-W / 2 + 0.05, W / 2 - 0.05, cab0, cab1, belt], [-W / 2 + s.inset, W / 2 - s.inset, cab0 + 0.05, cab1 - s.rakeF, H], cabin));
    // Open bed: a dark floor inset into the body top.
    pushPoly(polys, [f.point(-W / 2 + 0.12, -L / 2 + 0.15, belt + 0.005), f.point(W / 2 - 0.12, -L / 2 + 0.15, belt + 0.005), f.point(W / 2 - 0.12, cab0 - 0.1, belt + 0.005), f.point(-W / 2 + 0.12, cab0 - 0.1, belt + 0.005)], { albedo: mul(s.paint, 0.35) }, f.point(0, 0, 0));
  } else {
    solids.push(pushHexa(polys, f, [-W / 2 + 0.05, W / 2 - 0.05, cl0, cl1, belt], [-W / 2 + s.inset, W / 2 - s.inset, cl0 + s.rakeR, cl1 - s.rakeF, H], cabin));
  }
  // Wheels with hubs and dark wheel arches, on both sides; door mirrors.
  for (const side of [-1, 1]) {
    pushBox(polys, f, side * (W / 2 + 0.07), cl1 - 0.15, 0.14, 0.1, belt + 0.02, belt + 0.16, paint);
    for (const l of [L / 2 - s.overhang, -L / 2 + s.overhang]) {
      const arch: Vec3[] = [];
      for (let i = 0; i <= 8; i++) {
        const t = (i / 8) * Math.PI;
        arch.push(f.point(side * (W / 2 + 0.004), l + s.wheelR * 1.18 * Math.cos(t), s.wheelR + s.wheelR * 1.18 * Math.sin(t)));
      }
      pushPoly(polys, arch, { albedo: hex('#0b0b0b') }, f.point(0, l, s.wheelR));
      pushDisc(polys, f, side * (W / 2 + 0.01), l, s.wheelR, s.wheelR, tyre, side);
      pushDisc(polys, f, side * (W / 2 + 0.02), l, s.wheelR, s.wheelR * 0.58, { albedo: s.hubs, surface: Surface.Paint }, side, 8);
    }
  }
  // Lamps and plates: front face is tapered, so place them by the face's depth at their height.
  const zl0 = belt - 0.24;
  const zl1 = belt - 0.1;
  const frontAt = (z: number): number => L / 2 - (taperF * (z - bump)) / (belt - bump) + 0.012;
  const backAt = (z: number): number => -L / 2 + (0.06 * (z - bump)) / (belt - bump) - 0.012;
  const lamps: Lamp[] = [];
  for (const side of [-1, 1]) {
    const a0 = side * (W / 2 - 0.1);
    const a1 = side * (W / 2 - 0.38);
    lampQuad(polys, f, Math.min(a0, a1), Math.max(a0, a1), frontAt(zl0), zl0, zl1, headLamp(st.lightsOn), 1);
    lampQuad(polys, f, Math.min(a0, a1), Math.max(a0, a1), backAt(zl1), zl0, zl1, tailLamp(st.lightsOn, st.braking), -1);
    lamps.push({ pos: f.point(side * (W / 2 - 0.24), frontAt(zl0), (zl0 + zl1) / 2), dir: f.lx, color: [1, 0.93, 0.8], size: 0.12, kind: 'head' });
    lamps.push({ pos: f.point(side * (W / 2 - 0.24), backAt(zl1), (zl0 + zl1) / 2), dir: [-f.lx[0], -f.lx[1], -f.lx[2]], color: st.braking ? [1, 0.05, 0.03] : [0.7, 0.03, 0.02], size: 0.1, kind: 'tail' });
  }
  lampQuad(polys, f, -0.26, 0.26, backAt(bump + 0.05) - 0.004, bump + 0.02, bump + 0.13, { albedo: hex('#d8d8c8') }, -1);
  lampQuad(polys, f, -0.26, 0.26, L / 2 + 0.025, c + 0.06, c + 0.17, { albedo: hex('#d8d8c8') }, 1);
  return { classId: 0, polys, solids, footprint: footprint(f, W, L), lamps };
}

// ---------------------------------------------------------------- trucks

export interface TruckShape {
  kind: 'truck';
  style: 'semi' | 'box' | 'tanker' | 'flatbed' | 'van';
  cabL: number;
  /** Bonnet length in front of the cab (conventional tractors); 0 = cab-over. Included in cabL. */
  hood: number;
  cabH: number;
  W: number;
  cargoL: number;
  cargoH: number;
  cargoZ: number;
  gap: number;
  cab: RGB;
  cargo: RGB;
  stripe: RGB | null;
  wheelR: number;
  load: number;
}

export function sampleTruck(rng: Rng): TruckShape {
  const style = rng.weighted({ semi: 35, box: 28, tanker: 10, flatbed: 12, van: 15 });
  const cab = truckPaint(rng);
  const cargo = rng.chance(0.55) ? jitter(rng, hex(rng.pick(['#f2f2f0', '#d9d9d6', '#b0b3b6'])), 0.05) : truckPaint(rng);
  const stripe = rng.chance(0.35) ? truckPaint(rng) : null;
  const W = rng.uniform(2.4, 2.55);
  const hood = (style === 'semi' || style === 'tanker' || style === 'flatbed') && rng.chance(0.35) ? rng.uniform(1.6, 2.1) : 0;
  const withHood = (t: TruckShape): TruckShape => ({ ...t, hood, cabL: t.cabL + hood });
  switch (style) {
    case 'semi':
      return withHood({ kind: 'truck', style, cabL: rng.uniform(2.2, 2.6), hood: 0, cabH: rng.uniform(2.9, 3.4), W, cargoL: rng.uniform(10, 13.6), cargoH: rng.uniform(2.6, 2.9), cargoZ: rng.uniform(1.1, 1.25), gap: rng.uniform(0.5, 1.1), cab, cargo, stripe, wheelR: 0.5, load: 0 });
    case 'box':
      return { kind: 'truck', style, cabL: rng.uniform(1.9, 2.3), hood: 0, cabH: rng.uniform(2.5, 2.9), W: W - 0.1, cargoL: rng.uniform(4.2, 7.2), cargoH: rng.uniform(2.2, 2.6), cargoZ: rng.uniform(0.95, 1.1), gap: rng.uniform(0.1, 0.3), cab, cargo, stripe, wheelR: rng.uniform(0.45, 0.5), load: 0 };
    case 'tanker':
      return withHood({ kind: 'truck', style, cabL: rng.uniform(2.2, 2.6), hood: 0, cabH: rng.uniform(2.9, 3.3), W, cargoL: rng.uniform(9, 12), cargoH: rng.uniform(2.1, 2.5), cargoZ: rng.uniform(1.0, 1.2), gap: rng.uniform(0.6, 1.1), cab, cargo: rng.chance(0.6) ? hex('#c8ccd0') : cargo, stripe: null, wheelR: 0.5, load: 0 });
    case 'flatbed':
      return withHood({ kind: 'truck', style, cabL: rng.uniform(2.0, 2.5), hood: 0, cabH: rng.uniform(2.7, 3.2), W, cargoL: rng.uniform(6, 12), cargoH: 0.25, cargoZ: rng.uniform(1.1, 1.3), gap: rng.uniform(0.3, 0.9), cab, cargo: hex('#3a3a3a'), stripe: null, wheelR: 0.5, load: rng.uniform(0, 1) });
    default:
      return { kind: 'truck', style, cabL: rng.uniform(1.0, 1.3), hood: 0, cabH: rng.uniform(2.4, 2.8), W: rng.uniform(2.0, 2.2), cargoL: rng.uniform(4.2, 5.6), cargoH: rng.uniform(2.45, 2.8), cargoZ: 0.25, gap: 0, cab, cargo: cab, stripe, wheelR: rng.uniform(0.36, 0.4), load: 0 };
  }
}

function buildTruck(s: TruckShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  const L = s.cabL + s.gap + s.cargoL;
  const W = s.W;
  const front = L / 2;
  const cab0 = front - s.cabL;
  const cabPaint: FaceStyle = { albedo: s.cab, surface: Surface.Paint };
  const g = glass(1);
  const lamps: Lamp[] = [];
  if (s.style === 'van') {
    // One-piece delivery van: sloped bonnet and windscreen, tall box behind.
    solids.push(pushBox(polys, f, 0, 0, W + 0.02, L + 0.04, 0.2, 0.45, darkPlastic));
    solids.push(pushHexa(polys, f, [-W / 2, W / 2, -L / 2, front, 0.43], [-W / 2, W / 2, -L / 2, front - 0.15, 1.05], uniformStyle(cabPaint)));
    solids.push(pushHexa(polys, f, [-W / 2, W / 2, -L / 2, front - 0.15, 1.05], [-W / 2 + 0.05, W / 2 - 0.05, -L / 2, front - 0.9, s.cargoH], { top: cabPaint, front: g, back: cabPaint, left: cabPaint, right: cabPaint }));
    // Side cab windows.
    for (const side of [-1, 1]) {
      const a = side * (W / 2 + 0.01);
      pushPoly(polys, [f.point(a, front - 1.6, 1.15), f.point(a, front - 0.5, 1.15), f.point(a, front - 0.95, 1.95), f.point(a, front - 1.6, 1.95)], g, f.point(0, front - 1, 1.5));
    }
  } else {
    // Cab: lower body, then a windscreen band; conventional tractors have a bonnet in front.
    const zc = 0.45;
    const zw = s.cabH * 0.58;
    const cf = front - s.hood;
    const cabLen = s.cabL - s.hood;
    solids.push(pushBox(polys, f, 0, cf - cabLen / 2, W, cabLen, zc, zw, cabPaint));
    solids.push(pushHexa(polys, f, [-W / 2, W / 2, cab0, cf, zw], [-W / 2 + 0.06, W / 2 - 0.06, cab0, cf - 0.18, s.cabH], { top: cabPaint, front: g, back: cabPaint, left: cabPaint, right: cabPaint }));
    if (s.hood > 0) solids.push(pushHexa(polys, f, [-W / 2 + 0.15, W / 2 - 0.15, cf - 0.05, front, zc], [-W / 2 + 0.25, W / 2 - 0.25, cf - 0.05, front - 0.25, zw * 0.92], uniformStyle(cabPaint)));
    pushBox(polys, f, 0, front + 0.03, W - (s.hood > 0 ? 0.6 : 0.3), 0.06, zc + 0.15, zc + 0.65 + (s.hood > 0 ? 0.4 : 0), { albedo: hex('#2b2d30'), surface: Surface.Paint });
    for (const side of [-1, 1]) {
      const a = side * (W / 2 + 0.01);
      pushPoly(polys, [f.point(a, cf - 1.1, zw + 0.1), f.point(a, cf - 0.2, zw + 0.1), f.point(a, cf - 0.3, s.cabH - 0.3), f.point(a, cf - 1.1, s.cabH - 0.3)], g, f.point(0, cf - 0.6, zw + 0.5));
    }
    const cargoFront = cab0 - s.gap;
    const cargoMid = (cargoFront + -L / 2) / 2;
    // Chassis rails under everything.
    solids.push(pushBox(polys, f, 0, (cargoFront - L / 2 + front) / 2, W - 0.7, L - 0.4, 0.45, s.cargoZ, darkPlastic));
    const cargoPaint: FaceStyle = { albedo: s.cargo, surface: Surface.Paint };
    if (s.style === 'tanker') {
      const tank = new Frame(f.point(0, 0, s.cargoZ + s.cargoH / 2), f.ax, f.zx, f.lx);
      const r = s.cargoH / 2;
      const l0 = -L / 2;
      const l1 = cargoFront;
      solids.push(pushLathe(polys, tank, [[l0, W / 2 - 0.05, r * 0.8], [l0 + 0.25, W / 2, r], [l1 - 0.25, W / 2, r], [l1, W / 2 - 0.05, r * 0.8]], 10, cargoPaint, Math.PI / 10));
    } else if (s.style === 'flatbed') {
      solids.push(pushBox(polys, f, 0, cargoMid, W, s.cargoL, s.cargoZ, s.cargoZ + s.cargoH, cargoPaint));
      if (s.load > 0.35) {
        const n = s.load > 0.7 ? 2 : 1;
        for (let i = 0; i < n; i++) {
          const len = s.cargoL / n - 0.6;
          const lc = -L / 2 + (i + 0.5) * (s.cargoL / n);
          solids.push(pushBox(polys, f, 0, lc, W - 0.2, len, s.cargoZ + s.cargoH, s.cargoZ + s.cargoH + 0.8 + s.load, { albedo: hex(i % 2 ? '#8d6e63' : '#607d8b'), surface: Surface.Matte }));
        }
      }
    } else {
      solids.push(pushBox(polys, f, 0, cargoMid, W + 0.04, s.cargoL, s.cargoZ, s.cargoZ + s.cargoH, cargoPaint));
      if (s.stripe) {
        for (const side of [-1, 1]) {
          const a = side * (W / 2 + 0.03);
          const z0 = s.cargoZ + s.cargoH * 0.35;
          const z1 = s.cargoZ + s.cargoH * 0.6;
          pushPoly(polys, [f.point(a, -L / 2 + 0.3, z0), f.point(a, cargoFront - 0.3, z0), f.point(a, cargoFront - 0.3, z1), f.point(a, -L / 2 + 0.3, z1)], { albedo: s.stripe, surface: Surface.Paint }, f.point(0, cargoMid, z0));
        }
      }
    }
  }
  // Wheels: front axle under the cab, driven axle(s) behind it, trailer axles at the rear.
  const axles: number[] = [front - (s.style === 'van' ? 0.9 : 1.1)];
  if (s.style === 'semi' || s.style === 'tanker' || s.style === 'flatbed') axles.push(cab0 - s.gap - 0.7, cab0 - s.gap - 2.0, -L / 2 + 1.3, -L / 2 + 2.6, -L / 2 + 3.9);
  else axles.push(-L / 2 + (s.style === 'van' ? 1.0 : 1.5));
  for (const side of [-1, 1]) {
    for (const l of axles) {
      pushDisc(polys, f, side * (W / 2 + 0.01), l, s.wheelR, s.wheelR, tyre, side);
      pushDisc(polys, f, side * (W / 2 + 0.02), l, s.wheelR, s.wheelR * 0.5, chrome, side, 8);
    }
  }
  for (const side of [-1, 1]) {
    const a0 = Math.min(side * (W / 2 - 0.1), side * (W / 2 - 0.45));
    const a1 = Math.max(side * (W / 2 - 0.1), side * (W / 2 - 0.45));
    lampQuad(polys, f, a0, a1, front + 0.015, 0.6, 0.78, headLamp(st.lightsOn), 1);
    lampQuad(polys, f, a0, a1, -L / 2 - 0.04, 0.75, 0.95, tailLamp(st.lightsOn, st.braking), -1);
    lamps.push({ pos: f.point(side * (W / 2 - 0.28), front + 0.02, 0.69), dir: f.lx, color: [1, 0.93, 0.8], size: 0.15, kind: 'head' });
    lamps.push({ pos: f.point(side * (W / 2 - 0.28), -L / 2 - 0.05, 0.85), dir: [-f.lx[0], -f.lx[1], 0], color: st.braking ? [1, 0.05, 0.03] : [0.7, 0.03, 0.02], size: 0.12, kind: 'tail' });
  }
  return { classId: 1, polys, solids, footprint: footprint(f, W, L), lamps };
}

// ---------------------------------------------------------------- buses

export interface BusShape {
  kind: 'bus';
  L: number;
  W: number;
  H: number;
  paint: RGB;
  roof: RGB;
  stripe: RGB | null;
  decks: 1 | 2;
  articulated: boolean;
  winZ0: number;
  pane: number;
  display: boolean;
}

export function sampleBus(rng: Rng): BusShape {
  const decks = rng.chance(0.15) ? 2 : 1;
  const articulated = decks === 1 && rng.chance(0.2);
  const school = rng.chance(0.08);
  const paint = school ? hex('#f2b400') : busPaint(rng);
  return {
    kind: 'bus',
    L: articulated ? rng.uniform(17, 18.5) : rng.uniform(10.5, 13.5),
    W: rng.uniform(2.45, 2.55),
    H: decks === 2 ? rng.uniform(4.1, 4.4) : rng.uniform(2.95, 3.4),
    paint,
    roof: rng.chance(0.6) ? hex('#e8e8e6') : paint,
    stripe: rng.chance(0.4) ? busPaint(rng) : null,
    decks,
    articulated,
    winZ0: rng.uniform(1.0, 1.35),
    pane: rng.uniform(1.1, 1.7),
    display: rng.chance(0.8),
  };
}

function buildBus(s: BusShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  const { L, W, H } = s;
  const paint: FaceStyle = { albedo: s.paint, surface: Surface.Paint };
  const roof: FaceStyle = { albedo: s.roof, surface: Surface.Paint };
  const z0 = 0.32;
  const g = glass(1.1);
  const sections: [number, number][] = s.articulated ? [[-L / 2, -L / 2 + L * 0.42], [-L / 2 + L * 0.42 + 0.8, L / 2]] : [[-L / 2, L / 2]];
  for (const [l0, l1] of sections) {
    solids.push(pushHexa(polys, f, [-W / 2, W / 2, l0, l1, z0], [-W / 2 + 0.08, W / 2 - 0.08, l0 + 0.05, l1 - 0.08, H], { top: roof, front: paint, back: paint, left: paint, right: paint }));
    // Window band(s) with pillars, both sides.
    const rows = s.decks === 2 ? [[s.winZ0, s.winZ0 + 1.0], [H - 1.45, H - 0.45]] : [[s.winZ0, H - 0.5]];
    for (const side of [-1, 1]) {
      const a = side * (W / 2 - 0.01 + 0.02);
      for (const [wz0, wz1] of rows) {
        for (let l = l0 + 0.4; l + 0.5 < l1 - (l1 === L / 2 ? 2.2 : 0.3); l += s.pane) {
          const le = Math.min(l + s.pane - 0.14, l1 - 0.3);
          const inset = ((wz1 - z0) / (H - z0)) * 0.08;
          pushPoly(polys, [f.point(side * (W / 2 + 0.012 - inset * 0.1), l, wz0), f.point(side * (W / 2 + 0.012 - inset * 0.1), le, wz0), f.point(a - side * inset, le, wz1), f.point(a - side * inset, l, wz1)], { ...g, glow: st.lightsOn ? [0.35, 0.33, 0.25] : undefined, surface: Surface.Window }, f.point(0, (l + le) / 2, (wz0 + wz1) / 2));
        }
      }
      if (s.stripe) {
        pushPoly(polys, [f.point(side * (W / 2 + 0.01), l0 + 0.1, 0.55), f.point(side * (W / 2 + 0.01), l1 - 0.1, 0.55), f.point(side * (W / 2 + 0.01), l1 - 0.1, 0.8), f.point(side * (W / 2 + 0.01), l0 + 0.1, 0.8)], { albedo: s.stripe, surface: Surface.Paint }, f.point(0, 0, 0.7));
      }
    }
  }
  if (s.articulated) {
    const l0 = -L / 2 + L * 0.42;
    pushBox(polys, f, 0, l0 + 0.4, W - 0.15, 0.82, z0 + 0.1, H - 0.1, { albedo: hex('#1c1c1c') });
  }
  // Windscreen, destination display, rear window.
  const fl = L / 2 + 0.012;
  pushPoly(polys, [f.point(-W / 2 + 0.12, fl, 0.95), f.point(W / 2 - 0.12, fl, 0.95), f.point(W / 2 - 0.17, fl - 0.07, H - 0.45), f.point(-W / 2 + 0.17, fl - 0.07, H - 0.45)], g, f.point(0, 0, 1.5));
  if (s.display) lampQuad(polys, f, -W / 2 + 0.35, W / 2 - 0.35, fl - 0.075, H - 0.4, H - 0.15, { albedo: hex('#202010'), surface: Surface.Window, glow: [1.6, 0.9, 0.1] }, 1);
  lampQuad(polys, f, -W / 2 + 0.3, W / 2 - 0.3, -L / 2 - 0.012, H - 1.3, H - 0.5, g, -1);
  const lamps: Lamp[] = [];
  for (const side of [-1, 1]) {
    const a0 = Math.min(side * (W / 2 - 0.1), side * (W / 2 - 0.4));
    const a1 = Math.max(side * (W / 2 - 0.1), side * (W / 2 - 0.4));
    lampQuad(polys, f, a0, a1, fl, 0.5, 0.68, headLamp(st.lightsOn), 1);
    lampQuad(polys, f, a0, a1, -L / 2 - 0.012, 0.6, 0.95, tailLamp(st.lightsOn, st.braking), -1);
    lamps.push({ pos: f.point(side * (W / 2 - 0.25), fl + 0.01, 0.59), dir: f.lx, color: [1, 0.93, 0.8], size: 0.15, kind: 'head' });
    lamps.push({ pos: f.point(side * (W / 2 - 0.25), -L / 2 - 0.02, 0.78), dir: [-f.lx[0], -f.lx[1], 0], color: st.braking ? [1, 0.05, 0.03] : [0.7, 0.03, 0.02], size: 0.12, kind: 'tail' });
    const axles = s.articulated ? [L / 2 - 2.7, -L / 2 + L * 0.42 - 1.2, -L / 2 + 2.5] : [L / 2 - 2.6, -L / 2 + 3.0];
    for (const l of axles) {
      pushDisc(polys, f, side * (W / 2 + 0.015), l, 0.5, 0.5, tyre, side);
      pushDisc(polys, f, side * (W / 2 + 0.025), l, 0.5, 0.26, chrome, side, 8);
    }
  }
  return { classId: 2, polys, solids, footprint: footprint(f, W, L), lamps };
}

// ---------------------------------------------------------------- people and riders

export interface PersonShape {
  kind: 'person';
  h: number;
  shoulder: number;
  top: RGB;
  bottom: RGB;
  shoes: RGB;
  skin: RGB;
  hair: RGB;
  bag: RGB | null;
  umbrella: RGB | null;
  coat: boolean;
}

export function samplePerson(rng: Rng, rainy = false): PersonShape {
  const child = rng.chance(0.08);
  const h = child ? rng.uniform(1.05, 1.45) : rng.normal(1.72, 0.09);
  return {
    kind: 'person',
    h,
    shoulder: h * rng.uniform(0.22, 0.26),
    top: clothing(rng),
    bottom: clothing(rng),
    shoes: hex(rng.pick(['#111111', '#3b2a1e', '#e0e0e0', '#555555'])),
    skin: skin(rng),
    hair: hair(rng),
    bag: rng.chance(0.3) ? clothing(rng) : null,
    umbrella: rainy && rng.chance(0.6) ? clothing(rng) : null,
    coat: rng.chance(0.25),
  };
}

/** A box-shaped limb between two world points, its width along `side`. */
function pushSegment(out: Poly[], p0: Vec3, p1: Vec3, side: Vec3, w: number, d: number, style: FaceStyle): Vec3[] {
  const u: Vec3 = [p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]];
  const ul = Math.hypot(u[0], u[1], u[2]) || 1;
  u[0] /= ul;
  u[1] /= ul;
  u[2] /= ul;
  const k = side[0] * u[0] + side[1] * u[1] + side[2] * u[2];
  let s: Vec3 = [side[0] - k * u[0], side[1] - k * u[1], side[2] - k * u[2]];
  const sl = Math.hypot(s[0], s[1], s[2]) || 1;
  s = [s[0] / sl, s[1] / sl, s[2] / sl];
  const t: Vec3 = [u[1] * s[2] - u[2] * s[1], u[2] * s[0] - u[0] * s[2], u[0] * s[1] - u[1] * s[0]];
  const fr = new Frame(p0, s, t, u);
  return pushBox(out, fr, 0, 0, w, d, 0, ul, uniformStyle(style));
}

/** Human figure in frame f (standing on z = 0 of f, facing +l). Hips can be placed by `seat`. */
function pushHuman(polys: Poly[], solids: Vec3[][], s: PersonShape, f: Frame, st: AnimState, pose: 'walk' | 'ride' | 'pedal', seat?: { l: number; z: number; hands: [number, number]; feet?: [number, number] }): void {
  const h = s.h;
  const hipZ = seat ? seat.z : h * 0.5;
  const hipL = seat ? seat.l : 0;
  const lean = pose === 'walk' ? 0 : pose === 'ride' ? 0.5 : 0.35;
  const torsoLen = h * 0.3;
  const shoulderZ = hipZ + torsoLen * Math.cos(lean);
  const shoulderL = hipL + torsoLen * Math.sin(lean);
  const top: FaceStyle = { albedo: s.top };
  const bottom: FaceStyle = { albedo: s.bottom };
  const skinS: FaceStyle = { albedo: s.skin };
  const legLen = h * 0.47;
  const swing = st.moving && pose === 'walk' ? 0.42 * Math.sin(st.phase) : 0;
  for (const side of [-1, 1]) {
    const hip = f.point(side * s.shoulder * 0.3, hipL, hipZ);
    let foot: Vec3;
    let knee: Vec3 | null = null;
    if (pose === 'walk') {
      const a = swing * side;
      foot = f.point(side * s.shoulder * 0.3, hipL + legLen * Math.sin(a), Math.max(0.04, hipZ - legLen * Math.cos(a)));
    } else {
      // Two-link leg to the pedal / footpeg, knee forward.
      const crank = pose === 'pedal' ? st.phase + (side > 0 ? 0 : Math.PI) : 0;
      const fl = seat?.feet ? seat.feet[0] + (pose === 'pedal' ? 0.17 * Math.cos(crank) : 0) : 0;
      const fz = seat?.feet ? seat.feet[1] + (pose === 'pedal' ? 0.17 * Math.sin(crank) : 0) : 0.3;
      foot = f.point(side * s.shoulder * 0.35, fl, fz);
      const dl = fl - hipL;
      const dz = fz - hipZ;
      const d = Math.min(Math.hypot(dl, dz), legLen * 0.98);
      const up = Math.sqrt(Math.max(0, (legLen / 2) ** 2 - (d / 2) ** 2));
      const ml = hipL + dl / 2;
      const mz = hipZ + dz / 2;
      const n = Math.hypot(dl, dz) || 1;
      // Perpendicular pointing forward (+l).
      let pl = -dz / n;
      let pz = dl / n;
      if (pl < 0) {
        pl = -pl;
        pz = -pz;
      }
      knee = f.point(side * s.shoulder * 0.35, ml + pl * up, mz + pz * up);
    }
    if (knee) {
      solids.push(pushSegment(polys, hip, knee, f.ax, 0.14, 0.15, bottom));
      solids.push(pushSegment(polys, knee, foot, f.ax, 0.12, 0.13, bottom));
    } else solids.push(pushSegment(polys, hip, foot, f.ax, 0.14, 0.15, bottom));
    pushBox(polys, new Frame(foot, f.ax, f.lx, f.zx), 0, 0.06, 0.1, 0.26, -0.04, 0.05, { albedo: s.shoes });
  }
  // Torso (a coat hangs lower), neck and head.
  const tf = f.child(0, hipL, hipZ - (s.coat ? 0.15 : 0.02), -lean);
  solids.push(pushHexa(polys, tf, [-s.shoulder * 0.42, s.shoulder * 0.42, -0.11, 0.11, 0], [-s.shoulder / 2, s.shoulder / 2, -0.12, 0.1, torsoLen + (s.coat ? 0.15 : 0.02)], uniformStyle(top)));
  const head = f.child(0, shoulderL, shoulderZ + 0.04);
  const hh = h * 0.13;
  solids.push(pushLathe(polys, head, [[0, 0.05, 0.05], [0.03, 0.085, 0.095], [hh * 0.55, 0.09, 0.1]], 7, skinS));
  pushLathe(polys, head, [[hh * 0.55, 0.095, 0.105], [hh * 0.85, 0.085, 0.095], [hh + 0.02, 0.0, 0.0]], 7, { albedo: pose === 'ride' ? s.top : s.hair });
  // Arms swing against the legs when walking; reach for the bars when riding.
  for (const side of [-1, 1]) {
    const sh = f.point(side * (s.shoulder / 2 + 0.04), shoulderL, shoulderZ - 0.04);
    let hand: Vec3;
    if (seat) hand = f.point(side * seat.hands[0], seat.hands[1], seat.z + 0.25);
    else {
      const a = -swing * side * 0.8;
      hand = f.point(side * (s.shoulder / 2 + 0.07), shoulderL + h * 0.36 * Math.sin(a), shoulderZ - 0.04 - h * 0.36 * Math.cos(a));
    }
    solids.push(pushSegment(polys, sh, hand, f.lx, 0.09, 0.1, top));
    if (!seat) pushSegment(polys, hand, [hand[0], hand[1], hand[2] - 0.08], f.lx, 0.07, 0.08, skinS);
  }
  if (s.bag && pose === 'walk') solids.push(pushBox(polys, tf.child(0, -0.18, 0.1), 0, 0, s.shoulder * 0.7, 0.14, 0, torsoLen * 0.7, { albedo: s.bag }));
  if (s.umbrella && pose === 'walk') {
    const top0 = f.point(0.1, 0.05, h + 0.2);
    pushSegment(polys, f.point(0.18, 0.1, shoulderZ - 0.2), top0, f.lx, 0.02, 0.02, { albedo: hex('#222222') });
    solids.push(pushLathe(polys, new Frame(top0, f.ax, f.lx, f.zx), [[0, 0.55, 0.55], [0.28, 0, 0]], 8, { albedo: s.umbrella }));
  }
}

function buildPerson(s: PersonShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  pushHuman(polys, solids, s, f, st, 'walk');
  return { classId: 5, polys, solids, footprint: footprint(f, 0.3, 0.3, 0.08), lamps: [] };
}

export interface MotoShape {
  kind: 'motorcycle';
  paint: RGB;
  rider: PersonShape;
  sport: boolean;
  scooter: boolean;
  wheelR: number;
}

export function sampleMoto(rng: Rng): MotoShape {
  const rider = samplePerson(rng);
  rider.h = Math.max(1.6, rider.h);
  rider.hair = hex(rng.pick(['#111111', '#f0f0f0', '#b71c1c', '#1565c0', '#333333']));
  rider.bag = null;
  rider.umbrella = null;
  const scooter = rng.chance(0.3);
  return { kind: 'motorcycle', paint: truckPaint(rng), rider, sport: !scooter && rng.chance(0.4), scooter, wheelR: scooter ? 0.24 : rng.uniform(0.3, 0.33) };
}

function buildMoto(s: MotoShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  const r = s.wheelR;
  const paint: FaceStyle = { albedo: s.paint, surface: Surface.Paint };
  for (const l of [0.7, -0.7]) {
    pushDisc(polys, f, 0, l, r, r, tyre, 1, 10, true);
    for (const side of [-1, 1]) pushDisc(polys, f, side * 0.06, l, r, r * 0.45, chrome, side, 8);
  }
  if (s.scooter) {
    solids.push(pushBox(polys, f, 0, -0.3, 0.38, 0.9, 0.25, 0.7, paint));
    solids.push(pushHexa(polys, f, [-0.25, 0.25, 0.35, 0.7, 0.25], [-0.2, 0.2, 0.4, 0.55, 1.0], uniformStyle(paint)));
  } else {
    solids.push(pushBox(polys, f, 0, 0.05, 0.34, 0.5, 0.3, 0.55, { albedo: hex('#3a3a3c'), surface: Surface.Paint }));
    solids.push(pushHexa(polys, f, [-0.17, 0.17, -0.45, 0.35, 0.55], [-0.15, 0.15, -0.55, 0.3, 0.82], uniformStyle(paint)));
    if (s.sport) solids.push(pushHexa(polys, f, [-0.26, 0.26, 0.25, 0.7, 0.45], [-0.18, 0.18, 0.35, 0.55, 1.05], uniformStyle(paint)));
    solids.push(pushBox(polys, f, 0, -0.75, 0.2, 0.4, 0.6, 0.72, paint));
  }
  pushSegment(polys, f.point(0, 0.7, r), f.point(0, 0.5, 1.0), f.ax, 0.08, 0.08, chrome);
  pushSegment(polys, f.point(-0.36, 0.48, 1.0), f.point(0.36, 0.48, 1.0), f.lx, 0.04, 0.04, darkPlastic);
  lampQuad(polys, f, -0.08, 0.08, 0.64, 0.86, 0.98, headLamp(st.lightsOn), 1);
  lampQuad(polys, f, -0.07, 0.07, -0.97, 0.66, 0.74, tailLamp(st.lightsOn, st.braking), -1);
  pushHuman(polys, solids, s.rider, f, st, 'ride', { l: -0.25, z: s.scooter ? 0.78 : 0.85, hands: [0.33, 0.45], feet: [0.05, 0.32] });
  const lamps: Lamp[] = [
    { pos: f.point(0, 0.66, 0.92), dir: f.lx, color: [1, 0.93, 0.8], size: 0.1, kind: 'head' },
    { pos: f.point(0, -0.98, 0.7), dir: [-f.lx[0], -f.lx[1], 0], color: [0.7, 0.03, 0.02], size: 0.06, kind: 'tail' },
  ];
  return { classId: 3, polys, solids, footprint: footprint(f, 0.5, 2.0, 0.12), lamps };
}

export interface BikeShape {
  kind: 'bicycle';
  paint: RGB;
  rider: PersonShape;
}

export function sampleBike(rng: Rng): BikeShape {
  const rider = samplePerson(rng);
  rider.h = Math.max(1.5, rider.h);
  rider.umbrella = null;
  return { kind: 'bicycle', paint: jitter(rng, hex(rng.pick(['#111111', '#c62828', '#1565c0', '#e0e0e0', '#2e7d32', '#9e9e9e', '#f9a825'])), 0.1), rider };
}

function buildBike(s: BikeShape, f: Frame, st: AnimState): ObjectModel {
  const polys: Poly[] = [];
  const solids: Vec3[][] = [];
  const r = 0.34;
  const paint: FaceStyle = { albedo: s.paint, surface: Surface.Paint };
  for (const l of [0.53, -0.53]) pushRing(polys, f, 0, l, r, r, 0.05, tyre, 12);
  const bb: [number, number] = [0, 0.3];
  const seat: [number, number] = [-0.2, 0.9];
  const head: [number, number] = [0.4, 0.9];
  for (const [p, q] of [
    [bb, seat],
    [bb, head],
    [seat, head],
    [bb, [-0.53, r]],
    [seat, [-0.53, r]],
    [head, [0.53, r]],
  ] as [number, number][][]) {
    pushBar(polys, f, 0, p[0], p[1], q[0], q[1], 0.045, paint);
  }
  pushSegment(polys, f.point(-0.3, 0.45, 1.02), f.point(0.3, 0.45, 1.02), f.lx, 0.03, 0.03, darkPlastic);
  pushBox(polys, f, 0, -0.22, 0.12, 0.25, 0.9, 0.96, darkPlastic);
  pushHuman(polys, solids, s.rider, f, st, 'pedal', { l: -0.22, z: 0.96, hands: [0.28, 0.42], feet: [bb[0], bb[1]] });
  const lamps: Lamp[] = st.lightsOn ? [{ pos: f.point(0, 0.5, 0.9), dir: f.lx, color: [0.6, 0.6, 0.55], size: 0.04, kind: 'head' }] : [];
  return { classId: 4, polys, solids, footprint: footprint(f, 0.4, 1.7, 0.08), lamps };
}

// ---------------------------------------------------------------- dispatch

export function sampleShape(rng: Rng, classId: number, rainy = false): Shape {
  switch (classId) {
    case 0:
      return sampleCar(rng);
    case 1:
      return sampleTruck(rng);
    case 2:
      return sampleBus(rng);
    case 3:
      return sampleMoto(rng);
    case 4:
      return sampleBike(rng);
    default:
      return samplePerson(rng, rainy);
  }
}

export function buildObject(s: Shape, f: Frame, st: AnimState): ObjectModel {
  switch (s.kind) {
    case 'car':
      return buildCar(s, f, st);
    case 'truck':
      return buildTruck(s, f, st);
    case 'bus':
      return buildBus(s, f, st);
    case 'motorcycle':
      return buildMoto(s, f, st);
    case 'bicycle':
      return buildBike(s, f, st);
    default:
      return buildPerson(s, f, st);
  }
}

/** Length along the direction of travel (metres), for spacing objects in a lane. */
export function shapeLength(s: Shape): number {
  switch (s.kind) {
    case 'car':
      return s.L;
    case 'truck':
      return s.cabL + s.gap + s.cargoL;
    case 'bus':
      return s.L;
    case 'motorcycle':
      return 2.1;
    case 'bicycle':
      return 1.75;
    default:
      return 0.5;
  }
}

export function shapeWidth(s: Shape): number {
  switch (s.kind) {
    case 'car':
      return s.W;
    case 'truck':
      return s.W;
    case 'bus':
      return s.W;
    case 'motorcycle':
      return 0.8;
    case 'bicycle':
      return 0.6;
    default:
      return 0.5;
  }
}
