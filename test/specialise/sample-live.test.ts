import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleFrames } from '../../src/specialise/sample-frames.js';
import { SAMPLED_LOG } from '../../src/specialise/sample-live.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = resolve(root, '..', 'shared', 'fixtures', 'yolo-fastest');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logLines = (framesDir: string) => (existsSync(join(framesDir, SAMPLED_LOG)) ? readFileSync(join(framesDir, SAMPLED_LOG), 'utf8').split('\n').filter(Boolean) : []);

describe('sampling a live RTSP camera (real GStreamer RTSP server on 127.0.0.1)', () => {
  const cams: TestRtspServer[] = [];
  afterAll(async () => {
    for (const c of cams) await c.stop();
  });

  it('reconnects when the camera drops out and keeps the frames spread over the watch, none made up for the outage', async () => {
    const cam = new TestRtspServer({ width: 320, height: 240, fps: 15 });
    cams.push(cam);
    await cam.start();
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-live-'));
    // 10 frames over 14 s, one every 1.4 s; the camera goes off for 3 s once two frames are in.
    let outage: Promise<void> | undefined;
    const frames = await sampleFrames(cam.url, dir, {
      count: 10,
      minutes: 14 / 60,
      onProgress: (n) => {
        if (n === 2)
          outage ??= (async () => {
            await cam.stop();
            await sleep(3000);
            await cam.start();
          })();
      },
    });
    await outage;
    const times = frames.map((f) => f.timeSec);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const outageAt = gaps.findIndex((g) => g > 3);
    // Two frames before the outage, at least two after the camera came back, none for the ticks it was off.
    expect(outageAt, times.join(' ')).toBeGreaterThanOrEqual(1);
    expect(frames.length - (outageAt + 1), times.join(' ')).toBeGreaterThanOrEqual(2);
    expect(frames.length, times.join(' ')).toBeLessThan(10);
    for (const g of gaps) expect(g, times.join(' ')).toBeGreaterThan(0.7);
    expect(times[times.length - 1]).toBeLessThan(14);
    for (const f of frames) expect(await sharp(f.file).metadata()).toMatchObject({ format: 'jpeg', width: 320, height: 240 });
    expect(logLines(dir)).toHaveLength(frames.length);
  }, 60_000);

  it('xnorcam specialise watches a camera with --minutes, and resumes an interrupted watch from the frames it kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-live-spec-'));
    // A still street scene as the camera, so the teacher has vehicles to label.
    const still = join(dir, 'street.png');
    await sharp(join(fixture, 'bus.jpg')).resize(320, 240, { fit: 'fill' }).png().toFile(still);
    const cam = new TestRtspServer({ image: still, width: 320, height: 240, fps: 10 });
    cams.push(cam);
    await cam.start();
    const args = [
      join(root, 'bin', 'xnorcam.js'), 'specialise', '--teacher', join(fixture, 'yolo-fastest-1.1.cfg'), '--teacher-weights', join(fixture, 'yolo-fastest-1.1.weights'),
      '--names', join(fixture, 'coco.names'), '--source', cam.url, '--minutes', '0.2', '--frames', '12', '--teacher-thresh', '0.2', '--max-steps', '2', '--input', 'teacher', '-o', join(dir, 'cam.xnor'),
    ];
    const env = { ...process.env, CI: '1' };
    const framesDir = join(dir, 'cam.xnor.work', 'frames');

    // Ctrl-C after three frames: the whole process group, as a terminal sends it.
    const first = spawn(process.execPath, args, { env, detached: true, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => first.on('exit', (code) => r(code)));
    const t0 = Date.now();
    while (logLines(framesDir).length < 3) {
      if (Date.now() - t0 > 30_000) throw new Error('no frames sampled in 30 s');
      await sleep(100);
    }
    process.kill(-first.pid!, 'SIGINT');
    await exited;
    const before = logLines(framesDir).map((l) => JSON.parse(l) as { file: string; timeSec: number });
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(12);

    const again = spawnSync(process.execPath, args, { env, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    const after = logLines(framesDir).map((l) => JSON.parse(l) as { file: string; timeSec: number });
    // The frames of the first watch are kept as they were; the second carries on the clock after them.
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
    for (let i = 1; i < after.length; i++) expect(after[i].timeSec).toBeGreaterThan(after[i - 1].timeSec);
    expect(after[after.length - 1].timeSec).toBeLessThan(12);
    const report = JSON.parse(again.stdout.trim().split('\n').pop()!);
    expect(report.frames.train + report.frames.validation).toBe(after.length);
    expect(report.frames.teacherBoxes).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'cam.xnor'))).toBe(true);
  }, 120_000);
});
