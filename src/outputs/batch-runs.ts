import { closeSync, fsyncSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openOutputFile } from '../core/open-output.js';

/**
 * `batch-runs.jsonl` in a batch's output folder: what state each input's files are in, told by the files themselves
 * (a table of a stopped input looked exactly like a whole one's; only the terminal, long gone, said "partial").
 * One JSON line per change of an input's outputs (started, ended, its video drawn), appended and fsynced as it
 * happens, so a run killed at any moment leaves every line before it valid; the last line of an output name is
 * the state of its files. Batches of different inputs share the folder and the file: each line is one write.
 */
export const BATCH_RUNS_FILE = 'batch-runs.jsonl';

/**
 * `running`: being written, or the run was killed outright (SIGKILL, a power cut, a second Ctrl-C): partial;
 * `partial`: stopped part way (Ctrl-C, SIGTERM, a full disk), its tables without `total` rows; `failed`: see `error`.
 */
export type BatchRunStatus = 'running' | 'complete' | 'partial' | 'failed';

/** With --annotate: `complete` is `<name>.annotated.mp4`; `partial` is `<name>.annotated.partial.mp4`, short of the input. */
export type AnnotatedStatus = 'to draw' | 'complete' | 'partial' | 'not drawn' | 'failed';

/** A file input as it was when it was read: a rerun of the same file finds it unchanged. */
export interface InputFile {
  /** Absolute: the same file given from another folder is the same input. */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface BatchRunRecord extends Partial<InputFile> {
  /** When this line was written, ISO 8601 UTC. */
  at: string;
  /** The outputs' name: `<name>.detections.jsonl` … */
  name: string;
  /** The input as given (a URL with its secrets masked). */
  input: string;
  /** What shapes the outputs (model, lines, interval …, not threads or paths): the same gives the same files. */
  options: Record<string, unknown>;
  status: BatchRunStatus;
  stoppedBy?: string;
  /** Where a partial input's outputs stop: its last frame's time, seconds from the start of the file. */
  stoppedAtSec?: number;
  error?: string;
  /** Frames decoded, and of them detected (--stride). */
  frames?: number;
  processed?: number;
  /** The video its outputs cover, first frame to last, seconds. */
  videoSec?: number;
  annotated?: AnnotatedStatus;
  /** The files written, by name, with their sizes once ended: a rerun can tell they are still as they were. */
  files?: Record<string, number>;
}

/** Appends `record` to the folder's batch-runs.jsonl and fsyncs it: on disk before anything that depends on it. */
export function appendBatchRun(dir: string, record: BatchRunRecord): void {
  const data = Buffer.from(`${JSON.stringify(record)}\n`);
  const fd = openOutputFile(join(dir, BATCH_RUNS_FILE), 'a');
  try {
    // One write: appended whole even where another batch appends to the same file at the same moment.
    const n = writeSync(fd, data);
    if (n !== data.length) throw Object.assign(new Error(`${join(dir, BATCH_RUNS_FILE)}: wrote ${n} of ${data.length} bytes`), { code: 'EIO' });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The last record of each output name in the folder's batch-runs.jsonl; none when it has none (a line that is not a record is passed over). */
export function lastBatchRuns(dir: string): Map<string, BatchRunRecord> {
  let text: string;
  try {
    text = readFileSync(join(dir, BATCH_RUNS_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  const last = new Map<string, BatchRunRecord>();
  for (const line of text.split('\n')) {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (isRecord(r)) last.set(r.name, r);
  }
  return last;
}

function isRecord(r: unknown): r is BatchRunRecord {
  const o = r as BatchRunRecord | null;
  return typeof o === 'object' && o !== null && typeof o.name === 'string' && typeof o.status === 'string' && typeof o.options === 'object' && o.options !== null;
}
