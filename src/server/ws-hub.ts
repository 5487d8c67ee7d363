import type { WebSocket, WebSocketServer, RawData } from 'ws';
import type { DisplayFrame, PipelineFeed, SourceCounts, SourceEvents } from '../core/feed.js';
import type { FrameResult } from '../core/types.js';
import { logger } from '../core/log.js';
import { FramePairer } from './frame-pairer.js';
import { AckWindow, type AckWindowOptions } from './ack-window.js';
import { encodeFrame, parseClientMessage, PROTOCOL_VERSION, type ErrorCode, type ServerMessage, type SourceInfo } from './protocol.js';

export interface WsHubOptions {
  /**
   * A frame is sent to a client only while its send buffer (ws bufferedAmount: bytes queued in the
   * ws sender and the socket) is below this; otherwise it is dropped for that client alone. This
   * bounds a slow client's memory to about this plus one frame, and its lag to this many bytes.
   */
  frameBudgetBytes?: number;
  /** State messages (sources, counts, error replies) are skipped above this; a client that makes
   *  the server queue more than this while not reading is disconnected. */
  hardLimitBytes?: number;
  statusIntervalMs?: number;
  countsIntervalMs?: number;
  heartbeatMs?: number;
  /** Client messages per second allowed (burst twice that); more get 'rate-limited' replies. */
  messagesPerSecond?: number;
  /**
   * For clients that acknowledge frames ('ack', see ack-window.ts): what is in flight is kept to what
   * the link delivers in `targetLagMs` (default 500) plus its round trip, and nothing goes while the
   * oldest frame in flight has been unacknowledged for `maxUnackedMs` (default 1000) or two round trips.
   */
  targetLagMs?: number;
  maxUnackedMs?: number;
  /** After this long without an acknowledgement, what is in flight is written off (default 5000). */
  ackResetMs?: number;
}

interface Client {
  ws: WebSocket;
  subs: Set<string> | '*';
  dropped: Map<string, number>;
  sent: number;
  alive: boolean;
  tokens: number;
  tokensAt: number;
  flow: AckWindow;
}

/** Per-client figures, for tests and diagnostics. */
export interface ClientStats {
  id: number;
  bufferedAmount: number;
  framesSent: number;
  framesDropped: number;
  /** Frames sent and not yet acknowledged; null for a client that does not acknowledge. */
  framesUnacked: number | null;
  subscriptions: string[] | '*';
}

/**
 * Fans frames out to dashboard clients. Every frame is encoded once and the same buffer goes to all
 * subscribed clients; each client gets it only if its own send buffer has room.
 */
export class WsHub {
  private readonly clients = new Map<number, Client>();
  private nextId = 1;
  private readonly pairer: FramePairer;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly dirtyCounts = new Set<string>();
  private readonly frameBudget: number;
  private readonly hardLimit: number;
  private readonly rate: number;
  private readonly flowOptions: AckWindowOptions;
  private countsTick = 0;

  private readonly onResult = (r: FrameResult): void => {
    this.pairer.addResult(r);
    if (r.events.length > 0) this.dirtyCounts.add(r.frame.source);
  };
  private readonly onDisplay = (d: DisplayFrame): void => this.pairer.addDisplay(d);
  // A source that ends with vehicles in a zone: its occupancy tile empties.
  private readonly onEvents = (e: SourceEvents): void => void this.dirtyCounts.add(e.source);

