import { renameSync, writeFileSync } from 'node:fs';

/** Writes through a temporary file and a rename, so an interrupted write never leaves a half file behind. */
export function writeAtomically(file: string, data: string | Uint8Array): void {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}
