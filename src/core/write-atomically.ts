import { closeSync, renameSync, writeFileSync } from 'node:fs';
import { openOutputFile } from './open-output.js';

/**
 * Writes through a temporary file and a rename, so an interrupted write never leaves a half file behind. The
 * rename replaces a symbolic link at `file`, not its target; one at the temporary name is refused.
 */
export function writeAtomically(file: string, data: string | Uint8Array): void {
  const fd = openOutputFile(`${file}.tmp`, 'w');
  try {
    writeFileSync(fd, data);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.tmp`, file);
}
