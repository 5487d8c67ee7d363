import { decodeFrame, type ClientMessage, type FrameHeader, type ServerMessage } from './protocol.js';

export interface ConnectionHandlers {
  onFrame(header: FrameHeader, jpeg: Uint8Array): void;
  onMessage(m: ServerMessage): void;
  onState(connected: boolean): void;
}

/**
 * The page's one WebSocket. Reconnects by itself (backoff 0.5 s → 5 s) when the server goes away,
 * subscribes to every source, and keeps an estimate of the server's clock so capture → draw
 * latency is right even when the browser runs on another machine.
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

  constructor(private readonly url: string, private readonly handlers: ConnectionHandlers) {}

  start(): void {
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
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
      window.setTimeout(() => this.start(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 5000);
    };
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
