import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { MAX_CLIENT_MESSAGE_BYTES, HARD_MAX_CLIENT_PAYLOAD_BYTES } from '../../src/server/protocol.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { RecordingClient, sleep, waitFor, wsUrl } from '../helpers/ws-client.js';

/** The WebSocket side: frames paired with their own results, subscriptions, and bad input. */
describe('dashboard WebSocket', () => {
  let feed: TestFeed;
  let srv: DashboardServer;
  const clients: RecordingClient[] = [];
  const client = () => {
    const c = new RecordingClient(wsUrl(srv.url));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // The detector answers 40 ms after the picture arrives, so pairing has something to wait for.
    feed = new TestFeed({ step: 16, detectDelayMs: 40 }).start();
    srv = await startDashboardServer(feed, { port: 0 });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await srv?.close();
    await feed?.stop();
  });

  it('greets with the sources, then sends each frame with the result of that same frame', async () => {
    const c = client();
    await c.subscribeAll();
    await waitFor(() => c.frames.length >= 30, 15_000, '30 frames');
    expect(c.messages[0]).toMatchObject({ type: 'hello', version: 1, sources: [{ name: 'cam1' }] });
    expect(c.messages.some((m) => m.type === 'subscribed' && m.sources === '*')).toBe(true);
    let lastSeq = -1;
    // Until the detector's first answer the video goes out bare; from then on every frame has its result.
    const firstPaired = c.frames.findIndex((f) => f.header.result !== null);
    expect(firstPaired).toBeGreaterThanOrEqual(0);
    expect(firstPaired).toBeLessThan(5);
    for (const { header, jpegBytes } of c.frames.slice(firstPaired)) {
      expect(header.seq).toBeGreaterThan(lastSeq);
      lastSeq = header.seq;
      expect(jpegBytes).toBeGreaterThan(1000);
      expect(header).toMatchObject({ source: 'cam1', width: 640, height: 360, sourceWidth: 640, sourceHeight: 360 });
      // The box the feed computed for this seq, not for a neighbour: pairing is exact.
      expect(header.result!.detections[0].box).toEqual(feed.boxAt(header.seq));
      expect(header.result!.tracks[0].box).toEqual(feed.boxAt(header.seq));
      // Sent after its result existed: the picture waited for its boxes.
      expect(header.sentAt).toBeGreaterThanOrEqual(header.result!.detectedAt);
    }
  });

  it('sends frames only for subscribed sources, and says which names are unknown', async () => {
    const c = client();
    await c.opened;
    c.send({ type: 'subscribe', sources: ['nope'] });
    await waitFor(() => c.errors().length > 0, 5000, 'error reply');
    expect(c.errors()[0]).toMatchObject({ code: 'unknown-source', message: expect.stringContaining('nope') });
    await sleep(500);
    expect(c.frames).toHaveLength(0);
    c.send({ type: 'subscribe', sources: ['cam1'] });
    await waitFor(() => c.frames.length > 3, 5000, 'frames after subscribing');
    c.send({ type: 'unsubscribe', sources: ['cam1'] });
    await sleep(300);
    const n = c.frames.length;
    await sleep(500);
    expect(c.frames.length).toBe(n);
  });

  it('sends the page only the recent count intervals; /api/counts keeps them all', async () => {
    // A day of minutes: each counts message carried all 1,440 (117 KB), about once a second per source.
    const day = Array.from({ length: 1440 }, (_, i) => ({ start: i * 60_000, counts: { stop: { forward: { car: i }, backward: {} } } }));
    const many = new TestFeed({ source: 'busy' });
    many.counts = (source: string) => (source === 'busy' ? { source, intervalMs: 60_000, total: {}, intervals: day } : undefined);
    const server = await startDashboardServer(many, { port: 0 });
    const c = new RecordingClient(wsUrl(server.url));
    try {
      await c.subscribeAll();
      await waitFor(() => c.messages.some((m) => m.type === 'counts'), 10_000, 'a counts message');
      const sent = c.messages.find((m) => m.type === 'counts') as { counts: { intervals: { start: number }[] } };
      expect(sent.counts.intervals.map((iv) => iv.start)).toEqual(day.slice(-60).map((iv) => iv.start));
      const api = (await (await fetch(server.url + 'api/counts?source=busy')).json()) as { intervals: unknown[] };
      expect(api.intervals).toHaveLength(1440);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('answers pings with the server clock', async () => {
    const c = client();
    await c.opened;
    const t = Date.now();
    c.send({ type: 'ping', t });
    await waitFor(() => c.messages.some((m) => m.type === 'pong'), 5000, 'pong');
    const pong = c.messages.find((m) => m.type === 'pong') as { t: number; serverTime: number };
    expect(pong.t).toBe(t);
    expect(Math.abs(pong.serverTime - Date.now())).toBeLessThan(1000);
  });

  it('answers malformed and oversized messages with errors and keeps serving everyone', async () => {
    const bystander = client();
    await bystander.subscribeAll();
    const bad = client();
    await bad.subscribeAll();
    await waitFor(() => bad.frames.length > 0, 5000, 'frames');
    const cases: [unknown, string][] = [
      ['{not json', 'bad-json'],
      ['', 'bad-json'],
      [{ type: 'subscribe' }, 'bad-message'],
      [{ type: 'subscribe', sources: 42 }, 'bad-message'],
      [{ type: 'launch-missiles' }, 'bad-message'],
      [{ type: 'ping', t: 1, extra: true }, 'bad-message'],
      [[1, 2, 3], 'bad-message'],
      ['null', 'bad-message'],
      [JSON.stringify({ type: 'ping', t: 1, pad: 'x'.repeat(MAX_CLIENT_MESSAGE_BYTES) }), 'too-large'],
      [Buffer.from([1, 2, 3]), 'binary-not-accepted'],
    ];
    for (const [msg, code] of cases) {
      const before = bad.errors().length;
      bad.send(msg);
      await waitFor(() => bad.errors().length > before, 5000, `error reply for ${String(msg).slice(0, 40)}`);
      expect(bad.errors().at(-1)!.code, String(msg).slice(0, 40)).toBe(code);
      expect(bad.errors().at(-1)!.message.length).toBeGreaterThan(5);
    }
    // The same connection still works: frames keep coming and pings are answered.
    const framesBefore = bad.frames.length;
    await waitFor(() => bad.frames.length > framesBefore + 5, 5000, 'frames after bad messages');
    // Far past the limit: the ws library closes with 1009 before reading it into memory.
    bad.send('x'.repeat(HARD_MAX_CLIENT_PAYLOAD_BYTES + 1));
    expect(await bad.closed).toBe(1009);
    // Everyone else is unaffected, and the server still accepts new clients.
    const n = bystander.frames.length;
    await waitFor(() => bystander.frames.length > n + 5, 5000, 'bystander frames');
    const late = client();
    await late.subscribeAll();
    await waitFor(() => late.frames.length > 2, 5000, 'frames for a new client');
    expect((await fetch(srv.url + 'healthz')).status).toBe(200);
  });

  it('rate-limits a client that floods messages, without disconnecting it', async () => {
    const c = client();
    await c.subscribeAll();
    for (let i = 0; i < 100; i++) c.send({ type: 'ping', t: i });
    await waitFor(() => c.errors().some((e) => e.code === 'rate-limited'), 5000, 'rate-limited reply');
    const n = c.frames.length;
    await waitFor(() => c.frames.length > n + 3, 5000, 'frames after the flood');
  });
});
