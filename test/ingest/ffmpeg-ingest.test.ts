import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, openSync, closeSync, ftruncateSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameSlots } from '../../src/ingest/frame-slots.js';
import { SourceRunner } from '../../src/ingest/source-runner.js';
import { parseSource } from '../../src/ingest/source-spec.js';
import { FfmpegRun, type FfmpegRunEnd } from '../../src/ingest/ffmpeg-run.js';
import { probeVideo } from '../../src/ingest/probe.js';
import type { FrameInfo } from '../../src/core/types.js';
import { makeVideo, probeFramePts, tempDir } from '../helpers/videos.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shared = resolve(repoRoot, '..', 'shared');

/** Decodes a whole source at 32×32 and returns every frame's info plus a checksum of its pixels. */
function ingest(url: string, opts: { slots?: number; holdMs?: number; stallMs?: number; fpsCap?: number } = {}): Promise<{ infos: FrameInfo[]; sums: number[]; end: FfmpegRunEnd }> {
  const slots = new FrameSlots(32 * 32 * 3, opts.slots ?? 3);
  const runner = new SourceRunner({ spec: parseSource(url), width: 32, height: 32, slots, reconnect: false, realtime: false, loop: false, fpsCap: opts.fpsCap, policy: opts.stallMs ? { stallMs: opts.stallMs } : undefined });
  const infos: FrameInfo[] = [];
  const sums: number[] = [];
  return new Promise((done) => {
    runner.on('frame', (slot: number, info: FrameInfo) => {
      infos.push(info);
      const v = slots.view(slot);
      let s = 0;
      for (let i = 0; i < v.length; i += 7) s += v[i];
      sums.push(s);
      // Hold the slot a little: the reader must wait (backpressure) instead of overwriting.
      if (opts.holdMs) setTimeout(() => slots.release(slot), opts.holdMs);
      else slots.release(slot);
    });
    runner.on('end', (end: FfmpegRunEnd) => done({ infos, sums, end }));
    runner.start();
  });
}

