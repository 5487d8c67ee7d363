/**
 * Two clocks. The wall clock (Date.now()) dates what happened, for people and for count intervals; NTP or a
 * person can step it, by seconds or hours. Durations (how long since a frame, how far behind a camera) come
 * from the monotonic clock, which only goes forward at the pace of time: measured on the wall clock, a step
 * of +30 s read as 30 s without a frame, a camera outage.
 */
export function monoNow(): number {
  return performance.now();
}

/** Steps of the wall clock, told by how far it moved between two looks against the monotonic clock. */
export class WallClockSteps {
  private wall = Date.now();
  private mono = monoNow();

  /** Drift and the two clocks' granularity stay under this between looks (NTP slews at most 0.5 ms a second). */
  constructor(private readonly toleranceMs = 1000) {}

  /** How far the wall clock stepped since the last look, ms (negative: back), or 0 within the tolerance. */
  look(): number {
    const wall = Date.now();
    const mono = monoNow();
    const step = wall - this.wall - (mono - this.mono);
    this.wall = wall;
    this.mono = mono;
    return Math.abs(step) < this.toleranceMs ? 0 : step;
  }
}
