import WebSocket from 'ws';
import { decodeFrame, type FrameHeader } from '../../src/server/protocol.js';

/** A raw Node WebSocket client of the dashboard that records what it receives. */
export class RecordingClient {
  readonly ws: WebSocket;
  readonly frames: { header: FrameHeader; jpegBytes: number; at: number }[] = [];
  readonly messages: Record<string, unknown>[] = [];
  closeCode: number | null = null;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, opts: { headers?: Record<string, string> } = {}) {
    this.ws = new WebSocket(url, { headers: opts.headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve((this.closeCode = code))));
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const { header, jpeg } = decodeFrame(data as Buffer);
        this.frames.push({ header, jpegBytes: jpeg.length, at: Date.now() });
      } else {
        this.messages.push(JSON.parse(String(data)) as Record<string, unknown>);
      }
    });
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' || Buffer.isBuffer(m) ? m : JSON.stringify(m));
  }

  async subscribeAll(): Promise<void> {
    await this.opened;
    this.send({ type: 'subscribe', sources: '*' });
  }

  errors(): { code: string; message: string }[] {
    return this.messages.filter((m) => m.type === 'error') as unknown as { code: string; message: string }[];
  }

  close(): void {
    this.ws.terminate();
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function wsUrl(httpUrl: string, query = ''): string {
  return httpUrl.replace(/^http/, 'ws') + 'ws' + query;
}