describe('ffmpeg ingest', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  const cases: [string, Parameters<typeof makeVideo>[1]][] = [
    ['h264.mp4', { codec: 'libx264', fps: 25, seconds: 2, audio: true }],
    ['mpeg4.avi', { codec: 'mpeg4', fps: '30000/1001', seconds: 2, audio: true }],
    ['mjpeg.mkv', { codec: 'mjpeg', fps: 14.985, seconds: 2 }],
    ['h264.ts', { codec: 'libx264', fps: 30, seconds: 2, audio: true }],
    ['vfr.mkv', { codec: 'libx264', fps: 25, seconds: 4, vfr: true }],
  ];
  for (const [name, spec] of [cases[0], cases[4]]) {
    it(`with fpsCap, keeps the first frame of each period of ${name} at its own time, never a repeat or a made-up time`, async () => {
      const path = makeVideo(join(tmp.dir, `cap-${name}`), { pattern: 'mandelbrot', ...spec });
      const truth = probeFramePts(path);
      // The first frame in each tenth of a second (by the file's own times, from the first frame's).
      const t0 = truth[0];
      const kept = truth.filter((t, i) => i === 0 || Math.floor(((t - t0) / 1000) * 10 + 1e-9) > Math.floor(((truth[i - 1] - t0) / 1000) * 10 + 1e-9));
      const { infos, end } = await ingest(path, { fpsCap: 10 });
      expect(end.error).toBeUndefined();
      const got = infos.map((i) => i.ptsMs);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThanOrEqual(Math.ceil((truth.at(-1)! - t0) / 100) + 1);
      // Every frame delivered is one of the file's, at its own time, each once.
      for (const t of got) expect(Math.min(...truth.map((x) => Math.abs(x - t))), `${t} ms`).toBeLessThan(0.01);
      expect(new Set(got).size).toBe(got.length);
      expect(got.length).toBe(kept.length);
    });
  }

  for (const [name, spec] of cases) {
    it(`decodes every frame of ${name} in order with the stream's own timestamps`, async () => {
      const path = makeVideo(join(tmp.dir, name), { pattern: 'mandelbrot', ...spec });
      const truth = probeFramePts(path);
      const { infos, end } = await ingest(path, { holdMs: 1 });
      expect(end.error).toBeUndefined();
      expect(infos.map((i) => i.seq)).toEqual(truth.map((_, i) => i));
      // Same timestamps as ffprobe reports (within a microsecond-level rounding), not frame index / nominal fps.
      const first = truth[0];
      infos.forEach((info, i) => expect(Math.abs(info.ptsMs - (truth[i] - first) - (infos[0].ptsMs))).toBeLessThan(0.01));
      expect(infos[0].width).toBe(320);
      expect(infos[0].height).toBe(240);
    });
  }

  it('keeps frame times exact hours into a stream (not rounded to 6 digits: 100 ms steps after 2.8 h)', async () => {
    // As a camera 3 h after it was connected (ffmpeg counts from the stream's start): the first frame at 0,
    // the others 3 h on, 40 ms apart.
    const path = join(tmp.dir, 'late.mp4');
    const ff = spawnSync('ffmpeg', ['-v', 'error', '-t', '2', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-vf', "setpts='if(eq(N,0),0,PTS+10800/TB)'", '-fps_mode', 'passthrough', '-c:v', 'libx264', '-y', path]);
    expect(ff.status, String(ff.stderr)).toBe(0);
    const truth = probeFramePts(path);
    const { infos } = await ingest(path);
    expect(infos).toHaveLength(truth.length);
    expect(truth[1] - truth[0]).toBeGreaterThan(10_799_000);
    const gaps = infos.slice(2).map((f, i) => f.ptsMs - infos[i + 1].ptsMs);
    for (const g of gaps) expect(Math.abs(g - 40)).toBeLessThan(0.01);
    infos.forEach((info, i) => expect(Math.abs(info.ptsMs - infos[0].ptsMs - (truth[i] - truth[0]))).toBeLessThan(0.01));
  });

  it('keeps true times of a variable-frame-rate file (gaps are not evened out)', async () => {
    const path = makeVideo(join(tmp.dir, 'vfr2.mp4'), { fps: 20, seconds: 4, vfr: true });
    const { infos } = await ingest(path);
    const gaps = infos.slice(1).map((f, i) => Math.round(f.ptsMs - infos[i].ptsMs));
    expect(new Set(gaps)).toEqual(new Set([50, 150]));
    expect(infos.at(-1)!.ptsMs).toBeGreaterThan(3500);
  });

  it('reads a real variable-frame-rate clip with its irregular gaps', async () => {
    const clip = join(shared, 'fixtures/real-traffic/video/residential_street_window_highangle.mp4');
    const counts = (await import(join(shared, 'fixtures/real-traffic/video_frame_counts.json'), { with: { type: 'json' } })).default as Record<string, number>;
    const { infos, end } = await ingest(clip);
    expect(end.error).toBeUndefined();
    const expected = Object.entries(counts).find(([k]) => k.includes('residential_street_window_highangle'))![1];
    expect(infos.length).toBe(expected);
    const gaps = infos.slice(1).map((f, i) => f.ptsMs - infos[i].ptsMs);
    expect(Math.max(...gaps)).toBeGreaterThan(700); // the one 0.78 s gap the manifest mentions
    expect(infos.at(-1)!.ptsMs - infos[0].ptsMs).toBeGreaterThan(70_000);
  });

  it('reports a truncated file as damaged after decoding what is there', async () => {
    const full = makeVideo(join(tmp.dir, 'full.ts'), { fps: 25, seconds: 4 });
    const cut = join(tmp.dir, 'cut.ts');
    copyFileSync(full, cut);
    const fd = openSync(cut, 'r+');
    ftruncateSync(fd, Math.floor(statSync(full).size * 0.5) + 77);
    closeSync(fd);
    const { infos, end } = await ingest(cut);
    expect(infos.length).toBeGreaterThan(10);
    expect(infos.length).toBeLessThan(100);
    expect(end.damaged ?? end.error).toBeTruthy();
  });

  it('reports nothing for whole recordings in the containers whose cuts it looks for, nor for an MKV whose audio outlasts its video', async () => {
    for (const name of ['whole.mkv', 'whole.flv', 'whole.avi']) {
      const path = makeVideo(join(tmp.dir, name), { fps: 25, seconds: 3, audio: true });
      const { infos, end } = await ingest(path);
      expect(infos.length, name).toBe(75);
      expect(end, name).toEqual({ frames: 75, stopped: false });
    }
    // 3 s of video, 10 s of audio: the container's duration is the audio's; the video's own (its DURATION tag) is whole.
    const longAudio = join(tmp.dir, 'long-audio.mkv');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-f', 'lavfi', '-i', 'sine=duration=10', '-c:v', 'libx264', '-c:a', 'aac', longAudio], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const { end } = await ingest(longAudio);
    expect(end).toEqual({ frames: 75, stopped: false });
  });

  it('fails with ffmpeg\'s reason for a file that is not a video', async () => {
    const junk = join(tmp.dir, 'junk.mp4');
    copyFileSync(fileURLToPath(import.meta.url), junk);
    const { infos, end } = await ingest(junk);
    expect(infos.length).toBe(0);
    expect(end.error).toMatch(/invalid data|moov|could not|error/i);
  });

  it('backpressure: a slow consumer pauses ffmpeg (memory stays at the slot count) and is not mistaken for a stall', async () => {
    const path = makeVideo(join(tmp.dir, 'slow.mp4'), { fps: 10, seconds: 0.8 });
    const truth = probeFramePts(path);
    expect(truth.length).toBeGreaterThanOrEqual(6);
    const t0 = Date.now();
    const { infos, end } = await ingest(path, { slots: 2, holdMs: 400, stallMs: 250 });
    expect(end.error).toBeUndefined();
    expect(infos.map((i) => i.seq)).toEqual(truth.map((_, i) => i));
    expect(Date.now() - t0).toBeGreaterThan(1200); // frames waited for free slots
  });

  it('gives a video recorded on its side (a rotation tag) its upright size, as ffmpeg decodes it', async () => {
    const stored = makeVideo(join(tmp.dir, 'upright.mp4'), { codec: 'libx264', width: 320, height: 240, fps: 10, seconds: 1 });
    const tagged = join(tmp.dir, 'on-its-side.mp4');
    // ffmpeg 5 writes the tag from -metadata; 6 and later from -display_rotation.
    let r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', stored, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', tagged]);
    const decoded = () => /, 240x320[ ,]/.test(spawnSync('ffmpeg', ['-hide_banner', '-i', tagged, '-frames:v', '1', '-f', 'null', '-'], { encoding: 'utf8' }).stderr.split('Output #0')[1] ?? '');
    if (r.status !== 0 || !decoded()) r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-display_rotation', '90', '-i', stored, '-c', 'copy', tagged]);
    expect(decoded(), 'ffmpeg decodes the tagged file upright').toBe(true);
    expect(await probeVideo(tagged)).toMatchObject({ width: 240, height: 320 });
    const { infos } = await ingest(tagged);
    expect(infos.length).toBe(10);
    for (const i of infos) expect([i.width, i.height]).toEqual([240, 320]);
    // Untagged, nothing changes.
    expect((await ingest(stored)).infos[0]).toMatchObject({ width: 320, height: 240 });
  });

  it('reads an ffmpeg test source', async () => {
    const slots = new FrameSlots(32 * 32 * 3, 3);
    const runner = new SourceRunner({ spec: parseSource('lavfi:testsrc2=size=64x48:rate=10:duration=1'), width: 32, height: 32, slots, reconnect: false, realtime: false, loop: false });
    const infos: FrameInfo[] = [];
    runner.on('frame', (slot: number, info: FrameInfo) => {
      infos.push(info);
      slots.release(slot);
    });
    await new Promise((r) => {
      runner.on('end', r);
      runner.start();
    });
    expect(infos.map((i) => i.ptsMs)).toEqual(Array.from({ length: 10 }, (_, i) => i * 100));
    expect(infos[0].width).toBe(64);
  });

  it('stopped before ffmpeg has started, leaves no ffmpeg running (it kept xnorcam from exiting)', async () => {
    // fluent-ffmpeg spawns a few event-loop turns after run(): a reload's stop can land in between.
    const children = () => spawnSync('pgrep', ['-P', String(process.pid), '-c', 'ffmpeg'], { encoding: 'utf8' }).stdout.trim();
    for (const when of ['same tick', 'next turn'] as const) {
      const run = new FfmpegRun({ spec: parseSource('lavfi:testsrc2=size=64x48:rate=10'), width: 32, height: 32, slots: new FrameSlots(32 * 32 * 3, 3), realtime: true });
      const ended = new Promise<FfmpegRunEnd>((r) => run.once('end', r));
      await run.start();
      if (when === 'next turn') await new Promise((r) => setImmediate(r));
      run.stop();
      expect((await ended).stopped).toBe(true);
      // Long enough for a late spawn to show, and for a killed one to be reaped.
      await new Promise((r) => setTimeout(r, 1000));
      expect(children(), when).toBe('0');
    }
  });
});
