import { Frame } from './geometry.js';
import { type AnimState, type Shape, sampleShape, shapeLength } from './models.js';
import { travelHeading } from './populate.js';
import type { Rng } from './rng.js';
import type { Scene } from './scene.js';

/**
 * A small traffic simulation on the scene's main road: vehicles follow each other with the
 * Intelligent Driver Model, stop at a signal (stop-and-go queues), cyclists ride the kerbside
 * path and people walk the pavements. Positions are metres on the ground, so speeds are exact.
 */
export interface Agent {
  uid: number;
  classId: number;
  shape: Shape;
  /** Path: a lane index (vehicles), or a kerbside path (bicycles, people). */
  path: number;
  /** Along-road position of the centre (world y), metres. */
  s: number;
  /** Lateral position (world x), metres. */
  q: number;
  /** Travel direction along y. */
  dir: 1 | -1;
  /** Speed, m/s (≥ 0). */
  v: number;
  /** Desired speed, m/s. */
  v0: number;
  len: number;
  /** Distance travelled, for walk / pedal cycles. */
  odometer: number;
  heading: number;
  braking: boolean;
}

export interface Path {
  q: number;
  dir: 1 | -1;
  kind: 'lane' | 'bike' | 'walk';
  /** Mean arrivals per second. */
  rate: number;
}

export interface Signal {
  dir: 1 | -1;
  /** Stop line (world y). */
  at: number;
  green: number;
  red: number;
  offset: number;
}

const IDM = { a: 1.4, b: 2.5, s0: 2.2, T: 1.2 };

export class TrafficSim {
  agents: Agent[] = [];
  readonly paths: Path[] = [];
  readonly signals: Signal[] = [];
  time = 0;
  private nextUid = 1;
  private readonly lo: number;
  private readonly hi: number;

  constructor(
    readonly scene: Scene,
    private readonly rng: Rng,
    opts: { density: number; lineAt: number },
  ) {
    const main = scene.main;
    const urban = scene.urban;
    // Spawn and retire beyond what the camera sees.
    this.lo = scene.near - 25;
    this.hi = scene.far + 25;
    for (const lane of main.lanes) this.paths.push({ q: lane.off, dir: lane.dir, kind: 'lane', rate: opts.density * rng.uniform(0.12, 0.4) });
    for (const side of [-1, 1] as const) {
      const edge = side > 0 ? main.hi : main.lo;
      const outward = main.lanes.find((l) => Math.sign(l.off - (main.lo + main.hi) / 2) === side);
      const bikeDir: 1 | -1 = outward ? outward.dir : 1;
      this.paths.push({ q: edge + side * 0.8, dir: bikeDir, kind: 'bike', rate: opts.density * (urban ? 0.04 : 0.015) });
      for (const dir of [1, -1] as const) this.paths.push({ q: edge + side * rng.uniform(1.3, Math.max(1.4, main.sidewalk - 0.3)), dir, kind: 'walk', rate: opts.density * (urban ? rng.uniform(0.03, 0.09) : 0.01) });
    }
    // Signals make queues that reach back over the counting line.
    for (const dir of [1, -1] as const) {
      if (!main.lanes.some((l) => l.dir === dir) || !rng.chance(0.55)) continue;
      this.signals.push({ dir, at: opts.lineAt + dir * rng.uniform(10, 25), green: rng.uniform(12, 22), red: rng.uniform(7, 14), offset: rng.uniform(0, 30) });
    }
  }

  isRed(sig: Signal, t = this.time): boolean {
    const cycle = sig.green + sig.red;
    const ph = (t + sig.offset) % cycle;
    return ph >= sig.green;
  }

