import { createHash } from 'node:crypto';
import { logger } from '../core/log.js';
import { monoNow } from '../core/clock.js';

export interface WrongTokenLimits {
  /** Different wrong tokens from one address within a window before it is answered 429 for the rest of it. Default 20. */
  limit?: number;
  /** The window, from an address's first wrong token. Default 60 s. */
  windowMs?: number;
}

interface Client {
  windowStart: number;
  /** Short digests of the different wrong tokens of this window: a page resending a stale cookie is not guessing. */
  tried: Set<string>;
  /** Not yet told in the log: wrong tokens, requests answered 429, and since when. */
  wrong: number;
  refused: number;
  since?: number;
  toldAt?: number;
}

/** Past this many addresses the one heard from least recently is forgotten: memory stays bounded under a spread-out attack. */
const MAX_CLIENTS = 10_000;

/**
 * Counts wrong access tokens per client address, so guessing the token is neither unlimited nor unseen:
 * after `limit` different wrong tokens within a window the address is answered 429 until the window
 * ends, and the log tells each address's wrong tokens in at most one line a window, with the count
 * (never a token tried). The address is the connection's: behind a reverse proxy every browser shares
 * the proxy's, so there the proxy should limit too.
 */
export class WrongTokenGuard {
  private readonly clients = new Map<string, Client>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly timer: NodeJS.Timeout;

  /** `now`: a monotonic clock (a step of the wall clock by an hour kept an address refused for an hour, or let it go early). */
  constructor(limits: WrongTokenLimits = {}, private readonly now: () => number = monoNow) {
    this.limit = limits.limit ?? 20;
    this.windowMs = limits.windowMs ?? 60_000;
    // Tells the counts of addresses that went quiet, which no later request would.
    this.timer = setInterval(() => this.sweep(), Math.max(100, this.windowMs / 6));
    this.timer.unref();
  }

  /** Whole seconds until `address` may try again; 0 when it is not refused now. */
  retryAfterSeconds(address: string): number {
    const c = this.clients.get(address);
    if (!c || c.tried.size < this.limit) return 0;
    const left = c.windowStart + this.windowMs - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** A request from an address refused now (answered 429), counted for the log. */
  refused(address: string): void {
    const c = this.clients.get(address);
    if (!c) return;
    const now = this.now();
    c.refused++;
    c.since ??= now;
    this.tellIfDue(address, c, now);
  }

  /** A wrong token from `address`; the token itself is kept only as a short digest, to tell a new guess from a repeat. */
  wrongToken(address: string, token: string): void {
    const now = this.now();
    const c = this.client(address, now);
    if (now - c.windowStart >= this.windowMs) {
      c.windowStart = now;
      c.tried.clear();
    }
    if (c.tried.size < this.limit) c.tried.add(createHash('sha256').update(token, 'utf8').digest('base64').slice(0, 16));
    c.wrong++;
    c.since ??= now;
    this.tellIfDue(address, c, now);
  }

  /** Stops the sweep and tells what is still untold. */
  close(): void {
    clearInterval(this.timer);
    for (const [address, c] of this.clients) if (c.wrong + c.refused > 0) this.tell(address, c, this.now());
    this.clients.clear();
  }

  /** A time of `now`'s clock as the wall clock's, for the log. */
  private wallTime(t: number): string {
    return new Date(Date.now() + (t - this.now())).toISOString();
  }

  private client(address: string, now: number): Client {
    let c = this.clients.get(address);
    if (c) {
      // Most recently heard from last: the first is the one to forget.
      this.clients.delete(address);
    } else {
      c = { windowStart: now, tried: new Set(), wrong: 0, refused: 0 };
      if (this.clients.size >= MAX_CLIENTS) {
        const [oldest, old] = this.clients.entries().next().value as [string, Client];
        if (old.wrong + old.refused > 0) this.tell(oldest, old, now);
        this.clients.delete(oldest);
      }
    }
    this.clients.set(address, c);
    return c;
  }

  private tellIfDue(address: string, c: Client, now: number): void {
    if (c.toldAt === undefined || now - c.toldAt >= this.windowMs) this.tell(address, c, now);
  }

  private tell(address: string, c: Client, now: number): void {
    const until = c.tried.size >= this.limit && now < c.windowStart + this.windowMs ? c.windowStart + this.windowMs : undefined;
    logger.warn('dashboard: wrong access tokens', {
      from: address,
      wrongTokens: c.wrong,
      since: this.wallTime(c.since ?? now),
      ...(c.refused > 0 ? { answered429: c.refused } : {}),
      ...(until !== undefined ? { refusedUntil: this.wallTime(until) } : {}),
    });
    c.wrong = 0;
    c.refused = 0;
    c.since = undefined;
    c.toldAt = now;
  }

  private sweep(): void {
    const now = this.now();
    for (const [address, c] of this.clients) {
      if (c.wrong + c.refused > 0) this.tellIfDue(address, c, now);
      const quiet = c.wrong + c.refused === 0 && now - c.windowStart >= this.windowMs && (c.toldAt === undefined || now - c.toldAt >= this.windowMs);
      if (quiet) this.clients.delete(address);
    }
  }
}

/**
 * The address wrong tokens are counted by: IPv4 as it is (also when it comes IPv4-mapped, ::ffff:a.b.c.d),
 * IPv6 by its /64, the block one subscriber gets: counted per address, a /64 would have 2^64 tries a minute.
 */
export function clientAddress(remote: string | undefined): string {
  if (!remote) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote);
  if (mapped) return mapped[1];
  if (!remote.includes(':') || remote === '::1') return remote;
  return ipv6Prefix64(remote) ?? remote;
}

function ipv6Prefix64(address: string): string | null {
  const halves = address.split('%')[0].toLowerCase().split('::');
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // An IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) stands for two groups.
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes('.') ? 2 : 1), 0);
  const missing = 8 - width(head) - width(tail);
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const first = all.slice(0, 4).map((g) => Number.parseInt(g, 16));
  if (first.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffff)) return null;
  return `${first.map((n) => n.toString(16)).join(':')}::/64`;
}
