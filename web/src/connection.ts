import { decodeFrame, type ClientMessage, type FrameHeader, type ServerMessage } from './protocol.js';

/** How long an opening handshake, or the refusal check after it, may take. */
const OPEN_TIMEOUT_MS = 5000;
/** Silence (no frame, state or pong; pings go every 5 s) after which the socket is taken as dead. */
const SILENT_MS = 15_000;
/** Pongs the clock estimate is taken from. */
const CLOCK_SAMPLES = 16;
/** How often at most the page acknowledges frames: 5 messages a second, well inside the server's rate limit. */
const ACK_EVERY_MS = 200;

/** Why the server refuses the page's socket, when retrying cannot help. */
export type Refusal = 'token' | 'cross-origin';

export interface ConnectionHandlers {
  onFrame(header: FrameHeader, jpeg: Uint8Array): void;
  onMessage(m: ServerMessage): void;
  onState(connected: boolean): void;
  /** The server refused the socket for good; the page no longer tries. */
  onRefused(why: Refusal, detail: string): void;
}

/**
 * The page's one WebSocket. Reconnects by itself (backoff 0.5 s → 5 s) when the server goes away,
 * subscribes to every source, and keeps an estimate of the server's clock so capture → draw
 * latency is right even when the browser runs on another machine. When an attempt fails, it asks the
 * server why (a browser does not show a refused upgrade's status), and stops when the answer is a
 * refusal that retrying cannot change (a token that is no longer valid, a cross-origin check).
 */
export class Connection {
  private ws: WebSocket | null = null;
  private backoffMs = 500;
  private pingTimer: number | undefined;
  /** Frames received on the current socket, and the pending acknowledgement of them. */
  private framesReceived = 0;
  private ackTimer = 0;
  private lastAckAt = 0;
  /** Recent pongs' round trips and clock offsets: the estimate takes the best of these, not of all time. */
  private readonly samples: { rtt: number; offset: number }[] = [];
  /** When anything last came from the server (frames, state, pongs). */
  private lastHeardAt = 0;
  /** serverTime − browserTime, ms. */
  clockOffsetMs = 0;
  connects = 0;
  connected = false;
  /** What the page shows: every source, or only the enlarged one (the others' frames stay away). */
  private subscription: string[] | '*' = '*';

  /** Set once the server has refused the socket for good. */
  refused: Refusal | null = null;

