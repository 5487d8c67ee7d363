import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { bin, testModelArgs } from '../helpers/model.js';
import { errorLines, readJsonl, xnorcam } from '../helpers/cli.js';

describe('xnorcam batch: interrupted and damaged inputs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('stops cleanly on SIGINT: valid partial JSONL, exit 130, one error line naming the partial, complete and unstarted inputs', async () => {
    const first = makeVideo(join(tmp.dir, 'first.mp4'), { width: 320, height: 240, fps: 25, seconds: 1 });
    const video = makeVideo(join(tmp.dir, 'long.mp4'), { width: 320, height: 240, fps: 25, seconds: 40 });
    const next = makeVideo(join(tmp.dir, 'next.mp4'), { width: 320, height: 240, fps: 25, seconds: 1 });
    const out = join(tmp.dir, 'sigint');
    // One input at a time: the first is done before the signal, the last never started.
    const child = spawn(process.execPath, [bin, 'batch', first, video, next, ...testModelArgs, '--out', out, '--workers', '1', '--jobs', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const jsonl = join(out, 'long.detections.jsonl');
    const t0 = Date.now();
    while (!(existsSync(jsonl) && statSync(jsonl).size > 2000)) {
      if (Date.now() - t0 > 20_000) throw new Error('batch produced nothing');
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(130);
    expect(errorLines(stderr)).toHaveLength(1);
    expect(errorLines(stderr)[0]).toMatch(new RegExp(`^error: interrupted by SIGINT: stopped after \\d+ frames; outputs in .* are valid; partial: ${video}; complete: ${first}; not started: ${next}$`));
    // The summary line does not read as a finished run.
    expect(stderr).toMatch(/^batch: \d+ frames from 2 inputs \([^)]*real time\), stopped by SIGINT → /m);
    expect(readJsonl(join(out, 'first.detections.jsonl'))).toHaveLength(25);
    expect(existsSync(join(out, 'next.detections.jsonl'))).toBe(false);
    const lines = readJsonl(jsonl);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(1500);
    expect(lines.map((l) => l.frame)).toEqual(lines.map((_, i) => i));
  });

  it('truncated streams: outputs for the frames that were there, exit 1, one line per damaged file', () => {
    const full = makeVideo(join(tmp.dir, 'cut.ts'), { fps: 25, seconds: 6 });
    truncateSync(full, Math.floor(statSync(full).size * 0.4));
    const other = join(tmp.dir, 'cut2.ts');
    copyFileSync(full, other);
    const out = join(tmp.dir, 'cut');
    const r = xnorcam(['batch', full, other, ...testModelArgs, '--out', out]);
    expect(r.status).toBe(1);
    // Each damaged input on a line of its own, with its reason and frames (the second had only its name).
    const errors = errorLines(r.stderr);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`^error: ${full}: truncated or corrupt input \\(.+\\); outputs cover the \\d+ frames decoded$`));
    expect(errors[1]).toMatch(new RegExp(`^error: ${other}: truncated or corrupt input \\(.+\\); outputs cover the \\d+ frames decoded$`));
    const lines = readJsonl(join(out, 'cut.detections.jsonl'));
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.map((l) => l.frame)).toEqual(lines.map((_, i) => i));
  });

  it('a Matroska cut short: ffmpeg\'s "File ended prematurely", exit 1 (it was taken for a whole recording)', () => {
    const full = makeVideo(join(tmp.dir, 'whole.mkv'), { fps: 25, seconds: 6, audio: true });
    const cut = join(tmp.dir, 'cam3 SD half.mkv');
    writeFileSync(cut, readFileSync(full).subarray(0, Math.floor(statSync(full).size / 2)));
    const out = join(tmp.dir, 'mkv');
    const r = xnorcam(['batch', cut, ...testModelArgs, '--out', out, '--workers', '1']);
    expect(r.status, r.stderr).toBe(1);
    const frames = readJsonl(join(out, 'cam3 SD half.detections.jsonl')).length;
    expect(frames).toBeGreaterThan(30);
    expect(frames).toBeLessThan(130);
    expect(errorLines(r.stderr)).toEqual([`error: ${cut}: truncated or corrupt input (File ended prematurely); outputs cover the ${frames} frames decoded`]);
  });

  it('an AVI and an FLV cut between two packets, of which ffmpeg says nothing: by the size their header declares, and their duration', () => {
    const avi = readFileSync(makeVideo(join(tmp.dir, 'whole.avi'), { fps: 25, seconds: 6, audio: true }));
    const flv = readFileSync(makeVideo(join(tmp.dir, 'whole.flv'), { fps: 25, seconds: 6, audio: true }));
    // At the start of the first video chunk past the middle: no chunk is left partial.
    const aviCut = join(tmp.dir, 'cut-avi.avi');
    writeFileSync(aviCut, avi.subarray(0, avi.indexOf('00dc', avi.length / 2)));
    // At the first tag boundary past the middle (9-byte header and a 4-byte size, then tags of 11 + size + 4 bytes).
    let at = 13;
    while (at < flv.length / 2) at += 11 + flv.readUIntBE(at + 1, 3) + 4;
    const flvCut = join(tmp.dir, 'cut-flv.flv');
    writeFileSync(flvCut, flv.subarray(0, at));
    const out = join(tmp.dir, 'riff-flv');
    const r = xnorcam(['batch', aviCut, flvCut, ...testModelArgs, '--out', out, '--workers', '1']);
    expect(r.status, r.stderr).toBe(1);
    const frames = (name: string) => readJsonl(join(out, `${name}.detections.jsonl`)).length;
    const decoded = readJsonl(join(out, 'cut-flv.detections.jsonl')).at(-1)!.ptsMs / 1000;
    const errors = errorLines(r.stderr);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(
      `error: ${aviCut}: truncated or corrupt input (the file ends at byte ${avi.indexOf('00dc', avi.length / 2)} of the ${avi.readUInt32LE(4) + 8} its RIFF header declares); outputs cover the ${frames('cut-avi')} frames decoded`,
    );
    // Its metadata's duration is the longer stream's: the audio's 6.1 s.
    expect(errors[1]).toMatch(new RegExp(`^error: ${flvCut}: truncated or corrupt input \\(decoding stopped at ${decoded.toFixed(1)} s of the 6\\.[01] s its header declares\\); outputs cover the ${frames('cut-flv')} frames decoded$`));
    expect(frames('cut-avi')).toBeGreaterThan(50);
    expect(frames('cut-flv')).toBeGreaterThan(50);
  });

  it('a healthy file whose path says "truncated", "corrupt", "partial file" is not reported as damaged', () => {
    // ffmpeg echoes the path in its header (`Input #0, mov… from '<path>':`): it was taken for a diagnostic, exit 1.
    const dir = join(tmp.dir, 'recovered (corrupt drive)');
    mkdirSync(dir);
    const video = makeVideo(join(dir, 'truncated partial file concealing.mp4'), { fps: 25, seconds: 1 });
    const r = xnorcam(['batch', video, ...testModelArgs, '--out', join(tmp.dir, 'healthy')]);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
  });

  it("a damaged file with such a path: ffmpeg's own reason; with --stride, the frames decoded and those detected", () => {
    const dir = join(tmp.dir, 'corrupt truncated');
    mkdirSync(dir);
    const full = makeVideo(join(dir, 'partial file.ts'), { fps: 25, seconds: 6 });
    truncateSync(full, Math.floor(statSync(full).size * 0.4));
    const out = join(tmp.dir, 'strided');
    const r = xnorcam(['batch', full, ...testModelArgs, '--out', out, '--stride', '5']);
    expect(r.status).toBe(1);
    const m = /^error: (.*): truncated or corrupt input \((.*)\); outputs cover the (\d+) frames decoded \((\d+) of them detected, --stride 5\)$/.exec(errorLines(r.stderr)[0]);
    expect(m, r.stderr).not.toBeNull();
    expect(m![1]).toBe(full);
    expect(m![2]).not.toContain(dir);
    expect(m![2]).not.toMatch(/^Input #/);
    const [decoded, detected] = [Number(m![3]), Number(m![4])];
    expect(readJsonl(join(out, 'partial file.detections.jsonl'))).toHaveLength(detected);
    expect(detected).toBe(Math.ceil(decoded / 5));
  });

  it('an MP4 of its first bytes only: the reason, not a line of its metadata', () => {
    const full = makeVideo(join(tmp.dir, 'head.mp4'), { fps: 25, seconds: 1 });
    // Its index first (as a camera's or a web-ready recording is): the first bytes are a header with metadata.
    const cut = join(tmp.dir, 'head-cut.mp4');
    const made = spawnSync('ffmpeg', ['-v', 'error', '-y', '-i', full, '-c', 'copy', '-movflags', '+faststart', cut], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    truncateSync(cut, 40);
    const r = xnorcam(['batch', cut, ...testModelArgs, '--out', join(tmp.dir, 'h')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`error: ${cut}: not a readable video (no streams in it: the file is incomplete or truncated)`);
  });

  it('an MP4 cut before its index: one line naming the file and the reason, nothing started', () => {
    const full = makeVideo(join(tmp.dir, 'noindex.mp4'), { fps: 25, seconds: 2 });
    const cut = join(tmp.dir, 'noindex-cut.mp4');
    copyFileSync(full, cut);
    truncateSync(cut, Math.floor(statSync(full).size * 0.5));
    const r = xnorcam(['batch', cut, ...testModelArgs, '--out', join(tmp.dir, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: .*noindex-cut\.mp4: not a readable video \(.*moov atom not found/);
  });

});
