import type { SourceEvents } from '../core/feed.js';
import type { FrameResult } from '../core/types.js';

/** What `run --json` may hold for a reader that has stopped reading before it skips frames: about a minute of one busy camera. */
export const JSON_BACKLOG_BYTES = 8 * 1024 * 1024;
const WARN_EVERY_MS = 10_000;

interface Out {
  write(s: string): unknown;
  readonly writableLength: number;
}

/**
 * `run --json`'s stdout. A pipe to a reader that stalls (a blocked `jq`, a full network link) would
 * otherwise queue every frame in memory for as long as the camera runs. Past a backlog the reader
 * gets what matters, as a live source does (latest frame wins): frames with traffic events (crossings,
 * zone events) are always written, frames without any are skipped, counted and told on stderr.
 */
export class JsonLinesOut {
  skipped = 0;
  private toldSkipped = 0;
  private toldAt = -Infinity;

  constructor(
    private readonly out: Out,
    private readonly warn: (message: string) => void,
    private readonly backlogBytes = JSON_BACKLOG_BYTES,
    private readonly now: () => number = Date.now,
  ) {}

  frame(r: FrameResult): void {
    if (r.events.length === 0 && this.out.writableLength > this.backlogBytes) {
      this.skipped++;
      this.tell();
      return;
    }
    this.out.write(JSON.stringify(r) + '\n');
  }

  /** Events not tied to a frame ({"source","events"}, no "frame"): source up/down, zone exits as a source ends. Never skipped. */
  events(e: SourceEvents): void {
    this.out.write(JSON.stringify(e) + '\n');
  }

  /** The run is over: skips not told yet are told now. */
  finish(): void {
    if (this.skipped > this.toldSkipped) this.tell(true);
  }

  private tell(now = false): void {
    const t = this.now();
    if (!now && t - this.toldAt < WARN_EVERY_MS) return;
    this.toldAt = t;
    this.warn(
      `--json: the reader of stdout is behind by over ${Math.round(this.backlogBytes / 1048576)} MB; ` +
        `${this.skipped - this.toldSkipped} frame results without events skipped (${this.skipped} in all; frames with events are all written)`,
    );
    this.toldSkipped = this.skipped;
  }
}
