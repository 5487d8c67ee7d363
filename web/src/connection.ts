import { decodeFrame, type ClientMessage, type FrameHeader, type ServerMessage } from './protocol.js';

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
  private bestRtt = Infinity;
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
    ws.onopen = () => {
      opened = true;
      this.connected = true;
      this.connects++;
      this.backoffMs = 500;
      this.bestRtt = Infinity;
      this.send(ws, { type: 'subscribe', sources: this.subscription });
      // A burst of pings first (the smallest round trip gives the best clock estimate), then a slow beat.
      for (let i = 0; i < 5; i++) window.setTimeout(() => this.ping(), i * 300);
      this.pingTimer = window.setInterval(() => this.ping(), 5000);
      this.handlers.onState(true);
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) {
        const { header, jpeg } = decodeFrame(ev.data);
        this.handlers.onFrame(header, jpeg);
        return;
      }
      const m = JSON.parse(ev.data as string) as ServerMessage;
      if (m.type === 'pong') this.onPong(m.t, m.serverTime);
      this.handlers.onMessage(m);
    };
    ws.onclose = () => {
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
  }

  /** Asks the server whether it refuses this page's socket; true when it does, for good. */
  private async diagnose(): Promise<boolean> {
    let r: Response;
    try {
      r = await fetch(this.diagnoseUrl, { cache: 'no-store', credentials: 'same-origin' });
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
    if (this.ws?.readyState === WebSocket.OPEN) this.send(this.ws, { type: 'ping', t: Date.now() });
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
    if (rtt <= this.bestRtt) {
      this.bestRtt = rtt;
      const offset = serverTime - (t + now) / 2;
      this.clockOffsetMs = Math.abs(offset) <= rtt / 2 + 1 ? 0 : offset;
    }
  }
}
