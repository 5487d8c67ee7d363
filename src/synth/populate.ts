import { Frame } from './geometry.js';
import { type AnimState, type ObjectModel, type Shape, buildObject, sampleShape, shapeLength } from './models.js';
import type { Rng } from './rng.js';
import type { Road, Scene } from './scene.js';

/** An object placed in a still scene (dataset mode). */
export interface Placed {
  shape: Shape;
  frame: Frame;
  state: AnimState;
}

/** Class mix for vehicles in lanes: cars dominate, as on real roads, but every class is well represented. */
const laneMix = { car: 56, truck: 15, bus: 9, motorcycle: 12, bicycle: 8 } as const;
const classIds: Record<keyof typeof laneMix, number> = { car: 0, truck: 1, bus: 2, motorcycle: 3, bicycle: 4 };

/** Along-coordinate range of a road that the camera can see. */
function roadRange(scene: Scene, road: Road): [number, number] {
  if (road === scene.main) return [scene.near, scene.far];
  const cx = scene.camera.pose.position[0];
  return [cx - 90, cx + 90];
}

function at(road: Road, s: number, q: number): [number, number] {
  return road.axis === 'y' ? [q, s] : [s, q];
}

/** Heading of travel direction `dir` on a road. */
export function travelHeading(road: Road, dir: number): number {
  if (road.axis === 'y') return dir > 0 ? 0 : Math.PI;
  return dir > 0 ? Math.PI / 2 : -Math.PI / 2;
}

