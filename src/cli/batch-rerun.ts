import { lstatSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a batch rerun does with an earlier run's files of an input: the ones it does not write again are moved
 * aside (a rerun with fewer options left movements.csv and speeds.csv of other lines beside fresh counts, looking
 * current).
 */

/** Every file batch may write for an input, whatever its options: those an earlier run may have left. */
export const BATCH_SUFFIXES = ['.detections.jsonl', '.events.jsonl', '.tracks.txt', '.counts.csv', '.movements.csv', '.speeds.csv', '.crossings.csv', '.annotated.mp4', '.annotated.partial.mp4'] as const;

/** Where the earlier files a rerun does not replace go, in the output folder: out of the way of `out/*.csv`, not lost (an annotated video took a while). */
export const SUPERSEDED_DIR = 'superseded';

/**
 * Moves `name`'s files in `dir` that an earlier run wrote and this one does not (not in `written`) into
 * `dir/superseded/`, replacing ones of the same name moved there before; returns their file names.
 */
export function moveAsideStale(dir: string, name: string, written: readonly string[]): string[] {
  const stale = BATCH_SUFFIXES.filter((s) => !written.includes(s) && present(join(dir, name + s))).map((s) => name + s);
  if (!stale.length) return [];
  mkdirSync(join(dir, SUPERSEDED_DIR), { recursive: true });
  // A rename moves a link itself, never what it points at.
  for (const f of stale) renameSync(join(dir, f), join(dir, SUPERSEDED_DIR, f));
  return stale;
}

/** Whether anything is at `path`, a dangling link included. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
