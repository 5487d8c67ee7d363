import type { DisplayFrame } from '../core/feed.js';
import type { FrameResult } from '../core/types.js';

/**
 * Pairs each display JPEG with the detection result of the same (source, seq), so the browser draws
 * boxes on exactly the frame they were computed from, never on a later one.
 *
 * The display frame usually arrives first (it skips the detector), so it waits here until its result
 * comes. In live mode the detector skips frames; a display frame whose seq is passed by a newer
 * result never gets one and is dropped. When a source has produced no result for `resultsIdleMs`
 * (detection off, or not started yet), display frames go out at once without overlays, so the video
 * never freezes waiting for results that will not come.
 *
 * Per source, what goes out is strictly increasing in seq; a seq that goes backwards with a newer
 * capture time means the source restarted (a looped file, a reconnect) and starts a new sequence.
 */
export interface FramePairerOptions {
  /** Called once per frame to show, in seq order per source. */
  emit: (display: DisplayFrame, result: FrameResult | null) => void;
  /** Display frames held per source while waiting for their results (oldest evicted beyond). */
  maxPendingDisplays?: number;
  /** Results held per source whose display frame has not arrived yet. */
  maxPendingResults?: number;
  resultsIdleMs?: number;
  now?: () => number;
}

interface SourceState {
  displays: DisplayFrame[];
  results: FrameResult[];
  lastSentSeq: number;
  lastSentCapturedAt: number;
  lastResultAt: number;
}

export class FramePairer {
  private readonly states = new Map<string, SourceState>();
  private readonly maxDisplays: number;
  private readonly maxResults: number;
  private readonly resultsIdleMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: FramePairerOptions) {
    this.maxDisplays = opts.maxPendingDisplays ?? 90;
    this.maxResults = opts.maxPendingResults ?? 30;
    this.resultsIdleMs = opts.resultsIdleMs ?? 3000;
    this.now = opts.now ?? Date.now;
  }

  addDisplay(d: DisplayFrame): void {
    const s = this.state(d.source, d.seq, d.capturedAt);
    if (d.seq <= s.lastSentSeq) return;
    const ri = s.results.findIndex((r) => r.frame.seq === d.seq);
    if (ri >= 0) {
      const r = s.results[ri];
      s.results.splice(0, ri + 1);
      this.send(s, d, r);
      return;
    }
    if (this.now() - s.lastResultAt > this.resultsIdleMs) {
      s.displays.length = 0;
      this.send(s, d, null);
      return;
    }
    s.displays.push(d);
    if (s.displays.length > this.maxDisplays) s.displays.shift();
  }

  addResult(r: FrameResult): void {
    const s = this.state(r.frame.source, r.frame.seq, r.frame.capturedAt);
    s.lastResultAt = this.now();
    const seq = r.frame.seq;
    if (seq <= s.lastSentSeq) return;
    const di = s.displays.findIndex((d) => d.seq === seq);
    if (di >= 0) {
      const d = s.displays[di];
      // Older display frames were skipped by the detector: they will never get a result.
      s.displays.splice(0, di + 1);
      this.send(s, d, r);
      return;
    }
    s.results.push(r);
    if (s.results.length > this.maxResults) s.results.shift();
  }

  /** Forgets a source (it was removed). */
  forget(source: string): void {
    this.states.delete(source);
  }

  private send(s: SourceState, d: DisplayFrame, r: FrameResult | null): void {
    s.lastSentSeq = d.seq;
    s.lastSentCapturedAt = d.capturedAt;
    this.opts.emit(d, r);
  }

  private state(source: string, seq: number, capturedAt: number): SourceState {
    let s = this.states.get(source);
    if (!s || (seq <= s.lastSentSeq && capturedAt > s.lastSentCapturedAt)) {
      const lastResultAt = s?.lastResultAt ?? -Infinity;
      s = { displays: [], results: [], lastSentSeq: -1, lastSentCapturedAt: -Infinity, lastResultAt };
      this.states.set(source, s);
    }
    return s;
  }
}
