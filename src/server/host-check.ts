import { isIP } from 'node:net';

/**
 * Defence against DNS rebinding, for a dashboard without a token.
 *
 * A web page on an attacker's domain can re-point that domain at 127.0.0.1 (or at a camera PC on
 * the LAN) after it has loaded; the browser then treats our dashboard as the attacker's own site,
 * same-origin, and lets the page read the camera frames and the API. Such a request still carries
 * the attacker's domain name in Host (or, behind a proxy, in X-Forwarded-Host / Forwarded). Names
 * the attacker cannot put in DNS are safe to accept: IP addresses, localhost, single-label names (a
 * machine's own name on the LAN) and the private-use suffixes (.local, .home.arpa, .internal). Any
 * other name must be listed (`--allowed-host`, `dashboard.allowedHosts`); with a token the check is
 * not needed, since the attacker's page does not have it.
 */
export function hostAllowed(hostHeader: string | undefined, listenHost: string, allowed: readonly string[]): boolean {
  // Browsers always send Host; a client without it (HTTP/1.0 tools) is not a rebinding page.
  if (hostHeader === undefined || hostHeader === '') return true;
  const name = hostName(hostHeader);
  if (name === null) return false;
  if (isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  // Names public DNS never holds: a machine's own name, mDNS (.local), and the private-use suffixes.
  if (!name.includes('.') || PRIVATE_SUFFIXES.some((suffix) => name.endsWith(suffix))) return true;
  if (name === listenHost.toLowerCase()) return true;
  return allowed.some((a) => {
    const entry = a.toLowerCase();
    // '.example.org' allows example.org and every name under it, as Vite's allowedHosts does.
    return entry.startsWith('.') ? name === entry.slice(1) || name.endsWith(entry) : name === entry;
  });
}

const PRIVATE_SUFFIXES = ['.local', '.home.arpa', '.internal'];

/**
 * The host name of a Host header as a browser would send it (lower case, IP addresses in their usual form,
 * without port, IPv6 without brackets, a trailing dot dropped), or null if it is not a host.
 */
export function hostName(hostHeader: string): string | null {
  try {
    const u = new URL(`http://${hostHeader}/`);
    if (u.username || u.password || u.pathname !== '/' || u.search || u.hash) return null;
    const h = u.hostname.replace(/^\[|\]$/g, '');
    return h.endsWith('.') ? h.slice(0, -1) : h;
  } catch {
    return null;
  }
}

/** A checked `allowedHosts` entry: a host name, or a name with a leading dot for it and its subdomains. */
export function allowedHostProblem(entry: string): string | null {
  const bare = entry.startsWith('.') ? entry.slice(1) : entry;
  if (bare === '' || /[\s/:@*]/.test(bare) || hostName(bare) !== bare.toLowerCase()) {
    return `'${entry}' is not a host name (give a name like cams.example.org, or .example.org for every name under it)`;
  }
  return null;
}
