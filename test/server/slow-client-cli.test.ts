import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardUrl } from '../helpers/cli.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { tempDir } from '../helpers/videos.js';
import { RecordingClient, sleep, waitFor } from '../helpers/ws-client.js';

/**
 * The product itself (`xnorcam run`, real pipeline, real detector) with one viewer that stops
 * reading: the server PROCESS's memory (VmRSS of the child, nothing of the test) stays flat and the
 * other viewer keeps the frame rate. Needs dist/ (npm run build). XNORCAM_SLOW_CLIENT_S sets the stall.
 */
const seconds = Number(process.env.XNORCAM_SLOW_CLIENT_S ?? 8);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe('xnorcam run with a stalled dashboard viewer', () => {
  let tmp: ReturnType<typeof tempDir>;
  let child: ChildProcess;
  let url: string;

  beforeAll(async () => {
    tmp = tempDir();
    // Grey noise compresses badly: display JPEGs of a few hundred KiB at 25 fps, several MB/s per viewer.
    const video = join(tmp.dir, 'noisy.mkv');
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=640x360:r=25,format=gray,noise=alls=60:allf=t',
      '-t', '6', '-c:v', 'mjpeg', '-q:v', '3', video], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    child = spawn(process.execPath, [bin, 'run', video, '--loop', '--port', '0', '--stats', '0', '--workers', '1', '--display-width', '960', ...testModelArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    await waitFor(() => dashboardUrl(out) !== undefined, 30_000, `the dashboard URL from xnorcam run (output so far: ${out.slice(-300)})`);
    url = dashboardUrl(out)!;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    tmp?.cleanup();
  });

  it(`server RSS stays flat while one viewer stalls for ${seconds} s; the other keeps its frame rate`, { timeout: (seconds + 45) * 1000 }, async () => {
    const ws = url.replace(/^http/, 'ws') + 'ws';
    const fast = new RecordingClient(ws);
    const slow = new RecordingClient(ws);
    await fast.subscribeAll();
    await slow.subscribeAll();
    await waitFor(() => fast.frames.length > 25 && slow.frames.length > 25, 20_000, 'both viewers receiving');
    const frameKb = fast.frames.at(-1)!.jpegBytes / 1024;
    // Baseline: the frame rate the reading viewer gets while nobody stalls.
    const b0 = fast.frames.length;
    const tb = Date.now();
    await sleep(4000);
    const fpsBefore = (fast.frames.length - b0) / ((Date.now() - tb) / 1000);
    const f0 = fast.frames.length;
    const t0 = Date.now();
    slow.ws.pause();
    const rss0 = rssMb(child.pid!);
    const samples: number[] = [];
    // What the viewer can get is what the pipeline detects (it slows down on a busy machine).
    const detected: number[] = [];
    const detectedFps = async () => ((await (await fetch(url + 'api/sources')).json()) as { sources: { detectedFps: number }[] }).sources[0].detectedFps;
    while (Date.now() - t0 < seconds * 1000) {
      await sleep(1000);
      samples.push(rssMb(child.pid!));
      detected.push(await detectedFps());
    }
    const fastFps = (fast.frames.length - f0) / ((Date.now() - t0) / 1000);
    const meanDetected = detected.reduce((a, b) => a + b, 0) / detected.length;
    const status = { sources: [{ detectedFps: meanDetected }] };
    const growth = Math.max(...samples) - rss0;
    const wouldQueueMb = (seconds * status.sources[0].detectedFps * frameKb) / 1024;
    console.log(
      `xnorcam run, viewer stalled ${seconds} s: server RSS ${rss0.toFixed(0)} MiB → max ${Math.max(...samples).toFixed(0)} MiB (growth ${growth.toFixed(1)} MiB; ` +
        `unbounded queueing would add ~${wouldQueueMb.toFixed(0)} MiB); frame ${frameKb.toFixed(0)} KiB; other viewer ${fpsBefore.toFixed(1)} fps before, ${fastFps.toFixed(1)} fps during, pipeline detected ${meanDetected.toFixed(1)} fps meanwhile`,
    );
    console.log(`server RSS MiB per second: ${samples.map((x) => x.toFixed(0)).join(' ')}`);
    expect(growth).toBeLessThan(Math.max(25, wouldQueueMb / 3));
    expect(fastFps).toBeGreaterThan(meanDetected * 0.85);
    fast.close();
    slow.close();
  });
});
