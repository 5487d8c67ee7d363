import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { bin } from './model.js';

/** Runs the built CLI synchronously, with logs limited to warnings so stderr holds what matters. */
export const xnorcam = (args: string[], cwd?: string, env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn', ...env } });

/**
 * spawnSync's answer without blocking the test: runs that mostly wait (a --duration, a live source) can go side by
 * side. Past `timeout` ms the process is killed (SIGTERM), as spawnSync's timeout does.
 */
export function spawnAsync(command: string, args: string[], opts: SpawnOptions & { timeout?: number } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { timeout, ...spawnOpts } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...spawnOpts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = timeout ? setTimeout(() => child.kill('SIGTERM'), timeout) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

/** Reads a JSONL output, checking the file ends on a whole line (outputs must stay valid when interrupted). */
export function readJsonl(path: string): { frame: number; ptsMs: number; detections: unknown[]; tracks: unknown[]; events: unknown[] }[] {
  const text = readFileSync(path, 'utf8');
  expect(text === '' || text.endsWith('\n')).toBe(true);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The dashboard's address as `run` tells it: a `dashboard` record where the log is JSON and no terminal reads, else the `dashboard: URL` line. */
export function dashboardUrl(output: string): string | undefined {
  return /"msg":"dashboard","url":"(http:[^"]+)"/.exec(output)?.[1] ?? /^dashboard: (http:\/\/\S+)/m.exec(output)?.[1];
}