  /** diagnoseUrl: a plain GET of the socket's path (see src/server/index.ts), answering why an upgrade would be refused. */
  constructor(
    private readonly url: string,
    private readonly diagnoseUrl: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  start(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    // A handshake that gets no answer (a network that drops packets) would wait for the browser's own
    // limit, four minutes in Chromium: give it up sooner and try again.
    const openTimer = window.setTimeout(() => {
      if (!opened) this.abandon(ws, onClosed);
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      opened = true;
      window.clearTimeout(openTimer);
      this.connected = true;
      this.connects++;
      this.backoffMs = 500;
      this.lastHeardAt = Date.now();
      this.send(ws, { type: 'subscribe', sources: this.subscription });
      // A burst of pings first (the smallest round trip gives the best clock estimate), then a slow beat.
      for (let i = 0; i < 5; i++) window.setTimeout(() => this.ping(), i * 300);
      this.pingTimer = window.setInterval(() => this.ping(), 5000);
      this.handlers.onState(true);
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastHeardAt = Date.now();
      if (ev.data instanceof ArrayBuffer) {
        // Acknowledged even if drawing it throws: an unacknowledged frame holds the next ones back.
        try {
          const { header, jpeg } = decodeFrame(ev.data);
          this.handlers.onFrame(header, jpeg);
        } finally {
          this.acknowledge(ws);
        }
        return;
      }
      const m = JSON.parse(ev.data as string) as ServerMessage;
      if (m.type === 'pong') this.onPong(m.t, m.serverTime);
      this.handlers.onMessage(m);
    };
    const onClosed = () => {
      window.clearTimeout(openTimer);
      window.clearTimeout(this.ackTimer);
      this.ackTimer = 0;
      this.framesReceived = 0;
      window.clearInterval(this.pingTimer);
      if (this.connected) this.handlers.onState(false);
      this.connected = false;
      this.ws = null;
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, 5000);
      // A socket that was open and closed: the server went away, so just try again. One that never
      // opened may have been refused, which retrying would repeat forever.
      if (opened) window.setTimeout(() => this.start(), wait);
      else void this.diagnose().then((refused) => (refused ? undefined : window.setTimeout(() => this.start(), wait)));
    };
    ws.onclose = onClosed;
    this.abandonCurrent = () => this.abandon(ws, onClosed);
  }

  /** Closes the current socket as dead: set by start(), used when the server has gone silent. */
  private abandonCurrent: () => void = () => undefined;

  /**
   * Drops a socket without waiting for its close to be confirmed (a dead network never confirms it)
   * and carries on as if it had closed.
   */
  private abandon(ws: WebSocket, onClosed: () => void): void {
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.close();
    onClosed();
  }

  /** Asks the server whether it refuses this page's socket; true when it does, for good. */
  private async diagnose(): Promise<boolean> {
    let r: Response;
    try {
      r = await fetch(this.diagnoseUrl, { cache: 'no-store', credentials: 'same-origin', signal: AbortSignal.timeout(OPEN_TIMEOUT_MS) });
    } catch {
      return false; // the server (or the proxy's upstream) is down: keep trying
    }
    if (r.status !== 401 && r.status !== 403) return false;
    const text = await r.text().catch(() => '');
    // Ours starts "xnorcam:"; a proxy's own login (basic auth) also answers 401, and is no stale token.
    let why: Refusal | null = r.status === 401 && text.startsWith('xnorcam:') ? 'token' : null;
    let detail = text.trim();
    if (r.status === 403) {
      // Only our own answer counts: a proxy's 403 page may mean something else entirely.
      try {
        const body = JSON.parse(text) as { error?: string; message?: string };
        if (body.error === 'cross-origin') [why, detail] = ['cross-origin', body.message ?? ''];
      } catch {
        // not ours
      }
    }
    if (!why) return false;
    this.refused = why;
    this.handlers.onRefused(why, detail);
    return true;
  }

  subscribe(sources: string[] | '*'): void {
    this.subscription = sources;
    if (this.ws?.readyState === WebSocket.OPEN) this.send(this.ws, { type: 'subscribe', sources });
  }

  private ping(): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    // Nothing at all for a while, not even a pong: a hung server or a network that silently drops
    // packets. The socket still looks open, so the page would say 'live' over a frozen picture.
    if (Date.now() - this.lastHeardAt > SILENT_MS) return this.abandonCurrent();
    this.send(this.ws, { type: 'ping', t: Date.now() });
  }

  /**
   * Tells the server how many frames have arrived (at once, then at most every ACK_EVERY_MS): it keeps in
   * flight only what the link delivers in half a second plus its round trip (src/server/ack-window.ts), so
   * a slow link shows fewer pictures, never pictures tens of seconds old under a LIVE badge.
   */
  private acknowledge(ws: WebSocket): void {
    this.framesReceived++;
    if (this.ackTimer) return;
    const send = () => {
      this.ackTimer = 0;
      this.lastAckAt = Date.now();
      if (ws === this.ws && ws.readyState === WebSocket.OPEN) this.send(ws, { type: 'ack', frames: this.framesReceived });
    };
    const wait = this.lastAckAt + ACK_EVERY_MS - Date.now();
    if (wait <= 0) send();
    else this.ackTimer = window.setTimeout(send, wait);
  }

  private send(ws: WebSocket, m: ClientMessage): void {
    ws.send(JSON.stringify(m));
  }

  /**
   * NTP-style: the sample with the smallest round trip gives the best offset, which is known only
   * to within ± half that round trip. Clocks that agree within that (the same machine, or NTP-synced
   * machines) are taken as equal, so a busy server's late pong cannot skew the latency figures.
   */
  private onPong(t: number, serverTime: number): void {
    const now = Date.now();
    const rtt = now - t;
    const offset = serverTime - (t + now) / 2;
    // Over the last samples only (a minute and a half at the slow beat): a path that became slower, or
    // a clock that was stepped, would otherwise never produce a sample better than an old one.
    this.samples.push({ rtt, offset: Math.abs(offset) <= rtt / 2 + 1 ? 0 : offset });
    if (this.samples.length > CLOCK_SAMPLES) this.samples.shift();
    let best = this.samples[0];
    for (const x of this.samples) if (x.rtt <= best.rtt) best = x;
    this.clockOffsetMs = best.offset;
  }
}
