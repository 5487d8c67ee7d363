import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const shared = path.resolve(repoRoot, '..', 'shared');
export const fixtures = path.join(shared, 'fixtures');

export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  const a = new Float32Array(b.length / 4);
  new Uint8Array(a.buffer).set(b);
  return a;
}

/** Spawns the real CLI (bin/xnorcam.js → dist/, so build first). */
export function xnorcam(...args: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'xnorcam.js'), ...args], { encoding: 'utf8', cwd: repoRoot });
}

/** Index and values of the first elements that differ (for readable failures). */
export function firstDiffs(got: Float32Array, want: Float32Array, tol = 0, max = 3): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length && out.length < max; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) out.push(`[${i}] got ${got[i]} want ${want[i]}`);
  }
  return out;
}
