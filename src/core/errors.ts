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
