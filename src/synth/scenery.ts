import type { Vec3 } from './camera.js';
import { Frame, type FaceStyle, type Poly, type RGB, Surface, pushBox, pushDisc, pushHexa, pushLathe, pushPoly, uniformStyle } from './geometry.js';
import { clutterPaint, hex, jitter, lin, mul } from './palette.js';
import type { Rng } from './rng.js';
import type { Road, Scene } from './scene.js';

/**
 * Static scenery that is NOT a labelled object: buildings, street lamps, signs, trees, bins,
 * cabinets, barriers, shelters, containers. Many are vehicle-sized boxes on purpose, so a detector
 * must learn what vehicles look like rather than "a box near the road".
 */
export function buildScenery(rng: Rng, scene: Scene): void {
  const polys = scene.scenery;
  const solids = scene.scenerySolids;
  const roads = scene.cross ? [scene.main, scene.cross] : [scene.main];
  for (const road of roads) {
    for (const side of [-1, 1] as const) frontage(rng, scene, road, side, polys, solids);
  }
  roadDecals(rng, scene, polys);
  if (scene.cross) trafficLights(rng, scene, polys, solids);
  if (!scene.urban && rng.chance(0.35)) signGantry(rng, scene, polys, solids);
}

/** Scenery right at the camera would fill the view: keep a clear radius around the mast. */
function nearCamera(scene: Scene, x: number, y: number, r: number): boolean {
  const c = scene.camera.pose.position;
  return Math.hypot(x - c[0], y - c[1]) < r;
}

/** Along/perpendicular road coordinates → world. */
function at(road: Road, s: number, q: number): [number, number] {
  return road.axis === 'y' ? [q, s] : [s, q];
}
/** Heading of scenery frames along a road, chosen so the frame's lateral axis points to +perpendicular. */
function heading(road: Road): number {
  return road.axis === 'y' ? 0 : -Math.PI / 2;
}

/** Whether a ground point is on any carriageway (scenery must stay off it) or its pavement. */
function blocked(scene: Scene, road: Road, s: number, margin: number): boolean {
  const other = road === scene.main ? scene.cross : scene.main;
  if (!other) return false;
  return s > other.lo - other.sidewalk - margin && s < other.hi + other.sidewalk + margin;
}

