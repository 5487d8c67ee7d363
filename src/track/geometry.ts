import type { Box } from '../core/types.js';

/** Intersection over union of two [x1, y1, x2, y2] boxes; 0 when they do not overlap. */
export function iou(ax1: number, ay1: number, ax2: number, ay2: number, bx1: number, by1: number, bx2: number, by2: number): number {
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (iw <= 0) return 0;
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

export function boxIou(a: Box, b: Box): number {
  return iou(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]);
}

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

/** Distance from a point to the nearest edge of a polygon. */
export function distanceToPolygonEdge(x: number, y: number, poly: readonly (readonly [number, number])[]): number {
  let best = Infinity;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    best = Math.min(best, distanceToSegment(x, y, poly[j][0], poly[j][1], poly[i][0], poly[i][1]));
  }
  return best;
}

export function distanceToSegment(x: number, y: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(x - (x0 + t * dx), y - (y0 + t * dy));
}
