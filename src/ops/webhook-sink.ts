import { createHash } from 'node:crypto';
import { logger } from '../core/log.js';
import type { TrafficEvent } from '../core/types.js';

export interface WebhookOptions {
  url: string;
  events: TrafficEvent['type'][];
  timeoutMs: number;
  maxRetries: number;
  queueSize: number;
  headers?: Record<string, string>;
  /** First retry delay; doubles per attempt, capped at 30 s. */
  baseDelayMs?: number;
  /** Shortest time between two 'webhook events lost' lines (default a minute). */
  lossReportMs?: number;
}

export interface WebhookStats {
  sent: number;
  /** Given up: refused (4xx) or still failing after maxRetries. */
  failed: number;
  /** Pushed out of a full queue, oldest first. */
  dropped: number;
  queued: number;
}

/** How often events lost while a webhook keeps failing are summed up in the log. */
const LOSS_REPORT_MS = 60_000;

/**
 * Delivers events to an HTTP endpoint as JSON POSTs, one request per event, in order. Never blocks
 * the pipeline: `push` only enqueues. While the endpoint is down, events wait in a bounded queue
 * (oldest dropped and counted beyond `queueSize`) and the head is retried with capped exponential
 * backoff; after `maxRetries` it is given up and counted as failed. State changes are logged once,
 * with the reason (HTTP status or network error); events lost (given up, refused, dropped from the
 * full queue, or queued or unanswered at shutdown) are summed up in one error line at most once a minute.
 */
export class WebhookSink {
  private readonly queue: TrafficEvent[] = [];
  private readonly wanted: Set<string>;
  private running = false;
  /** The drain loop, to wait for at shutdown once the request in flight is settled. */
  private drained: Promise<void> = Promise.resolve();
  /** Aborts the request in flight when the shutdown's grace is over. */
  private readonly shutdown = new AbortController();
  /** The queue's head is being sent: at shutdown it is still in flight, not lost. */
  private posting = false;
  private closed = false;
  private down = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  readonly stats: WebhookStats = { sent: 0, failed: 0, dropped: 0, queued: 0 };
  /** Lost since the last report: a day of a dead endpoint is a line a minute, not one per event nor none. */
  private unreported = { failed: 0, dropped: 0, reason: '' };
  private reportedAt = -Infinity;
  private lossTimer?: NodeJS.Timeout;

  /** Where requests go (the URL without user:password@, which fetch refuses to send) and what they carry. */
  private readonly target: string;
  private readonly headers: Record<string, string>;
  /** The URL as logs and /metrics show it (webhookLabel). */
  readonly label: string;

