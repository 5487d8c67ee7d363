import type { Vec3 } from './camera.js';
import { type Poly, type RGB, Surface } from './geometry.js';
import type { ObjectModel } from './models.js';
import { FrameBuffer, Mode, fillPolygon } from './raster.js';
import type { Rng } from './rng.js';
import type { Road, Scene } from './scene.js';
import { noiseTexture, type NoiseTexture } from './texture.js';
import { convexHull } from '../core/convex-hull.js';

/** Ground truth of one labelled object in one rendered frame. */
export interface ObjectTruth {
  /** Index into the objects passed to renderFrame. */
  index: number;
  classId: number;
  /** Full-extent (amodal) box, clipped to the image: [x1, y1, x2, y2] pixels. */
  box: [number, number, number, number];
  /** Fraction of the object that is seen: occlusion × truncation by the image border, 0..1. */
  visibility: number;
  /** Unoccluded fraction of the object's in-image silhouette, 0..1. */
  unoccluded: number;
  /** Fraction of the full box that lies inside the image, 0..1. */
  inImage: number;
  /** Visible pixels. */
  pixels: number;
}

/**
 * Renders the scene with its objects into fb (linear colour) and measures each object's box and
 * visibility. Post-processing (noise, blur, tone mapping) is separate: see post.ts.
 */
export function renderFrame(fb: FrameBuffer, scene: Scene, objects: ObjectModel[], rng: Rng, exposure = 0): ObjectTruth[] {
  fb.reset(objects.length);
  renderBackground(fb, scene);
  return renderObjects(fb, scene, objects, rng, null, exposure);
}

/** The static part of a frame: ground (lit by street lamps at night), scenery and their shadows. */
export function renderBackground(fb: FrameBuffer, scene: Scene): void {
  const tex = noiseTexture(scene.textureSeed);
  renderGround(fb, scene, tex);
  for (const p of scene.scenery) drawPoly(fb, scene, p, 0);
  if (sunShadows(scene)) for (const s of scene.scenerySolids) shadowOf(fb, scene, s, scene.light.sun);
  applyShadows(fb, scene, null);
}

/**
 * A copy of a rendered background, restored before each video frame. Its fog is applied once here;
 * each frame then fogs only the pixels that objects cover.
 */
export class BackgroundCache {
  readonly color: Float32Array;
  readonly invz: Float32Array;
  readonly mask: Uint8Array;
  constructor(fb: FrameBuffer, scene: Scene) {
    fog(fb, scene, false);
    this.color = fb.color.slice();
    this.invz = fb.invz.slice();
    this.mask = fb.mask.slice();
  }
  restore(fb: FrameBuffer, objects: number): void {
    fb.reset(objects);
    fb.color.set(this.color);
    fb.invz.set(this.invz);
    fb.mask.set(this.mask);
  }
}

/**
 * Adds objects (their shadows, headlight beams, bodies, glows) and the atmosphere to a frame whose
 * background is drawn. With `bg`, shadows already baked into the background are not darkened twice.
 */
export function renderObjects(fb: FrameBuffer, scene: Scene, objects: ObjectModel[], rng: Rng, bg: BackgroundCache | null, exposure = 0): ObjectTruth[] {
  const cam = scene.camera;
  // Shadow levels already applied to the background must not be applied twice.
  let base: Uint8Array;
  if (bg) base = bg.mask;
  else {
    fb.baseMask.set(fb.mask);
    base = fb.baseMask;
  }
  // Shadows: sun shadows (level 1) and contact shadows under objects (level 2).
  if (sunShadows(scene)) for (const o of objects) for (const s of o.solids) shadowOf(fb, scene, s, scene.light.sun);
  for (const o of objects) fillPolygon(fb, cam, o.footprint.flat(), 2, 0, 0, 0, Mode.GroundMask);
  applyShadows(fb, scene, base, bg !== null);
  if (scene.light.lightsOn) headlightBeams(fb, scene, objects);
  objects.forEach((o, i) => {
    for (const p of o.polys) drawPoly(fb, scene, p, i + 1);
  });
  const truth = measure(fb, scene, objects);
  if (exposure > 0) motionBlur(fb, scene, objects, truth, exposure);
  if (scene.light.lightsOn) glows(fb, scene, objects);
  fog(fb, scene, bg !== null);
  if (scene.weather.rain > 0) rain(fb, scene, rng);
  return truth;
}

