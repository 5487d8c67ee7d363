/**
 * Progress for long work: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs,
 * pipes), so both humans and log files get something readable. Writes to stderr.
 */
export interface Progress {
  /** Set the absolute amount done; `extra` is shown after the bar (e.g. "loss 1.23"). */
  update(done: number, extra?: string): void;
  finish(message?: string): void;
  /** A line of its own while the bar runs (a warning): on a terminal the bar is cleared first and drawn again under it. */
  say(message: string): void;
}

export function createProgress(label: string, total: number | undefined, opts: { stream?: NodeJS.WriteStream; unit?: string; intervalMs?: number } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY) && !process.env.CI;
  const unit = opts.unit ?? 'items';
  const interval = opts.intervalMs ?? (tty ? 100 : 5000);
  const start = Date.now();
  let last = 0;
  let done = 0;
  let extra = '';
  let drawn = false;

  const line = (): string => {
    const secs = (Date.now() - start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [label];
    if (total && total > 0) {
      const frac = Math.min(1, done / total);
      if (tty) {
        const width = 28;
        const fill = Math.round(frac * width);
        parts.push(`[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`);
      }
      parts.push(`${done}/${total} ${unit}`, `${(frac * 100).toFixed(1)}%`);
      const eta = rate > 0 ? (total - done) / rate : NaN;
      parts.push(`${rate.toFixed(1)} ${unit}/s`, `ETA ${Number.isFinite(eta) ? formatSeconds(eta) : '?'}`);
    } else {
      parts.push(`${done} ${unit}`, `${rate.toFixed(1)} ${unit}/s`, formatSeconds(secs));
    }
    if (extra) parts.push(extra);
    return parts.join('  ');
  };

  return {
    update(n, ex) {
      done = n;
      if (ex !== undefined) extra = ex;
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      if (tty) stream.write(`\r\x1b[2K${line()}`);
      else stream.write(line() + '\n');
      drawn = tty;
    },
    say(message) {
      if (!drawn) return void stream.write(message + '\n');
      stream.write(`\r\x1b[2K${message}\n${line()}`);
    },
    finish(message) {
      if (tty) stream.write(`\r\x1b[2K`);
      stream.write((message ?? line()) + '\n');
    },
  };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
