import { readFileSync } from 'node:fs';
import { UserError } from './errors.js';

/**
 * Reads a file the user named, turning the usual failures into one line that names the file:
 * "no such file", "is a directory, expected <what>", or "cannot read (<code>)".
 */
export function readInputFile(file: string, expected: string): Buffer;
export function readInputFile(file: string, expected: string, encoding: 'utf8'): string;
export function readInputFile(file: string, expected: string, encoding?: 'utf8'): Buffer | string {
  try {
    return encoding ? readFileSync(file, encoding) : readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, expected ${expected}`);
    throw new UserError(`${file}: cannot read (${code ?? (e as Error).message})`);
  }
}