function frontage(rng: Rng, scene: Scene, road: Road, side: -1 | 1, polys: Poly[], solids: Vec3[][]): void {
  const edge = side > 0 ? road.hi : road.lo;
  const walk = edge + side * road.sidewalk;
  const cam = scene.camera.pose.position;
  const camS = road.axis === 'y' ? cam[1] : cam[0];
  const s0 = road === scene.main ? scene.near - 30 : camS - 120;
  const s1 = road === scene.main ? scene.far + 30 : camS + 120;
  const night = scene.light.kind === 'night' || scene.light.kind === 'dusk';
  const h = heading(road);

  // Buildings (urban) or trees, fences and noise walls (rural).
  if (scene.urban && rng.chance(0.85)) {
    const setback = rng.uniform(0, 4);
    const facadeBase = jitter(rng, hex(rng.pick(['#a9a39a', '#8c7b6b', '#c8c0b0', '#6f6a66', '#b08870', '#d8d4cc', '#7d8a94', '#9a5f4a'])), 0.1);
    for (let s = s0; s < s1; ) {
      const w = rng.uniform(8, 30);
      const gap = rng.chance(0.2) ? rng.uniform(3, 12) : 0;
      const depth = rng.uniform(10, 20);
      const height = rng.chance(0.15) ? rng.uniform(18, 40) : rng.uniform(4, 16);
      const q = walk + side * (setback + depth / 2);
      const [x, y] = at(road, s + w / 2, q);
      const [camS2, camQ] = road.axis === 'y' ? [cam[1], cam[0]] : [cam[0], cam[1]];
      const containsCamera = Math.abs(camS2 - (s + w / 2)) < w / 2 + 3 && Math.abs(camQ - q) < depth / 2 + 3;
      if (!blocked(scene, road, s + w / 2, w / 2 + 2) && !containsCamera) {
        const f = Frame.ground(x, y, h);
        const facade = jitter(rng, facadeBase, 0.12);
        solids.push(pushBox(polys, f, 0, 0, depth, w, 0, height, { albedo: facade }));
        // Windows smaller than ~2 px would only cost time: skip them on distant buildings.
        const dist = Math.hypot(x - cam[0], y - cam[1]);
        if (dist < scene.camera.fx * 1.5) windows(rng, polys, f, side, depth, w, height, night);
      }
      s += w + gap;
    }
  } else {
    if (rng.chance(0.4)) {
      // Guard rail along the edge.
      const [x0, y0] = at(road, s0, edge + side * 0.5);
      const [x1, y1] = at(road, s1, edge + side * 0.5);
      const railStyle: FaceStyle = { albedo: hex('#a0a4a8'), surface: Surface.Paint };
      pushPoly(polys, [[x0, y0, 0.45], [x1, y1, 0.45], [x1, y1, 0.75], [x0, y0, 0.75]], railStyle, null, true);
      for (let s = s0; s < s1; s += 4) {
        const [px, py] = at(road, s, edge + side * 0.55);
        pushBox(polys, Frame.ground(px, py, h), 0, 0, 0.1, 0.1, 0, 0.7, { albedo: hex('#6b6e70') });
      }
    }
    if (rng.chance(0.3)) {
      // Noise wall.
      const q = walk + side * rng.uniform(2, 6);
      const [x0, y0] = at(road, s0, q);
      const [x1, y1] = at(road, s1, q);
      const wh = rng.uniform(2.5, 4.5);
      pushPoly(polys, [[x0, y0, 0], [x1, y1, 0], [x1, y1, wh], [x0, y0, wh]], { albedo: jitter(rng, hex(rng.pick(['#8d8f7a', '#6e7d6a', '#9a9890'])), 0.1) }, null, true);
    }
  }

  // Trees.
  if (rng.chance(scene.urban ? 0.5 : 0.8)) {
    const spacing = rng.uniform(7, 20);
    for (let s = s0 + rng.uniform(0, spacing); s < s1; s += spacing * rng.uniform(0.7, 1.3)) {
      if (blocked(scene, road, s, 3)) continue;
      const q = scene.urban ? edge + side * rng.uniform(0.8, road.sidewalk - 0.6) : walk + side * rng.uniform(1, 12);
      const [tx, ty] = at(road, s, q);
      if (!nearCamera(scene, tx, ty, 12)) tree(rng, polys, solids, tx, ty);
    }
  }

  // Street lamps.
  if (rng.chance(0.75)) {
    const spacing = rng.uniform(22, 40);
    const arm = rng.uniform(1.2, 2.8);
    const lampH = rng.uniform(7, 10);
    for (let s = s0 + rng.uniform(0, spacing); s < s1; s += spacing) {
      const [x, y] = at(road, s, edge + side * 0.6);
      if (blocked(scene, road, s, 1) || nearCamera(scene, x, y, 9)) continue;
      const f = Frame.ground(x, y, h);
      solids.push(pushBox(polys, f, 0, 0, 0.18, 0.18, 0, lampH, { albedo: hex('#6e7276'), surface: Surface.Paint }));
      pushBox(polys, f, (-side * arm) / 2, 0, arm, 0.1, lampH - 0.12, lampH, { albedo: hex('#6e7276'), surface: Surface.Paint });
      const head = f.point(-side * arm, 0, lampH - 0.15);
      pushBox(polys, new Frame(head, f.ax, f.lx, f.zx), 0, 0, 0.6, 0.3, -0.15, 0.05, {
        top: { albedo: hex('#505456') },
        front: { albedo: hex('#505456') },
        back: { albedo: hex('#505456') },
        left: { albedo: hex('#505456') },
        right: { albedo: hex('#505456') },
        bottom: { albedo: hex('#e0dccc'), surface: Surface.Lamp, glow: scene.light.lightsOn ? [9, 7.2, 4.5] : undefined },
      });
      if (scene.light.lightsOn) scene.streetLamps.push(head);
    }
  }

  // Pavement clutter: bins, cabinets, benches, bollards, shelters, containers, signs, cones.
  const clutterRate = scene.urban ? 0.09 : 0.04;
  for (let s = s0; s < s1; s += 1) {
    if (!rng.chance(clutterRate) || blocked(scene, road, s, 2)) continue;
    const q = edge + side * rng.uniform(0.5, Math.max(0.8, road.sidewalk - 0.4));
    const [x, y] = at(road, s, q);
    if (nearCamera(scene, x, y, 6)) continue;
    clutterItem(rng, polys, solids, Frame.ground(x, y, h + (side > 0 ? 0 : Math.PI)), -(Math.abs(q - edge) + 0.5));
  }
}

