/**
 * Polygon zones with hysteresis: a track's anchor enters when it is inside by more than a margin,
 * and leaves when it is outside by more than the margin, each confirmed by consecutive
 * observations, so a box jittering on the border does not produce a stream of enter/exit events.
 */
import { distanceToSegment, pointInPolygon } from './geometry.js';

export interface ZoneConfig {
  /** Margin as a fraction of the box height. */
  marginFraction: number;
  minMarginPx: number;
  /**
   * The margin's ceiling as a fraction of the zone's depth (twice its area over its perimeter: a strip's
   * width). A margin from the box alone outgrew a stop-bar box: no point of an 85-pixel-deep zone was 60
   * pixels (a 600-pixel truck's tenth) inside it, and a truck stopped 25 pixels past a 143-pixel-deep box
   * was held inside (a quarter of the depth, 36 pixels, still held it).
   */
  maxMarginOfDepth: number;
  /** Consecutive observations beyond the margin needed to change state. */
  confirmObservations: number;
}

export const defaultZoneConfig: ZoneConfig = { marginFraction: 0.1, minMarginPx: 2, maxMarginOfDepth: 0.125, confirmObservations: 2 };

/** Per track, per zone. */
export interface ZoneState {
  inside: boolean;
  pending: number;
}

export class PolygonZone {
  private readonly maxMargin: number;
  /** Per picture size: the polygon's sides a vehicle can be seen crossing (not those along the picture's border). */
  private sides: { w: number; h: number; segments: [number, number, number, number][] } | undefined;

  constructor(
    readonly name: string,
    readonly polygon: readonly (readonly [number, number])[],
    private readonly cfg: ZoneConfig = defaultZoneConfig,
  ) {
    let area = 0;
    let perimeter = 0;
    for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
      area += polygon[j][0] * polygon[i][1] - polygon[i][0] * polygon[j][1];
      perimeter += Math.hypot(polygon[i][0] - polygon[j][0], polygon[i][1] - polygon[j][1]);
    }
    const depth = perimeter > 0 ? Math.abs(area) / perimeter : 0;
    this.maxMargin = Math.max(cfg.minMarginPx, cfg.maxMarginOfDepth * depth);
  }

  /**
   * Feeds one anchor observation in a picture of width × height; returns true when the inside-state
   * changed. A box cut off by the picture's edge has its anchor on that edge: it is kept two pixels inside
   * the picture, and a side of the zone drawn along the picture's border is no border a vehicle is seen
   * crossing, so it sets no margin (a zone reaching the bottom of the picture never took in a vehicle
   * whose box the bottom cut off).
   */
  observe(s: ZoneState, x: number, y: number, boxHeight: number, width: number, height: number): boolean {
    const margin = Math.min(this.maxMargin, Math.max(this.cfg.minMarginPx, this.cfg.marginFraction * boxHeight));
    // Two pixels in: a zone side on the last row or column (or on the border itself) must not have the
    // anchor on it, where the inside test cannot tell.
    const ax = width > 4 ? Math.min(Math.max(x, 2), width - 2) : x;
    const ay = height > 4 ? Math.min(Math.max(y, 2), height - 2) : y;
    const inside = pointInPolygon(ax, ay, this.polygon);
    if (inside === s.inside || this.distanceToSides(ax, ay, width, height) <= margin) {
      s.pending = 0;
      return false;
    }
    if (++s.pending < this.cfg.confirmObservations) return false;
    s.inside = inside;
    s.pending = 0;
    return true;
  }

  private distanceToSides(x: number, y: number, width: number, height: number): number {
    if (!this.sides || this.sides.w !== width || this.sides.h !== height) this.sides = { w: width, h: height, segments: this.crossableSides(width, height) };
    let best = Infinity;
    for (const [x0, y0, x1, y1] of this.sides.segments) best = Math.min(best, distanceToSegment(x, y, x0, y0, x1, y1));
    return best;
  }

  private crossableSides(width: number, height: number): [number, number, number, number][] {
    const p = this.polygon;
    // Both ends on (or past) the same border of the picture, within a pixel of it.
    const onBorder = (a: readonly [number, number], b: readonly [number, number]) =>
      width > 0 &&
      height > 0 &&
      ((a[0] <= 1 && b[0] <= 1) || (a[0] >= width - 1 && b[0] >= width - 1) || (a[1] <= 1 && b[1] <= 1) || (a[1] >= height - 1 && b[1] >= height - 1));
    const out: [number, number, number, number][] = [];
    for (let i = 0, j = p.length - 1; i < p.length; j = i++) if (!onBorder(p[j], p[i])) out.push([p[j][0], p[j][1], p[i][0], p[i][1]]);
    return out;
  }
}
