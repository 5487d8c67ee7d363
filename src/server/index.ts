import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { PipelineFeed } from '../core/feed.js';
import { UserError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { TOKEN_ENV, TokenAuth } from './auth.js';
import { exposureRefusal, isLoopback, listeningOn } from './exposure.js';
import { DEFAULT_WATCHDOG_MS, healthOf } from './health.js';
import type { OutputFailure } from '../ops/rotating-file.js';
import { hostAllowed, hostName } from './host-check.js';
import { HARD_MAX_CLIENT_PAYLOAD_BYTES } from './protocol.js';
import { serveStatic, staticFileFor } from './static-files.js';
import { WrongTokenGuard, clientAddress, type WrongTokenLimits } from './wrong-tokens.js';
import { WsHub, type WsHubOptions, type ClientStats } from './ws-hub.js';

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface DashboardServerOptions {
  /** Default 127.0.0.1: only this machine, unless told otherwise. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** When set, the page, /api/*, added routes and /ws need it (see auth.ts). /healthz stays open. */
  token?: string;
  /** Without a token, listening beyond this machine (0.0.0.0, a LAN address) is refused unless this is true. */
  allowNoToken?: boolean;
  /** How many different wrong tokens an address may try in how long before it is answered 429 (default 20 a minute). */
  wrongTokens?: WrongTokenLimits;
  /**
   * Without a token, the host names (besides IP addresses, localhost and single-label names) the
   * dashboard may be addressed by; '.example.org' allows every name under it (host-check.ts).
   */
  allowedHosts?: readonly string[];
  /**
   * /healthz reports 503 when a live source has delivered no frame for longer than its own
   * watchdog (`watchdogMs` in its status: a pipeline file's `watchdogSeconds`), or than this
   * default for sources that report none. Default 10 s.
   */
  watchdogMs?: number;
  /**
   * The output files that cannot be written now (a full disk), told in /healthz's body under `outputs`; the
   * status stays the cameras': a container restarted for a full disk would find the disk as full.
   */
  outputFailures?: () => OutputFailure[];
  /** Tuning of the WebSocket fan-out (send budgets, intervals); the defaults suit a LAN. */
  hub?: WsHubOptions;
}

export interface DashboardServer {
  url: string;
  server: http.Server;
  /** Adds a GET route at an exact path (e.g. /metrics); it sits behind the token like /api/*. */
  addRoute(path: string, handler: RouteHandler): void;
  /** Per-connection send figures (buffered bytes, frames sent and dropped). */
  clients(): ClientStats[];
  close(): Promise<void>;
}

const BUILTIN = new Set(['/healthz', '/api/sources', '/api/counts', '/ws']);

/** Serves the dashboard page, its WebSocket (/ws) and the REST API for one running pipeline. */
export async function startDashboardServer(feed: PipelineFeed, opts: DashboardServerOptions = {}): Promise<DashboardServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  const auth = new TokenAuth(opts.token);
  const refusal = exposureRefusal(host, port, auth.enabled, opts.allowNoToken ?? false);
  if (refusal) throw new UserError(refusal, 2);
  const guard = new WrongTokenGuard(opts.wrongTokens);
  /** The token's verdict; a wrong one is counted against the client's address. */
  const checkToken = (req: http.IncomingMessage, url: URL, client: string) => {
    const verdict = auth.check(req, url);
    if (verdict === 'wrong') guard.wrongToken(client, auth.presented(req, url) ?? '');
    return verdict;
  };
  const watchdogMs = opts.watchdogMs ?? DEFAULT_WATCHDOG_MS;
  const startedAt = Date.now();
  const routes = new Map<string, RouteHandler>();
  const allowedHosts = opts.allowedHosts ?? [];
  const refusedNames = new Set<string>();
  /** Null when the request's Host is acceptable, else why not (logged once per name for the operator). */
  const hostRefusal = (req: http.IncomingMessage): string | null => {
    if (auth.enabled) return null;
    // The hosts a proxy says the browser addressed count as much as Host: the origin check trusts them.
    // Host itself is also checked as sent, since addressedHosts leaves out what does not parse as a host.
    const refused = [req.headers.host, ...addressedHosts(req)].find((h) => !hostAllowed(h, host, allowedHosts));
    if (refused === undefined) return null;
    const name = hostName(refused) ?? refused;
    if (refusedNames.size < 100 && !refusedNames.has(name)) {
      refusedNames.add(name);
      logger.warn('dashboard request refused: addressed by a host name not allowed without a token', { host: name });
    }
    return (
      `xnorcam: this dashboard was addressed as '${name}', a name it does not accept without a token ` +
      `(protection against DNS rebinding). Open it by IP address or localhost, allow the name with ` +
      `--allowed-host ${name} (outputs.dashboard.allowedHosts in a pipeline file), or set a token.`
    );
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error('dashboard request failed', { url: req.url, error: (err as Error).message });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const url = requestUrl(req.url);
    if (!url) return sendJson(res, 400, { error: 'bad request target' });
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    }
    const client = clientAddress(req.socket.remoteAddress);
    const retryAfter = guard.retryAfterSeconds(client);
    // Refused for guessing, the token is not even looked at; health stays answerable, as it is without one.
    const token = retryAfter > 0 ? 'missing' : checkToken(req, url, client);
    if (path === '/healthz') {
      const h = healthOf(feed.sources(), Date.now(), startedAt, watchdogMs);
      // Without the token, or addressed by a refused name (a rebinding page), only the verdict: source names stay private.
      const full = token === 'ok' && hostRefusal(req) === null;
      if (!opts.outputFailures) return sendJson(res, h.ok ? 200 : 503, full ? h : { ok: h.ok });
      const failing = opts.outputFailures();
      const writing = failing.length ? 'failing' : 'ok';
      // File names are a camera's: with the full answer only.
      const outputs = full && failing.length ? { writing, failing: failing.map((f) => ({ ...f, since: new Date(f.since).toISOString() })) } : { writing };
      return sendJson(res, h.ok ? 200 : 503, full ? { ...h, outputs } : { ok: h.ok, outputs });
    }
    if (retryAfter > 0) {
      guard.refused(client);
      res.setHeader('Retry-After', String(retryAfter));
      return sendText(res, 429, `${tooManyWrongTokens(retryAfter)}\n`);
    }
    const refusal = hostRefusal(req);
    if (refusal) return sendText(res, 403, `${refusal}\n`);
    if (token !== 'ok') return sendText(res, 401, `${TOKEN_REFUSAL[token]}\n`);
    if (path === '/ws') {
      // A browser cannot read the status of a refused WebSocket upgrade (it only sees the socket
      // close), so the page asks here, with the same cookie and through the same proxy, why it was
      // refused. The token was checked above (401); this answers the origin check the upgrade makes.
      const pageOrigin = url.searchParams.get('origin');
      if (pageOrigin !== null && !originAllowed(pageOrigin, req)) {
        return sendJson(res, 403, { error: 'cross-origin', message: CROSS_ORIGIN_HELP, origin: pageOrigin, hosts: addressedHosts(req) });
      }
      res.setHeader('Upgrade', 'websocket');
      return sendJson(res, 426, { error: 'this is the dashboard WebSocket: connect with an Upgrade: websocket request' });
    }
    const added = routes.get(path);
    if (added) return added(req, res);
    if (path === '/api/sources') {
      const sources = feed.sources().map((s) => ({ ...s, overlay: feed.overlay(s.name) }));
      return sendJson(res, 200, { serverTime: Date.now(), sources });
    }
    if (path === '/api/counts') {
      const source = url.searchParams.get('source');
      if (!source) return sendJson(res, 400, { error: 'missing ?source=<name>' });
      if (!feed.sources().some((s) => s.name === source)) return sendJson(res, 404, { error: `unknown source '${source}'` });
      const counts = feed.counts(source);
      return counts ? sendJson(res, 200, counts) : sendJson(res, 404, { error: `no counts for source '${source}' (no counting lines?)` });
    }
    const file = staticFileFor(path);
    if (file && auth.enabled && url.searchParams.has('token') && (path === '/' || path === '/index.html')) {
      // Swap the token in the address bar for a cookie: it should not sit in history or on screen.
      auth.setCookieIfFromQuery(req, url, res);
      res.writeHead(303, { Location: './' });
      res.end();
      return;
    }
    if (file) {
      if (path === '/' || path === '/index.html') res.setHeader('Content-Security-Policy', CSP);
      return serveStatic(file, res, req.method === 'HEAD');
    }
    sendJson(res, 404, { error: `no such path '${path}'` });
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_CLIENT_PAYLOAD_BYTES, perMessageDeflate: false });
  const hub = new WsHub(feed, wss, opts.hub);

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const reject = (status: number, text: string, headers = '') => {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\n${headers}Connection: close\r\n\r\n${text}\n`);
    };
    const url = requestUrl(req.url);
    if (!url) return reject(400, 'bad request target');
    if (url.pathname !== '/ws') return reject(404, 'no WebSocket here; use /ws');
    const client = clientAddress(req.socket.remoteAddress);
    const retryAfter = guard.retryAfterSeconds(client);
    if (retryAfter > 0) {
      guard.refused(client);
      return reject(429, tooManyWrongTokens(retryAfter), `Retry-After: ${retryAfter}\r\n`);
    }
    const token = checkToken(req, url, client);
    if (token !== 'ok') return reject(401, TOKEN_REFUSAL[token]);
    const refusal = hostRefusal(req);
    if (refusal) return reject(403, refusal);
    // A page on another site must not open our socket with the user's cookie (cross-site WebSocket hijacking).
    const origin = req.headers.origin;
    if (origin && !originAllowed(origin, req)) return reject(403, `cross-origin WebSocket refused: ${CROSS_ORIGIN_HELP}`);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new UserError(`dashboard: ${host}:${port} is already in use (choose another with --port)`)
          : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
            ? new UserError(`dashboard: cannot listen on host '${host}' (${err.code})`)
            : err,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  // Listening on every address (0.0.0.0, ::), the page is opened by one of them: this machine's own is
  // one that always works (http://0.0.0.0/ does not, in most browsers).
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  const shown = wildcard ? '127.0.0.1' : host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${boundPort}/`;
  logger.info('dashboard listening', { url, ...(wildcard ? { on: listeningOn(host) } : {}), token: auth.enabled });
  if (!auth.enabled && !isLoopback(host)) {
    // Allowed on purpose (allowNoToken), and said at every start: the log is where an audit looks.
    logger.warn('dashboard open to the network without a token: anyone who can reach it sees the cameras', {
      on: `${host || '0.0.0.0'}:${boundPort}`,
      fix: `set ${TOKEN_ENV} in the environment (or outputs.dashboard.token in the pipeline file, or --token): openssl rand -hex 16 makes one`,
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    addRoute(path, handler) {
      if (!path.startsWith('/')) throw new Error(`addRoute: path must start with '/': ${path}`);
      if (BUILTIN.has(path) || routes.has(path) || staticFileFor(path)) throw new Error(`addRoute: ${path} is already served`);
      routes.set(path, handler);
    },
    clients: () => hub.clientStats(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        guard.close();
        hub.close();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The 401 answers; the page (web/src/connection.ts) reads a body starting "xnorcam:" as its token refused. The token given is never echoed. */
const TOKEN_REFUSAL = {
  missing: 'xnorcam: access token required (open the page with ?token=<token> or send Authorization: Bearer <token>)',
  wrong:
    'xnorcam: the access token given is not the right one (the server may have been restarted with another --token); ' +
    `open the page with ?token=<the token in ${TOKEN_ENV}, outputs.dashboard.token or --token>`,
} as const;

/** The 429 answer to an address that tried too many wrong tokens; the page reads it as any other refusal and retries later. */
function tooManyWrongTokens(retryAfter: number): string {
  return `xnorcam: too many wrong access tokens from this address; try again in ${retryAfter} s`;
}

const CSP = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The request target as a URL. A path is appended to a fixed origin rather than resolved against
 * it: resolved, `//x/…` would be read as host x (or throw when empty), and `//localhost/api/…` would
 * reach the API under another path. Absolute-form targets (proxies) are parsed as they are.
 * Null when the target cannot be parsed at all.
 */
export function requestUrl(target: string | undefined): URL | null {
  const t = target || '/';
  try {
    return new URL(t.startsWith('/') ? `http://localhost${t}` : t);
  } catch {
    return null;
  }
}

const CROSS_ORIGIN_HELP =
  "the page's origin is not the host this request was addressed to; behind a reverse proxy, forward the browser's Host (nginx: proxy_set_header Host $http_host, or X-Forwarded-Host $http_host)";

/**
 * Whether a WebSocket handshake's Origin names a host this request was addressed to: its Host, or a
 * host that a reverse proxy in front of us reports the browser addressed (X-Forwarded-Host, the
 * host= of Forwarded), since a proxy may rewrite Host to its upstream's (nginx's default).
 *
 * Trusting the forwarded headers does not reopen cross-site hijacking: the attack is a page on
 * another site opening our socket in a victim's browser, and a page cannot set request headers on a
 * WebSocket handshake (the WebSocket API takes none), so in a browser's handshake these headers
 * come only from proxies, which set them from the Host the browser sent: the attacker's page
 * addressed our host, and its Origin is its own. Forging them takes a non-browser client, which
 * can forge Origin just as well and has no victim's cookie to abuse.
 */
export function originAllowed(origin: string, req: http.IncomingMessage): boolean {
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  return host !== '' && addressedHosts(req).includes(host);
}

/** The hosts (host[:port], normalised as URL.host) this request was addressed to, Host first. */
export function addressedHosts(req: http.IncomingMessage): string[] {
  const raw: string[] = [];
  const h = req.headers;
  if (h.host) raw.push(h.host);
  for (const v of headerValues(h['x-forwarded-host'])) raw.push(...v.split(','));
  // Forwarded: for=…;host=…;proto=…, one element per proxy, comma-separated; host may be quoted.
  for (const v of headerValues(h.forwarded)) {
    for (const m of v.matchAll(/(?:^|[;,])\s*host\s*=\s*("[^"]*"|[^;,\s]*)/gi)) raw.push(m[1].replace(/^"|"$/g, ''));
  }
  const hosts: string[] = [];
  for (const r of raw) {
    const t = r.trim();
    if (!t) continue;
    try {
      // Compared as URL writes an Origin's host: lower case, without the default port.
      const u = new URL(`http://${t}`);
      if (u.host && !hosts.includes(u.host)) hosts.push(u.host);
    } catch {
      // not a host name: ignore it
    }
  }
  return hosts;
}

function headerValues(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
