import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { makeVideo, probeFramePts, tempDir } from '../helpers/videos.js';
import { bin, shared, testModelArgs } from '../helpers/model.js';
import { errorLines, readJsonl, xnorcam } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';
import { annotatePartialPath, annotateVideo } from '../../src/outputs/annotate-video.js';

const real = resolve(shared, 'fixtures/real-traffic/video');

/** A stream's nominal rate as ffprobe gives it, e.g. "24000/1001". */
function rFrameRate(path: string): string {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  return r.stdout.trim();
}

function cut(src: string, dst: string, seconds: number): string {
  // Stream copy keeps the file's own timestamps (variable gaps, first frame not at 0).
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', src, '-t', String(seconds), '-c', 'copy', dst], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return dst;
}

function runBatch(args: string[]) {
  const child = spawn(process.execPath, [bin, 'batch', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // 'close', not 'exit': stderr is read to its end.
  const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { child, stderr: () => stderr, closed };
}

describe('xnorcam batch --annotate', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  /**
   * A video made once and copied under each name asked for (the outputs are named after the input): the tests
   * that stop a run need the same long input, and encoding it again for each was most of their setup.
   */
  const made = new Map<string, string>();
  function copyOfVideo(name: string, spec: Parameters<typeof makeVideo>[1]): string {
    const key = JSON.stringify(spec);
    if (!made.has(key)) made.set(key, makeVideo(join(tmp.dir, `made-${made.size}.mp4`), spec));
    const path = join(tmp.dir, `${name}.mp4`);
    copyFileSync(made.get(key)!, path);
    return path;
  }

  /** `batch --annotate` on a 40 s video, sent `sig` once its detections file has some results. */
  async function signalledMidRun(name: string, outName: string, sig: NodeJS.Signals, opts: { earlierVideo?: boolean } = {}) {
    const video = copyOfVideo(name, { width: 320, height: 240, fps: 25, seconds: 40 });
    const out = join(tmp.dir, outName);
    if (opts.earlierVideo) {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, `${name}.annotated.mp4`), 'drawn by an earlier run');
    }
    const run = runBatch([video, ...testModelArgs, '--out', out, '--workers', '1', '--annotate']);
    const jsonl = join(out, `${name}.detections.jsonl`);
    await until('some results', () => existsSync(jsonl) && statSync(jsonl).size > 2000, 30_000);
    run.child.kill(sig);
    return { run, out, jsonl };
  }

  it("keeps the input's timing: exact nominal rate, variable frame rate, the detections' clock", () => {
    // 25.25 fps nominal (101/4), ~10 fps actual with 79/119 ms gaps, first frame at 1.86 s.
    const vfr = cut(join(real, 'residential_street_window_highangle.mp4'), join(tmp.dir, 'vfr.mp4'), 10);
    const cfr = makeVideo(join(tmp.dir, 'ntsc.mp4'), { fps: '24000/1001', seconds: 3 });
    const out = join(tmp.dir, 'timing');
    const r = xnorcam(['batch', vfr, cfr, ...testModelArgs, '--stride', '5', '--annotate', '-o', out]);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.status).toBe(0);

    const inV = probeFramePts(vfr);
    const outV = probeFramePts(join(out, 'vfr.annotated.mp4'));
    expect(rFrameRate(join(out, 'vfr.annotated.mp4'))).toBe('101/4');
    expect(inV[0]).toBeCloseTo(1860, 0);
    const period = (4 / 101) * 1000;
    // On the detections' clock: ptsMs counts from the start of the file (its first frame here), not the
    // container's 1.86 s.
    const first = readJsonl(join(out, 'vfr.detections.jsonl'))[0];
    expect(first.frame).toBe(0);
    expect(Math.abs(outV[0] - first.ptsMs)).toBeLessThan(1);
    // One output frame per period from the first input frame to the last, no more.
    expect(outV.length).toBe(Math.round((inV[inV.length - 1] - inV[0]) / period) + 1);
    for (const t of inV) {
      const nearest = Math.min(...outV.map((o) => Math.abs(o - (t - inV[0] + outV[0]))));
      expect(nearest, `input frame at ${t} ms`).toBeLessThanOrEqual(period / 2 + 0.01);
    }

    // Constant rate: one output frame per input frame, at the input's times, at exactly 24000/1001.
    const inC = probeFramePts(cfr);
    const outC = probeFramePts(join(out, 'ntsc.annotated.mp4'));
    // The drawing step says when each video is done, with the input frames it drew.
    expect(r.stderr).toContain(`batch: ${join(out, 'ntsc.annotated.mp4')}: ${inC.length} frames drawn`);
    expect(r.stderr).toContain(`batch: ${join(out, 'vfr.annotated.mp4')}: ${inV.length} frames drawn`);
    expect(rFrameRate(join(out, 'ntsc.annotated.mp4'))).toBe('24000/1001');
    expect(outC.length).toBe(inC.length);
    outC.forEach((t, i) => expect(Math.abs(t - inC[i])).toBeLessThan(0.5));
  });

  it('stays in step with a file a little faster than its nominal rate (said 24 fps, running at 24.2)', () => {
    const made24 = join(tmp.dir, 'd24.mkv');
    const fast = join(tmp.dir, 'fast.mkv');
    let r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=24', '-t', '10', '-c:v', 'libx264', '-g', '1', made24], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // Its timestamps squeezed, its declared rate kept: 24/1 nominal, a frame every 41.3 ms.
    r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', made24, '-c', 'copy', '-bsf:v', 'setts=pts=PTS*24/24.2:dts=DTS*24/24.2', fast], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(rFrameRate(fast)).toBe('24/1');
    const out = join(tmp.dir, 'fast');
    const b = xnorcam(['batch', fast, ...testModelArgs, '--stride', '5', '--annotate', '-o', out]);
    expect(b.status, b.stderr).toBe(0);
    const inF = probeFramePts(fast);
    const outF = probeFramePts(join(out, 'fast.annotated.mp4'));
    const period = 1000 / 24;
    // The last frame where the input has it (it was 80 ms late, and later ever more), and every output
    // frame showing an input frame within half a period of its time.
    expect(Math.abs(outF.at(-1)! - outF[0] - (inF.at(-1)! - inF[0]))).toBeLessThanOrEqual(period / 2 + 0.01);
    expect(outF.length).toBeLessThan(inF.length);
    // Frames drawn are the video's frames; the ones left out are said, not counted among them.
    const said = /fast\.annotated\.mp4: (\d+) frames drawn, (\d+) left out \(/.exec(b.stderr);
    expect(said, b.stderr).not.toBeNull();
    expect(Number(said![1]) + Number(said![2])).toBe(inF.length);
    expect(Number(said![2])).toBeGreaterThanOrEqual(inF.length - outF.length);
  });

  it('goes on through a clock that goes back (two recordings joined end to end)', () => {
    const part = join(tmp.dir, 'part.ts');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '3', '-c:v', 'libx264', part], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const joined = join(tmp.dir, 'joined.ts');
    writeFileSync(joined, Buffer.concat([readFileSync(part), readFileSync(part)]));
    const out = join(tmp.dir, 'joined');
    xnorcam(['batch', joined, ...testModelArgs, '--stride', '5', '--annotate', '-o', out]);
    // Every frame of both halves (every frame after the jump was left out: half the video).
    expect(readJsonl(join(out, 'joined.detections.jsonl'))).toHaveLength(30); // every 5th
    expect(probeFramePts(join(out, 'joined.annotated.mp4'))).toHaveLength(150);
  });

  it('draws the counting lines and zones it counted with, so a count can be checked against the video', () => {
    const video = makeVideo(join(tmp.dir, 'overlay.mp4'), { width: 320, height: 240, fps: 10, seconds: 1 });
    const out = join(tmp.dir, 'overlay');
    const r = xnorcam(['batch', video, ...testModelArgs, '--line', 'l:0,100,320,100', '--zone', 'z:40,150,280,150,280,220,40,220', '--annotate', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const rgb = (file: string) => {
      const f = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 24 });
      expect(f.status).toBe(0);
      return f.stdout;
    };
    const drawn = rgb(join(out, 'overlay.annotated.mp4'));
    const source = rgb(video);
    const at = (img: Buffer, x: number, y: number) => [...img.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3)];
    // Along the line: white where the picture was not; along the zone's bottom side: amber (red and green high, blue low).
    const white = (p: number[]) => p.every((v) => v > 200);
    const xs = Array.from({ length: 30 }, (_, i) => 60 + i * 8);
    expect(xs.filter((x) => white(at(drawn, x, 100))).length).toBeGreaterThan(25);
    expect(xs.filter((x) => white(at(source, x, 100))).length).toBeLessThan(10);
    const amber = (p: number[]) => p[0] > 180 && p[1] > 150 && p[2] < 110;
    expect(xs.filter((x) => x < 270 && amber(at(drawn, x, 220))).length).toBeGreaterThan(20);
  });

  it("draws each counting line's forward arrow, as the dashboard does: towards the right of first point → second", () => {
    // A black picture: every white pixel is drawn.
    const video = makeVideo(join(tmp.dir, 'arrows.mp4'), { pattern: 'color', width: 320, height: 240, fps: 10, seconds: 1 });
    const out = join(tmp.dir, 'arrows');
    // Drawn left → right, forward is down the picture; drawn right → left, up it (docs/tracking.md).
    const r = xnorcam(['batch', video, ...testModelArgs, '--line', 'down:0,100,320,100', '--line', 'up:320,180,0,180', '--annotate', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const f = spawnSync('ffmpeg', ['-v', 'error', '-i', join(out, 'arrows.annotated.mp4'), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { maxBuffer: 1 << 24 });
    expect(f.status).toBe(0);
    const white = (x: number, y: number) => f.stdout[y * 320 + x] > 150;
    // From each line's middle (x 160), 4 to 14 px out on the forward side; nothing on the other.
    const out4to14 = (y: number, dir: 1 | -1) => Array.from({ length: 11 }, (_, k) => white(160, y + dir * (4 + k))).filter(Boolean).length;
    expect(out4to14(100, 1)).toBeGreaterThanOrEqual(9);
    expect(out4to14(100, -1)).toBe(0);
    expect(out4to14(180, -1)).toBeGreaterThanOrEqual(9);
    expect(out4to14(180, 1)).toBe(0);
    // The head: wider than the shaft, beside it.
    expect(white(157, 118) || white(158, 118)).toBe(true);
    expect(white(157, 161) || white(158, 161)).toBe(true);
    expect(white(157, 108) || white(157, 172)).toBe(false);
  });

  it("lines up with detections.jsonl when the file's clock starts late (MPEG-TS an hour in)", () => {
    const mp4 = makeVideo(join(tmp.dir, 'late.mp4'), { width: 320, height: 240, fps: 25, seconds: 2 });
    const ts = join(tmp.dir, 'late.ts');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', mp4, '-c', 'copy', '-output_ts_offset', '3600', ts], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    expect(probeFramePts(ts)[0]).toBeGreaterThan(3_600_000);
    const out = join(tmp.dir, 'late');
    const r = xnorcam(['batch', ts, ...testModelArgs, '--annotate', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const lines = readJsonl(join(out, 'late.detections.jsonl'));
    const annotated = probeFramePts(join(out, 'late.annotated.mp4'));
    expect(annotated).toHaveLength(lines.length);
    annotated.forEach((t, i) => expect(Math.abs(t - lines[i].ptsMs), `frame ${i}`).toBeLessThan(1));
  });

  it("an MPEG-TS cut whose audio starts before its video: ptsMs is pts_time less the file's start_time, as for an MP4, and the video follows", () => {
    const mp4 = makeVideo(join(tmp.dir, 'av.mp4'), { width: 320, height: 240, fps: 25, seconds: 2, audio: true });
    const ts = cut(mp4, join(tmp.dir, 'av.ts'), 2);
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_entries', 'format=start_time', '-of', 'csv=p=0', ts], { encoding: 'utf8' });
    const startMs = Number(probe.stdout.trim()) * 1000;
    const truth = probeFramePts(ts).map((t) => Math.round((t - startMs) * 1000) / 1000);
    // The audio first: ffmpeg rebased a TS on its video alone (its first frame came out at 0).
    expect(truth[0]).toBeGreaterThan(10);
    const out = join(tmp.dir, 'av');
    const r = xnorcam(['batch', ts, ...testModelArgs, '--annotate', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const lines = readJsonl(join(out, 'av.detections.jsonl'));
    expect(lines.map((l) => l.ptsMs)).toEqual(truth);
    const annotated = probeFramePts(join(out, 'av.annotated.mp4'));
    expect(annotated).toHaveLength(lines.length);
    annotated.forEach((t, i) => expect(Math.abs(t - lines[i].ptsMs), `frame ${i}`).toBeLessThan(1));
  });

  it('draws a picture of odd width and height (the encoder needs even ones) without moving the boxes, keeping its pixel shape', () => {
    const odd = join(tmp.dir, 'odd.avi');
    // Non-square pixels too (an anamorphic recording): the annotated video played squashed without its SAR.
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10', '-t', '1', '-vf', 'scale=321:241,setsar=4/3', '-c:v', 'mpeg4', odd], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const out = join(tmp.dir, 'odd');
    const r = xnorcam(['batch', odd, ...testModelArgs, '--annotate', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const size = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio,nb_frames', '-of', 'json', join(out, 'odd.annotated.mp4')], { encoding: 'utf8' });
    expect(JSON.parse(size.stdout).streams[0]).toEqual({ width: 322, height: 242, sample_aspect_ratio: '4:3', nb_frames: '10' });
    // Run again without --annotate: the video drawn from the first run's detections does not stay beside the new ones.
    const again = xnorcam(['batch', odd, ...testModelArgs, '-o', out]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`batch: ${relative(process.cwd(), out)}/odd.*: moved odd.annotated.mp4 of an earlier run to ${relative(process.cwd(), out)}/superseded/ (this run does not write them)`);
    expect(existsSync(join(out, 'odd.annotated.mp4'))).toBe(false);
    expect(existsSync(join(out, 'superseded', 'odd.annotated.mp4'))).toBe(true);
  });

  it('after SIGINT, draws the frames done: a valid MP4 covering the JSONL, under the name that says it is partial', async () => {
    const { run, out, jsonl } = await signalledMidRun('long', 'sigint', 'SIGINT');
    const code = await run.closed;
    const stderr = run.stderr();
    expect(code).toBe(130);
    expect(errorLines(stderr)).toHaveLength(1);
    const lines = readJsonl(jsonl);
    expect(lines.length).toBeLessThan(1000);
    expect(stderr).toContain(`batch: drawing boxes on the ${lines.length} frames done → ${join(out, 'long.annotated.partial.mp4')}`);
    expect(probeFramePts(join(out, 'long.annotated.partial.mp4'))).toEqual(lines.map((l) => l.ptsMs));
    // A video of part of the input never passes for the whole one.
    expect(existsSync(join(out, 'long.annotated.mp4'))).toBe(false);
  });

  it('after SIGTERM (a supervisor stopping the job), draws nothing and exits at once; an earlier run\'s video is not left beside the new detections', async () => {
    const { run, out } = await signalledMidRun('term', 'sigterm', 'SIGTERM', { earlierVideo: true });
    expect(await run.closed).toBe(143);
    expect(run.stderr()).toContain(`batch: ${join(out, 'term.annotated.mp4')} not written (stopped by SIGTERM)`);
    expect(existsSync(join(out, 'term.annotated.mp4'))).toBe(false);
    // Moved aside, not deleted: the only video there was (it was deleted as the run began, and this one never drawn).
    expect(readFileSync(join(out, 'superseded', 'term.annotated.mp4'), 'utf8')).toBe('drawn by an earlier run');
    expect(run.stderr()).toContain(`term.*: moved term.annotated.mp4 of an earlier run to`);
  });

  it('a signal while drawing finishes the video with the frames drawn so far, named partial, and says the data outputs are complete', async () => {
    const video = copyOfVideo('big', { width: 1280, height: 720, fps: 25, seconds: 20 });
    const out = join(tmp.dir, 'drawing');
    const run = runBatch([video, ...testModelArgs, '--out', out, '--stride', '25', '--annotate']);
    await until('the drawing step', () => run.stderr().includes('drawing boxes'), 60_000);
    run.child.kill('SIGINT');
    const code = await run.closed;
    const stderr = run.stderr();
    expect(code).toBe(130);
    expect(errorLines(stderr)).toHaveLength(1);
    const m = /big\.annotated\.partial\.mp4 stopped by SIGINT: it shows the first (\d+) frames/.exec(stderr);
    expect(m).not.toBeNull();
    const pts = probeFramePts(join(out, 'big.annotated.partial.mp4'));
    expect(pts.length).toBe(Number(m![1]));
    expect(pts.length).toBeLessThan(500);
    expect(existsSync(join(out, 'big.annotated.mp4'))).toBe(false);
    // The inputs were done before the drawing began: only the video is short (it was said "partial" of all).
    expect(readJsonl(join(out, 'big.detections.jsonl'))).toHaveLength(20);
    expect(errorLines(stderr)[0]).toBe(
      `error: interrupted by SIGINT while drawing annotated videos: the other outputs in ${relative(process.cwd(), out)} are complete; annotated video short: ${join(out, 'big.annotated.partial.mp4')} (the first ${pts.length} of 500 frames)`,
    );
  });

  it('killed while drawing (SIGKILL), leaves the video under a name that says it is partial, never as the whole one', async () => {
    const video = copyOfVideo('killed', { width: 1280, height: 720, fps: 25, seconds: 20 });
    const out = join(tmp.dir, 'killed');
    const run = runBatch([video, ...testModelArgs, '--out', out, '--stride', '25', '--annotate']);
    // Killed once frames are being encoded (the file being drawn has grown).
    const partial = join(out, 'killed.annotated.partial.mp4');
    await until('frames drawn', () => existsSync(partial) && statSync(partial).size > 50_000, 60_000);
    run.child.kill('SIGKILL');
    await run.closed;
    expect(existsSync(join(out, 'killed.annotated.mp4'))).toBe(false);
    // The encoder, in its own process group, still finishes what it was given: a shorter video, named partial.
    await until('the partial video', () => probeFramePts(partial).length > 0, 20_000);
    // The next run starts over: the partial one does not stay beside the new video.
    const again = xnorcam(['batch', video, ...testModelArgs, '--out', out, '--stride', '25', '--annotate']);
    expect(again.status, again.stderr).toBe(0);
    expect(existsSync(join(out, 'killed.annotated.partial.mp4'))).toBe(false);
    expect(probeFramePts(join(out, 'killed.annotated.mp4')).length).toBe(500);
  }, 120_000);
  it('draws nothing through a link planted at the partial video\'s name (ffmpeg follows one): refused, its target untouched', async () => {
    const dir = join(tmp.dir, 'linked');
    mkdirSync(dir);
    const video = makeVideo(join(dir, 'in.mp4'), { seconds: 1, width: 160, height: 120 });
    const jsonl = join(dir, 'in.detections.jsonl');
    writeFileSync(jsonl, Array.from({ length: 25 }, (_, frame) => JSON.stringify({ frame, ptsMs: frame * 40, detections: [], tracks: [] }) + '\n').join(''));
    const output = join(dir, 'in.annotated.mp4');
    const victim = join(tmp.dir, 'victim.txt');
    writeFileSync(victim, 'not yours\n');
    symlinkSync(victim, annotatePartialPath(output));
    await expect(annotateVideo(video, jsonl, output)).rejects.toThrow(`${annotatePartialPath(output)}: is a symbolic link; output files are never written through one (remove it)`);
    expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
    expect(existsSync(output)).toBe(false);
  });
});
