/**
 * Fixed-size frame slots in one SharedArrayBuffer. ffmpeg's output is copied into a slot once; the
 * worker that detects on it reads the same memory (no copy in the handover). The number of slots is
 * the memory bound of a source: when none is free the reader stops reading (backpressure).
 */
export class FrameSlots {
  readonly buffer: SharedArrayBuffer;
  private readonly views: Uint8Array[];
  private readonly free: number[];
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly frameBytes: number,
    readonly capacity: number,
  ) {
    this.buffer = new SharedArrayBuffer(frameBytes * capacity);
    this.views = Array.from({ length: capacity }, (_, i) => new Uint8Array(this.buffer, i * frameBytes, frameBytes));
    // Pop from the end: lowest index first, which keeps the hot slots warm in cache.
    this.free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  /** Every slot free again, for another source (its previous one has ended: nothing reads them any more). */
  reset(): void {
    this.free.length = 0;
    for (let i = this.capacity - 1; i >= 0; i--) this.free.push(i);
    this.waiters.length = 0;
  }

  /** A free slot index, or -1 when all are in use. */
  acquire(): number {
    return this.free.length ? this.free.pop()! : -1;
  }

  release(slot: number): void {
    this.free.push(slot);
    if (this.waiters.length) for (const w of this.waiters.splice(0)) w();
  }

  view(slot: number): Uint8Array {
    return this.views[slot];
  }

  get inUse(): number {
    return this.capacity - this.free.length;
  }

  /** Called once on the next release (the reader resumes there). */
  onNextRelease(fn: () => void): void {
    this.waiters.push(fn);
  }
}
