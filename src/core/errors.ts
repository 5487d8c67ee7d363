import { dirname } from 'node:path';

/**
 * An error caused by the user's input (a file, a flag, a config key). The CLI prints its message
 * as one line and exits non-zero, with no stack trace. The message must name the input and the problem.
 */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'UserError';
  }
}

/** `file:line: problem` — the shape every input error takes, so editors can jump to it. */
export function inputError(file: string, line: number | undefined, problem: string): UserError {
  return new UserError(line === undefined ? `${file}: ${problem}` : `${file}:${line}: ${problem}`);
}

/**
 * An output file whose folder is missing: creating a file fails with ENOENT only so, and the
 * "no such file" it was reported as read as if the file itself were expected to exist.
 */
export function missingFolderError(file: string): UserError {
  return new UserError(`${file}: the folder ${dirname(file)} does not exist`);
}

/** The one line for an output file the user named that could not be written. */
export function writeFileError(file: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missingFolderError(file);
  return new UserError(`${file}: ${fileErrorReason(code) ?? `cannot write (${code ?? (e as Error).message})`}`);
}

/** What a file system error code means to the user, for `path: reason` lines; undefined for others. */
export function fileErrorReason(code: string | undefined): string | undefined {
  return fileErrorReasons[code ?? ''];
}

const fileErrorReasons: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a part of this path is not a folder',
  EISDIR: 'is a folder, where a file is written or read',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'already exists',
  EFBIG: 'file too large for this file system or its limit',
  ENAMETOOLONG: 'name too long for the file system (255 bytes for a file name on most)',
};