function windows(rng: Rng, polys: Poly[], f: Frame, side: -1 | 1, depth: number, w: number, height: number, night: boolean): void {
  const a = -side * (depth / 2 + 0.03);
  const floorH = rng.uniform(2.9, 3.6);
  const colW = rng.uniform(2.2, 4);
  const winW = colW * rng.uniform(0.4, 0.75);
  const winH = floorH * rng.uniform(0.4, 0.65);
  const glassTone = jitter(rng, hex('#2a3440'), 0.3);
  const shop = rng.chance(0.6);
  const inside = f.point(0, 0, height / 2);
  if (shop) {
    const sh = rng.uniform(2.2, 3);
    pushPoly(polys, [f.point(a, -w / 2 + 0.6, 0.4), f.point(a, w / 2 - 0.6, 0.4), f.point(a, w / 2 - 0.6, sh), f.point(a, -w / 2 + 0.6, sh)], { albedo: mul(glassTone, 1.3), surface: Surface.Window, glow: night ? [0.12, 0.1, 0.08] : undefined }, inside);
    if (rng.chance(0.6)) {
      // Awning or sign band above the shop window.
      pushPoly(polys, [f.point(a * 1.002 - side * 0.01, -w / 2 + 0.3, sh + 0.2), f.point(a - side * 0.01, w / 2 - 0.3, sh + 0.2), f.point(a - side * 0.01, w / 2 - 0.3, sh + 0.9), f.point(a - side * 0.01, -w / 2 + 0.3, sh + 0.9)], { albedo: clutterPaint(rng) }, inside);
    }
  }
  const cols = Math.max(1, Math.floor((w - 1) / colW));
  const margin = (w - cols * colW) / 2;
  for (let z = shop ? 3.6 : 1.0; z + winH < height - 0.6; z += floorH) {
    for (let c = 0; c < cols; c++) {
      const l0 = -w / 2 + margin + c * colW + (colW - winW) / 2;
      const lit = night && rng.chance(0.3);
      pushPoly(polys, [f.point(a, l0, z), f.point(a, l0 + winW, z), f.point(a, l0 + winW, z + winH), f.point(a, l0, z + winH)], { albedo: glassTone, surface: Surface.Window, glow: lit ? mul([1, 0.85, 0.6], rng.uniform(0.08, 0.35)) : undefined }, inside);
    }
  }
}

function tree(rng: Rng, polys: Poly[], solids: Vec3[][], x: number, y: number): void {
  const f = Frame.ground(x, y, rng.uniform(0, 6.28));
  const trunkH = rng.uniform(1.8, 3.5);
  const r = rng.uniform(1.2, 3.2);
  solids.push(pushBox(polys, f, 0, 0, 0.25, 0.25, 0, trunkH + 0.5, { albedo: hex('#4a3a2a') }));
  const leaf: RGB = jitter(rng, lin(55, 85, 35), 0.25);
  const hz = rng.uniform(1.4, 2.4) * r;
  solids.push(
    pushLathe(polys, f.child(0, 0, trunkH), [[0, r * 0.4, r * 0.45], [hz * 0.3, r, r * 0.95], [hz * 0.7, r * 0.9, r], [hz, r * 0.2, r * 0.25]], 7, { albedo: leaf }, rng.uniform(0, 1)),
  );
}

