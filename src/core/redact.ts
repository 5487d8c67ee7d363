/**
 * Camera and webhook URLs carry secrets (rtsp://admin:pass@cam/, ?token=…): what the dashboard, its API,
 * metrics and logs show of them keeps the user name and host, not the secret.
 */
// The userinfo runs from `scheme://` to the last @ before the path: users write passwords with @, #, ? and
// spaces unescaped (ffmpeg and WHATWG URL parsers disagree about some of them), and a user name with an @
// (adm@site) is still a user name. The user name itself has no space, quote or colon, so in free text a URL
// without a password ends at its first space ("rtsp://10.0.0.5 down; mail ops@example.com" has no userinfo).
// Past the colon the password is first read as ffmpeg reads it, up to the last @ before the path's first /
// (which also keeps a second URL its own). Where there is no @ before that / and the colon is not a port's
// (admin:pa/ss@host: ffmpeg then fails, but the user meant pa/ss), it runs on to the last @ of the same word.
const SCHEME = String.raw`[a-z][a-z0-9+.-]*:\/\/`;
const PASSWORD = String.raw`[^/\r\n\t]*|(?!\d+\/)(?:(?!${SCHEME})[^\s"'<>])*`;
const USERINFO = new RegExp(String.raw`(${SCHEME})([^/\s"'<>:]*(?::(?:${PASSWORD}))?)@`, 'gi');
// Keys whose value is a secret: any with one of these words in it (api_key, reset_password, X-Amz-Signature,
// credentials=admin:secret), and pw alone (Dahua's and others' ?user=admin&pw=…).
const SECRET_KEY = String.raw`(?:[a-z0-9_-]*(?:pass|pwd|psw|token|key|secret|auth|sig|credential)[a-z0-9_-]*|pw)`;
// A key=value pair after ?, & or ;, in the path as some cameras take them (rtsp://cam/user=admin&password=…),
// or joined by _ as XMEye/Sofia DVRs write them (rtsp://cam/user=admin_password=…_channel=1_stream=0.sdp),
// where the value ends at the next _key=.
const SECRET_PARAM = new RegExp(String.raw`((?:^|[?&;/])${SECRET_KEY}=)[^&#\s]*|(_${SECRET_KEY}=)(?:(?!_[a-z0-9]+=)[^&#\s])*`, 'gi');

/**
 * The userinfo as shown: the user name before the password's colon is kept; a user name alone is hidden too,
 * as services that take a token in the URL put it there (rtsp://TOKEN@host/).
 */
function maskUserinfo(_: string, scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(':');
  return colon > 0 ? `${scheme}${userinfo.slice(0, colon)}:***@` : `${scheme}***@`;
}

/** The secret parameter's key and `=` (whichever way it was joined on), followed by `value`. */
const paramWith =
  (value: string) =>
  (_: string, key: string | undefined, underscoreKey: string | undefined): string =>
    `${key ?? underscoreKey}${value}`;

/** The text with every URL's password (or lone user name) and secret-looking query values replaced by ***. */
export function redactSecrets(text: string): string {
  return text.replace(USERINFO, maskUserinfo).replace(SECRET_PARAM, paramWith('***'));
}

/** The URL with no user name, password or secret-looking parameter value at all, for names made from it (file names, metric labels). */
export function withoutSecrets(url: string): string {
  return url.replace(USERINFO, '$1').replace(SECRET_PARAM, paramWith(''));
}
