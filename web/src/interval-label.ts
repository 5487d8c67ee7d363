/** "1 min", "15 min", "30 s", "90 s": whole minutes only when the interval is whole minutes. */
export function intervalLabel(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/**
 * A moment the counts start from, as the operator's clock shows it: "22:14", with the date before it when it
 * is not today ("28 Nov 22:14"), and the seconds when the intervals are not whole minutes.
 */
export function sinceLabel(ms: number, nowMs: number, withSeconds = false): string {
  const at = new Date(ms);
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(withSeconds ? { second: '2-digit' } : {}) });
  if (at.toDateString() === new Date(nowMs).toDateString()) return time;
  return `${at.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

/** How long, as a ticking clock reads: '41 s', '12 min 05 s', '3 h 07 min'. */
export function durationLabel(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

/** A count as read across a room: thousands separated (12,345), never a string of digits to count. */
export function countLabel(n: number): string {
  return n.toLocaleString();
}
