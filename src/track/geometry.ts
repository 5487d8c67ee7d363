import type { Box } from '../core/types.js';

/** The point a box stands on: bottom centre, the anchor used for counting, zones and speed. */
export function bottomCentre(b: Box): [number, number] {
  return [(b[0] + b[2]) / 2, b[3]];
}

/** Even-odd point-in-polygon test. */
export function pointInPolygon(x: number, y: number, poly: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function distanceToSegment(x: number, y: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(x - (x0 + t * dx), y - (y0 + t * dy));
}

/**
 * The first two sides of a polygon that cross each other (sides numbered from 1: side i runs from point i
 * to the next), or null. Corners listed in Z order (top-left, top-right, bottom-left, bottom-right) make a
 * bow tie whose two triangles are not the box meant: a stop box drawn so held a tenth of its traffic.
 */
export function crossingSides(pts: readonly (readonly [number, number])[]): [number, number] | null {
  const n = pts.length;
  const side = (a: readonly [number, number], b: readonly [number, number], c: readonly [number, number]) => Math.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
  for (let i = 0; i < n; i++) {
    const [a, b] = [pts[i], pts[(i + 1) % n]];
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // the last side meets the first at point 1
      const [c, d] = [pts[j], pts[(j + 1) % n]];
      // A proper crossing: each side's ends strictly on both sides of the other.
      if (side(a, b, c) * side(a, b, d) < 0 && side(c, d, a) * side(c, d, b) < 0) return [i + 1, j + 1];
    }
  }
  return null;
}
