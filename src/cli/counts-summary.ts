import type { PipelineFeed, SourceCounts } from '../core/feed.js';
import { logIsJson, report } from '../core/log.js';

type ByDirection = { forward: Record<string, number>; backward: Record<string, number> };

/** One source's totals per line it has, each line present (a line nothing crossed: both directions {}). */
function lineTotals(lineNames: string[], counts: SourceCounts | undefined): Record<string, ByDirection> {
  return Object.fromEntries(lineNames.map((line) => [line, counts?.total[line] ?? { forward: {}, backward: {} }]));
}

function classList(byClass: Record<string, number>): string {
  const entries = Object.entries(byClass).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([cls, n]) => `${cls} ${n}`).join(', ') : '0';
}

/** Local time, as the person who started the run reads a clock: 2026-11-28 23:32:31. */
function localTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The text lines of one source's counts summary, one per counting line, in the column style of the status lines. */
export function formatCountsSummary(source: string, totals: Record<string, ByDirection>, since: number | undefined): string[] {
  const when = since !== undefined ? `  (since ${localTime(since)})` : '';
  return Object.entries(totals).map(([line, dirs]) => [source.padEnd(14), `line ${line}`, `forward ${classList(dirs.forward)}`, `backward ${classList(dirs.backward)}`].join('  ') + when);
}

/**
 * Each source's counts as the run ends: without outputs.files they exist nowhere else once the process exits
 * (the dashboard goes with it). Text on stderr, or a record where the log is JSON (every line of it parsed).
 */
export function tellCountsSummary(pipeline: Pick<PipelineFeed, 'sources' | 'overlay' | 'counts'>): void {
  for (const { name } of pipeline.sources()) {
    const lineNames = pipeline.overlay(name).lines.map((l) => l.name);
    if (lineNames.length === 0) continue;
    const counts = pipeline.counts(name);
    const totals = lineTotals(lineNames, counts);
    if (logIsJson()) report('counts', { source: name, ...(counts?.since !== undefined ? { since: new Date(counts.since).toISOString() } : {}), lines: totals });
    else for (const text of formatCountsSummary(name, totals, counts?.since)) process.stderr.write(text + '\n');
  }
}
