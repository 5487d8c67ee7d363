import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startDashboardServer, type DashboardServer } from '../../src/server/index.js';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { healthOf, type WatchedSourceStatus } from '../../src/server/health.js';
import type { PipelineFeed, SourceStatus } from '../../src/core/feed.js';
import { TestFeed } from '../helpers/dashboard-feed.js';
import { buildWeb } from '../helpers/build-web.js';
import { waitFor } from '../helpers/ws-client.js';

/** REST, static files, health and the access token, against a server fed by real ffmpeg frames. */
describe('dashboard HTTP', () => {
  let feed: TestFeed;
  let srv: DashboardServer;

  beforeAll(async () => {
    buildWeb();
    feed = new TestFeed({ step: 16 }).start();
    srv = await startDashboardServer(feed, { port: 0 });
    await waitFor(() => feed.sources()[0].lastFrameAt !== null, 10_000, 'first frame');
  });
  afterAll(async () => {
    await srv?.close();
    await feed?.stop();
  });

  it('lists sources with state, figures and overlay', async () => {
    const r = await fetch(srv.url + 'api/sources');
    expect(r.status).toBe(200);
    const body = (await r.json()) as { sources: (SourceStatus & { overlay: unknown })[] };
    expect(body.sources).toHaveLength(1);
    expect(body.sources[0]).toMatchObject({ name: 'cam1', state: 'running', width: 640, height: 360 });
    expect(body.sources[0].overlay).toEqual(feed.overlay('cam1'));
  });

  it('serves counts per source and names bad queries', async () => {
    await waitFor(() => Object.keys(feed.counts('cam1')!.total['stop-line'].forward).length > 0, 15_000, 'a crossing');
    const r = await fetch(srv.url + 'api/counts?source=cam1');
    expect(r.status).toBe(200);
    const c = (await r.json()) as { total: Record<string, { forward: Record<string, number> }> };
    expect(Object.values(c.total['stop-line'].forward).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const missing = await fetch(srv.url + 'api/counts');
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: string }).error).toMatch(/source/);
    const unknown = await fetch(srv.url + 'api/counts?source=nope');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toContain("'nope'");
  });

  it('serves the page with a CSP, its compiled modules, and nothing outside them', async () => {
    const page = await fetch(srv.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('app/main.js');
    const js = await fetch(srv.url + 'app/main.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await fetch(srv.url + 'style.css')).status).toBe(200);
    // A module the built page does not have is not found (it was a 500 saying the dashboard was not built).
    for (const p of ['app/../../package.json', 'app/%2e%2e/package.json', '../package.json', 'app/Main.JS', 'nothing', 'app/anything.js']) {
      expect((await fetch(srv.url + p)).status, p).toBe(404);
    }
    expect((await fetch(srv.url + 'api/sources', { method: 'POST' })).status).toBe(405);
  });

  it('is healthy while frames flow', async () => {
    const r = await fetch(srv.url + 'healthz');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, sources: [{ name: 'cam1', healthy: true }] });
  });

  it('lets other parts add routes (e.g. /metrics), once per path', async () => {
    srv.addRoute('/metrics', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('xnorcam_up 1\n');
    });
    const r = await fetch(srv.url + 'metrics');
    expect(await r.text()).toBe('xnorcam_up 1\n');
    expect(() => srv.addRoute('/metrics', () => {})).toThrow(/already served/);
    expect(() => srv.addRoute('/healthz', () => {})).toThrow(/already served/);
  });
});

describe('dashboard address', () => {
  it('listening on every address (a container), gives a URL that opens: this machine\'s, not http://0.0.0.0/', async () => {
    const srv = await startDashboardServer(new TestFeed({ source: 'cam' }), { host: '0.0.0.0', port: 0, token: 'c0ntainer-token-77' });
    try {
      expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await fetch(srv.url + 'healthz')).status).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it('refuses to listen beyond this machine without a token, saying how to set one, unless allowed on purpose', async () => {
    const feed = new TestFeed({ source: 'cam' });
    for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
      await expect(startDashboardServer(feed, { host, port: 8080 }), host).rejects.toThrow(
        /^dashboard: listening on .* without an access token would show the cameras to anyone who reaches port 8080: set XNORCAM_DASHBOARD_TOKEN \(e\.g\. XNORCAM_DASHBOARD_TOKEN=\$\(openssl rand -hex 16\)\), --token or outputs\.dashboard\.token; or, to run it open on purpose, --allow-no-token \(outputs\.dashboard\.allowNoToken: true\)$/,
      );
    }
    for (const opts of [{ host: '0.0.0.0', allowNoToken: true }, { host: '127.0.0.2' }, { host: 'localhost' }]) {
      const srv = await startDashboardServer(feed, { ...opts, port: 0 });
      await srv.close();
    }
  });
});

