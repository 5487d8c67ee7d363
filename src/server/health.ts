import type { SourceStatus } from '../core/feed.js';

/** Default: a source that has delivered no frame for this long makes /healthz report 503. */
export const DEFAULT_WATCHDOG_MS = 10_000;

/**
 * A source's status with its own frame watchdog, ms (a pipeline file's `watchdogSeconds`), when
 * the feed reports one. Sources without it are judged on the server's default.
 */
export type WatchedSourceStatus = SourceStatus & { watchdogMs?: number };

export interface HealthReport {
  ok: boolean;
  sources: { name: string; state: SourceStatus['state']; lastFrameAgeMs: number | null; watchdogMs: number; healthy: boolean; reason?: string }[];
}

/**
 * A source is unhealthy when it failed, or when it should be delivering (starting, running,
 * reconnecting) but its last frame is older than its watchdog — or it has delivered none at all
 * since the server, or the source itself (added or restarted by a reload), started longer ago than
 * that; or its model has had no detector thread, or every detection of it has failed, for that long. Sources that stopped or finished on
 * purpose (a file that ended) are not a fault. The watchdog is each source's own (a camera that sends
 * a frame every 15 s must not be reported down after 10), read from its status on every request, so
 * sources added or changed while running are judged on their current settings.
 */
export function healthOf(sources: WatchedSourceStatus[], now: number, startedAt: number, defaultWatchdogMs = DEFAULT_WATCHDOG_MS): HealthReport {
  const rows = sources.map((s) => {
    const limit = s.watchdogMs !== undefined && s.watchdogMs > 0 ? s.watchdogMs : defaultWatchdogMs;
    // The monotonic age where the feed tells it: a step of the wall clock (NTP) is not a camera gone silent.
    const age = s.lastFrameAgeMs !== undefined ? s.lastFrameAgeMs : s.lastFrameAt === null ? null : now - s.lastFrameAt;
    // A source a reload added or restarted is as old as it is, not as old as the server.
    const since = Math.max(startedAt, s.startedAt ?? startedAt);
    let reason: string | undefined;
    if (s.state === 'failed') reason = s.lastError ? `failed: ${s.lastError}` : 'failed';
    else if (s.state === 'starting' || s.state === 'running' || s.state === 'reconnecting') {
      if (age === null && now - since > limit) reason = `no frame in ${Math.round((now - since) / 1000)} s (watchdog ${limit / 1000} s)`;
      else if (age !== null && age > limit) reason = `no frame for ${Math.round(age / 1000)} s (watchdog ${limit / 1000} s)`;
      else if (s.detectorDownSince) {
        // Frames arrive, but nothing can detect them: every thread of its model died and none could
        // restart. Not judged by time since the last detection, which a slow model on many cameras
        // stretches past the watchdog while all is well.
        const down = now - s.detectorDownSince;
        if (down > limit) reason = `no detector thread for ${Math.round(down / 1000)} s (watchdog ${limit / 1000} s): its model cannot be loaded`;
      }
      // Threads there, frames going to them, and every detection failing (a thread that fails or dies on
      // each frame keeps the pool full): as blind as no thread at all.
      if (!reason && s.detectFailingSince) {
        const failing = now - s.detectFailingSince;
        if (failing > limit) reason = `every detection failing for ${Math.round(failing / 1000)} s (watchdog ${limit / 1000} s): ${s.lastDetectError ?? 'unknown error'}`;
      }
    }
    return { name: s.name, state: s.state, lastFrameAgeMs: age, watchdogMs: limit, healthy: reason === undefined, ...(reason ? { reason } : {}) };
  });
  return { ok: rows.every((r) => r.healthy), sources: rows };
}