  constructor(
    private readonly feed: PipelineFeed,
    wss: WebSocketServer,
    opts: WsHubOptions = {},
  ) {
    this.frameBudget = opts.frameBudgetBytes ?? 256 * 1024;
    this.hardLimit = opts.hardLimitBytes ?? 4 * 1024 * 1024;
    this.rate = opts.messagesPerSecond ?? 20;
    this.flowOptions = { targetLagMs: opts.targetLagMs ?? 500, maxUnackedMs: opts.maxUnackedMs ?? 1000, resetMs: opts.ackResetMs ?? 5000, initialBytes: this.frameBudget };
    this.pairer = new FramePairer({ emit: (d, r) => this.broadcastFrame(d, r) });
    feed.on('result', this.onResult);
    feed.on('display', this.onDisplay);
    feed.on('events', this.onEvents);
    wss.on('connection', (ws) => this.add(ws));
    this.timers.push(setInterval(() => this.broadcastSources(), opts.statusIntervalMs ?? 1000));
    this.timers.push(setInterval(() => this.flushCounts(), opts.countsIntervalMs ?? 500));
    this.timers.push(setInterval(() => this.heartbeat(), opts.heartbeatMs ?? 30_000));
    for (const t of this.timers) t.unref();
  }

  clientStats(): ClientStats[] {
    return [...this.clients.entries()].map(([id, c]) => ({
      id,
      bufferedAmount: c.ws.bufferedAmount,
      framesSent: c.sent,
      framesDropped: [...c.dropped.values()].reduce((a, b) => a + b, 0),
      framesUnacked: c.flow.unacked(),
      subscriptions: c.subs === '*' ? '*' : [...c.subs],
    }));
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.feed.off('result', this.onResult);
    this.feed.off('display', this.onDisplay);
    this.feed.off('events', this.onEvents);
    for (const c of this.clients.values()) c.ws.terminate();
    this.clients.clear();
  }

