/**
 * Polygon zones with hysteresis: a track's anchor enters when it is inside by more than a margin,
 * and leaves when it is outside by more than the margin, each confirmed by consecutive
 * observations, so a box jittering on the border does not produce a stream of enter/exit events.
 */
import { distanceToPolygonEdge, pointInPolygon } from './geometry.js';

export interface ZoneConfig {
  /** Margin as a fraction of the box height. */
  marginFraction: number;
  minMarginPx: number;
  /** Consecutive observations beyond the margin needed to change state. */
  confirmObservations: number;
}

export const defaultZoneConfig: ZoneConfig = { marginFraction: 0.1, minMarginPx: 2, confirmObservations: 2 };

/** Per track, per zone. */
export interface ZoneState {
  inside: boolean;
  pending: number;
}

export class PolygonZone {
  constructor(
    readonly name: string,
    readonly polygon: readonly (readonly [number, number])[],
    private readonly cfg: ZoneConfig = defaultZoneConfig,
  ) {}

  /** Feeds one anchor observation; returns true when the inside-state changed. */
  observe(s: ZoneState, x: number, y: number, boxHeight: number): boolean {
    const margin = Math.max(this.cfg.minMarginPx, this.cfg.marginFraction * boxHeight);
    const inside = pointInPolygon(x, y, this.polygon);
    if (inside === s.inside || distanceToPolygonEdge(x, y, this.polygon) <= margin) {
      s.pending = 0;
      return false;
    }
    if (++s.pending < this.cfg.confirmObservations) return false;
    s.inside = inside;
    s.pending = 0;
    return true;
  }
}
