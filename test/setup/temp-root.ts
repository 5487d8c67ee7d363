/**
 * One temporary folder per test run, removed when the run ends.
 *
 * Tests write videos, work folders and model files under the system temporary folder, and a test
 * that fails or times out skips its own clean-up; so do the ffmpeg, Python and browser processes
 * they start. Pointing TMPDIR at a folder of this run (before the test workers fork, so they and
 * everything they start inherit it) keeps all of that in one place, and removing it at the end
 * keeps repeated `npm test` runs from filling the disk (120 MB a run before this, most of it the
 * specialise tests' work folders).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const previous = process.env.TMPDIR;
  // Short: browsers put Unix sockets under TMPDIR, and a socket path may not exceed 107 bytes.
  const root = mkdtempSync(join(tmpdir(), 'xnorcam-tests-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
