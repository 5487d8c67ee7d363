import { CLASS_NAMES, classColor } from './colors.js';
import type { LineCounts, SourceCounts } from './protocol.js';
import { intervalLabel } from './interval-label.js';

/** Crossings per class in one interval, summed over lines and directions. */
function perClass(c: LineCounts): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of Object.values(c)) {
    for (const dir of [line.forward, line.backward]) {
      for (const [cls, n] of Object.entries(dir)) out.set(cls, (out.get(cls) ?? 0) + n);
    }
  }
  return out;
}

/**
 * Stacked bars of crossings per interval (oldest left), one colour per class, on a plain 2D canvas.
 * Redrawn only when counts arrive, at the canvas' on-screen size × devicePixelRatio for sharp text.
 * Bars sit on a time axis ending at the current interval (`nowMs`, the server's clock): the server
 * keeps no interval without frames (a camera down), and placed side by side an outage would vanish, an
 * evening's bar standing next to the morning's.
 */
export function drawCountsChart(canvas: HTMLCanvasElement, counts: SourceCounts | null, nowMs: number, maxBars = 30): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const g = canvas.getContext('2d')!;
  g.clearRect(0, 0, w, h);
  const font = Math.round(13 * dpr);
  g.font = `600 ${font}px system-ui, sans-serif`;
  g.fillStyle = '#9aa4b2';
  g.textBaseline = 'top';
  g.textAlign = 'left';
  const per = `per ${intervalLabel(counts?.intervalMs ?? 60_000)}`;
  if (!counts || counts.intervals.length === 0) {
    g.fillText(`crossings ${per}`, 4 * dpr, 2 * dpr);
    return;
  }
  const step = counts.intervalMs;
  // The latest slot: now's, or, for a recording counted by its own time (a file in batch mode), the one of
  // the video time reached.
  const clock = counts.asOf ?? nowMs;
  const lastStart = Math.max(Math.floor(clock / step) * step, counts.intervals[counts.intervals.length - 1].start);
  const byStart = new Map(counts.intervals.map((iv) => [iv.start, iv.counts]));
  const slots = Array.from({ length: maxBars }, (_, i) => lastStart - (maxBars - 1 - i) * step);
  const stacks = slots.map((start) => perClass(byStart.get(start) ?? {}));
  const max = Math.max(1, ...stacks.map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const top = font * 1.6, bottom = h - font * 1.5, plotH = Math.max(1, bottom - top);
  const barW = (w - 8 * dpr) / maxBars;
  // Beside the counts of a narrow tile the chart is narrow: the title is cut to 'per 1 min' rather than run into the scale.
  const title = g.measureText(`crossings ${per}  ${max}`).width + 8 * dpr <= w ? `crossings ${per}` : per;
  g.fillText(title, 4 * dpr, 2 * dpr);
  g.textAlign = 'right';
  g.fillText(String(max), w - 4 * dpr, 2 * dpr);
  stacks.forEach((m, i) => {
    const x = 4 * dpr + i * barW;
    let y = bottom;
    const classes = [...CLASS_NAMES, ...[...m.keys()].filter((c) => !CLASS_NAMES.includes(c))];
    classes.forEach((cls) => {
      const n = m.get(cls) ?? 0;
      if (!n) return;
      const bh = (n / max) * plotH;
      g.fillStyle = classColor(cls);
      g.fillRect(x + 1, y - bh, Math.max(1, barW - 2), bh);
      y -= bh;
    });
  });
  g.fillStyle = '#9aa4b2';
  g.textBaseline = 'bottom';
  g.fillText(counts.asOf === undefined ? new Date(lastStart).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : videoTime(lastStart), w - 4 * dpr, h);
}

/** A time into a recording, as a player shows it: 1:05 or 1:02:05. */
function videoTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}