/** One item on the pavement; `toRoad` is the lateral offset that reaches 0.5 m into the carriageway. */
function clutterItem(rng: Rng, polys: Poly[], solids: Vec3[][], f: Frame, toRoad: number): void {
  const kind = rng.weighted({ bin: 18, cabinet: 14, bench: 8, bollards: 10, sign: 18, shelter: 4, container: 4, dumpster: 6, hydrant: 6, planter: 6, billboard: 3, cones: 5, barrier: 6 });
  const paint = clutterPaint(rng);
  const s = (style: RGB): FaceStyle => ({ albedo: style, surface: Surface.Paint });
  switch (kind) {
    case 'bin':
      solids.push(pushHexa(polys, f, [-0.28, 0.28, -0.28, 0.28, 0], [-0.32, 0.32, -0.32, 0.32, rng.uniform(0.9, 1.1)], uniformStyle(s(paint))));
      break;
    case 'cabinet':
      solids.push(pushBox(polys, f, 0, 0, rng.uniform(0.4, 0.7), rng.uniform(0.6, 1.6), 0, rng.uniform(1.0, 1.7), s(paint)));
      break;
    case 'bench':
      pushBox(polys, f, 0, 0, 0.45, 1.8, 0.4, 0.48, s(hex('#7a5a3a')));
      pushBox(polys, f, 0.2, 0, 0.06, 1.8, 0.5, 0.9, s(hex('#7a5a3a')));
      pushBox(polys, f, 0, -0.8, 0.4, 0.08, 0, 0.42, s(hex('#333333')));
      pushBox(polys, f, 0, 0.8, 0.4, 0.08, 0, 0.42, s(hex('#333333')));
      break;
    case 'bollards':
      for (let i = 0; i < 4; i++) solids.push(pushBox(polys, f, 0, i * 1.4, 0.15, 0.15, 0, 0.95, s(i % 2 ? hex('#333333') : paint)));
      break;
    case 'sign': {
      const hgt = rng.uniform(2.0, 3.2);
      solids.push(pushBox(polys, f, 0, 0, 0.07, 0.07, 0, hgt, s(hex('#8a8d90'))));
      const plate = jitter(rng, hex(rng.pick(['#1565c0', '#c62828', '#f5f5f5', '#2e7d32', '#f9a825'])), 0.05);
      const sz = rng.uniform(0.5, 0.9);
      const g = f.child(0, 0, hgt, 0, (Math.PI / 2) * (rng.chance(0.7) ? 1 : 0));
      if (rng.chance(0.5)) pushDisc(polys, g, 0.05, 0, 0, sz / 2, s(plate), 1, 12, true);
      else pushPoly(polys, [g.point(0.05, -sz / 2, -sz / 2), g.point(0.05, sz / 2, -sz / 2), g.point(0.05, sz / 2, sz / 2), g.point(0.05, -sz / 2, sz / 2)], s(plate), null, true);
      break;
    }
    case 'shelter': {
      const len = rng.uniform(3, 5);
      pushBox(polys, f, 0, 0, 1.6, len, 2.4, 2.55, s(hex('#505a60')));
      for (const l of [-len / 2, len / 2]) solids.push(pushBox(polys, f, 0.7, l, 0.08, 0.08, 0, 2.4, s(hex('#505a60'))));
      pushPoly(polys, [f.point(0.75, -len / 2, 0.1), f.point(0.75, len / 2, 0.1), f.point(0.75, len / 2, 2.3), f.point(0.75, -len / 2, 2.3)], { albedo: hex('#3a4a50'), surface: Surface.Glass }, null, true);
      break;
    }
    case 'container':
      solids.push(pushBox(polys, f, 0, 0, 2.44, rng.chance(0.5) ? 6.06 : 3.0, 0, 2.6, s(jitter(rng, hex(rng.pick(['#b03a2e', '#1f5f8b', '#2e7d32', '#c77c1a', '#7a7a7a'])), 0.1))));
      break;
    case 'dumpster':
      solids.push(pushHexa(polys, f, [-0.6, 0.6, -0.9, 0.9, 0.1], [-0.7, 0.7, -1.0, 1.0, 1.25], uniformStyle(s(paint))));
      break;
    case 'hydrant':
      solids.push(pushBox(polys, f, 0, 0, 0.25, 0.25, 0, 0.7, s(hex(rng.pick(['#c62828', '#f9a825', '#9e9e9e'])))));
      break;
    case 'planter':
      solids.push(pushBox(polys, f, 0, 0, 1.0, 1.0, 0, 0.6, s(hex('#8d8a80'))));
      pushLathe(polys, f.child(0, 0, 0.6), [[0, 0.45, 0.45], [0.4, 0.5, 0.5], [0.8, 0, 0]], 6, { albedo: jitter(rng, lin(60, 95, 40), 0.2) });
      break;
    case 'billboard': {
      const bw = rng.uniform(3, 6);
      const bh = rng.uniform(1.8, 3);
      const z0 = rng.uniform(1.5, 3);
      for (const l of [-bw / 3, bw / 3]) solids.push(pushBox(polys, f, 0, l, 0.15, 0.15, 0, z0, s(hex('#555555'))));
      solids.push(pushBox(polys, f, 0, 0, 0.2, bw, z0, z0 + bh, { top: s(hex('#444444')), front: s(hex('#444444')), back: s(hex('#444444')), left: s(clutterPaint(rng)), right: s(clutterPaint(rng)) }));
      break;
    }
    case 'cones': {
      // A short line of cones at the kerb, on the carriageway.
      for (let i = 0; i < 4; i++) {
        const c = f.child(toRoad, i * 1.5, 0);
        pushLathe(polys, c, [[0, 0.18, 0.18], [0.7, 0.03, 0.03]], 6, s(hex('#ff6d00')));
      }
      break;
    }
    default:
      // Concrete barrier segment.
      solids.push(pushHexa(polys, f, [-0.3, 0.3, -1.5, 1.5, 0], [-0.1, 0.1, -1.5, 1.5, 0.8], uniformStyle({ albedo: mul(hex('#b8b6ae'), rng.uniform(0.8, 1.05)) })));
  }
}