function sunShadows(scene: Scene): boolean {
  return scene.light.sun[2] > 0.08 && (scene.light.kind === 'day' || scene.light.kind === 'dusk');
}

// exp(-x) for x in [0, 16), 256 steps per unit: fog is evaluated for every pixel of every frame.
const EXP_STEPS = 256;
const expTable = (() => {
  const t = new Float32Array(16 * EXP_STEPS + 1);
  for (let i = 0; i < t.length; i++) t[i] = Math.exp(-i / EXP_STEPS);
  return t;
})();
const EXP_LAST = expTable.length - 1;

// ---------------------------------------------------------------- shading

function shade(scene: Scene, p: Poly, out: RGB): RGB {
  const L = scene.light;
  const n = p.normal;
  const a = p.albedo;
  const cam = scene.camera.pose.position;
  let nx = n[0];
  let ny = n[1];
  let nz = n[2];
  if (p.twoSided) {
    // Face the camera.
    const px = p.pts[0] - cam[0];
    const py = p.pts[1] - cam[1];
    const pz = p.pts[2] - cam[2];
    if (nx * px + ny * py + nz * pz > 0) {
      nx = -nx;
      ny = -ny;
      nz = -nz;
    }
  }
  const sky = 0.6 + 0.4 * nz;
  const ndl = Math.max(0, nx * L.sun[0] + ny * L.sun[1] + nz * L.sun[2]);
  let r = a[0] * (L.ambient[0] * sky + L.sunColor[0] * ndl);
  let g = a[1] * (L.ambient[1] * sky + L.sunColor[1] * ndl);
  let b = a[2] * (L.ambient[2] * sky + L.sunColor[2] * ndl);
  if (p.surface === Surface.Glass || p.surface === Surface.Window || p.surface === Surface.Paint) {
    // Reflection of the sky: glass mirrors the horizon on vertical faces, the zenith on flat ones.
    const k = p.surface === Surface.Paint ? 0.05 : 0.16;
    const up = Math.max(0, nz);
    const env: RGB = [L.skyHorizon[0] + (L.skyTop[0] - L.skyHorizon[0]) * up, L.skyHorizon[1] + (L.skyTop[1] - L.skyHorizon[1]) * up, L.skyHorizon[2] + (L.skyTop[2] - L.skyHorizon[2]) * up];
    const bright = L.kind === 'night' ? 0.3 : 1;
    r += k * env[0] * bright;
    g += k * env[1] * bright;
    b += k * env[2] * bright;
  }
  if (p.glow) {
    r += p.glow[0];
    g += p.glow[1];
    b += p.glow[2];
  }
  out[0] = r;
  out[1] = g;
  out[2] = b;
  return out;
}

const shadeTmp: RGB = [0, 0, 0];
function drawPoly(fb: FrameBuffer, scene: Scene, p: Poly, owner: number): void {
  if (!p.twoSided) {
    // Back-face culling: the normal must point towards the camera.
    const cam = scene.camera.pose.position;
    const n = p.normal;
    if (n[0] * (cam[0] - p.pts[0]) + n[1] * (cam[1] - p.pts[1]) + n[2] * (cam[2] - p.pts[2]) <= 0) return;
  }
  const c = shade(scene, p, shadeTmp);
  const grad = p.surface === Surface.Glass ? 0.3 : p.surface === Surface.Paint ? 0.12 : 0.04;
  fillPolygon(fb, scene.camera, p.pts, c[0], c[1], c[2], owner, Mode.Opaque, p.normal[2] > 0.7 ? 0 : grad);
}

// ---------------------------------------------------------------- shadows

