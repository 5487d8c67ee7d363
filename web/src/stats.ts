/**
 * Figures the page measures about itself, shown in the header and exposed as
 * `window.__xnorcamStats` for tests and for anyone curious in the devtools console.
 */
export interface DrawnFrame {
  seq: number;
  capturedAt: number;
  drawnAt: number;
  canvasWidth: number;
  canvasHeight: number;
  sourceWidth: number;
  sourceHeight: number;
  /** What was drawn, in source pixels. */
  boxes: { kind: 'track' | 'detection'; box: [number, number, number, number]; classId: number; label: string; trackId: number | null }[];
}

export interface SourceStats {
  framesDrawn: number;
  framesSkipped: number;
  fps: number;
  latencyP50: number;
  lastDrawn: DrawnFrame | null;
}

const KEEP = 2000;

export class PageStats {
  connected = false;
  connects = 0;
  /** Why the server refused the socket for good ('token', 'cross-origin'), once it has. */
  refused: string | null = null;
  framesReceived = 0;
  framesDrawn = 0;
  clockOffsetMs = 0;
  errors: { code: string; message: string }[] = [];
  /** Capture → draw latency of recent frames, ms (all sources). */
  latencies: number[] = [];
  sources: Record<string, SourceStats> = {};

  source(name: string): SourceStats {
    return (this.sources[name] ??= { framesDrawn: 0, framesSkipped: 0, fps: 0, latencyP50: 0, lastDrawn: null });
  }

  addLatency(ms: number): void {
    this.latencies.push(ms);
    if (this.latencies.length > KEEP) this.latencies.splice(0, this.latencies.length - KEEP);
  }

  percentile(p: number, samples = this.latencies): number {
    if (samples.length === 0) return NaN;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  }
}
