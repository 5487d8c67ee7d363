/**
 * Line crossing with hysteresis. The anchor (bottom centre of the box) of a track is on one side
 * of a line only when it is more than a margin away from it (the margin grows with the box, so
 * detection jitter on a near or far vehicle is covered alike). A crossing is a change of settled
 * side confirmed by two observations beyond the margin, or by one far beyond it (a fast object at
 * a low frame rate); its point on the line must fall within the segment. Anchors inside the band,
 * boxes straddling the line, and tracks first seen there never count. A crossing back soon after one
 * needs the new side held for a while (REVERSAL_HOLD_MS).
 *
 * Time: a crossing is decided a frame or two after the anchor went over the line (two observations beyond
 * the margin); its instant is where the anchor's path met the line, interpolated between the observations
 * either side of it (the last time it went over towards the new side), so a headway or a count bin does not
 * depend on the frame rate or the stride; no more than CROSSING_LOOKBACK_MS before it was certain.
 *
 * Direction: with d = p1 − p0, an anchor at p is on the right when cross(d, p − p0) > 0. In image
 * coordinates (y down) that is the right-hand side for someone standing at p0 facing p1. Moving
 * from the left side to the right side is "forward"; e.g. for a line drawn left→right across the
 * image, forward is moving down the image.
 */
export interface LineConfig {
  /** Band half-width as a fraction of the box height. */
  marginFraction: number;
  /** Band half-width floor, pixels. */
  minMarginPx: number;
  /** Observations beyond the margin on the new side needed to commit a crossing. */
  confirmObservations: number;
  /** A single observation this many margins beyond the line commits at once. */
  farMargins: number;
}

/**
 * A crossing is dated at most this long before the observation that made it certain: a vehicle that stood on
 * the line is dated no earlier, and a file of counts can close an interval this long after its end.
 */
export const CROSSING_LOOKBACK_MS = 3000;

export const defaultLineConfig: LineConfig = { marginFraction: 0.1, minMarginPx: 3, confirmObservations: 2, farMargins: 3 };

/**
 * A crossing back over a line within REVERSAL_WINDOW_MS of the track's last one needs its anchor beyond the
 * margin on the new side for REVERSAL_HOLD_MS, not two observations: a vehicle turns back slowly if at all,
 * while a detector's box of a queued truck jumped 50 px back over the line for two frames and was counted
 * back. The counts of three real clips (31, 41 and 9 crossings) stayed the same.
 */
export const REVERSAL_WINDOW_MS = 3000;
export const REVERSAL_HOLD_MS = 400;

/** Per track, per line. */
export interface LineSideState {
  /** -1 left, +1 right, 0 not settled yet. */
  side: number;
  /** Last anchor position while on the settled side. */
  lastX: number;
  lastY: number;
  /** Consecutive observations beyond the margin on the other side. */
  pending: number;
  /** The previous observation's signed distance and time. */
  prevD: number;
  prevT: number;
  /** When the anchor last went over the line towards the side it is not settled on; NaN before it has. */
  crossT: number;
  /** When the current run of observations beyond the margin on the other side began. */
  pendingT: number;
  /** When the settled side last changed by a crossing (the observation that made it certain); NaN before. */
  committedT: number;
}

export function newLineSideState(): LineSideState {
  return { side: 0, lastX: 0, lastY: 0, pending: 0, prevD: 0, prevT: NaN, crossT: NaN, pendingT: NaN, committedT: NaN };
}

export class CountingLine {
  private readonly dx: number;
  private readonly dy: number;
  private readonly len: number;

  constructor(
    readonly name: string,
    readonly p0: readonly [number, number],
    readonly p1: readonly [number, number],
    private readonly cfg: LineConfig = defaultLineConfig,
  ) {
    this.dx = p1[0] - p0[0];
    this.dy = p1[1] - p0[1];
    this.len = Math.hypot(this.dx, this.dy);
  }

  /** Signed distance of a point from the (infinite) line, pixels; > 0 on the right. */
  signedDistance(x: number, y: number): number {
    return (this.dx * (y - this.p0[1]) - this.dy * (x - this.p0[0])) / this.len;
  }

  /**
   * Feeds one observation of a track's anchor at time `tMs`; returns the crossing it completes, if any,
   * whose instant is then `s.crossT`.
   */
  observe(s: LineSideState, x: number, y: number, boxHeight: number, tMs: number): 'forward' | 'backward' | null {
    if (!(this.len > 0)) return null;
    const margin = Math.max(this.cfg.minMarginPx, this.cfg.marginFraction * boxHeight);
    const d = this.signedDistance(x, y);
    if (s.side !== 0 && Math.sign(d) === -s.side && Math.sign(s.prevD) !== -s.side) {
      // Over the line since the last observation: where between the two, at a steady pace.
      s.crossT = Number.isFinite(s.prevT) ? s.prevT + (s.prevD / (s.prevD - d)) * (tMs - s.prevT) : tMs;
    }
    s.prevD = d;
    s.prevT = tMs;
    const obsSide = d > margin ? 1 : d < -margin ? -1 : 0;
    if (obsSide === 0 || obsSide === s.side || s.side === 0) {
      if (obsSide !== 0) {
        s.side = obsSide;
        s.lastX = x;
        s.lastY = y;
      }
      s.pending = 0;
      return null;
    }
    if (s.pending++ === 0) s.pendingT = tMs;
    if (s.pending < this.cfg.confirmObservations && Math.abs(d) < this.cfg.farMargins * margin) return null;
    if (tMs - s.committedT < REVERSAL_WINDOW_MS && tMs - s.pendingT < REVERSAL_HOLD_MS) return null;
    // Where did the path from the last settled position to here meet the line?
    const d0 = this.signedDistance(s.lastX, s.lastY);
    const a = d0 / (d0 - d);
    const qx = s.lastX + a * (x - s.lastX);
    const qy = s.lastY + a * (y - s.lastY);
    const t = ((qx - this.p0[0]) * this.dx + (qy - this.p0[1]) * this.dy) / (this.len * this.len);
    const dir = obsSide > 0 ? 'forward' : 'backward';
    s.side = obsSide;
    s.lastX = x;
    s.lastY = y;
    s.pending = 0;
    s.committedT = tMs;
    if (!(s.crossT <= tMs)) s.crossT = tMs;
    s.crossT = Math.max(s.crossT, tMs - CROSSING_LOOKBACK_MS);
    return t >= 0 && t <= 1 ? dir : null;
  }
}
