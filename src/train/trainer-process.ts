import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The Python that runs the trainer: XNORCAM_PYTHON, else Debian's (which has python3-torch), else PATH's. */
export function pythonBinary(): string {
  if (process.env.XNORCAM_PYTHON) return process.env.XNORCAM_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * Runs `python -m training.train <args>` with its output on this terminal, forwarding Ctrl-C and
 * SIGTERM so an interrupted run leaves a checkpoint to resume from. Resolves with how it ended.
 */
export function runTrainer(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const python = pythonBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'training.train', ...args], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PYTHONPATH: repoRoot } });
    child.on('error', (e) => reject(new UserError(`cannot run ${python} (${(e as NodeJS.ErrnoException).code ?? e.message}); set XNORCAM_PYTHON to a python with PyTorch`)));
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve({ code, signal });
    });
  });
}

/** How a trainer run ended, as its callers must treat it. */
export type TrainerOutcome =
  | { kind: 'done' }
  /** Ctrl-C or SIGTERM: the trainer saved RUN/last.pt (exit 130), or was stopped before it could. */
  | { kind: 'interrupted' }
  /** Killed by another signal (SIGKILL: often the out-of-memory killer): the last periodic checkpoint is all there is. */
  | { kind: 'killed'; signal: NodeJS.Signals }
  /** The trainer refused its input or failed; it printed why. Running it again will not help. */
  | { kind: 'failed'; code: number };

export function trainerOutcome(end: { code: number | null; signal: NodeJS.Signals | null }): TrainerOutcome {
  if (end.code === 0) return { kind: 'done' };
  if (end.code === 130 || end.signal === 'SIGINT' || end.signal === 'SIGTERM') return { kind: 'interrupted' };
  if (end.signal) return { kind: 'killed', signal: end.signal };
  return { kind: 'failed', code: end.code ?? 1 };
}

/** One line for an outcome other than done, with the exit code the command should give. */
export function trainerOutcomeError(outcome: Exclude<TrainerOutcome, { kind: 'done' }>, what: string, resume: string, consequence = ''): UserError {
  switch (outcome.kind) {
    case 'interrupted':
      return new UserError(`${what} was interrupted${consequence}; ${resume}`, 130);
    case 'killed':
      return new UserError(`${what} was killed by ${outcome.signal}${outcome.signal === 'SIGKILL' ? ' (out of memory?)' : ''}${consequence}; ${resume} (from its last periodic checkpoint)`, 137);
    case 'failed':
      return new UserError(`${what} failed${consequence} (the trainer's message is above; exit ${outcome.code})`, outcome.code);
  }
}
