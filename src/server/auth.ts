import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UserError } from '../core/errors.js';
import { tokenProblem } from './token-rule.js';

/**
 * Optional access token for the page, the REST API and the socket. A request is let in with
 * `Authorization: Bearer <token>`, `?token=<token>` or the `xnorcam_token` cookie; opening the page
 * with ?token= sets the cookie, so the page's scripts and its WebSocket need no token in their URLs.
 */
export const TOKEN_COOKIE = 'xnorcam_token';
/** The environment variable `run` and `demo` read the token from when --token is not given. */
export const TOKEN_ENV = 'XNORCAM_DASHBOARD_TOKEN';

export class TokenAuth {
  private readonly digest: Buffer | null;

  constructor(private readonly token: string | undefined) {
    // The command line and the pipeline file refuse such a token naming where it came from; this is for other callers.
    const problem = token ? tokenProblem(token) : null;
    if (problem) throw new UserError(`dashboard token: ${problem}`, 2);
    this.digest = token ? sha256(token) : null;
  }

  get enabled(): boolean {
    return this.digest !== null;
  }

  /** The token the request presents, from header, query or cookie (in that order). */
  presented(req: IncomingMessage, url: URL): string | undefined {
    // The scheme is case-insensitive (RFC 7235): curl users and proxies write `bearer`.
    const bearer = /^bearer\s+(.*)$/is.exec(req.headers.authorization ?? '');
    if (bearer) return bearer[1].trim();
    const q = url.searchParams.get('token');
    if (q !== null) return q;
    return cookie(req, TOKEN_COOKIE);
  }

  /**
   * 'ok' when let in (or no token is set); otherwise whether a token came at all, since a user who
   * opened the page with ?token= and is told a token is required would look for a typo in the address.
   */
  check(req: IncomingMessage, url: URL): 'ok' | 'missing' | 'wrong' {
    if (!this.digest) return 'ok';
    const t = this.presented(req, url);
    if (t === undefined) return 'missing';
    // Compare digests so the comparison takes the same time whatever the length of the guess.
    return timingSafeEqual(sha256(t), this.digest) ? 'ok' : 'wrong';
  }

  /** After a page load with a valid ?token=, remember it in a cookie for the page's other requests. */
  setCookieIfFromQuery(req: IncomingMessage, url: URL, res: ServerResponse): void {
    if (!this.digest || !url.searchParams.has('token')) return;
    res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(this.token!)}; Path=/; HttpOnly; SameSite=Strict`);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
