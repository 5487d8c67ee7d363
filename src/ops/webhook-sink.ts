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
}

export interface WebhookStats {
  sent: number;
  failed: number;
  dropped: number;
  queued: number;
}

/**
 * Delivers events to an HTTP endpoint as JSON POSTs, one request per event, in order. Never blocks
 * the pipeline: `push` only enqueues. While the endpoint is down, events wait in a bounded queue
 * (oldest dropped and counted beyond `queueSize`) and the head is retried with capped exponential
 * backoff; after `maxRetries` it is given up and counted as failed. State changes are logged once.
 */
export class WebhookSink {
  private readonly queue: TrafficEvent[] = [];
  private readonly wanted: Set<string>;
  private running = false;
  private closed = false;
  private down = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  readonly stats: WebhookStats = { sent: 0, failed: 0, dropped: 0, queued: 0 };

  constructor(private readonly opts: WebhookOptions) {
    this.wanted = new Set(opts.events);
  }

  push(event: TrafficEvent): void {
    if (this.closed || !this.wanted.has(event.type)) return;
    if (this.queue.length >= this.opts.queueSize) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.queue.push(event);
    this.stats.queued = this.queue.length;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    let attempt = 0;
    while (this.queue.length > 0 && !this.closed) {
      const outcome = await this.post(this.queue[0]);
      if (outcome === 'retry' && attempt < this.opts.maxRetries) {
        if (!this.down) {
          this.down = true;
          logger.warn('webhook unreachable, retrying with backoff', { url: this.opts.url });
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
          logger.info('webhook reachable again', { url: this.opts.url });
        }
      } else {
        this.stats.failed++;
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

  /** 'refused': a 4xx other than 408/429, which retrying will not fix. */
  private async post(event: TrafficEvent): Promise<'ok' | 'refused' | 'retry'> {
    try {
      const res = await fetch(this.opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.opts.headers },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return 'ok';
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) {
        logger.warn('webhook refused an event', { url: this.opts.url, status: res.status });
        return 'refused';
      }
      return 'retry';
    } catch {
      return 'retry';
    }
  }

  /** Stops retrying; waits up to `graceMs` for queued events to go out. */
  async close(graceMs = 2000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.queue.length > 0 && !this.down && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