/** Places vehicles in lanes (queues at red lights), people on pavements and crossings. */
export function populate(rng: Rng, scene: Scene): Placed[] {
  const out: Placed[] = [];
  const density = rng.weighted({ empty: 3, light: 30, medium: 40, heavy: 27 });
  if (density === 'empty') return out;
  const meanGap = density === 'light' ? 40 : density === 'medium' ? 16 : 5;
  const lightsOn = scene.light.lightsOn;
  const rainy = scene.weather.rain > 0;
  const roads = scene.cross ? [scene.main, scene.cross] : [scene.main];
  // At a junction one road has green; the other queues at its stop lines.
  const greenMain = rng.chance(0.5);
  for (const road of roads) {
    const other = road === scene.main ? scene.cross : scene.main;
    const red = !!scene.cross && (road === scene.main) !== greenMain;
    const [s0, s1] = roadRange(scene, road);
    // Urban kerbside lanes are sometimes parking lanes: rows of stationary, closely packed vehicles.
    const parking = scene.urban && road.lanes.length >= 3 && rng.chance(0.3);
    road.lanes.forEach((lane, li) => {
      const outer = li === 0 || li === road.lanes.length - 1;
      if (parking && outer) {
        const side = Math.sign(lane.off - (road.lo + road.hi) / 2);
        for (let s = s0 + rng.uniform(0, 6); s < s1; ) {
          if (rng.chance(0.15)) {
            s += rng.uniform(3, 12);
            continue;
          }
          const shape = sampleShape(rng, rng.chance(0.92) ? 0 : rng.chance(0.5) ? 1 : 3, rainy);
          if (shape.kind === 'truck' && shape.style !== 'van') continue;
          const len = shapeLength(shape);
          const centre = s + len / 2;
          s = centre + len / 2 + rng.uniform(0.4, 2.5);
          if (other && centre > other.lo - 12 && centre < other.hi + 12) continue;
          const [x, y] = at(road, centre, lane.off + side * rng.uniform(0.2, 0.6));
          const heading = travelHeading(road, rng.chance(0.85) ? lane.dir : -lane.dir) + rng.normal(0, 0.03);
          out.push({ shape, frame: Frame.ground(x, y, heading), state: { phase: 0, moving: false, lightsOn: false, braking: false } });
        }
        return;
      }
      let s = s0 + rng.uniform(0, meanGap);
      while (s < s1) {
        let kind = rng.weighted(laneMix);
        if (kind === 'bicycle' && !outer) kind = 'car';
        const shape = sampleShape(rng, classIds[kind], rainy);
        const len = shapeLength(shape);
        let centre = s + len / 2;
        let queued = false;
        if (red && other) {
          // Stop before the junction in the direction of travel.
          const stopLo = other.lo - 6;
          const stopHi = other.hi + 6;
          if (lane.dir > 0 && centre + len / 2 > stopLo && centre - len / 2 < other.hi + 2) {
            s = other.hi + 3;
            continue;
          }
          if (lane.dir < 0 && centre - len / 2 < stopHi && centre + len / 2 > other.lo - 2) {
            s = stopHi;
            centre = s + len / 2;
          }
          queued = lane.dir > 0 ? centre < stopLo && stopLo - centre < 40 : centre > stopHi && centre - stopHi < 40;
        }
        const gap = queued ? rng.uniform(1.2, 3.5) : meanGap * -Math.log(1 - rng.next()) + 1.5;
        s = centre + len / 2 + gap;
        let q = lane.off + rng.normal(0, 0.25);
        if (shape.kind === 'bicycle') q = lane.off + Math.sign(lane.off - (road.lo + road.hi) / 2) * (lane.width / 2 - 0.6);
        if (shape.kind === 'motorcycle') q += rng.uniform(-0.8, 0.8);
        const [x, y] = at(road, centre, q);
        const laneChange = rng.chance(0.06) ? rng.uniform(-0.18, 0.18) : 0;
        const heading = travelHeading(road, lane.dir) + rng.normal(0, 0.02) + laneChange;
        out.push({
          shape,
          frame: Frame.ground(x, y, heading),
          state: { phase: rng.uniform(0, Math.PI * 2), moving: !queued, lightsOn: lightsOn && rng.chance(0.95), braking: queued ? rng.chance(0.8) : rng.chance(0.1) },
        });
      }
    });
  }
  // Turning vehicles inside a junction, on the green road's side.
  if (scene.cross && rng.chance(0.4)) {
    const n = rng.int(1, 2);
    for (let i = 0; i < n; i++) {
      const x = rng.uniform(scene.main.lo + 2, scene.main.hi - 2);
      const y = rng.uniform(scene.cross.lo + 2, scene.cross.hi - 2);
      const shape = sampleShape(rng, rng.chance(0.85) ? 0 : 1, rainy);
      if (shapeLength(shape) > 8) continue;
      out.push({ shape, frame: Frame.ground(x, y, rng.uniform(0, Math.PI * 2)), state: { phase: 0, moving: true, lightsOn, braking: false } });
    }
  }
  // Cyclists on the kerbside path of the pavement.
  const nBikes = rng.chance(0.5) ? rng.int(1, density === 'heavy' ? 4 : 2) : 0;
  for (let i = 0; i < nBikes; i++) {
    const road = rng.pick(roads);
    const [s0, s1] = roadRange(scene, road);
    const side = rng.chance(0.5) ? 1 : -1;
    const edge = side > 0 ? road.hi : road.lo;
    const [x, y] = at(road, rng.uniform(s0 + 5, Math.min(s1, s0 + 120)), edge + side * rng.uniform(0.6, 1.0));
    const heading = travelHeading(road, rng.chance(0.5) ? 1 : -1) + rng.normal(0, 0.05);
    out.push({ shape: sampleShape(rng, 4, rainy), frame: Frame.ground(x, y, heading), state: { phase: rng.uniform(0, Math.PI * 2), moving: true, lightsOn, braking: false } });
  }
  // People on pavements, some crossing at the red road's zebra.
  const nPeople = Math.round((density === 'light' ? 3 : density === 'medium' ? 7 : 12) * rng.uniform(0.3, 1.6));
  for (let i = 0; i < nPeople; i++) {
    const road = rng.pick(roads);
    const [s0, s1] = roadRange(scene, road);
    const side = rng.chance(0.5) ? 1 : -1;
    const edge = side > 0 ? road.hi : road.lo;
    const q = edge + side * rng.uniform(1.1, Math.max(1.2, road.sidewalk - 0.3));
    const s = rng.uniform(s0 + 5, Math.min(s1, s0 + 140));
    const [x, y] = at(road, s, q);
    const moving = rng.chance(0.8);
    const heading = moving ? travelHeading(road, rng.chance(0.5) ? 1 : -1) + rng.normal(0, 0.1) : rng.uniform(0, Math.PI * 2);
    out.push({ shape: sampleShape(rng, 5, rainy), frame: Frame.ground(x, y, heading), state: { phase: rng.uniform(0, Math.PI * 2), moving, lightsOn, braking: false } });
    if (rng.chance(0.25)) {
      // Walking in company.
      const [x2, y2] = at(road, s + rng.uniform(-1.5, 1.5), q - side * rng.uniform(0.5, 0.8));
      out.push({ shape: sampleShape(rng, 5, rainy), frame: Frame.ground(x2, y2, heading + rng.normal(0, 0.05)), state: { phase: rng.uniform(0, Math.PI * 2), moving, lightsOn, braking: false } });
    }
  }
  if (scene.cross) {
    // Pedestrians on the zebra of the road that has red.
    const road = greenMain ? scene.cross : scene.main;
    const other = road === scene.main ? scene.cross : scene.main;
    const n = rng.int(0, 5);
    for (let i = 0; i < n; i++) {
      const s = rng.chance(0.5) ? other.lo - 3 : other.hi + 3;
      const q = rng.uniform(road.lo, road.hi);
      const [x, y] = at(road, s + rng.uniform(-1, 1), q);
      const dir = rng.chance(0.5) ? 1 : -1;
      const heading = road.axis === 'y' ? (dir > 0 ? Math.PI / 2 : -Math.PI / 2) : dir > 0 ? 0 : Math.PI;
      out.push({ shape: sampleShape(rng, 5, rainy), frame: Frame.ground(x, y, heading), state: { phase: rng.uniform(0, Math.PI * 2), moving: true, lightsOn, braking: false } });
    }
  }
  return out;
}

