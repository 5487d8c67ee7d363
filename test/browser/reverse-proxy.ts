import http from 'node:http';
import net from 'node:net';

/**
 * A reverse proxy in the manner of nginx's `location /cams/ { proxy_pass http://upstream/; }`: it
 * serves the upstream under /cams/ and passes WebSocket upgrades. Like nginx, it sends the
 * upstream's own address as Host (`proxy_set_header Host $proxy_host`, nginx's default) unless told
 * to forward the browser's; `forwardedHost` adds `X-Forwarded-Host: <the browser's Host>`.
 */
export interface ProxyOptions {
  upstreamPort: number;
  /** Forward the browser's Host as it is (nginx: proxy_set_header Host $http_host). */
  keepHost?: boolean;
  /** Add X-Forwarded-Host with the browser's Host (nginx: proxy_set_header X-Forwarded-Host $http_host). */
  forwardedHost?: boolean;
}

export interface ReverseProxy {
  url: string;
  /** WebSocket upgrade requests seen so far. */
  upgrades: number;
  close(): Promise<void>;
}

export async function startReverseProxy(opts: ProxyOptions): Promise<ReverseProxy> {
  const strip = (u: string | undefined) => (u?.startsWith('/cams/') ? u.slice(5) : null);
  const headersFor = (req: http.IncomingMessage) => {
    const h: http.OutgoingHttpHeaders = { ...req.headers, host: opts.keepHost ? req.headers.host : `127.0.0.1:${opts.upstreamPort}` };
    if (opts.forwardedHost) h['x-forwarded-host'] = req.headers.host;
    return h;
  };
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const path = strip(req.url);
    if (path === null) {
      res.writeHead(404).end('proxy: not under /cams/');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: opts.upstreamPort, path, method: req.method, headers: headersFor(req) }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end('proxy: upstream unreachable'));
    req.pipe(up);
  });
  const proxy: ReverseProxy = {
    url: '',
    upgrades: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket, head: Buffer) => {
    proxy.upgrades++;
    const path = strip(req.url);
    if (path === null) {
      sock.destroy();
      return;
    }
    const up = net.connect(opts.upstreamPort, '127.0.0.1', () => {
      const lines = Object.entries(headersFor(req)).map(([k, v]) => `${k}: ${String(v)}`);
      up.write(`GET ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/cams/`;
  return proxy;
}
