import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeAtomically } from '../core/write-atomically.js';

/**
 * A live pipeline's claim on its outputs folder, in `.xnorcam.lock`: who writes there and for which sources.
 * Two pipelines in one folder mixed their counts rows (every interval twice, out of order), each took the
 * other's rotation for a file moved away, and a batch run over a source's name emptied its counts file.
 */
export interface OutputLockInfo {
  pid: number;
  host: string;
  sources: string[];
  since: string;
  /**
   * A batch still deciding whether the folder is its own (it has written its lock and is reading the others'):
   * of two such batches both step back and try again, while one that has decided (no `claiming`) keeps the folder.
   */
  claiming?: true;
}

const LOCK_FILE = '.xnorcam.lock';
/**
 * A batch's claim, apart from a live run's: a batch may write beside a live pipeline (a container's out/ is both;
 * their names are checked against each other). Each batch has its own, `.xnorcam-batch-<pid>.lock`, naming its
 * outputs: batches of different inputs share a folder (one per file, started together), while two writing
 * the same names interleaved their JSONL lines and broke each other's rows.
 */
export const batchLockFile = (pid = process.pid): string => `.xnorcam-batch-${pid}.lock`;
export const BATCH_LOCK_RE = /^\.xnorcam-batch-\d+\.lock$/;
/** The holder rewrites the file this often; one on another host (a second container) not rewritten for FRESH_MS is gone. */
const REFRESH_MS = 10_000;
const FRESH_MS = 30_000;

/**
 * The live pipeline writing in `dir`, if another one is: a lock rewritten lately (its holder rewrites it every
 * REFRESH_MS) and, on this host, a process of that pid still running. A lock left by a run killed outright is
 * stale either way: its pid may be some other process's by now (after a reboot), and a restarted container is
 * pid 1 again.
 */
export function outputLockHolder(dir: string, file = LOCK_FILE): OutputLockInfo | undefined {
  const path = join(dir, file);
  let info: OutputLockInfo;
  let mtimeMs: number;
  try {
    info = JSON.parse(readFileSync(path, 'utf8')) as OutputLockInfo;
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  if (typeof info?.pid !== 'number' || typeof info.host !== 'string') return undefined;
  if (!(Date.now() - mtimeMs < FRESH_MS)) return undefined;
  if (info.host !== hostname()) return info;
  return info.pid !== process.pid && running(info.pid) ? info : undefined;
}

/** Says who holds a lock, for an error line. */
export function describeHolder(h: OutputLockInfo): string {
  return `pid ${h.pid}${h.host !== hostname() ? ` on ${h.host}` : ''}, since ${h.since}`;
}

export class OutputLock {
  private readonly path: string;
  private readonly since = new Date().toISOString();
  private readonly timer: NodeJS.Timeout;
  private written = '';
  private claiming: boolean;

  /** Takes the folder's lock; the caller has checked that no one else holds it (outputLockHolder). */
  constructor(
    dir: string,
    private readonly sources: () => readonly string[],
    file = LOCK_FILE,
    { claiming = false }: { claiming?: boolean } = {},
  ) {
    this.claiming = claiming;
    this.path = join(dir, file);
    this.write(true);
    this.timer = setInterval(() => this.write(true), REFRESH_MS).unref();
  }

  /** The batch has found no other claiming its outputs: from now on another that reads the lock is refused at once. */
  claimed(): void {
    this.claiming = false;
    this.write(true);
  }

  /** Writes the sources again when they changed (a reload); `always` also to show it is alive. */
  write(always = false): void {
    const info: OutputLockInfo = { pid: process.pid, host: hostname(), sources: [...this.sources()].sort(), since: this.since };
    if (this.claiming) info.claiming = true;
    const text = JSON.stringify(info);
    if (!always && text === this.written) return;
    try {
      // Renamed into place: a link planted at the lock's name is replaced, its target never written.
      writeAtomically(this.path, text + '\n');
      this.written = text;
    } catch {
      // A full disk, a folder made read-only, a link at the temporary name: the output files report it; the lock is only a courtesy.
    }
  }

  release(): void {
    clearInterval(this.timer);
    try {
      const held = JSON.parse(readFileSync(this.path, 'utf8')) as OutputLockInfo;
      if (held.pid === process.pid && held.host === hostname()) rmSync(this.path, { force: true });
    } catch {
      // gone already
    }
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: a process of another user, running.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
