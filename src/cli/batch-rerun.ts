import { lstatSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelRef } from '../pipeline/model-ref.js';
import type { BatchRunRecord, InputFile } from '../outputs/batch-runs.js';

/**
 * What a batch rerun does with an earlier run's files of an input: the ones it does not write again are moved
 * aside (a rerun with fewer options left movements.csv and speeds.csv of other lines beside fresh counts, looking
 * current), and with --skip-done an input whose earlier outputs are whole and of the same file and options is
 * not done again.
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

/** A file as it is now: a rerun compares it with the one its outputs were made from. */
export function inputFile(path: string): InputFile {
  const st = statSync(path);
  return { path: resolve(path), size: st.size, mtimeMs: st.mtimeMs };
}

/** The model's files as they are now: a model retrained in place is another model. */
export function modelFiles(model: ModelRef): InputFile[] {
  const paths = typeof model === 'string' ? [model] : [model.cfg, model.weights, ...(model.names ? [model.names] : [])];
  return paths.map(inputFile);
}

/** An input's earlier record against this run: done (skipped with --skip-done), or why it is done again. */
export type EarlierVerdict = { done: true; at: string } | { done: false; why?: string };

/**
 * Whether `rec`, the last record of an input's outputs' name, says they are whole and made from this very
 * file (path, size, modification time) with these `options`, and are still as they were written; else why
 * not (nothing when there was no earlier run of that name).
 */
export function earlierVerdict(rec: BatchRunRecord | undefined, file: InputFile | undefined, options: Record<string, unknown>, dir: string): EarlierVerdict {
  if (!rec) return { done: false };
  if (!file) return { done: false, why: 'not a file: whether it changed since cannot be told' };
  if (rec.path !== file.path) return { done: false, why: `the earlier outputs of this name are of ${rec.path ?? rec.input}` };
  if (rec.size !== file.size || rec.mtimeMs !== file.mtimeMs) return { done: false, why: 'the file changed since (its size or modification time)' };
  const changed = Object.keys({ ...rec.options, ...options }).filter((k) => JSON.stringify(rec.options[k]) !== JSON.stringify(options[k]));
  if (changed.length) return { done: false, why: `other options than the earlier run's (${changed.map((k) => `--${k}`).join(', ')})` };
  if (rec.status === 'running') return { done: false, why: 'the earlier run was killed before it ended' };
  if (rec.status === 'partial') return { done: false, why: `partial in the earlier run (${rec.stoppedBy ? `stopped by ${rec.stoppedBy}` : 'stopped'} at ${rec.stoppedAtSec ?? 0} s)` };
  if (rec.status !== 'complete') return { done: false, why: `${rec.status} in the earlier run${rec.error ? ` (${rec.error})` : ''}` };
  if (rec.annotated !== undefined && rec.annotated !== 'complete') return { done: false, why: `its annotated video is ${rec.annotated}` };
  for (const [f, size] of Object.entries(rec.files ?? {})) {
    let now: number | undefined;
    try {
      now = statSync(join(dir, f)).size;
    } catch {
      return { done: false, why: `${f} is gone` };
    }
    if (now !== size) return { done: false, why: `${f} changed since it was written` };
  }
  return { done: true, at: rec.at };
}

/** The sizes of the files `names` in `dir`, by name: what a record says was written. */
export function fileSizes(dir: string, names: readonly string[]): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const n of names) {
    try {
      sizes[n] = statSync(join(dir, n)).size;
    } catch {
      // not written (an encoder that failed leaves none)
    }
  }
  return sizes;
}