  constructor(private readonly opts: WebhookOptions) {
    this.wanted = new Set(opts.events);
    const u = new URL(opts.url);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    // user:password@ in the URL is HTTP basic authentication, as curl reads it; fetch would refuse the
    // URL on every event (retried as if the endpoint were down). A header given by hand wins.
    if (u.username || u.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeOrKeep(u.username)}:${decodeOrKeep(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      for (const have of Object.keys(headers)) if (have.toLowerCase() === k.toLowerCase()) delete headers[have];
      headers[k] = v;
    }
    this.target = u.toString();
    this.headers = headers;
    this.label = webhookLabel(opts.url);
  }

  push(event: TrafficEvent): void {
    if (this.closed || !this.wanted.has(event.type)) return;
    if (this.queue.length >= this.opts.queueSize) {
      this.queue.shift();
      this.stats.dropped++;
      this.unreported.dropped++;
      this.reportLoss();
    }
    this.queue.push(event);
    this.stats.queued = this.queue.length;
    if (!this.running) this.drained = this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    let attempt = 0;
    while (this.queue.length > 0 && !this.closed) {
      this.posting = true;
      const { outcome, reason } = await this.post(this.queue[0]);
      this.posting = false;
      if (outcome === 'aborted') break;
      // Shut down while it was in flight: its answer decides, no retry.
      if (outcome === 'retry' && attempt < this.opts.maxRetries && !this.closed) {
        if (!this.down) {
          this.down = true;
          logger.warn('webhook unreachable, retrying with backoff', { url: this.label, reason });
        }
        await this.sleep(Math.min(30_000, (this.opts.baseDelayMs ?? 500) * 2 ** attempt));
        attempt++;
        continue;
      }
      this.queue.shift();
      attempt = 0;
      if (outcome === 'ok') {
        this.stats.sent++;
        if (this.down) {
          this.down = false;
          logger.info('webhook reachable again', { url: this.label });
        }
        this.reportLoss(this.closed);
      } else {
        this.stats.failed++;
        this.unreported.failed++;
        this.unreported.reason = reason;
        // After shutdown's report, the last word on an event that was in flight.
        this.reportLoss(this.closed);
      }
      this.stats.queued = this.queue.length;
    }
    this.running = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    }).finally(() => {
      this.timer = null;
      this.wake = null;
    });
  }

  /** Logs the events lost since the last report, at most once a minute (or now, `flush`). */
  private reportLoss(flush = false): void {
    const { failed, dropped, reason } = this.unreported;
    if (failed + dropped === 0) return;
    const now = Date.now();
    const every = this.opts.lossReportMs ?? LOSS_REPORT_MS;
    if (!flush && now - this.reportedAt < every) {
      // Held back: told when the minute is up, even if nothing else happens by then (a dead endpoint, no traffic).
      this.lossTimer ??= setTimeout(() => {
        this.lossTimer = undefined;
        this.reportLoss();
      }, this.reportedAt + every - now).unref();
      return;
    }
    clearTimeout(this.lossTimer);
    this.lossTimer = undefined;
    this.reportedAt = now;
    logger.error('webhook events lost', { url: this.label, failed, dropped, ...(reason ? { reason } : {}), totalFailed: this.stats.failed, totalDropped: this.stats.dropped });
    this.unreported = { failed: 0, dropped: 0, reason: '' };
  }

  /** 'refused': a 3xx, or a 4xx other than 408/429, which retrying will not fix. `reason`: the status, or why the request failed. */
  private async post(event: TrafficEvent): Promise<{ outcome: 'ok' | 'refused' | 'retry' | 'aborted'; reason: string }> {
    // Its timeout or the shutdown, whichever comes first (by hand: AbortSignal.any is Node 20.3+, engines say 20).
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException(`no answer in ${this.opts.timeoutMs} ms`, 'TimeoutError')), this.opts.timeoutMs);
    const onShutdown = () => ctl.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    try {
      const res = await fetch(this.target, {
        method: 'POST',
        headers: this.headers,
        body: JSON.stringify(event),
        signal: ctl.signal,
        // A redirect would take the headers (API keys) to wherever the endpoint points, another host too.
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 300 && res.status < 400) return { outcome: 'refused', reason: `HTTP ${res.status}: redirects are not followed` };
      const reason = `HTTP ${res.status}`;
      if (res.ok) return { outcome: 'ok', reason };
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) return { outcome: 'refused', reason };
      return { outcome: 'retry', reason };
    } catch (e) {
      if (this.shutdown.signal.aborted) return { outcome: 'aborted', reason: 'still in flight at shutdown' };
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const reason = err.name === 'TimeoutError' ? `no answer in ${this.opts.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
      return { outcome: 'retry', reason };
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }

  /**
   * Stops retrying; waits up to `graceMs` for queued events to go out, and for the request in flight to
   * be answered. Then that request is aborted: an endpoint that does not answer held the shutdown for its
   * whole `timeoutMs` (up to a minute), past a supervisor's stop timeout and into its SIGKILL.
   */
  async close(graceMs = 2000): Promise<void> {
    const deadline = Date.now() + graceMs;
    const graceLeft = () => new Promise((r) => setTimeout(r, Math.min(20, Math.max(0, deadline - Date.now()))));
    while (this.queue.length > 0 && !this.down && Date.now() < deadline) await graceLeft();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    // What never left is lost; the head in flight is counted by its answer, if it comes within the grace.
    this.drop(this.queue.splice(this.posting ? 1 : 0).length);
    while (this.posting && Date.now() < deadline) await graceLeft();
    this.shutdown.abort();
    await this.drained;
    this.drop(this.queue.splice(0).length);
    this.reportLoss(true);
  }

  /** Events given up at shutdown, counted as dropped. */
  private drop(n: number): void {
    if (!n) return;
    this.stats.dropped += n;
    this.unreported.dropped += n;
    this.stats.queued = this.queue.length;
  }
}

/**
 * A webhook as logs and /metrics name it: scheme and host, then a short hash of the whole URL, so two hooks
 * on one host stay apart. Not its path: Slack, Teams and Discord hooks are secrets in their path
 * (https://hooks.slack.com/services/T000/B000/XXXX), which anyone who has it can post to.
 */
export function webhookLabel(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}/…#${createHash('sha256').update(url).digest('hex').slice(0, 6)}`;
}

/** A URL's user or password as written by a person: `50%off` is not an escape, and must not stop the run. */
function decodeOrKeep(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
