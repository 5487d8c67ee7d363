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