/**
 * Builds the placed objects, dropping those the camera is inside of or cannot see at all, extreme
 * close-ups, and those whose full projected height is under `minSize` pixels (not drawn, so never
 * an unlabelled speck).
 */
export function buildVisible(scene: Scene, placed: Placed[], minSize = 0): ObjectModel[] {
  const cam = scene.camera;
  const tmp: [number, number, number] = [0, 0, 0];
  const out: ObjectModel[] = [];
  const W = scene.width;
  const H = scene.height;
  for (const p of placed) {
    const o = p.frame.o;
    cam.toCamera(o[0], o[1], 1, tmp);
    // Cheap reject: far outside the view cone or behind.
    if (tmp[2] < -25) continue;
    if (tmp[2] > 1) {
      const u = cam.cx + (cam.fx * tmp[0]) / tmp[2];
      const v = cam.cy + (cam.fy * tmp[1]) / tmp[2];
      if (u < -W || u > 2 * W || v < -H || v > 2 * H) continue;
    }
    const model = buildObject(p.shape, p.frame, p.state);
    let ok = true;
    let vmin = Infinity;
    let vmax = -Infinity;
    let umin = Infinity;
    let umax = -Infinity;
    for (const poly of model.polys) {
      for (let k = 0; k < poly.pts.length && ok; k += 3) {
        cam.toCamera(poly.pts[k], poly.pts[k + 1], poly.pts[k + 2], tmp);
        if (tmp[2] < 0.5) ok = false;
        const v = cam.cy + (cam.fy * tmp[1]) / tmp[2];
        const u = cam.cx + (cam.fx * tmp[0]) / tmp[2];
        if (v < vmin) vmin = v;
        if (v > vmax) vmax = v;
        if (u < umin) umin = u;
        if (u > umax) umax = u;
      }
      if (!ok) break;
    }
    // Extreme close-ups (a lorry passing right under the mast fills several frames) are left out.
    const closeUp = (vmax - vmin) * (umax - umin) > 2.5 * W * H;
    if (ok && !closeUp && vmax - vmin >= minSize) {
      if (p.state.moving) {
        // A speed typical of the class, varied by position (no extra random draws).
        const typical = [12, 10, 9, 12, 5, 1.4][model.classId];
        const h = Math.sin(o[0] * 12.9898 + o[1] * 78.233) * 43758.5453;
        const speed = typical * (0.6 + 0.8 * (h - Math.floor(h)));
        const l = p.frame.lx;
        model.velocity = [l[0] * speed, l[1] * speed, 0];
      }
      out.push(model);
    }
  }
  return out;
}