const hullTmp: [number, number][] = [];
function shadowOf(fb: FrameBuffer, scene: Scene, corners: Vec3[], sun: Vec3): void {
  hullTmp.length = 0;
  for (const c of corners) {
    const t = c[2] / sun[2];
    hullTmp.push([c[0] - t * sun[0], c[1] - t * sun[1]]);
  }
  const hull = convexHull(hullTmp);
  if (hull.length < 3) return;
  const pts: number[] = [];
  for (const [x, y] of hull) pts.push(x, y, 0.002);
  fillPolygon(fb, scene.camera, pts, 1, 0, 0, 0, Mode.GroundMask);
}

/**
 * Darkens masked pixels; with `base`, only by what goes beyond the already-applied base level.
 * `fogged`: the pixels already carry fog, so only their unfogged part is darkened.
 */
function applyShadows(fb: FrameBuffer, scene: Scene, base: Uint8Array | null, fogged = false): void {
  const fc = scene.weather.fogColor;
  const fk = (3 / scene.weather.visibility) * EXP_STEPS;
  const invz = fb.invz;
  const L = scene.light;
  const amb = L.ambient[0] + L.ambient[1] + L.ambient[2];
  const sunL = (L.sunColor[0] + L.sunColor[1] + L.sunColor[2]) * Math.max(0, L.sun[2]);
  const sunShadow = sunShadows(scene) ? amb / (amb + sunL) : 1;
  const contact = Math.min(sunShadow, 0.55);
  const factor = [1, sunShadow, contact];
  const mask = fb.mask;
  const col = fb.color;
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i];
    if (m === 0) continue;
    let k = factor[m];
    if (base) {
      const b = base[i];
      if (b >= m) continue;
      k /= factor[b];
    }
    if (fogged && invz[i] > 0) {
      const x = fk / invz[i];
      const a = 1 - (x >= EXP_LAST ? 0 : expTable[x | 0]);
      const o = i * 3;
      col[o] = fc[0] * a + (col[o] - fc[0] * a) * k;
      col[o + 1] = fc[1] * a + (col[o + 1] - fc[1] * a) * k;
      col[o + 2] = fc[2] * a + (col[o + 2] - fc[2] * a) * k;
      continue;
    }
    col[i * 3] *= k;
    col[i * 3 + 1] *= k;
    col[i * 3 + 2] *= k;
  }
}

// ---------------------------------------------------------------- ground and sky

function lineCoverage(d: number, halfWidth: number, fp: number): number {
  const ad = d < 0 ? -d : d;
  const c = (halfWidth + fp / 2 - ad) / fp;
  if (c <= 0) return 0;
  const cap = Math.min(1, (2 * halfWidth) / fp);
  return c < cap ? c : cap;
}

/** Paint on a road at along-coordinate s, perpendicular q; returns coverage and sets colour. */
function roadPaint(scene: Scene, road: Road, s: number, q: number, fpQ: number, fpS: number, out: RGB): number {
  let best = 0;
  for (const line of road.lines) {
    const d = q - line.off;
    if (d > 0.5 + fpQ || d < -0.5 - fpQ) continue;
    if (line.period > 0) {
      const ph = s - Math.floor(s / line.period) * line.period;
      if (ph > line.on) continue;
    }
    const c = lineCoverage(d, line.halfWidth, fpQ);
    if (c > best) {
      best = c;
      out[0] = line.color[0];
      out[1] = line.color[1];
      out[2] = line.color[2];
    }
  }
  // Zebra crossings and stop lines near the junction.
  const other = road === scene.main ? scene.cross : scene.main;
  if (other) {
    const cw = 3;
    const before = other.lo - 1.5;
    const after = other.hi + 1.5;
    const inZebra = (s > before - cw && s < before) || (s > after && s < after + cw);
    if (inZebra) {
      const ph = (q - road.lo) - Math.floor((q - road.lo) / 1.1) * 1.1;
      const c = lineCoverage(ph - 0.55, 0.3, fpQ);
      if (c > best && q > road.lo + 0.3 && q < road.hi - 0.3) {
        best = c;
        out[0] = out[1] = out[2] = 0.7;
      }
    }
    const stop = lineCoverage(s - (before - cw - 0.8), 0.2, fpS) + lineCoverage(s - (after + cw + 0.8), 0.2, fpS);
    if (stop > best) {
      best = Math.min(1, stop);
      out[0] = out[1] = out[2] = 0.7;
    }
  }
  return best;
}

