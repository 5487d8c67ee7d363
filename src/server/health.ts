import type { SourceStatus } from '../core/feed.js';

/** Default: a source that has delivered no frame for this long makes /healthz report 503. */
export const DEFAULT_WATCHDOG_MS = 10_000;

export interface HealthReport {
  ok: boolean;
  sources: { name: string; state: SourceStatus['state']; lastFrameAgeMs: number | null; healthy: boolean; reason?: string }[];
}

/**
 * A source is unhealthy when it failed, or when it should be delivering (starting, running,
 * reconnecting) but its last frame is older than the watchdog — or it has delivered none at all
 * since the server started longer ago than that. Sources that stopped or finished on purpose
 * (a file that ended) are not a fault.
 */
export function healthOf(sources: SourceStatus[], now: number, startedAt: number, watchdogMs = DEFAULT_WATCHDOG_MS): HealthReport {
  const rows = sources.map((s) => {
    const age = s.lastFrameAt === null ? null : now - s.lastFrameAt;
    let reason: string | undefined;
    if (s.state === 'failed') reason = s.lastError ? `failed: ${s.lastError}` : 'failed';
    else if (s.state === 'starting' || s.state === 'running' || s.state === 'reconnecting') {
      if (age === null && now - startedAt > watchdogMs) reason = `no frame in ${Math.round((now - startedAt) / 1000)} s`;
      else if (age !== null && age > watchdogMs) reason = `no frame for ${Math.round(age / 1000)} s`;
    }
    return { name: s.name, state: s.state, lastFrameAgeMs: age, healthy: reason === undefined, ...(reason ? { reason } : {}) };
  });
  return { ok: rows.every((r) => r.healthy), sources: rows };
}
