/**
 * Structured logging: one line per event. JSON when stderr is not a terminal (for log shippers),
 * `time level msg key=value` on a terminal. Steady state should log nothing; log state changes.
 */
import { isMainThread } from 'node:worker_threads';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let json = process.env.XNORCAM_LOG_FORMAT ? process.env.XNORCAM_LOG_FORMAT === 'json' : !process.stderr.isTTY;
let minLevel: Level = levelFromEnv(process.env.XNORCAM_LOG_LEVEL);

/** XNORCAM_LOG_LEVEL in any case (WARN as warn); a value that is none is said once, not silently read as info. */
function levelFromEnv(given: string | undefined): Level {
  const level = given?.trim().toLowerCase() ?? '';
  // Own keys only: 'constructor' or 'toString' is in every object.
  if (Object.hasOwn(order, level)) return level as Level;
  // Detector threads load this module too: the process says it once.
  if (given && isMainThread) write('warn', `XNORCAM_LOG_LEVEL: '${given}' is not a log level (${Object.keys(order).join(', ')}); using info`, {});
  return 'info';
}

export function configureLog(opts: { level?: Level; json?: boolean }): void {
  if (opts.level) minLevel = opts.level;
  if (opts.json !== undefined) json = opts.json;
}

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[minLevel]) return;
  write(level, msg, fields);
}

/** Whether log lines are JSON (a log shipper reads stderr): other lines for humans should be records too. */
export function logIsJson(): boolean {
  return json;
}

/**
 * A line the user asked for by name (e.g. `run --stats`), written whatever the log level: the level
 * filters what the program volunteers, not what it was told to print.
 */
export function report(msg: string, fields: Record<string, unknown>): void {
  write('info', msg, fields);
}

/**
 * The one line that says why a command failed. A record where the JSON log format was asked for
 * (XNORCAM_LOG_FORMAT=json, as the Docker image sets it): a log shipper keeps only JSON lines, and this is
 * the line that says why a container restarts. Otherwise `error: …`, which people and scripts read.
 */
export function fatal(message: string): void {
  if (process.env.XNORCAM_LOG_FORMAT === 'json') write('error', message, {});
  else process.stderr.write(`error: ${message}\n`);
}

function write(level: Level, msg: string, fields: Record<string, unknown>): void {
  const time = new Date().toISOString();
  if (json) {
    process.stderr.write(JSON.stringify({ time, level, msg, ...fields }) + '\n');
  } else {
    const kv = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    process.stderr.write(`${time.slice(11, 19)} ${level.padEnd(5)} ${msg}${kv ? ' ' + kv : ''}\n`);
  }
}

export const logger = {
  debug: (m: string, f?: Record<string, unknown>) => log('debug', m, f),
  info: (m: string, f?: Record<string, unknown>) => log('info', m, f),
  warn: (m: string, f?: Record<string, unknown>) => log('warn', m, f),
  error: (m: string, f?: Record<string, unknown>) => log('error', m, f),
};