const paintTmp: RGB = [0, 0, 0];
function renderGround(fb: FrameBuffer, scene: Scene, tex: NoiseTexture): void {
  const cam = scene.camera;
  const W = fb.width;
  const H = fb.height;
  const f = cam.forward;
  const r = cam.right;
  const dn = cam.down;
  const pos = cam.pose.position;
  const h = pos[2];
  const L = scene.light;
  const sunUp = Math.max(0, L.sun[2]);
  const lr = L.ambient[0] + L.sunColor[0] * sunUp;
  const lg = L.ambient[1] + L.sunColor[1] * sunUp;
  const lb = L.ambient[2] + L.sunColor[2] * sunUp;
  const main = scene.main;
  const cross = scene.cross;
  const asph = scene.asphalt;
  const wet = scene.weather.wet;
  const col = fb.color;
  const invz = fb.invz;
  const sw = main.sidewalk;
  const swc = scene.sidewalkColor;
  const kerb = scene.kerbColor;
  const verge = scene.verge;
  const grass = scene.vergeKind === 'grass';
  const tile = 0.3 + (scene.textureSeed % 7) * 0.1;
  const lamps = scene.light.lightsOn ? scene.streetLamps : [];
  const nLamps = lamps.length;
  const lampXY = new Float64Array(nLamps * 3);
  lamps.forEach((l, k) => lampXY.set(l, k * 3));
  const lampPower = (scene.light.kind === 'night' ? 1 : scene.light.kind === 'dusk' ? 0.35 : 0.1) * 25;
  for (let y = 0; y < H; y++) {
    const b = (y + 0.5 - cam.cy) / cam.fy;
    let dx = f[0] + ((0.5 - cam.cx) / cam.fx) * r[0] + b * dn[0];
    let dy = f[1] + ((0.5 - cam.cx) / cam.fx) * r[1] + b * dn[1];
    let dz = f[2] + ((0.5 - cam.cx) / cam.fx) * r[2] + b * dn[2];
    const sx = r[0] / cam.fx;
    const sy = r[1] / cam.fx;
    const sz = r[2] / cam.fx;
    for (let x = 0, p = y * W; x < W; x++, p++, dx += sx, dy += sy, dz += sz) {
      const o = p * 3;
      if (dz > -1e-4) {
        // Sky: horizon colour blending to the zenith colour.
        const e = dz / Math.sqrt(dx * dx + dy * dy + dz * dz);
        const t = Math.sqrt(Math.max(0, e));
        col[o] = L.skyHorizon[0] + (L.skyTop[0] - L.skyHorizon[0]) * t;
        col[o + 1] = L.skyHorizon[1] + (L.skyTop[1] - L.skyHorizon[1]) * t;
        col[o + 2] = L.skyHorizon[2] + (L.skyTop[2] - L.skyHorizon[2]) * t;
        invz[p] = 0;
        continue;
      }
      const t = -h / dz;
      invz[p] = 1 / t;
      const X = pos[0] + t * dx;
      const Y = pos[1] + t * dy;
      // Pixel footprint on the ground across and along the view (for anti-aliased paint).
      const fpA = t / cam.fx;
      const fpB = (t / cam.fy) * Math.min(20, t / h);
      const n1 = tex.sample(X * 0.6, Y * 0.6);
      const fine = fpA < 0.05 ? tex.sample(X * 9 + 37, Y * 9 + 11) * (1 - fpA * 20) : 0;
      const inMain = X >= main.lo && X <= main.hi;
      const inCross = cross !== null && Y >= cross.lo && Y <= cross.hi;
      let cr: number;
      let cg: number;
      let cb: number;
      let spec = 0;
      if (inMain || inCross) {
        const k = 1 + 0.18 * n1 + 0.12 * fine + 0.12 * tex.sample(X * 0.05 + 91, Y * 0.05);
        cr = asph[0] * k;
        cg = asph[1] * k;
        cb = asph[2] * k;
        if (!(inMain && inCross)) {
          const cov = inMain ? roadPaint(scene, main, Y, X, fpA, fpB, paintTmp) : roadPaint(scene, cross!, X, Y, fpB, fpA, paintTmp);
          if (cov > 0) {
            const wear = 0.75 + 0.25 * tex.sample(X * 2.1, Y * 0.7);
            cr += (paintTmp[0] * wear - cr) * cov;
            cg += (paintTmp[1] * wear - cg) * cov;
            cb += (paintTmp[2] * wear - cb) * cov;
          }
        }
        if (wet) {
          cr *= 0.6;
          cg *= 0.6;
          cb *= 0.62;
          spec = 0.25 + 0.1 * n1;
        }
      } else {
        let d = inMainSpan(X, main);
        if (cross) d = Math.min(d, inMainSpan(Y, cross));
        if (d < 0.22) {
          const k = 1 + 0.1 * n1;
          cr = kerb[0] * k;
          cg = kerb[1] * k;
          cb = kerb[2] * k;
        } else if (d < sw) {
          // Paving slabs with darker joints.
          const u = X / tile;
          const v = Y / tile;
          const ju = Math.abs(u - Math.round(u)) * tile;
          const jv = Math.abs(v - Math.round(v)) * tile;
          const joint = fpA < 0.08 && (ju < 0.012 || jv < 0.012) ? 0.75 : 1;
          const k = (1 + 0.12 * n1 + 0.1 * fine) * joint;
          cr = swc[0] * k;
          cg = swc[1] * k;
          cb = swc[2] * k;
        } else {
          const k = grass ? 1 + 0.35 * n1 + 0.25 * fine : 1 + 0.15 * n1 + 0.1 * fine;
          cr = verge[0] * k;
          cg = verge[1] * k;
          cb = verge[2] * k;
        }
        if (wet) {
          cr *= 0.8;
          cg *= 0.8;
          cb *= 0.8;
          spec = 0.08;
        }
      }
      let er = lr;
      let eg = lg;
      let eb = lb;
      for (let k = 0; k < nLamps; k++) {
        // Street lamp: inverse-square with the cosine of incidence, smooth and physically shaped.
        const ddx = X - lampXY[k * 3];
        const ddy = Y - lampXY[k * 3 + 1];
        const hh = lampXY[k * 3 + 2];
        const q = hh * hh + ddx * ddx + ddy * ddy;
        if (q > 900) continue;
        const e = (lampPower * hh) / (q * Math.sqrt(q));
        er += e;
        eg += e * 0.82;
        eb += e * 0.55;
      }
      col[o] = cr * er;
      col[o + 1] = cg * eg;
      col[o + 2] = cb * eb;
      if (spec > 0) {
        // Wet surfaces mirror the sky near the horizon (Fresnel).
        const graz = Math.min(1, (h / t) * 3);
        const fres = spec * (1 - graz) * (L.kind === 'night' ? 0.3 : 1);
        col[o] += L.skyHorizon[0] * fres;
        col[o + 1] += L.skyHorizon[1] * fres;
        col[o + 2] += L.skyHorizon[2] * fres;
      }
    }
  }
}

