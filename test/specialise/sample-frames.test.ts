import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { sampleFrames, samplingInterval, splitByTime } from '../../src/specialise/sample-frames.js';
import { ffmpegBinary } from '../../src/ingest/ffmpeg-binary.js';

describe('frame sampling', () => {
  it('spreads frames evenly over the whole recording', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-sample-'));
    const video = join(dir, 'clock.mp4');
    // A 20 s video whose brightness encodes time: frame at t has grey level 10 + 10·t.
    const r = spawnSync(ffmpegBinary().path, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'color=c=black:s=160x120:r=10:d=20', '-vf', "geq=lum='10+10*T':cb=128:cr=128", '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-qp', '0', video]);
    expect(r.status, r.stderr?.toString()).toBe(0);
    const frames = await sampleFrames(video, join(dir, 'frames'), { count: 8 });
    expect(frames).toHaveLength(8);
    const levels = await Promise.all(frames.map(async (f) => (await sharp(f.file).greyscale().stats()).channels[0].mean));
    // RGB grey → limited-range luma (16 + g·219/255) → time.
    const times = levels.map((g) => (16 + (g * 219) / 255 - 10) / 10);
    // Evenly spread: one frame every 2.5 s, from the first seconds to the last ones.
    expect(times[0]).toBeLessThan(2.6);
    expect(times[7]).toBeGreaterThan(17);
    for (let i = 1; i < 8; i++) expect(times[i] - times[i - 1]).toBeGreaterThan(1.5);
    for (let i = 0; i < 8; i++) expect(Math.abs(frames[i].timeSec - times[i])).toBeLessThan(0.3);
  });

  it('names the source and the problem for a file that is not a video', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-sample-'));
    await expect(sampleFrames(join(dir, 'missing.mp4'), dir, { count: 4 })).rejects.toThrow(/missing\.mp4: no such file/);
  });

  it('splits by time, the last part held out', () => {
    const frames = Array.from({ length: 10 }, (_, i) => ({ timeSec: 9 - i }));
    const { train, validation } = splitByTime(frames, 0.3);
    expect(train.map((f) => f.timeSec)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(validation.map((f) => f.timeSec)).toEqual([7, 8, 9]);
  });

  it("takes the sampling interval from the typical gap, so a live camera's outage is not footage", () => {
    const every = (n: number, from: number, step: number) => Array.from({ length: n }, (_, i) => ({ timeSec: from + i * step }));
    expect(samplingInterval(every(30, 0.5, 2))).toBe(2);
    // 20 frames 2 s apart, the camera down for 60 s, 10 more: 30 frames show 60 s, not the 118 s they span
    const outage = [...every(20, 0, 2), ...every(10, 38 + 60, 2)];
    expect(samplingInterval(outage) * outage.length).toBe(60);
    expect(samplingInterval([{ timeSec: 4 }])).toBe(0);
  });
});
