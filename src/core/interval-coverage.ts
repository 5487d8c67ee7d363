/**
 * A gap between two counted frames up to this long is video the interval had (a frame dropped under load, the
 * detector a moment behind); a longer one is time nothing was counted (a camera down, a stream stalled), and an
 * interval's covered time leaves it out. So "0 cars in 60 s" and "0 cars in 7 s" stay apart.
 */
export const MAX_COVERED_GAP_MS = 2000;


/**
 * How much of each count interval had video: the span of the frames counted in it, a gap between consecutive
 * frames counted only when it is short (MAX_COVERED_GAP_MS), or when frames were decoded in it at least that often
 * and skipped on purpose (batch --stride, frames a busy detector left: their time was video); the frame before a
 * longer gap, and the input's last, stand for one frame period (the shortest seen, if under 2 s). A frame the
 * detector failed on covers nothing, nor does the time from it to the next.
 * A gap over an interval's end is split between the two. Per frame O(1), nothing allocated: `add` is told each
 * piece, by the start of its interval on the frames' clock.
 */
export class IntervalCoverage {
  private lastT = -Infinity;
  private lastSeq = -1;
  /** The shortest time per decoded frame seen: the source's frame period, stalls and outages aside. */
  private periodMs = Infinity;
  private lastCounted = false;

  constructor(
    private readonly intervalMs: number,
    private readonly add: (intervalStart: number, ms: number) => void,
  ) {}

  /**
   * A frame at `t` (the intervals' clock, ms), the `seq`-th decoded from its source; `counted` false when the
   * detector failed on it (its time was not counted).
   */
  frame(t: number, seq: number, counted = true): void {
    if (!(t > this.lastT)) return;
    if (Number.isFinite(this.lastT) && this.lastCounted) {
      const gap = t - this.lastT;
      // Frames decoded and not counted in between (a stride, a busy detector): their time was video, so long as
      // they came at least every MAX_COVERED_GAP_MS. Two consecutive frames far apart are an outage, and a source
      // that starts its numbering again (a reconnected camera) skipped none. (Judged by the frames decoded, not by a
      // frame period measured on arrival times: one burst of frames at a camera's start made that period a
      // millisecond, and every later stride an outage.)
      const decoded = seq - this.lastSeq;
      if (counted && gap <= Math.max(1, decoded) * MAX_COVERED_GAP_MS) this.cover(this.lastT, t);
      // An outage, or a frame not counted: the frame before it stands for its own frame period, as the input's last does.
      else this.coverOnePeriod();
      if (decoded > 0) this.periodMs = Math.min(this.periodMs, gap / decoded);
    }
    this.lastT = t;
    this.lastSeq = seq;
    this.lastCounted = counted;
  }

  /**
   * The input has ended: its last frame covers one frame period (as a batch table's last interval ends there), if
   * frames came that close together at all (frames seconds apart had no video between them).
   */
  end(): void {
    if (this.lastCounted) this.coverOnePeriod();
  }

  private coverOnePeriod(): void {
    if (Number.isFinite(this.lastT) && this.periodMs <= MAX_COVERED_GAP_MS) this.cover(this.lastT, this.lastT + this.periodMs);
  }

  private cover(from: number, to: number): void {
    while (from < to) {
      const start = Math.floor(from / this.intervalMs) * this.intervalMs;
      const end = Math.min(to, start + this.intervalMs);
      this.add(start, end - from);
      from = end;
    }
  }
}

/** Covered milliseconds as the seconds an interval carries (`covered_s`, `coveredSeconds`): to the millisecond. */
export function coveredSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}
