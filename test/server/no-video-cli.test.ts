import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setupFromArgs } from '../../src/cli/run.js';
import { tempDir } from '../helpers/videos.js';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardUrl } from '../helpers/cli.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { RecordingClient, sleep, waitFor } from '../helpers/ws-client.js';
import { launchChromium } from '../helpers/browser.js';
import { buildWeb } from '../helpers/build-web.js';

/** The command lines of a process's children (its ffmpegs). */
function childCommands(pid: number): string[] {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids.map((k) => readFileSync(`/proc/${k}/cmdline`, 'utf8').replace(/\0/g, ' '));
}

describe('xnorcam run --no-video', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
  });

  it('keeps the dashboard server (API, /metrics, /healthz, counts) and sends no video, and ffmpeg makes none', { timeout: 60_000 }, async () => {
    child = spawn(process.execPath, [bin, 'run', 'lavfi:testsrc2=size=320x240:rate=10', '--no-video', '--port', '0', '--stats', '0', '--workers', '1', ...testModelArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' },
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    await waitFor(() => dashboardUrl(out) !== undefined, 30_000, `the dashboard URL (output so far: ${out.slice(-300)})`);
    const url = dashboardUrl(out)!;
    const viewer = new RecordingClient(url.replace(/^http/, 'ws') + 'ws');
    await viewer.subscribeAll();
    const sources = async () => ((await (await fetch(url + 'api/sources')).json()) as { sources: { name: string; state: string; detectedFps: number; video?: boolean }[] }).sources;
    let running = false;
    await waitFor(() => {
      void sources().then((s) => (running = s[0]?.state === 'running' && s[0].detectedFps > 0));
      return running;
    }, 30_000, 'the source detecting');
    // A few seconds of a detecting source: a viewer with video on got frames within the first second.
    await sleep(2000);
    expect(viewer.frames).toEqual([]);
    expect(viewer.messages.some((m) => m.type === 'sources')).toBe(true);
    expect((await sources())[0]).toMatchObject({ name: 'testsrc2', state: 'running', video: false });
    expect((await fetch(url + 'healthz')).status).toBe(200);
    const metrics = await fetch(url + 'metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^xnorcam_source_up\{source="testsrc2"\} 1$/m);
    expect((await fetch(url + 'api/counts?source=testsrc2')).status).toBe(200);
    // The CPU saved: ffmpeg decodes for the detector only, no display branch (split) and no MJPEG output.
    const ffmpegs = childCommands(child.pid!).filter((c) => c.includes('ffmpeg'));
    expect(ffmpegs).toHaveLength(1);
    expect(ffmpegs[0]).not.toMatch(/split=2|mjpeg/);

    // The page: the camera's tile says its video is off (an empty picture is no fault), its counts are there.
    buildWeb();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      const tile = page.locator('section.camera[data-source="testsrc2"]');
      await tile.locator('.video-notice', { hasText: 'VIDEO OFF' }).waitFor({ timeout: 15_000 });
      expect(await tile.locator('.video-notice').textContent()).toBe('VIDEO OFF · counts only (started with --no-video or outputs.dashboard.video: false)');
      expect(await tile.locator('[data-figure="detect"] .figure-value').textContent()).toMatch(/^\d+\.\d fps$/);
    } finally {
      await browser.close();
    }
  });

  it('a pipeline file says the same with outputs.dashboard.video: false (the server stays, the display output goes)', () => {
    const tmp = tempDir();
    try {
      const yaml = join(tmp.dir, 'p.yaml');
      writeFileSync(yaml, ['sources:', '  - { name: a, url: "lavfi:testsrc2=size=160x120:rate=5" }', 'outputs:', '  dashboard: { port: 0, video: false }', ''].join('\n'));
      const off = setupFromArgs([yaml], {});
      expect(off.dashboard.enabled).toBe(true);
      expect(off.options.display).toBeUndefined();
      writeFileSync(yaml, ['sources:', '  - { name: a, url: "lavfi:testsrc2=size=160x120:rate=5" }', ''].join('\n'));
      expect(setupFromArgs([yaml], {}).options.display).toEqual({ width: 640 });
    } finally {
      tmp.cleanup();
    }
  });
});
