import { Camera, type Vec3 } from './camera.js';
import type { Poly, RGB } from './geometry.js';
import { hex, jitter, lin, mix, mul } from './palette.js';
import type { Rng } from './rng.js';
import { buildScenery } from './scenery.js';

/** A painted line on a road, along the road's axis at perpendicular offset `off`. */
export interface LaneLine {
  off: number;
  halfWidth: number;
  /** Dash period and painted length, metres; period 0 = solid. */
  period: number;
  on: number;
  color: RGB;
}

export interface Lane {
  /** Perpendicular offset of the lane centre (x for the main road, y for the cross road). */
  off: number;
  width: number;
  /** +1 = travels towards increasing along-coordinate. */
  dir: 1 | -1;
}

/** A straight road: axis 'y' (main road, along north) or 'x' (the cross road of an intersection). */
export interface Road {
  axis: 'x' | 'y';
  /** Carriageway extent in the perpendicular coordinate. */
  lo: number;
  hi: number;
  lanes: Lane[];
  lines: LaneLine[];
  sidewalk: number;
}

export type Lighting = {
  kind: 'day' | 'overcast' | 'dusk' | 'night';
  /** Unit vector towards the sun (or moon). */
  sun: Vec3;
  sunColor: RGB;
  ambient: RGB;
  skyTop: RGB;
  skyHorizon: RGB;
  /** Vehicles and street lamps lit. */
  lightsOn: boolean;
  exposure: number;
};

export interface Weather {
  /** 0 = dry … 1 = downpour (streaks, wet road reflections). */
  rain: number;
  /** Meteorological visibility in metres (Infinity = clear). */
  visibility: number;
  fogColor: RGB;
  wet: boolean;
}

export interface Scene {
  width: number;
  height: number;
  camera: Camera;
  pose: 'gantry' | 'pole' | 'intersection' | 'overhead';
  main: Road;
  cross: Road | null;
  /** Along-coordinate of the cross road's centre on the main road (intersections). */
  crossAt: number;
  asphalt: RGB;
  sidewalkColor: RGB;
  kerbColor: RGB;
  verge: RGB;
  vergeKind: 'grass' | 'paving' | 'dirt';
  urban: boolean;
  light: Lighting;
  weather: Weather;
  /** Static scenery polygons (buildings, poles, signs, bins...). */
  scenery: Poly[];
  /** Corner sets of scenery solids that cast shadows. */
  scenerySolids: Vec3[][];
  /** Lamp heads of street lights (for light pools at night). */
  streetLamps: Vec3[];
  /** Range of the main road's along-coordinate where objects are placed. */
  near: number;
  far: number;
  rightHand: boolean;
  /** Seed for the ground texture. */
  textureSeed: number;
}

function makeRoad(rng: Rng, axis: 'x' | 'y', center: number, rightHand: boolean, lanesPerDir: [number, number], urban: boolean): Road {
  const width = rng.uniform(3.1, 3.7);
  const [nNeg, nPos] = lanesPerDir;
  const median = nNeg > 0 && nPos > 0 && rng.chance(0.25) ? rng.uniform(0.4, 1.2) : 0;
  const total = (nNeg + nPos) * width + median;
  const lo = center - total / 2;
  const hi = center + total / 2;
  const lanes: Lane[] = [];
  // Right-hand traffic: the lanes going +along are at the high side.
  const posSideHigh = rightHand === (axis === 'y');
  for (let i = 0; i < nNeg + nPos; i++) {
    const off = lo + (i + 0.5) * width + (i >= (posSideHigh ? nNeg : nPos) ? median : 0);
    const inHighGroup = i >= (posSideHigh ? nNeg : nPos);
    const dir: 1 | -1 = inHighGroup === posSideHigh ? 1 : -1;
    lanes.push({ off, width, dir });
  }
  const white = jitter(rng, hex('#e6e6e0'), 0.08);
  const yellow = hex('#d9a521');
  const centerColor = rng.chance(0.35) ? yellow : white;
  const dashPeriod = rng.pick([12, 9, 15, 6]);
  const dashOn = dashPeriod * rng.uniform(0.25, 0.5);
  const lines: LaneLine[] = [];
  const hw = rng.uniform(0.05, 0.08);
  lines.push({ off: lo + 0.3, halfWidth: hw, period: 0, on: 0, color: white });
  lines.push({ off: hi - 0.3, halfWidth: hw, period: 0, on: 0, color: white });
  for (let i = 1; i < lanes.length; i++) {
    const boundary = (lanes[i - 1].off + lanes[i].off) / 2;
    if (lanes[i - 1].dir !== lanes[i].dir) {
      if (median > 0) {
        lines.push({ off: boundary - median / 2, halfWidth: hw, period: 0, on: 0, color: centerColor });
        lines.push({ off: boundary + median / 2, halfWidth: hw, period: 0, on: 0, color: centerColor });
      } else if (rng.chance(0.5)) {
        lines.push({ off: boundary - 0.1, halfWidth: hw, period: 0, on: 0, color: centerColor });
        lines.push({ off: boundary + 0.1, halfWidth: hw, period: 0, on: 0, color: centerColor });
      } else lines.push({ off: boundary, halfWidth: hw, period: urban ? dashPeriod : 0, on: dashOn, color: centerColor });
    } else lines.push({ off: boundary, halfWidth: hw, period: dashPeriod, on: dashOn, color: white });
  }
  return { axis, lo, hi, lanes, lines, sidewalk: urban ? rng.uniform(2, 4.5) : rng.uniform(0.5, 1.5) };
}

