/** "1 min", "15 min", "30 s", "90 s": whole minutes only when the interval is whole minutes. */
export function intervalLabel(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