  private add(ws: WebSocket): void {
    const id = this.nextId++;
    const c: Client = { ws, subs: new Set(), dropped: new Map(), sent: 0, alive: true, tokens: this.rate * 2, tokensAt: Date.now(), flow: new AckWindow(this.flowOptions) };
    this.clients.set(id, c);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(c, data, isBinary));
    ws.on('pong', () => (c.alive = true));
    ws.on('close', () => this.clients.delete(id));
    ws.on('error', (err) => {
      // An oversized frame (1009) or a broken socket: the ws library closes it; nothing to crash.
      logger.debug('dashboard client error', { client: id, error: err.message });
    });
    this.sendJson(c, { type: 'hello', version: PROTOCOL_VERSION, serverTime: Date.now(), sources: this.sourceInfos() });
  }

  private onMessage(c: Client, data: RawData, isBinary: boolean): void {
    const now = Date.now();
    c.tokens = Math.min(this.rate * 2, c.tokens + ((now - c.tokensAt) / 1000) * this.rate);
    c.tokensAt = now;
    if (c.tokens < 1) {
      this.error(c, 'rate-limited', `more than ${this.rate} messages per second; message ignored`);
      return;
    }
    c.tokens -= 1;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    const parsed = parseClientMessage(buf, isBinary);
    if (!parsed.ok) {
      this.error(c, parsed.code, parsed.message);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'ping':
        this.sendJson(c, { type: 'pong', t: m.t, serverTime: Date.now() });
        return;
      case 'ack':
        c.flow.acknowledged(m.frames, Date.now());
        return;
      case 'subscribe': {
        if (m.sources === '*') {
          c.subs = '*';
        } else {
          const known = new Set(this.feed.sources().map((s) => s.name));
          const unknown = m.sources.filter((s) => !known.has(s));
          if (unknown.length) this.error(c, 'unknown-source', `unknown source(s): ${unknown.join(', ')}`);
          c.subs = new Set(m.sources.filter((s) => known.has(s)));
        }
        this.sendJson(c, { type: 'subscribed', sources: c.subs === '*' ? '*' : [...c.subs] });
        for (const s of this.feed.sources()) {
          if (!this.subscribed(c, s.name)) continue;
          const counts = this.feed.counts(s.name);
          if (counts) this.sendJson(c, { type: 'counts', counts: forPage(counts) });
        }
        return;
      }
      case 'unsubscribe': {
        if (c.subs === '*') c.subs = new Set(this.feed.sources().map((s) => s.name));
        for (const s of m.sources) c.subs.delete(s);
        this.sendJson(c, { type: 'subscribed', sources: [...c.subs] });
        return;
      }
    }
  }

  private subscribed(c: Client, source: string): boolean {
    return c.subs === '*' || c.subs.has(source);
  }

  private broadcastFrame(d: DisplayFrame, r: FrameResult | null): void {
    let buf: Buffer | undefined;
    for (const c of this.clients.values()) {
      if (c.ws.readyState !== c.ws.OPEN || !this.subscribed(c, d.source)) continue;
      const now = Date.now();
      // Encoded only once some client has room: a frame every client skips costs no copy.
      if (c.ws.bufferedAmount < this.frameBudget) buf ??= encodeFrame(d, r, now);
      if (!buf || c.ws.bufferedAmount >= this.frameBudget || !c.flow.allows(buf.length, now)) {
        c.dropped.set(d.source, (c.dropped.get(d.source) ?? 0) + 1);
        continue;
      }
      c.ws.send(buf, { binary: true });
      c.sent++;
      c.flow.sentFrame(buf.length, now);
    }
  }

  private sourceInfos(): SourceInfo[] {
    return this.feed.sources().map((s) => ({ ...s, overlay: this.feed.overlay(s.name) }));
  }

  private broadcastSources(): void {
    if (this.clients.size === 0) return;
    const sources = this.sourceInfos();
    const serverTime = Date.now();
    for (const c of this.clients.values()) {
      const droppedForClient = Object.fromEntries(c.dropped);
      this.sendJson(c, { type: 'sources', serverTime, sources, droppedForClient }, true);
    }
  }

  private flushCounts(): void {
    // Interval buckets roll over with time even when nothing crosses: refresh everything every 5 s.
    if (++this.countsTick % 10 === 0) for (const s of this.feed.sources()) this.dirtyCounts.add(s.name);
    if (this.dirtyCounts.size === 0 || this.clients.size === 0) {
      this.dirtyCounts.clear();
      return;
    }
    for (const source of this.dirtyCounts) {
      const counts = this.feed.counts(source);
      if (!counts) continue;
      const text = JSON.stringify({ type: 'counts', counts: forPage(counts) } satisfies ServerMessage);
      for (const c of this.clients.values()) if (this.subscribed(c, source)) this.sendText(c, text, true);
    }
    this.dirtyCounts.clear();
  }

  private heartbeat(): void {
    for (const c of this.clients.values()) {
      if (!c.alive) {
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  private error(c: Client, code: ErrorCode, message: string): void {
    this.sendJson(c, { type: 'error', code, message });
  }

  private sendJson(c: Client, m: ServerMessage, droppable = false): void {
    this.sendText(c, JSON.stringify(m), droppable);
  }

  /** Droppable messages carry state that the next one repeats; they wait for room like frames do. */
  private sendText(c: Client, text: string, droppable = false): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (droppable && c.ws.bufferedAmount >= this.frameBudget) return;
    if (c.ws.bufferedAmount >= this.hardLimit) {
      // Not reading, yet still making us queue state and replies: cut it off rather than grow.
      logger.warn('dashboard client not reading; disconnected', { bufferedAmount: c.ws.bufferedAmount });
      c.ws.terminate();
      return;
    }
    c.ws.send(text);
  }
}

/** Intervals the page is sent: its chart shows the last 30; /api/counts keeps the whole day. */
const PAGE_INTERVALS = 60;

/**
 * Counts as the page needs them: the recent intervals only. A day of them (1,440 at 1 min) made each
 * counts message 117 KB, sent about once a second per busy source beside the frames.
 */
function forPage(counts: SourceCounts): SourceCounts {
  return counts.intervals.length <= PAGE_INTERVALS ? counts : { ...counts, intervals: counts.intervals.slice(-PAGE_INTERVALS) };
}
