import { writeFileSync } from 'node:fs';
import type { SourceCounts } from '../core/feed.js';
import type { LineCounts } from '../core/types.js';

/**
 * Counts per interval as CSV: `interval_start,interval_start_ms,line,direction,class,count`, one row per
 * non-zero (interval, line, direction, class), then `total` rows. Rewritten whole each time (small).
 */
export function countsCsv(c: SourceCounts): string {
  const rows = ['interval_start,interval_start_ms,line,direction,class,count'];
  const emit = (label: string, ms: string, counts: LineCounts) => {
    for (const [line, dirs] of Object.entries(counts)) {
      for (const dir of ['forward', 'backward'] as const) {
        for (const [cls, n] of Object.entries(dirs[dir])) if (n > 0) rows.push(`${label},${ms},${csv(line)},${dir},${csv(cls)},${n}`);
      }
    }
  };
  for (const iv of c.intervals) emit(iso(iv.start), String(iv.start), iv.counts);
  emit('total', '', c.total);
  return rows.join('\n') + '\n';
}

export function writeCountsCsv(path: string, c: SourceCounts): void {
  writeFileSync(path, countsCsv(c));
}

function iso(ms: number): string {
  // Batch analytics may count in media time (ms from the start of the video) rather than epoch ms.
  return ms > 1e11 ? new Date(ms).toISOString() : `+${(ms / 1000).toFixed(3)}s`;
}

function csv(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