/** Distance from a coordinate to a road's carriageway along its perpendicular (0 inside). */
function inMainSpan(q: number, road: Road): number {
  return q < road.lo ? road.lo - q : q > road.hi ? q - road.hi : 0;
}

// ---------------------------------------------------------------- lights

function headlightBeams(fb: FrameBuffer, scene: Scene, objects: ObjectModel[]): void {
  const cam = scene.camera;
  const night = scene.light.kind === 'night' ? 1 : scene.light.kind === 'dusk' ? 0.35 : 0.1;
  for (const o of objects) {
    for (const lamp of o.lamps) {
      if (lamp.kind !== 'head') continue;
      const d = lamp.dir;
      const nx = -d[1];
      const ny = d[0];
      for (let ring = 0; ring < 8; ring++) {
        const len = 4 + ring * 2.6;
        const w0 = 0.3;
        const w1 = 0.8 + ring * 0.5;
        const bx = lamp.pos[0] + d[0] * 0.5;
        const by = lamp.pos[1] + d[1] * 0.5;
        const ex = bx + d[0] * len;
        const ey = by + d[1] * len;
        const pts = [bx - nx * w0, by - ny * w0, 0.002, bx + nx * w0, by + ny * w0, 0.002, ex + nx * w1, ey + ny * w1, 0.002, ex - nx * w1, ey - ny * w1, 0.002];
        const k = 0.0035 * night;
        fillPolygon(fb, cam, pts, k, k * 0.95, k * 0.85, 0, Mode.GroundAdd);
      }
    }
  }
}

