import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('xnorcam CLI', () => {
  it('lists its commands with --help', () => {
    const r = xnorcam('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: xnorcam <command>/);
  });

  it('rejects an unknown command with one line and exit code 2', () => {
    const r = xnorcam('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
