import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { configureLog } from '../../src/core/log.js';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { WrongTokenGuard, clientAddress } from '../../src/server/wrong-tokens.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { until } from '../helpers/wait.js';

const token = 'right-token-5f0c2a91';
const WARNING = 'dashboard: wrong access tokens';

/** A GET over real HTTP from a chosen loopback address (all of 127.0.0.0/8 is this machine on Linux). */
function get(srv: DashboardServer, path: string, opts: { from?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    const { port } = new URL(srv.url);
    http
      .get({ host: '127.0.0.1', port, path, localAddress: opts.from ?? '127.0.0.1', headers: opts.headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
      })
      .on('error', reject);
  });
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** The JSON log lines the server writes while the tests run. */
const logged: Record<string, unknown>[] = [];
let restoreLog: () => void;
beforeAll(() => {
  configureLog({ json: true });
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n')) if (line.startsWith('{')) logged.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  });
  restoreLog = () => spy.mockRestore();
});
afterAll(() => restoreLog());
const warnings = (from: string) => logged.filter((l) => l.msg === WARNING && l.from === from);

describe('wrong access tokens, over real HTTP', () => {
  let feed: TestFeed;
  const servers: DashboardServer[] = [];
  beforeAll(() => {
    feed = new TestFeed({ source: 'cam' }).start();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await feed?.stop();
  });

  it('answers 429 to an address that tried 20 different wrong tokens, for the rest of the minute, even with the right one; others go on', async () => {
    const srv = await startDashboardServer(feed, { port: 0, token });
    servers.push(srv);
    for (let i = 0; i < 20; i++) expect((await get(srv, '/api/sources', { headers: bearer(`guess-${i}-abcdef`) })).status, `guess ${i}`).toBe(401);
    const refused = await get(srv, '/api/sources', { headers: bearer('guess-20-abcdef') });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatch(/^xnorcam: too many wrong access tokens from this address; try again in \d+ s/);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    // The right token too: answered, it would tell the guesser which guess was right.
    expect((await get(srv, '/api/sources', { headers: bearer(token) })).status).toBe(429);
    expect((await get(srv, `/?token=${token}`)).status).toBe(429);
    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WebSocket(srv.url.replace('http', 'ws') + `ws?token=${token}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(upgrade).toBe(429);
    // A load balancer's health check still gets its verdict, without names.
    const health = await get(srv, '/healthz', { headers: bearer(token) });
    expect(health.status).toBe(200);
    expect(Object.keys(JSON.parse(health.body) as object)).toEqual(['ok']);
    // Another address is not held to this one's guesses.
    expect((await get(srv, '/api/sources', { from: '127.0.0.2', headers: bearer(token) })).status).toBe(200);
    // Told once so far for the address, at its first wrong token; never a token tried.
    expect(warnings('127.0.0.1')).toMatchObject([{ level: 'warn', wrongTokens: 1 }]);
    expect(JSON.stringify(logged)).not.toContain('guess-');
  });

  it('does not take a page resending one stale token for guessing', async () => {
    const srv = await startDashboardServer(feed, { port: 0, token });
    servers.push(srv);
    for (let i = 0; i < 30; i++) expect((await get(srv, '/', { from: '127.0.0.3', headers: { cookie: 'xnorcam_token=yesterdays-token-1234' } })).status).toBe(401);
    expect((await get(srv, '/api/sources', { from: '127.0.0.3', headers: bearer(token) })).status).toBe(200);
  });

  it('tells an address\'s wrong tokens in one log line a window, with the count and the 429s, once the window is over', async () => {
    const srv = await startDashboardServer(feed, { port: 0, token, wrongTokens: { limit: 5, windowMs: 1000 } });
    servers.push(srv);
    const from = '127.0.0.4';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(srv, '/api/sources', { from, headers: bearer(`try-${i}-abcdef`) })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(warnings(from)).toMatchObject([{ wrongTokens: 1 }]);
    await until('the window\'s line', () => warnings(from).length === 2, 5000);
    expect(warnings(from)[1]).toMatchObject({ level: 'warn', wrongTokens: 4, answered429: 3, since: expect.any(String) });
    // The window over, the address may try again.
    expect((await get(srv, '/api/sources', { from, headers: bearer(token) })).status).toBe(200);
    expect(JSON.stringify(logged)).not.toContain('try-');
  });
});

describe('the address wrong tokens are counted by', () => {
  it('is the IPv4 address (also IPv4-mapped), and an IPv6 address\'s /64', () => {
    expect(clientAddress('192.0.2.7')).toBe('192.0.2.7');
    expect(clientAddress('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientAddress('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddress('::1')).toBe('::1');
    expect(clientAddress(undefined)).toBe('unknown');
  });
});

describe('a refused address and the wall clock', () => {
  it('stays refused for the rest of its minute when the wall clock steps back an hour (NTP), not for an hour', () => {
    const quiet = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const wall = Date.now();
    const now = vi.spyOn(Date, 'now').mockReturnValue(wall);
    const guard = new WrongTokenGuard({ limit: 3, windowMs: 60_000 });
    try {
      for (const t of ['a', 'b', 'c']) guard.wrongToken('10.0.0.9', t);
      expect(guard.retryAfterSeconds('10.0.0.9')).toBeGreaterThan(55);
      now.mockReturnValue(wall - 3_600_000);
      expect(guard.retryAfterSeconds('10.0.0.9')).toBeLessThanOrEqual(60);
      expect(guard.retryAfterSeconds('10.0.0.9')).toBeGreaterThan(55);
    } finally {
      now.mockRestore();
      quiet.mockRestore();
      guard.close();
    }
  });
});