function roadDecals(rng: Rng, scene: Scene, polys: Poly[]): void {
  const main = scene.main;
  // Manholes, repair patches and turn arrows: things on the road surface a detector must ignore.
  for (let s = scene.near; s < scene.far; s += rng.uniform(6, 25)) {
    const lane = rng.pick(main.lanes);
    const q = lane.off + rng.uniform(-1, 1);
    const kind = rng.weighted({ manhole: 4, patch: 5, arrow: 2, stain: 3 });
    const f = Frame.ground(q, s, lane.dir > 0 ? 0 : Math.PI, 0.004);
    if (kind === 'manhole') groundDisc(polys, f, 0.32, { albedo: hex('#2a2a28') }, 12);
    else if (kind === 'patch') {
      const c = mul(scene.asphalt, rng.uniform(0.6, 1.5));
      const w = rng.uniform(0.5, 2.5);
      const l = rng.uniform(0.5, 4);
      pushPoly(polys, [f.point(-w / 2, -l / 2, 0), f.point(w / 2, -l / 2, 0), f.point(w / 2, l / 2, 0), f.point(-w / 2, l / 2, 0)], { albedo: c }, null, true);
    } else if (kind === 'stain') {
      groundDisc(polys, f, rng.uniform(0.3, 0.9), { albedo: mul(scene.asphalt, 0.55) }, 9, rng.uniform(0.5, 1));
    } else {
      const white = hex('#d8d8d2');
      pushPoly(polys, [f.point(-0.08, -2.5, 0), f.point(0.08, -2.5, 0), f.point(0.08, 0.5, 0), f.point(-0.08, 0.5, 0)], { albedo: white }, null, true);
      pushPoly(polys, [f.point(-0.35, 0.5, 0), f.point(0.35, 0.5, 0), f.point(0, 1.6, 0)], { albedo: white }, null, true);
    }
  }
}

