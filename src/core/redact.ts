/**
 * Camera and webhook URLs carry secrets (rtsp://admin:pass@cam/, ?token=…): what the dashboard, its API,
 * metrics and logs show of them keeps the user name and host, not the secret.
 */
// The password runs to the last @ before the host (as ffmpeg and URL parsers read it): p@ss is one password.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*):[^\s/?#]*@/gi;
const SECRET_PARAM = /([?&](?:[a-z0-9_-]*(?:pass|pwd|token|key|secret|auth|sig)[a-z0-9_-]*)=)[^&#\s]*/gi;

/** The text with every URL's password and secret-looking query values replaced by ***. */
export function redactSecrets(text: string): string {
  return text.replace(USERINFO, '$1:***@').replace(SECRET_PARAM, '$1***');
}
