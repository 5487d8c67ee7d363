import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Debian's python3 (the one with python3-torch) where it exists, whatever `python3` is first on PATH. */
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Runs Python from the repository root with the `training` package importable. */
export const py = (...args: string[]) =>
  spawnSync(python, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, PYTHONPATH: repoRoot }, maxBuffer: 1 << 28 });
