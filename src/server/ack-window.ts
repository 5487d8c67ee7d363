/**
 * Flow control for one dashboard client that acknowledges the frames it receives ('ack' messages).
 *
 * A socket's send buffer does not bound a slow link's lag: the kernel's buffers (megabytes) and any
 * proxy's fill first, and pictures arrived tens of seconds late under a LIVE badge. So the hub keeps
 * in flight only what the link delivers in `targetLagMs` plus its round trip (the shortest seen from a
 * frame going out to its acknowledgement, allowed for up to MAX_TRIP_MS: a long link needs that much in
 * flight to keep its rate),
 * measured from the acknowledgements (bytes acknowledged over the time they took, the best of the last
 * few seconds), and always at least one frame: a slow link gets fewer frames, each of them recent.
 * Nothing is sent while the oldest frame in flight has gone unacknowledged for `maxUnackedMs` (or two
 * round trips, if longer: a link that stalled); after `resetMs` of that, what is in flight is written
 * off and one frame goes again, so a lost acknowledgement cannot freeze the pictures for good.
 *
 * A client that never acknowledges is left to the send buffer alone (ws clients written before acks).
 */
export interface AckWindowOptions {
  targetLagMs: number;
  maxUnackedMs: number;
  resetMs: number;
  /** In flight before the first measurement. */
  initialBytes: number;
}

/** How long a delivery-rate sample counts: the window follows a link that slows within seconds. */
const RATE_MEMORY_MS = 3000;
/** How long a round-trip sample counts: its minimum is the link's own delay, without queueing. */
const TRIP_MEMORY_MS = 10_000;
/** The longest round trip allowed for: the lag's bound on a saturated link is then about targetLagMs + this. */
const MAX_TRIP_MS = 1000;
/** Frames remembered for a client that does not acknowledge (in case it starts to). */
const UNACKED_KEPT = 64;

export class AckWindow {
  /** Whether the client has acknowledged anything: only then does the window apply. */
  acking = false;
  /** Frames sent on this socket. */
  private sent = 0;
  /** Number of the oldest frame in `inFlight` (frames are numbered from 0 on the socket). */
  private first = 0;
  private readonly inFlight: { at: number; bytes: number }[] = [];
  private inFlightBytes = 0;
  private lastAckAt = -Infinity;
  private readonly rates: { at: number; bytesPerMs: number }[] = [];
  /** Round trips (frame out → its acknowledgement), ms, with when they were measured. */
  private readonly trips: { at: number; ms: number }[] = [];

  constructor(private readonly opts: AckWindowOptions) {}

  /** Whether a frame of `bytes` may go now. */
  allows(bytes: number, now: number): boolean {
    if (!this.acking || this.inFlight.length === 0) return true;
    const trip = this.roundTrip(now);
    const waited = now - this.inFlight[0].at;
    if (waited > this.opts.resetMs + 2 * trip) {
      // No acknowledgement for that long while the client is still there: written off, try again.
      this.forget(this.inFlight.length);
      return true;
    }
    if (waited > Math.max(this.opts.maxUnackedMs, 2 * trip)) return false;
    return this.inFlightBytes + bytes <= this.windowBytes(now, trip);
  }

  sentFrame(bytes: number, now: number): void {
    this.sent++;
    this.inFlight.push({ at: now, bytes });
    this.inFlightBytes += bytes;
    if (!this.acking && this.inFlight.length > UNACKED_KEPT) this.forget(1);
  }

  /** The client has received `frames` frames on this socket. */
  acknowledged(frames: number, now: number): void {
    this.acking = true;
    // A count past what was sent (a client's bug) acknowledges what was sent, no more.
    const n = Math.min(frames, this.sent) - this.first;
    if (n <= 0) return;
    // Delivered over the time since the later of the previous ack and the first of them going out: not
    // counting time when nothing was in flight.
    const since = Math.max(this.lastAckAt, this.inFlight[0].at);
    this.trips.push({ at: now, ms: now - this.inFlight[n - 1].at });
    while (this.trips.length > 1 && now - this.trips[0].at > TRIP_MEMORY_MS) this.trips.shift();
    const bytes = this.forget(n);
    this.lastAckAt = now;
    if (now > since) {
      this.rates.push({ at: now, bytesPerMs: bytes / (now - since) });
      while (this.rates.length > 1 && now - this.rates[0].at > RATE_MEMORY_MS) this.rates.shift();
    }
  }

  /** Frames in flight; null for a client that does not acknowledge. */
  unacked(): number | null {
    return this.acking ? this.sent - this.first : null;
  }

  private windowBytes(now: number, trip: number): number {
    let best = 0;
    for (const r of this.rates) if (now - r.at <= RATE_MEMORY_MS && r.bytesPerMs > best) best = r.bytesPerMs;
    // None recent (a link that stalled, frames written off): the last rate measured, not the first
    // guess, which sent a burst of stale frames down a link that had only slowed.
    if (best === 0 && this.rates.length > 0) best = this.rates[this.rates.length - 1].bytesPerMs;
    return best > 0 ? best * (this.opts.targetLagMs + trip) : this.opts.initialBytes;
  }

  /**
   * The shortest round trip of the last several seconds, ms (0 before any), at most MAX_TRIP_MS. On a
   * link slower than the camera the queue never drains, so every sample includes the queueing the
   * window itself causes: uncapped, the window grew with it and the lag without limit.
   */
  private roundTrip(now: number): number {
    let best = Infinity;
    for (const t of this.trips) if (now - t.at <= TRIP_MEMORY_MS && t.ms < best) best = t.ms;
    return Number.isFinite(best) ? Math.min(best, MAX_TRIP_MS) : 0;
  }

  private forget(n: number): number {
    let bytes = 0;
    for (const f of this.inFlight.splice(0, n)) bytes += f.bytes;
    this.first += n;
    this.inFlightBytes -= bytes;
    return bytes;
  }
}
