/** Rolling per-source rates and latency for SourceStatus (cheap: fixed rings, no allocation per frame). */
export class RateWindow {
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    size = 256,
    private readonly windowMs = 5000,
  ) {
    this.times = new Float64Array(size);
  }

  mark(t: number): void {
    this.times[this.head] = t;
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  /** Events per second over the last window. */
  rate(now: number): number {
    let n = 0;
    let oldest = now;
    for (let i = 0; i < this.count; i++) {
      const t = this.times[(this.head - 1 - i + this.times.length) % this.times.length];
      if (now - t > this.windowMs) break;
      n++;
      oldest = t;
    }
    if (n < 2) return n / (this.windowMs / 1000);
    return (n - 1) / Math.max(0.001, (now - oldest) / 1000) ;
  }
}

export class LatencyWindow {
  private readonly values: Float64Array;
  private readonly at: Float64Array;
  private head = 0;
  private count = 0;
  private readonly scratch: Float64Array;

  constructor(
    size = 128,
    private readonly windowMs = 5000,
  ) {
    this.values = new Float64Array(size);
    this.at = new Float64Array(size);
    this.scratch = new Float64Array(size);
  }

  add(ms: number, now: number): void {
    this.values[this.head] = ms;
    this.at[this.head] = now;
    this.head = (this.head + 1) % this.values.length;
    if (this.count < this.values.length) this.count++;
  }

  /** Quantile (0..1) of the values of the last window; 0 when empty. */
  quantile(q: number, now: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      const idx = (this.head - 1 - i + this.values.length) % this.values.length;
      if (now - this.at[idx] > this.windowMs) break;
      this.scratch[n++] = this.values[idx];
    }
    if (!n) return 0;
    const sorted = this.scratch.subarray(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor(q * n))];
  }
}