function sampleLighting(rng: Rng, clear = false): Lighting {
  const kind = clear ? rng.weighted({ day: 70, overcast: 30 }) : rng.weighted({ day: 45, overcast: 20, dusk: 15, night: 20 });
  const az = rng.uniform(0, Math.PI * 2);
  const el = kind === 'day' ? rng.uniform(0.35, 1.2) : kind === 'dusk' ? rng.uniform(0.04, 0.2) : kind === 'overcast' ? rng.uniform(0.5, 1.2) : rng.uniform(0.3, 1.0);
  const sun: Vec3 = [Math.cos(el) * Math.sin(az), Math.cos(el) * Math.cos(az), Math.sin(el)];
  switch (kind) {
    case 'day':
      return { kind, sun, sunColor: mul(lin(255, 246, 228), rng.uniform(2.2, 3.0)), ambient: mul(lin(190, 205, 235), rng.uniform(0.55, 0.8)), skyTop: lin(95, 140, 205), skyHorizon: lin(200, 215, 230), lightsOn: rng.chance(0.1), exposure: 1 };
    case 'overcast':
      return { kind, sun, sunColor: mul(lin(240, 240, 240), rng.uniform(0.1, 0.4)), ambient: mul(lin(215, 218, 225), rng.uniform(1.0, 1.35)), skyTop: lin(165, 170, 178), skyHorizon: lin(205, 208, 212), lightsOn: rng.chance(0.25), exposure: 1 };
    case 'dusk':
      return { kind, sun, sunColor: mul(lin(255, 185, 125), rng.uniform(0.5, 1.0)), ambient: mul(lin(130, 135, 165), rng.uniform(0.3, 0.5)), skyTop: lin(60, 70, 120), skyHorizon: lin(235, 150, 95), lightsOn: rng.chance(0.8), exposure: rng.uniform(1.2, 1.8) };
    default:
      return { kind, sun, sunColor: mul(lin(120, 140, 200), 0.02), ambient: mul(lin(60, 70, 110), rng.uniform(0.03, 0.07)), skyTop: lin(4, 6, 14), skyHorizon: lin(28, 26, 36), lightsOn: true, exposure: rng.uniform(1.6, 2.6) };
  }
}

function sampleWeather(rng: Rng, light: Lighting): Weather {
  const rain = rng.chance(0.18) ? rng.uniform(0.2, 1) : 0;
  const fog = rng.chance(0.12);
  const visibility = fog ? rng.uniform(80, 300) : rng.uniform(400, 3000);
  const fogBase = light.kind === 'night' ? lin(22, 24, 30) : light.kind === 'dusk' ? lin(110, 108, 112) : lin(200, 204, 210);
  return { rain, visibility, fogColor: mix(fogBase, light.skyHorizon, light.kind === 'dusk' ? 0.12 : 0.3), wet: rain > 0 || rng.chance(0.08) };
}

export interface SceneOptions {
  width: number;
  height: number;
  /** Force a pose (video mode picks one the counting line suits). */
  pose?: Scene['pose'];
  /** Probability that a wide 16:9 view is squeezed into a non-16:9 image (detectors that stretch). */
  squeeze?: number;
  /** Daylight without rain or fog (the demo video and easy tracking tests). */
  clear?: boolean;
}

