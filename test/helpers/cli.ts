import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { bin } from './model.js';

/** Runs the built CLI synchronously, with logs limited to warnings so stderr holds what matters. */
export const xnorcam = (args: string[], cwd?: string, env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd, env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn', ...env } });

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
