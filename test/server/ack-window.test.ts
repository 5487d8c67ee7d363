import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { RecordingClient, sleep, waitFor, wsUrl } from '../helpers/ws-client.js';

/**
 * A slow link's kernel buffers hold megabytes that the send buffer does not see: pictures arrived tens
 * of seconds late. A client that acknowledges frames is sent one only while the oldest it has not
 * acknowledged is younger than maxUnackedMs.
 */
describe('frame acknowledgements', () => {
  let feed: TestFeed;
  let srv: DashboardServer;
  beforeAll(async () => {
    feed = new TestFeed({ fps: 20 }).start();
    srv = await startDashboardServer(feed, { port: 0, hub: { maxUnackedMs: 500 } });
  });
  afterAll(async () => {
    await srv?.close();
    await feed?.stop();
  });

  it('holds frames back while the client has not acknowledged any for longer than the window, and resumes on its ack', async () => {
    const client = new RecordingClient(wsUrl(srv.url));
    const plain = new RecordingClient(wsUrl(srv.url));
    try {
      await client.subscribeAll();
      await plain.subscribeAll();
      await waitFor(() => client.frames.length >= 3, 15_000, 'first frames');
      // Acknowledge what came so far, then go quiet (a link that delivers nothing more).
      client.send({ type: 'ack', frames: client.frames.length });
      const acked = client.frames.length;
      await sleep(2000);
      const stalled = client.frames.length - acked;
      // 20 fps for a 500 ms window (plus the frame in flight when the ack arrived): about ten, never 40.
      expect(stalled).toBeGreaterThan(3);
      expect(stalled).toBeLessThan(20);
      const me = () => srv.clients().find((c) => c.framesUnacked !== null)!;
      expect(me().framesUnacked).toBe(client.frames.length - acked);
      expect(me().framesDropped).toBeGreaterThan(10);
      // A client that never acknowledges is paced by its send buffer only, and got everything.
      expect(plain.frames.length).toBeGreaterThan(client.frames.length + 15);
      expect(srv.clients().find((c) => c.framesUnacked === null)).toBeDefined();
      // Acknowledged: frames flow again.
      const before = client.frames.length;
      client.send({ type: 'ack', frames: client.frames.length });
      await waitFor(() => client.frames.length >= before + 3, 5000, 'frames after the ack');
      // An ack past what was sent acknowledges what was sent, no more.
      client.send({ type: 'ack', frames: 1e9 });
      await sleep(100);
      expect(me().framesUnacked).toBeGreaterThanOrEqual(0);
    } finally {
      client.close();
      plain.close();
    }
  }, 30_000);
});