export function sampleScene(rng: Rng, opts: SceneOptions): Scene {
  const { width, height } = opts;
  const rightHand = rng.chance(0.8);
  const pose = opts.pose ?? rng.weighted({ gantry: 28, pole: 40, intersection: 24, overhead: 8 });
  const urban = pose === 'intersection' ? true : rng.chance(0.6);
  const nPos = rng.weighted({ '1': 30, '2': 45, '3': 20, '4': 5 });
  const oneWay = rng.chance(0.12);
  const nNeg = oneWay ? 0 : pose === 'intersection' ? Number(nPos) : Number(rng.weighted({ '1': 30, '2': 45, '3': 20, '4': 5 }));
  const main = makeRoad(rng, 'y', 0, rightHand, [nNeg, Number(nPos)], urban);
  const crossAt = pose === 'intersection' ? rng.uniform(28, 55) : 0;
  const cross = pose === 'intersection' ? makeRoad(rng, 'x', crossAt, rightHand, [rng.int(1, 2), rng.int(1, 2)], true) : null;

  // Camera pose: position, heading, tilt, field of view.
  let position: Vec3;
  let yaw: number;
  let pitch: number;
  const hfov = rng.uniform(0.65, 1.35);
  switch (pose) {
    case 'gantry':
      position = [rng.uniform(main.lo + 1, main.hi - 1), 0, rng.uniform(5.5, 9.5)];
      yaw = rng.uniform(-0.12, 0.12);
      pitch = rng.uniform(0.18, 0.5);
      break;
    case 'overhead':
      position = [rng.uniform(main.lo, main.hi), 0, rng.uniform(9, 16)];
      yaw = rng.uniform(-0.3, 0.3);
      pitch = rng.uniform(0.75, 1.15);
      break;
    case 'pole': {
      const side = rng.chance(0.5) ? 1 : -1;
      const edge = side > 0 ? main.hi : main.lo;
      position = [edge + side * rng.uniform(0.5, 5), 0, rng.uniform(4.5, 12)];
      yaw = -side * rng.uniform(0.12, 0.75);
      pitch = rng.uniform(0.2, 0.6);
      break;
    }
    default: {
      const sx = rng.chance(0.5) ? 1 : -1;
      const sy = rng.chance(0.6) ? -1 : 1;
      const cx = (sx > 0 ? main.hi : main.lo) + sx * rng.uniform(2, 7);
      const cy = crossAt + sy * ((cross!.hi - cross!.lo) / 2 + rng.uniform(4, 14));
      position = [cx, cy, rng.uniform(5.5, 10)];
      // Look at the junction's centre, a little off.
      yaw = Math.atan2(0 - cx, crossAt - cy) + rng.uniform(-0.25, 0.25);
      pitch = rng.uniform(0.25, 0.6);
    }
  }
  const roll = rng.normal(0, 0.015);
  let fx = width / 2 / Math.tan(hfov / 2);
  let fy = fx;
  const squeeze = opts.squeeze ?? 0.5;
  if (width / height < 1.6 && rng.chance(squeeze)) {
    // The scene was 16:9 and got resized to this aspect: vertical scale unchanged, horizontal squeezed.
    fy = fx * ((16 / 9) * (height / width));
  }
  const camera = new Camera({ position, yaw, pitch, roll }, width, height, fx, fy);

  const light = sampleLighting(rng, opts.clear);
  const weather = opts.clear ? { rain: 0, visibility: rng.uniform(1500, 3000), fogColor: light.skyHorizon, wet: false } : sampleWeather(rng, light);

  const asphaltTone = rng.uniform(0.045, 0.16);
  const concrete = rng.chance(0.1);
  const asphalt: RGB = concrete ? mul(lin(175, 172, 165), rng.uniform(0.6, 1)) : jitter(rng, [asphaltTone, asphaltTone * 1.01, asphaltTone * 1.05], 0.05);
  const vergeKind = urban ? (rng.chance(0.7) ? 'paving' : 'grass') : rng.chance(0.8) ? 'grass' : 'dirt';
  const verge = vergeKind === 'grass' ? jitter(rng, lin(80, 110, 50), 0.2) : vergeKind === 'dirt' ? jitter(rng, lin(112, 100, 82), 0.15) : jitter(rng, lin(150, 148, 142), 0.15);

  // Where objects may stand: from just below the image to where a car shrinks to a few pixels.
  const groundBottom = camera.groundAt(width / 2, height) ?? [position[0], position[1]];
  const nearAlong = Math.min(groundBottom[1], position[1]) - 8;
  const farDist = Math.min(160, (fy * 1.5) / 7);
  const far = position[1] + farDist;

  const scene: Scene = {
    width,
    height,
    camera,
    pose,
    main,
    cross,
    crossAt,
    asphalt,
    sidewalkColor: jitter(rng, lin(160, 158, 150), 0.12),
    kerbColor: jitter(rng, lin(185, 185, 180), 0.08),
    verge,
    vergeKind,
    urban,
    light,
    weather,
    scenery: [],
    scenerySolids: [],
    streetLamps: [],
    near: Math.max(nearAlong, pose === 'intersection' ? -60 : -30),
    far: pose === 'intersection' ? Math.max(far, crossAt + 40) : far,
    rightHand,
    textureSeed: rng.u32(),
  };
  buildScenery(rng.fork(7), scene);
  return scene;
}

/** The surface under a ground point: for placing people on pavements and keeping clutter off lanes. */
export function onCarriageway(scene: Scene, x: number, y: number): boolean {
  if (x >= scene.main.lo && x <= scene.main.hi) return true;
  const c = scene.cross;
  return !!c && y >= c.lo && y <= c.hi;
}