/** Bloom around lamps that the camera sees (checked against the depth buffer), plus wet reflections. */
function glows(fb: FrameBuffer, scene: Scene, objects: ObjectModel[]): void {
  const cam = scene.camera;
  const tmp: [number, number, number] = [0, 0, 0];
  const night = scene.light.kind === 'night' ? 1 : scene.light.kind === 'dusk' ? 0.5 : 0.15;
  const sprite = (pos: Vec3, color: RGB, size: number, strength: number, facing: number): void => {
    cam.toCamera(pos[0], pos[1], pos[2], tmp);
    if (tmp[2] < 0.5 || facing <= 0) return;
    const u = cam.cx + (cam.fx * tmp[0]) / tmp[2];
    const v = cam.cy + (cam.fy * tmp[1]) / tmp[2];
    if (u < -20 || v < -20 || u > fb.width + 20 || v > fb.height + 20) return;
    const ui = Math.floor(u);
    const vi = Math.floor(v);
    if (ui >= 0 && vi >= 0 && ui < fb.width && vi < fb.height) {
      const zb = fb.invz[vi * fb.width + ui];
      if (zb > (1 / tmp[2]) * 1.04) return;
    }
    const rpx = Math.max(1.2, (size * cam.fx) / tmp[2]) * 2.5;
    const amp = strength * night * facing;
    splat(fb, u, v, rpx, color[0] * amp, color[1] * amp, color[2] * amp);
    if (scene.weather.wet) {
      // Streak reflected in the wet road, from the lamp's mirror image up to the contact point.
      const mirror = cam.project(pos[0], pos[1], -pos[2]);
      if (mirror) for (let k = 1; k <= 6; k++) splat(fb, u + ((mirror[0] - u) * k) / 6, v + ((mirror[1] - v) * k) / 6, rpx * 0.8, color[0] * amp * 0.12, color[1] * amp * 0.12, color[2] * amp * 0.12);
    }
  };
  const campos = cam.pose.position;
  for (const o of objects) {
    for (const lamp of o.lamps) {
      const vx = campos[0] - lamp.pos[0];
      const vy = campos[1] - lamp.pos[1];
      const vz = campos[2] - lamp.pos[2];
      const facing = (lamp.dir[0] * vx + lamp.dir[1] * vy + lamp.dir[2] * vz) / Math.hypot(vx, vy, vz);
      sprite(lamp.pos, lamp.color, lamp.size, lamp.kind === 'head' ? 1.6 : 0.9, Math.max(0, facing) ** 0.5);
    }
  }
  for (const lamp of scene.streetLamps) sprite([lamp[0], lamp[1], lamp[2] - 0.2], [1, 0.85, 0.55], 0.35, 0.9, 1);
}

