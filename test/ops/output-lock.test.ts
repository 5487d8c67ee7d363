import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { outputLockHolder } from '../../src/ops/output-lock.js';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLines, xnorcam } from '../helpers/cli.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('one outputs folder, one live pipeline', () => {
  it('refuses a second pipeline and a batch run over a live source\'s files, and lets go when it stops', async () => {
    const out = join(tmp.dir, 'out');
    const pipeline = join(tmp.dir, 'cams.yaml');
    writeFileSync(pipeline, `sources:\n  - name: hw\n    url: "lavfi:testsrc2=size=160x120:rate=5"\noutputs:\n  dashboard: { enabled: false }\n  files: { dir: ${out} }\n`);
    const live = spawn(process.execPath, [bin, 'run', pipeline, ...testModelArgs, '--duration', '60', '--stats', '0'], { stdio: 'ignore', env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
    const exited = new Promise<number | null>((r) => live.on('exit', (code) => r(code)));
    try {
      const lock = join(out, '.xnorcam.lock');
      await until('the live pipeline to claim its folder with its source', () => existsSync(lock) && readFileSync(lock, 'utf8').includes('"hw"'), 30_000);

      const second = xnorcam(['run', pipeline, ...testModelArgs, '--duration', '5']);
      expect(second.status).toBe(1);
      expect(errorLines(second.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: outputs\\.files\\.dir: ${out} is written by another xnorcam run \\(pid ${live.pid}, since .+\\): two in one folder mix their files; give this one another dir$`))]);

      // A recording named as the live source would write over its counts file; another name may share the folder.
      const hw = makeVideo(join(tmp.dir, 'hw.mp4'), { width: 160, height: 120, fps: 5, seconds: 1 });
      const clash = xnorcam(['batch', hw, ...testModelArgs, '-o', out]);
      expect(clash.status).toBe(2);
      expect(errorLines(clash.stderr)).toEqual([expect.stringContaining(`-o ${out}: a live xnorcam run (pid ${live.pid}, since `)]);
      expect(clash.stderr).toContain(`writes there for source 'hw': this batch would write over ${join(out, 'hw.counts.csv')} and its other files; choose another --out`);
      const other = makeVideo(join(tmp.dir, 'survey.mp4'), { width: 160, height: 120, fps: 5, seconds: 1 });
      expect(xnorcam(['batch', other, ...testModelArgs, '-o', out]).status).toBe(0);
    } finally {
      live.kill('SIGTERM');
      await exited;
    }
    // Stopped, it lets go: the folder is free for the next run.
    expect(existsSync(join(out, '.xnorcam.lock'))).toBe(false);
    expect(xnorcam(['batch', join(tmp.dir, 'hw.mp4'), ...testModelArgs, '-o', out]).status).toBe(0);
  }, 120_000);
  it('takes a lock over that its holder stopped rewriting, though its pid is some other running process\'s now', async () => {
    const dir = join(tmp.dir, 'stale');
    mkdirSync(dir);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const lock = join(dir, '.xnorcam.lock');
      writeFileSync(lock, JSON.stringify({ pid: other.pid, host: hostname(), sources: ['hw'], since: '2026-01-01T00:00:00.000Z' }));
      // Rewritten lately: its holder is alive.
      expect(outputLockHolder(dir)).toMatchObject({ pid: other.pid });
      // Left by a run killed outright (a power cut, SIGKILL) before a reboot gave its pid to another process.
      const old = new Date(Date.now() - 120_000);
      utimesSync(lock, old, old);
      expect(outputLockHolder(dir)).toBeUndefined();
    } finally {
      other.kill();
    }
  });
});
