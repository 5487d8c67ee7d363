/** The shortest word taken for the start of a longer one: `watch` for `watchdogSeconds`, not `co` for `countIntervalSeconds`. */
const MIN_PREFIX = 4;

/**
 * "Did you mean": the candidate closest to a mistyped word, if one is close enough to be what was meant.
 * Case is ignored (`fpscap` for `fpsCap`) and a swap of two neighbouring letters is one slip (`rnu`). A word
 * that is the start of one candidate alone is that candidate shortened (`countInterval` for
 * `countIntervalSeconds`, its unit left off), however many letters are left off.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | undefined {
  const all = [...candidates];
  return nearest(word, all) ?? shortened(word, all);
}

/** The one candidate `word` begins (case ignored), when it is long enough to say which. */
function shortened(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  if (w.length < MIN_PREFIX) return undefined;
  const longer = candidates.filter((c) => c.length > w.length && c.toLowerCase().startsWith(w));
  return longer.length === 1 ? longer[0] : undefined;
}

function nearest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  // Short words allow one slip; longer ones one per four letters, so unrelated words are not offered.
  const allowed = Math.max(1, Math.floor(w.length / 4));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2] + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1];
}

/** `; did you mean 'x'?`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>, quote = (s: string) => `'${s}'`): string {
  const m = closestMatch(word, candidates);
  return m === undefined ? '' : `; did you mean ${quote(m)}?`;
}