/** Additive radial falloff (a lamp's bloom), clipped to the image. */
export function splat(fb: FrameBuffer, u: number, v: number, rad: number, r: number, g: number, b: number): void {
  const x0 = Math.max(0, Math.floor(u - rad));
  const x1 = Math.min(fb.width - 1, Math.ceil(u + rad));
  const y0 = Math.max(0, Math.floor(v - rad));
  const y1 = Math.min(fb.height - 1, Math.ceil(v + rad));
  const inv = 1 / (rad * rad);
  const col = fb.color;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - v;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - u;
      const q = (dx * dx + dy * dy) * inv;
      if (q >= 1) continue;
      const w = (1 - q) * (1 - q) * (1 - q);
      const o = (y * fb.width + x) * 3;
      col[o] += r * w;
      col[o + 1] += g * w;
      col[o + 2] += b * w;
    }
  }
}

// ---------------------------------------------------------------- atmosphere


/** Atmospheric attenuation by depth; `objectsOnly` fogs just the pixels objects cover. */
function fog(fb: FrameBuffer, scene: Scene, objectsOnly: boolean): void {
  const vis = scene.weather.visibility;
  if (!Number.isFinite(vis)) return;
  const owner = fb.owner;
  // Koschmieder: contrast falls to 5 % at the visibility distance.
  const k = (3 / vis) * EXP_STEPS;
  const fc = scene.weather.fogColor;
  const invz = fb.invz;
  const col = fb.color;
  const skyFog = vis < 400 ? 1 - vis / 1200 : 0;
  const last = expTable.length - 1;
  for (let i = 0; i < invz.length; i++) {
    if (objectsOnly && owner[i] === 0) continue;
    const w = invz[i];
    let a: number;
    if (w === 0) a = skyFog;
    else {
      const x = k / w;
      a = 1 - (x >= last ? 0 : expTable[x | 0]);
    }
    if (a <= 0.002) continue;
    const o = i * 3;
    col[o] += (fc[0] - col[o]) * a;
    col[o + 1] += (fc[1] - col[o + 1]) * a;
    col[o + 2] += (fc[2] - col[o + 2]) * a;
  }
}

function rain(fb: FrameBuffer, scene: Scene, rng: Rng): void {
  const n = Math.floor(((scene.weather.rain * fb.width * fb.height) / 900) * rng.uniform(0.5, 1.5));
  const slant = rng.uniform(-0.35, 0.35);
  const bright = scene.light.kind === 'night' ? 0.05 : 0.12;
  const col = fb.color;
  const W = fb.width;
  for (let i = 0; i < n; i++) {
    const x0 = rng.uniform(0, fb.width);
    const y0 = rng.uniform(0, fb.height);
    const len = rng.uniform(4, 18) * (fb.height / 416);
    const k = bright * rng.uniform(0.4, 1);
    for (let s = 0; s < len; s++) {
      const x = Math.floor(x0 + slant * s);
      const y = Math.floor(y0 + s);
      if (x < 0 || x >= W || y >= fb.height) break;
      const o = (y * W + x) * 3;
      col[o] += k;
      col[o + 1] += k;
      col[o + 2] += k * 1.05;
    }
  }
}

// ---------------------------------------------------------------- motion blur

/**
 * Smears each moving object along its image-space motion during the exposure: every pixel near the
 * object becomes the mean of the sharp image along the motion segment through it, if that segment
 * touches the object. Boxes stay those of the instant at mid-exposure.
 */