  private spawn(pathIndex: number, s: number): void {
    const p = this.paths[pathIndex];
    const rng = this.rng;
    let classId: number;
    if (p.kind === 'walk') classId = 5;
    else if (p.kind === 'bike') classId = 4;
    else classId = Number(rng.weighted({ '0': 62, '1': 14, '2': 8, '3': 16 }));
    const shape = sampleShape(rng, classId);
    const limit = this.scene.urban ? rng.uniform(11, 16) : rng.uniform(20, 30);
    const v0 = p.kind === 'walk' ? rng.uniform(1.1, 1.7) : p.kind === 'bike' ? rng.uniform(3.5, 6.5) : limit * (classId === 1 || classId === 2 ? rng.uniform(0.75, 0.9) : rng.uniform(0.85, 1.15));
    const len = shapeLength(shape);
    this.agents.push({
      uid: this.nextUid++,
      classId,
      shape,
      path: pathIndex,
      s,
      q: p.q + (p.kind === 'lane' ? rng.normal(0, classId === 3 ? 0.4 : 0.15) : rng.normal(0, 0.15)),
      dir: p.dir,
      v: v0 * rng.uniform(0.8, 1),
      v0,
      len,
      odometer: rng.uniform(0, 10),
      heading: travelHeading(this.scene.main, p.dir),
      braking: false,
    });
  }

  /** Advances the simulation by dt seconds. */
  step(dt: number): void {
    const rng = this.rng;
    // Arrivals at the upstream end of each path, when there is room.
    this.paths.forEach((p, i) => {
      if (!rng.chance(p.rate * dt)) return;
      const start = p.dir > 0 ? this.lo : this.hi;
      const last = this.agents.filter((a) => a.path === i).reduce((m, a) => Math.min(m, (a.s - start) * p.dir - a.len / 2), Infinity);
      if (last > 14 || p.kind === 'walk') this.spawn(i, start);
    });
    const byPath = new Map<number, Agent[]>();
    for (const a of this.agents) {
      let list = byPath.get(a.path);
      if (!list) byPath.set(a.path, (list = []));
      list.push(a);
    }
    for (const [pi, list] of byPath) {
      const p = this.paths[pi];
      if (p.kind === 'walk') {
        for (const a of list) a.v = a.v0;
        continue;
      }
      list.sort((x, y) => (y.s - x.s) * p.dir);
      const sig = p.kind === 'lane' ? this.signals.find((g) => g.dir === p.dir) : undefined;
      const red = sig ? this.isRed(sig) : false;
      for (let k = 0; k < list.length; k++) {
        const a = list[k];
        let gap = Infinity;
        let dv = 0;
        if (k > 0) {
          const lead = list[k - 1];
          gap = (lead.s - a.s) * p.dir - (lead.len + a.len) / 2;
          dv = a.v - lead.v;
        }
        if (sig && red) {
          const toLine = (sig.at - a.s) * p.dir - a.len / 2;
          // Stop for red unless already too close to stop comfortably.
          if (toLine > -0.5 && toLine < gap && toLine > (a.v * a.v) / (2 * IDM.b) - 1) {
            gap = Math.max(0.1, toLine);
            dv = a.v;
          }
        }
        const sStar = IDM.s0 + Math.max(0, a.v * IDM.T + (a.v * dv) / (2 * Math.sqrt(IDM.a * IDM.b)));
        let acc = IDM.a * (1 - Math.pow(a.v / a.v0, 4) - (Number.isFinite(gap) ? Math.pow(sStar / Math.max(gap, 0.1), 2) : 0));
        acc = Math.max(-8, acc);
        a.braking = acc < -0.5;
        a.v = Math.max(0, a.v + acc * dt);
      }
    }
    for (const a of this.agents) {
      const d = a.v * dt;
      a.s += d * a.dir;
      a.odometer += d;
    }
    this.agents = this.agents.filter((a) => a.s >= this.lo - 5 && a.s <= this.hi + 5);
    this.time += dt;
  }

  /** Frame and animation state of an agent for rendering. */
  pose(a: Agent): { frame: Frame; state: AnimState; velocity: [number, number, number] } {
    const stride = a.classId === 5 ? 1.4 : 2.1;
    return {
      frame: Frame.ground(a.q, a.s, a.heading),
      state: { phase: (a.odometer / stride) * Math.PI * 2, moving: a.v > 0.2, lightsOn: this.scene.light.lightsOn, braking: a.braking },
      velocity: [0, a.v * a.dir, 0],
    };
  }
}