function trafficLights(rng: Rng, scene: Scene, polys: Poly[], solids: Vec3[][]): void {
  const main = scene.main;
  const cross = scene.cross!;
  const corners: [number, number, number][] = [
    [main.hi + 1, cross.lo - 1, 0],
    [main.lo - 1, cross.hi + 1, Math.PI],
    [main.hi + 1, cross.hi + 1, Math.PI / 2],
    [main.lo - 1, cross.lo - 1, -Math.PI / 2],
  ];
  const red = rng.chance(0.5);
  for (const [x, y, hd] of corners) {
    const f = Frame.ground(x, y, hd);
    solids.push(pushBox(polys, f, 0, 0, 0.14, 0.14, 0, 3.2, { albedo: hex('#4a4d50'), surface: Surface.Paint }));
    solids.push(pushBox(polys, f, 0, 0, 0.35, 0.3, 3.2, 4.2, { albedo: hex('#1c1c1c'), surface: Surface.Paint }));
    const lit = [red, false, !red];
    const colors: RGB[] = [[1, 0.08, 0.05], [1, 0.6, 0.05], [0.1, 1, 0.4]];
    for (let i = 0; i < 3; i++) {
      const on = lit[i];
      pushDisc(polys, f.child(0, 0.16, 4.05 - i * 0.3, 0, Math.PI / 2), 0, 0, 0, 0.1, { albedo: on ? mul(colors[i], 0.6) : hex('#202020'), surface: Surface.Lamp, glow: on ? mul(colors[i], 5) : undefined }, 1, 8, true);
    }
  }
}

function signGantry(rng: Rng, scene: Scene, polys: Poly[], solids: Vec3[][]): void {
  const main = scene.main;
  const y = scene.camera.pose.position[1] + rng.uniform(40, 90);
  const z = rng.uniform(5.5, 6.5);
  for (const x of [main.lo - 1, main.hi + 1]) solids.push(pushBox(polys, Frame.ground(x, y, 0), 0, 0, 0.4, 0.4, 0, z + 1.2, { albedo: hex('#8a8d90'), surface: Surface.Paint }));
  solids.push(pushBox(polys, Frame.ground((main.lo + main.hi) / 2, y, 0), 0, 0, main.hi - main.lo + 2, 0.5, z + 0.8, z + 1.2, { albedo: hex('#8a8d90'), surface: Surface.Paint }));
  const n = Math.max(1, Math.round((main.hi - main.lo) / 5));
  for (let i = 0; i < n; i++) {
    const x0 = main.lo + (i + 0.15) * ((main.hi - main.lo) / n);
    const x1 = main.lo + (i + 0.85) * ((main.hi - main.lo) / n);
    pushPoly(polys, [[x0, y - 0.3, z - 1.2], [x1, y - 0.3, z - 1.2], [x1, y - 0.3, z + 0.9], [x0, y - 0.3, z + 0.9]], { albedo: hex(rng.pick(['#1b5e20', '#0d47a1'])), surface: Surface.Paint }, null, true);
  }
}

/** A flat disc (or ellipse, `squash` < 1) lying on the frame's ground plane: manholes, stains. */
function groundDisc(polys: Poly[], f: Frame, r: number, style: FaceStyle, n: number, squash = 1): void {
  const pts: Vec3[] = [];
  for (let i = 0; i < n; i++) {
    const t = (i / n) * Math.PI * 2;
    pts.push(f.point(r * Math.cos(t), r * squash * Math.sin(t), 0));
  }
  pushPoly(polys, pts, style, null, true);
}