function motionBlur(fb: FrameBuffer, scene: Scene, objects: ObjectModel[], truth: ObjectTruth[], exposure: number): void {
  const cam = scene.camera;
  const W = fb.width;
  const H = fb.height;
  let copied = false;
  const src = fb.blurSource;
  const col = fb.color;
  const own = fb.owner;
  objects.forEach((o, i) => {
    const v = o.velocity;
    const t = truth[i];
    if (!v || t.pixels === 0) return;
    const [x1, y1, x2, y2] = t.box;
    const cx = (x1 + x2) / 2;
    const cy = (y1 + y2) / 2;
    // Image motion of the object's centre: back-project it to the object's depth.
    const g = cam.groundAt(cx, Math.min(H - 1, y2));
    if (!g) return;
    const a = cam.project(g[0] - (v[0] * exposure) / 2, g[1] - (v[1] * exposure) / 2, 0);
    const b = cam.project(g[0] + (v[0] * exposure) / 2, g[1] + (v[1] * exposure) / 2, 0);
    if (!a || !b) return;
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const len = Math.hypot(dx, dy);
    if (len < 1.2 || len > 80) return;
    if (!copied) {
      src.set(col);
      copied = true;
    }
    const n = Math.ceil(len) + 1;
    const k = i + 1;
    const pad = Math.ceil(len / 2) + 1;
    const bx0 = Math.max(0, Math.floor(x1) - pad);
    const bx1 = Math.min(W - 1, Math.ceil(x2) + pad);
    const by0 = Math.max(0, Math.floor(y1) - pad);
    const by1 = Math.min(H - 1, Math.ceil(y2) + pad);
    for (let y = by0; y <= by1; y++) {
      for (let x = bx0; x <= bx1; x++) {
        let hit = false;
        let r = 0;
        let gg = 0;
        let bb = 0;
        for (let s = 0; s < n; s++) {
          const f = s / (n - 1) - 0.5;
          let sx = Math.round(x + f * dx);
          let sy = Math.round(y + f * dy);
          sx = sx < 0 ? 0 : sx >= W ? W - 1 : sx;
          sy = sy < 0 ? 0 : sy >= H ? H - 1 : sy;
          const p = sy * W + sx;
          if (own[p] === k) hit = true;
          r += src[p * 3];
          gg += src[p * 3 + 1];
          bb += src[p * 3 + 2];
        }
        if (!hit) continue;
        const o3 = (y * W + x) * 3;
        col[o3] = r / n;
        col[o3 + 1] = gg / n;
        col[o3 + 2] = bb / n;
      }
    }
  });
}

// ---------------------------------------------------------------- ground truth

function measure(fb: FrameBuffer, scene: Scene, objects: ObjectModel[]): ObjectTruth[] {
  const cam = scene.camera;
  const visible = fb.visibleCounts(objects.length);
  const out: ObjectTruth[] = [];
  const tmp: [number, number, number] = [0, 0, 0];
  objects.forEach((o, i) => {
    let x1 = Infinity;
    let y1 = Infinity;
    let x2 = -Infinity;
    let y2 = -Infinity;
    let behind = false;
    for (const p of o.polys) {
      for (let k = 0; k < p.pts.length; k += 3) {
        cam.toCamera(p.pts[k], p.pts[k + 1], p.pts[k + 2], tmp);
        if (tmp[2] < 0.25) {
          behind = true;
          continue;
        }
        const u = cam.cx + (cam.fx * tmp[0]) / tmp[2];
        const v = cam.cy + (cam.fy * tmp[1]) / tmp[2];
        if (u < x1) x1 = u;
        if (u > x2) x2 = u;
        if (v < y1) y1 = v;
        if (v > y2) y2 = v;
      }
    }
    if (behind || !(x2 > x1)) {
      out.push({ index: i, classId: o.classId, box: [0, 0, 0, 0], visibility: 0, unoccluded: 0, inImage: 0, pixels: 0 });
      return;
    }
    const cx1 = Math.max(0, x1);
    const cy1 = Math.max(0, y1);
    const cx2 = Math.min(fb.width, x2);
    const cy2 = Math.min(fb.height, y2);
    if (cx2 <= cx1 || cy2 <= cy1) {
      out.push({ index: i, classId: o.classId, box: [0, 0, 0, 0], visibility: 0, unoccluded: 0, inImage: 0, pixels: 0 });
      return;
    }
    const inside = ((cx2 - cx1) * (cy2 - cy1)) / ((x2 - x1) * (y2 - y1));
    const sil = fb.silhouette[i + 1];
    const occl = sil > 0 ? visible[i + 1] / sil : 0;
    out.push({ index: i, classId: o.classId, box: [cx1, cy1, cx2, cy2], visibility: occl * inside, unoccluded: occl, inImage: inside, pixels: visible[i + 1] });
  });
  return out;
}
