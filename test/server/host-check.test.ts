import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { allowedHostProblem, hostAllowed } from '../../src/server/host-check.js';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { TestFeed } from '../helpers/dashboard-feed.js';

describe('Host check (DNS rebinding)', () => {
  it('accepts names an attacker cannot put in DNS: IP addresses, localhost, single-label names', () => {
    for (const h of ['127.0.0.1:8080', '10.0.0.5', '[::1]:8080', '[fe80::1]', '[0:0:0:0:0:0:0:1]', '127.1', 'localhost:8080', 'LOCALHOST', 'cams.localhost:80', 'localhost.', 'trafficpc:8080', 'trafficpc.local:8080', 'cams.home.arpa', 'nvr.internal', undefined, '']) {
      expect(hostAllowed(h, '127.0.0.1', []), String(h)).toBe(true);
    }
  });

  it('refuses other names unless listed or listened on', () => {
    for (const h of ['evil.example:8080', 'rebind.127.0.0.1.nip.io', 'localhost.evil.example', 'cams.example.org', 'local.evil.example', 'evil.internal.example']) {
      expect(hostAllowed(h, '127.0.0.1', []), h).toBe(false);
    }
    expect(hostAllowed('cams.example.org:8080', '127.0.0.1', ['cams.example.org'])).toBe(true);
    expect(hostAllowed('CAMS.Example.org', '127.0.0.1', ['cams.example.org'])).toBe(true);
    expect(hostAllowed('north.cams.example.org', '127.0.0.1', ['.example.org'])).toBe(true);
    expect(hostAllowed('example.org', '127.0.0.1', ['.example.org'])).toBe(true);
    expect(hostAllowed('badexample.org', '127.0.0.1', ['.example.org'])).toBe(false);
    expect(hostAllowed('cams.example.org', 'cams.example.org', [])).toBe(true);
    // Not a host at all.
    for (const h of ['evil.example/x', 'user@evil.example', 'a b']) expect(hostAllowed(h, '127.0.0.1', []), h).toBe(false);
  });

  it('checks allowedHosts entries', () => {
    expect(allowedHostProblem('cams.example.org')).toBeNull();
    expect(allowedHostProblem('.example.org')).toBeNull();
    for (const bad of ['', '.', '*', '*.example.org', 'http://cams.example.org', 'cams.example.org:8080', 'a b']) {
      expect(allowedHostProblem(bad), bad).toMatch(/is not a host name/);
    }
  });
});

describe('dashboard without a token, addressed by a name', () => {
  let feed: TestFeed;
  let open: DashboardServer;
  let listed: DashboardServer;
  let withToken: DashboardServer;
  const token = 'sesame-0123456789';
  beforeAll(async () => {
    feed = new TestFeed({ source: 'cam' }).start();
    open = await startDashboardServer(feed, { port: 0 });
    listed = await startDashboardServer(feed, { port: 0, allowedHosts: ['cams.example.org'] });
    withToken = await startDashboardServer(feed, { port: 0, token });
  });
  afterAll(async () => {
    await Promise.all([open?.close(), listed?.close(), withToken?.close()]);
    await feed?.stop();
  });

  /** A raw GET with the Host a browser would send after DNS rebinding. */
  const get = (srv: DashboardServer, path: string, host: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: new URL(srv.url).port, path, headers: { host, ...headers } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  const upgrade = (srv: DashboardServer, host: string, query = '') =>
    new Promise<number>((resolve) => {
      const origin = `http://${host}`;
      const ws = new WebSocket(srv.url.replace('http', 'ws') + 'ws' + query, { headers: { host, origin } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });

  it('refuses the page, the API and the socket to a rebinding page, saying why and what to do', async () => {
    const port = new URL(open.url).port;
    const host = `rebind.example:${port}`;
    for (const p of ['/', '/app/main.js', '/api/sources', '/api/counts?source=cam', '/ws']) {
      const r = await get(open, p, host);
      expect(r.status, p).toBe(403);
      expect(r.body, p).toMatch(/^xnorcam: this dashboard was addressed as 'rebind\.example'.*--allowed-host rebind\.example.*token/);
    }
    expect(await upgrade(open, host)).toBe(403);
    // Health stays answerable, as it is without a token: a verdict, no names.
    const health = await get(open, '/healthz', host);
    expect(health.status).toBe(200);
    expect(Object.keys(JSON.parse(health.body) as object)).toEqual(['ok']);
    // By an accepted name, the whole report.
    expect(JSON.parse((await get(open, '/healthz', `127.0.0.1:${port}`)).body).sources[0]).toMatchObject({ name: 'cam' });
    // Behind a proxy that keeps its own Host and forwards the browser's: the forwarded name counts too.
    const proxied = `127.0.0.1:${port}`;
    expect((await get(open, '/api/sources', proxied, { 'x-forwarded-host': host })).status).toBe(403);
    expect((await get(open, '/api/sources', proxied, { forwarded: 'for=192.0.2.1;host=rebind.example;proto=http' })).status).toBe(403);
    expect((await get(open, '/api/sources', proxied, { 'x-forwarded-host': `localhost:${port}` })).status).toBe(200);
  });

  it('serves the same requests by IP address, localhost and a machine name', async () => {
    const port = new URL(open.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `trafficpc:${port}`]) {
      expect((await get(open, '/api/sources', host)).status, host).toBe(200);
      expect((await get(open, '/', host)).status, host).toBe(200);
      expect(await upgrade(open, host), host).toBe(101);
    }
  });

  it('serves a listed name, and any name once a token guards the dashboard', async () => {
    expect((await get(listed, '/api/sources', `cams.example.org:${new URL(listed.url).port}`)).status).toBe(200);
    expect(await upgrade(listed, `cams.example.org:${new URL(listed.url).port}`)).toBe(101);
    expect((await get(listed, '/api/sources', 'other.example.org')).status).toBe(403);
    const host = `rebind.example:${new URL(withToken.url).port}`;
    expect((await get(withToken, '/api/sources', host)).status).toBe(401);
    expect((await get(withToken, '/api/sources', host, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await upgrade(withToken, host, `?token=${token}`)).toBe(101);
  });
});
