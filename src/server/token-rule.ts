/**
 * What makes a dashboard access token usable: the one rule for --token, XNORCAM_DASHBOARD_TOKEN and
 * outputs.dashboard.token, so each refuses the same tokens with the same words.
 */

/** Shorter is refused: guessed too easily even at the server's rate limit on wrong tokens. */
export const TOKEN_MIN_LENGTH = 8;
/** Shorter than this (but at least TOKEN_MIN_LENGTH) is allowed with a warning: users of 8-character tokens keep running. */
export const TOKEN_ADVISED_LENGTH = 16;
/** Fewer different characters than this is a pattern (aaaaaaaa, abababab), not a secret. */
const MIN_DIFFERENT_CHARACTERS = 5;

export const MAKE_TOKEN = 'make one with: openssl rand -hex 16 (or node -p "crypto.randomBytes(16).toString(\'hex\')")';

/**
 * Why `token` cannot be the dashboard's token, or null when it can. Tokens are printable ASCII without
 * spaces: a space at either end cannot be sent as `Authorization: Bearer` (the header is trimmed), one
 * inside is mostly a paste or env-file mistake, and a header carries no character beyond ASCII as sent.
 */
export function tokenProblem(token: string): string | null {
  if (token.length > 0 && token.trim() === '') return `is only white space; ${MAKE_TOKEN}`;
  const odd = [...token].findIndex((c) => !/^[\x21-\x7e]$/.test(c));
  if (odd >= 0) return `${oddCharacter(token, odd)}: use letters, digits and punctuation only; ${MAKE_TOKEN}`;
  if (token.length < TOKEN_MIN_LENGTH) return `too short: ${token.length} characters, at least ${TOKEN_MIN_LENGTH} needed (${TOKEN_ADVISED_LENGTH} or more advised); ${MAKE_TOKEN}`;
  const different = new Set(token).size;
  if (different < MIN_DIFFERENT_CHARACTERS) return `too easy to guess: only ${different} different character${different === 1 ? '' : 's'}; ${MAKE_TOKEN}`;
  if (isRun(token)) return `too easy to guess: a run of consecutive characters; ${MAKE_TOKEN}`;
  return null;
}

/** For a usable token, a warning when it is shorter than advised; null otherwise. */
export function tokenAdvice(token: string): string | null {
  return token.length < TOKEN_ADVISED_LENGTH
    ? `a token of ${token.length} characters is easier to guess than one of ${TOKEN_ADVISED_LENGTH} or more; ${MAKE_TOKEN}`
    : null;
}

function oddCharacter(token: string, at: number): string {
  const c = [...token][at];
  const where = at === 0 ? 'starts with' : at === [...token].length - 1 ? 'ends with' : 'contains';
  if (c === ' ') return `${where} a space${where === 'contains' ? '' : ', which Authorization: Bearer cannot carry'}`;
  // A line end or tab usually comes from an env file or a file read whole, not from the token meant.
  if (/\s/.test(c)) return `${where} ${c === '\n' ? 'a line end' : c === '\r' ? 'a carriage return (a Windows line end?)' : 'a tab or other white space'}`;
  const code = c.codePointAt(0)!;
  return code < 0x20 || code === 0x7f
    ? `${where} a control character (U+${code.toString(16).toUpperCase().padStart(4, '0')})`
    : `${where} '${c}', which is not ASCII`;
}

/** 12345678, abcdefgh, 87654321: every character one after (or before) the one before it. */
function isRun(token: string): boolean {
  const step = token.charCodeAt(1) - token.charCodeAt(0);
  if (Math.abs(step) !== 1) return false;
  for (let i = 2; i < token.length; i++) if (token.charCodeAt(i) - token.charCodeAt(i - 1) !== step) return false;
  return true;
}
