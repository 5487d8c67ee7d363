// Small numeric helpers the benchmark scripts share.

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** x rounded to d decimals, for JSON output. */
export function round(x, d = 3) {
  return Math.round(x * 10 ** d) / 10 ** d;
}