/**
 * The wall clock held still for /healthz, moved on only by the test: a 300 ms watchdog counts from the server's
 * start, and on a loaded machine the first request alone can take longer than that (it answered 503).
 */
function heldClock(): { advance(ms: number): void } {
  let now = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => now);
  return { advance: (ms) => void (now += ms) };
}

describe('dashboard health', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reports 503 when a source delivers nothing for longer than the watchdog', async () => {
    const idle = new TestFeed({ source: 'idle' }); // never started: no frame will come
    const clock = heldClock();
    const srv = await startDashboardServer(idle, { port: 0, watchdogMs: 300 });
    try {
      expect((await fetch(srv.url + 'healthz')).status).toBe(200);
      clock.advance(450);
      const r = await fetch(srv.url + 'healthz');
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({ ok: false, sources: [{ name: 'idle', healthy: false, reason: expect.stringMatching(/no frame/) }] });
    } finally {
      await srv.close();
    }
  });

  it('judges each state: stale running fails, finished does not, failed does', () => {
    const base: SourceStatus = { name: 'a', url: 'x', state: 'running', decodedFps: 0, detectedFps: 0, latencyMs: 0, droppedFrames: 0, reconnects: 0, lastFrameAt: 0, width: 1, height: 1 };
    const now = 100_000;
    expect(healthOf([{ ...base, lastFrameAt: now - 5_000 }], now, 0).ok).toBe(true);
    expect(healthOf([{ ...base, lastFrameAt: now - 11_000 }], now, 0).ok).toBe(false);
    expect(healthOf([{ ...base, state: 'finished', lastFrameAt: now - 60_000 }], now, 0).ok).toBe(true);
    expect(healthOf([{ ...base, state: 'failed', lastError: 'boom' }], now, 0).sources[0].reason).toBe('failed: boom');
    expect(healthOf([{ ...base, lastFrameAt: null }], now, now - 1000).ok).toBe(true);
    // Frames arrive but its model has had no detector thread for longer than the watchdog.
    expect(healthOf([{ ...base, lastFrameAt: now - 100, detectorDownSince: now - 11_000 }], now, 0).sources[0].reason).toBe(
      'no detector thread for 11 s (watchdog 10 s): its model cannot be loaded',
    );
    // A thread restarting (a second or two) is no fault; nor is a slow detection, which this does not judge.
    expect(healthOf([{ ...base, lastFrameAt: now - 100, detectorDownSince: now - 2_000 }], now, 0).ok).toBe(true);
    expect(healthOf([{ ...base, lastFrameAt: now - 100, detectorDownSince: null }], now, 0).ok).toBe(true);
  });

  it('gives each source its own watchdog (a pipeline file’s watchdogSeconds)', () => {
    const base: WatchedSourceStatus = { name: 'a', url: 'x', state: 'running', decodedFps: 0, detectedFps: 0, latencyMs: 0, droppedFrames: 0, reconnects: 0, lastFrameAt: 0, width: 1, height: 1 };
    const now = 100_000;
    // All last delivered 6 s ago: too long for the 5 s camera, fine for the 20 s one and the 10 s default.
    const sources = [{ ...base, name: 'fast', watchdogMs: 5_000 }, { ...base, name: 'slow', watchdogMs: 20_000 }, { ...base, name: 'plain' }].map((s) => ({ ...s, lastFrameAt: now - 6_000 }));
    const h = healthOf(sources, now, 0);
    expect(h.ok).toBe(false);
    expect(h.sources.map((s) => [s.name, s.healthy, s.watchdogMs])).toEqual([['fast', false, 5_000], ['slow', true, 20_000], ['plain', true, 10_000]]);
    expect(h.sources[0].reason).toBe('no frame for 6 s (watchdog 5 s)');
    // The server's default applies only to sources without their own.
    expect(healthOf(sources, now, 0, 4_000).sources.map((s) => s.healthy)).toEqual([false, true, false]);
    // 25 s: past everyone's watchdog. One that never delivered is judged on its own limit too.
    expect(healthOf(sources.map((s) => ({ ...s, lastFrameAt: now - 25_000 })), now, 0).sources.every((s) => !s.healthy)).toBe(true);
    const never = { ...base, name: 'slow', lastFrameAt: null };
    expect(healthOf([{ ...never, watchdogMs: 20_000 }], now, now - 15_000).ok).toBe(true);
    expect(healthOf([never], now, now - 15_000).ok).toBe(false);
    // A source a reload added (or restarted) 3 s ago, on a server up for an hour: not yet due.
    const added = healthOf([{ ...never, state: 'starting', startedAt: now - 3_000 }], now, now - 3600_000);
    expect(added.ok).toBe(true);
    // ...and judged from its own start once it is.
    expect(healthOf([{ ...never, state: 'starting', startedAt: now - 12_000 }], now, now - 3600_000).sources[0].reason).toBe('no frame in 12 s (watchdog 10 s)');
  });

  it('serves /healthz with each source’s own watchdog, read afresh on every request', async () => {
    // Two running sources that never deliver: 'quick' reports a 300 ms watchdog, 'patient' none (the 60 s default).
    const statuses: WatchedSourceStatus[] = ['quick', 'patient'].map((name) => ({ name, url: 'x', state: 'running', decodedFps: 0, detectedFps: 0, latencyMs: 0, droppedFrames: 0, reconnects: 0, lastFrameAt: null, width: 1, height: 1 }));
    statuses[0].watchdogMs = 300;
    const feed = Object.assign(new EventEmitter(), { sources: () => statuses, overlay: () => ({ lines: [], zones: [] }), counts: () => undefined }) as unknown as PipelineFeed;
    const clock = heldClock();
    const srv = await startDashboardServer(feed, { port: 0, watchdogMs: 60_000 });
    try {
      expect((await fetch(srv.url + 'healthz')).status).toBe(200);
      clock.advance(450);
      const r = await fetch(srv.url + 'healthz');
      expect(r.status).toBe(503);
      expect(await r.json()).toMatchObject({
        ok: false,
        sources: [
          { name: 'quick', healthy: false, watchdogMs: 300, reason: expect.stringMatching(/^no frame in \d+ s \(watchdog 0.3 s\)$/) },
          { name: 'patient', healthy: true, watchdogMs: 60_000 },
        ],
      });
      // The source's setting changes while running (a reloaded pipeline file): the next answer follows it.
      statuses[0].watchdogMs = 30_000;
      expect((await fetch(srv.url + 'healthz')).status).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it('names a port already in use in one line', async () => {
    const feed = new TestFeed();
    const a = await startDashboardServer(feed, { port: 0 });
    const port = Number(new URL(a.url).port);
    await expect(startDashboardServer(feed, { port })).rejects.toThrow(`127.0.0.1:${port} is already in use`);
    await a.close();
  });
});

describe('dashboard access token', () => {
  const token = 'sesame-0123456789';
  let feed: TestFeed;
  let srv: DashboardServer;
  beforeAll(async () => {
    feed = new TestFeed({ source: 'tok' }).start();
    srv = await startDashboardServer(feed, { port: 0, token });
  });
  afterAll(async () => {
    await srv?.close();
    await feed?.stop();
  });

  it('refuses the page, API and added routes without it', async () => {
    srv.addRoute('/metrics', (_q, res) => res.end('m'));
    for (const p of ['', 'app/main.js', 'api/sources', 'api/counts?source=tok', 'metrics']) {
      expect((await fetch(srv.url + p)).status, p).toBe(401);
    }
    expect((await fetch(srv.url + 'api/sources?token=wrong')).status).toBe(401);
  });

  it('tells a wrong token from none, on the page, the API and the socket, without echoing it', async () => {
    const wrong = 'typo-0123456789';
    const bodies = [
      await fetch(srv.url + `?token=${wrong}`),
      await fetch(srv.url + 'api/sources', { headers: { authorization: `Bearer ${wrong}` } }),
      await fetch(srv.url + 'app/main.js', { headers: { cookie: `xnorcam_token=${wrong}` } }),
    ];
    for (const r of bodies) {
      expect(r.status).toBe(401);
      const text = await r.text();
      expect(text).toMatch(/^xnorcam: the access token given is not the right one/);
      expect(text).not.toContain(wrong);
    }
    expect(await (await fetch(srv.url)).text()).toMatch(/^xnorcam: access token required/);
    const upgrade = (query: string) =>
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(srv.url.replace('http', 'ws') + 'ws' + query);
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        });
        ws.on('open', () => reject(new Error('socket opened')));
        ws.on('error', () => {});
      });
    const refusedWrong = await upgrade(`?token=${wrong}`);
    expect(refusedWrong).toMatch(/^401 xnorcam: the access token given is not the right one/);
    expect(refusedWrong).not.toContain(wrong);
    expect(await upgrade('')).toMatch(/^401 xnorcam: access token required/);
  });

  it('accepts ?token (and sets a cookie), the cookie, and a bearer header', async () => {
    const page = await fetch(srv.url + `?token=${token}`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('./');
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toMatch(/xnorcam_token=.*HttpOnly.*SameSite=Strict/);
    const js = await fetch(srv.url + 'app/main.js', { headers: { cookie: cookie.split(';')[0] } });
    expect(js.status).toBe(200);
    expect((await fetch(srv.url, { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
    expect((await fetch(srv.url + `app/main.js?token=${token}`)).status).toBe(200);
    expect((await fetch(srv.url + 'api/sources', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // The scheme in any case (RFC 7235), as curl users and proxies write it.
    for (const scheme of ['bearer', 'BEARER']) expect((await fetch(srv.url + 'api/sources', { headers: { authorization: `${scheme} ${token}` } })).status, scheme).toBe(200);
  });

  it('answers paths starting with // with 404 (never 500, never read as a host and another path)', async () => {
    // Raw requests: a client library might normalise the path.
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const { port } = new URL(srv.url);
        http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject);
      });
    const bearer = { authorization: `Bearer ${token}` };
    for (const p of ['//', `//?token=${token}`, '//x', '//healthz', '//localhost/api/sources', '///api/sources']) {
      expect(await get(p, bearer), p).toBe(404);
    }
    expect(await get('//')).toBe(401);
    expect(await get(`/?token=${token}`)).toBe(303);
  });

  it('keeps /healthz open but says only ok/not ok without the token', async () => {
    const r = await fetch(srv.url + 'healthz');
    expect(Object.keys((await r.json()) as object)).toEqual(['ok']);
  });

  it('refuses the socket without the token and from another origin', async () => {
    const status = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => {});
      });
    const base = srv.url.replace('http', 'ws') + 'ws';
    expect(await status(base)).toBe(401);
    expect(await status(base + '?token=nope')).toBe(401);
    expect(await status(base + `?token=${token}`)).toBe(101);
    expect(await status(base + `?token=${token}`, { origin: 'http://evil.example' })).toBe(403);
    expect(await status(srv.url.replace('http', 'ws') + 'other')).toBe(404);
  });

  it('accepts the origin a reverse proxy says the browser addressed (X-Forwarded-Host, Forwarded), and no other', async () => {
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        // A proxy that rewrote Host to its upstream's, as nginx does unless told otherwise.
        const ws = new WebSocket(srv.url.replace('http', 'ws') + `ws?token=${token}`, { headers: { host: '127.0.0.1:1', ...headers } });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('error', () => {});
      });
    const origin = 'https://cams.example.org';
    expect(await status({ origin })).toBe(403);
    expect(await status({ origin, 'x-forwarded-host': 'cams.example.org' })).toBe(101);
    expect(await status({ origin, 'x-forwarded-host': 'CAMS.example.org, 10.0.0.5:8080' })).toBe(101);
    expect(await status({ origin: 'https://cams.example.org:8443', 'x-forwarded-host': 'cams.example.org:8443' })).toBe(101);
    expect(await status({ origin, forwarded: 'for=192.0.2.1;host=cams.example.org;proto=https' })).toBe(101);
    expect(await status({ origin, forwarded: 'for=192.0.2.1;host="cams.example.org";proto=https' })).toBe(101);
    // Another site's page, even behind the same proxy: its Origin is its own, the forwarded host ours.
    expect(await status({ origin: 'https://evil.example', 'x-forwarded-host': 'cams.example.org' })).toBe(403);
    expect(await status({ origin: 'https://evil.example', forwarded: 'host=cams.example.org' })).toBe(403);
    // Another port of the same host is another origin.
    expect(await status({ origin: 'https://cams.example.org:9443', 'x-forwarded-host': 'cams.example.org' })).toBe(403);
    expect(await status({ origin: 'null', 'x-forwarded-host': 'null' })).toBe(403);
  });

  it('says, on a plain GET of /ws, why the page’s socket would be refused (a browser cannot see it)', async () => {
    const get = (query: string, headers: Record<string, string> = {}) => fetch(srv.url + 'ws' + query, { headers });
    const cookie = { cookie: `xnorcam_token=${token}` };
    expect((await get('')).status).toBe(401);
    expect((await get('?origin=' + encodeURIComponent(new URL(srv.url).origin))).status).toBe(401);
    const ok = await get('?origin=' + encodeURIComponent(new URL(srv.url).origin), cookie);
    expect(ok.status).toBe(426);
    const refused = await get('?origin=' + encodeURIComponent('http://cams.example.org'), cookie);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'cross-origin', message: expect.stringContaining('Host'), origin: 'http://cams.example.org' });
    const forwarded = await get('?origin=' + encodeURIComponent('http://cams.example.org'), { ...cookie, 'x-forwarded-host': 'cams.example.org' });
    expect(forwarded.status).toBe(426);
  });
});
