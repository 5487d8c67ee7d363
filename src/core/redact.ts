/**
 * Camera and webhook URLs carry secrets (rtsp://admin:pass@cam/, ?token=…): what the dashboard, its API,
 * metrics and logs show of them keeps the user name and host, not the secret.
 */
// The userinfo runs from `scheme://` to the last @ before the path: users write passwords with @, #, ? and
// spaces unescaped (ffmpeg and WHATWG URL parsers disagree about some of them), and a user name with an @
// (adm@site) is still a user name. The user name itself has no space, quote or colon, so in free text a URL
// without a password ends at its first space ("rtsp://10.0.0.5 down; mail ops@example.com" has no userinfo);
// past the colon the password may hold anything but the path's /. Stopping at a / keeps a second URL its own.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/\s"'<>:]*(?::[^/\r\n\t]*)?)@/gi;
// After ? or &, or in the path as some cameras take them (rtsp://cam/user=admin&password=…&channel=1).
const SECRET_PARAM = /([?&;/](?:[a-z0-9_-]*(?:pass|pwd|token|key|secret|auth|sig)[a-z0-9_-]*)=)[^&#\s]*/gi;

/**
 * The userinfo as shown: the user name before the password's colon is kept; a user name alone is hidden too,
 * as services that take a token in the URL put it there (rtsp://TOKEN@host/).
 */
function maskUserinfo(_: string, scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon > 0 ? `${scheme}${userinfo.slice(0, colon)}:***@` : `${scheme}***@`;
}

/** The text with every URL's password (or lone user name) and secret-looking query values replaced by ***. */
export function redactSecrets(text: string): string {
  return text.replace(USERINFO, maskUserinfo).replace(SECRET_PARAM, '$1***');
}

/** The URL with no user name, password or secret-looking parameter value at all, for names made from it (file names, metric labels). */
export function withoutSecrets(url: string): string {
  return url.replace(USERINFO, '$1').replace(SECRET_PARAM, '$1');
}
