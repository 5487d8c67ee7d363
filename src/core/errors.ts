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
};
