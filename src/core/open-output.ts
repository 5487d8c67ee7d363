import { constants, openSync } from 'node:fs';
import { UserError } from './errors.js';

const FLAGS = {
  a: constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
  w: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
  'r+': constants.O_RDWR,
} as const;

/**
 * Opens a file in an output folder without following a symbolic link at its name. Output folders are often
 * shared (a mounted volume, /data/out): a link planted as `cam1.counts.csv` → ~/.ssh/authorized_keys had our
 * lines appended to its target, as whoever runs xnorcam (root in a container). Only the last part of the path
 * is checked: the folder itself may be a link the user made.
 */
export function openOutputFile(path: string, flags: keyof typeof FLAGS): number {
  try {
    return openSync(path, FLAGS[flags] | constants.O_NOFOLLOW, 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UserError(`${path}: is a symbolic link; output files are never written through one (remove it)`);
    throw e;
  }
}
