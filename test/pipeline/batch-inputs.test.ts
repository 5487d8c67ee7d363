import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { bin, repoRoot, testModelArgs } from '../helpers/model.js';
import { errorLines, readJsonl, xnorcam } from '../helpers/cli.js';

/** Waits until a running batch has written to `file`. */
async function untilWritten(file: string): Promise<void> {
  const t0 = Date.now();
  while (!(existsSync(file) && statSync(file).size > 0)) {
    if (Date.now() - t0 > 20_000) throw new Error(`the first batch wrote nothing to ${file}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('xnorcam batch: bad inputs and output folders get one clear line', () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  beforeAll(() => {
    tmp = tempDir();
    video = makeVideo(join(tmp.dir, 'v.mp4'), { seconds: 1 });
  });
  afterAll(() => tmp.cleanup());

  it('-o naming a file, or a path through a file: exit 2, the path and the problem', () => {
    const file = join(tmp.dir, 'afile');
    writeFileSync(file, 'x');
    const r = xnorcam(['batch', video, ...testModelArgs, '-o', 'afile'], tmp.dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('error: -o afile: exists and is not a folder\n');
    const n = xnorcam(['batch', video, ...testModelArgs, '-o', '/dev/null/x']);
    expect(n.status).toBe(2);
    expect(n.stderr).toBe('error: -o /dev/null/x: /dev/null is not a folder\n');
    const s = xnorcam(['batch', video, ...testModelArgs, '-o', 'afile/sub'], tmp.dir);
    expect(s.status).toBe(2);
    expect(s.stderr).toBe('error: -o afile/sub: afile is not a folder\n');
  });

  it('an output file that cannot be written (a folder in its place) stops the run in one line, exit 1', () => {
    const out = join(tmp.dir, 'blocked');
    mkdirSync(join(out, 'v.detections.jsonl'), { recursive: true });
    const r = xnorcam(['batch', video, ...testModelArgs, '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe(`error: ${join(out, 'v.detections.jsonl')}: is a folder, where a file is written or read`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a file that can grow no more (a full disk, a size limit) names the file it stopped (a write error carries no path of its own), exit 1', () => {
    const out = join(tmp.dir, 'full');
    mkdirSync(out);
    // A file-size limit (bash's ulimit -f, 1024-byte blocks; node ignores SIGXFSZ): the write past it fails with
    // EFBIG, as one on a full disk fails with ENOSPC. It was "internal error", exit 70. The detections file,
    // written first and the most, is the first to reach it.
    const r = spawnSync('bash', ['-c', 'ulimit -f 4 && exec "$@"', 'bash', process.execPath, bin, 'batch', video, ...testModelArgs, '-o', out], { encoding: 'utf8', env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe(`error: ${join(out, 'v.detections.jsonl')}: file too large for this file system or its limit`);
  });

  it('refuses a symbolic link planted at an output name in one line, its target untouched, exit 1', () => {
    const out = join(tmp.dir, 'linked');
    mkdirSync(out);
    const victim = join(tmp.dir, 'victim.txt');
    writeFileSync(victim, 'not yours\n');
    symlinkSync(victim, join(out, 'v.counts.csv'));
    const r = xnorcam(['batch', video, ...testModelArgs, '-o', out]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toBe(`error: ${join(out, 'v.counts.csv')}: is a symbolic link; output files are never written through one (remove it)`);
    expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
  });

  it('an audio-only file: "no video stream"', () => {
    const wav = join(tmp.dir, 'audio.wav');
    const f = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=2', wav]);
    expect(f.status).toBe(0);
    const r = xnorcam(['batch', 'audio.wav', ...testModelArgs, '-o', 'o'], tmp.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: audio.wav: no video stream\n');
  });

  it('an empty file: "empty file (0 bytes)", whatever its extension (it read as a damaged MP4, or invalid data)', () => {
    for (const name of ['z.mp4', 'z.avi', 'z.mkv']) writeFileSync(join(tmp.dir, name), '');
    const r = xnorcam(['batch', 'z.mp4', 'z.avi', join(tmp.dir, 'z.mkv'), ...testModelArgs, '-o', 'o'], tmp.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: z.mp4: empty file (0 bytes)\nerror: z.avi: empty file (0 bytes)\nerror: ${join(tmp.dir, 'z.mkv')}: empty file (0 bytes)\n`);
  });

  it('a folder: one line saying so, with the videos in it as the example (it said "not a video file")', () => {
    mkdirSync(join(tmp.dir, 'empty-dir'));
    mkdirSync(join(tmp.dir, 'dvr'));
    for (const name of ['a.avi', 'b.avi', 'c.mp4', 'notes.txt']) writeFileSync(join(tmp.dir, 'dvr', name), '');
    const r = xnorcam(['batch', join(tmp.dir, 'empty-dir') + '/', 'dvr', ...testModelArgs, '-o', 'o'], tmp.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`error: ${tmp.dir}/empty-dir/: a folder: give the videos in it, e.g. ${tmp.dir}/empty-dir/*.mp4\nerror: dvr: a folder: give the videos in it, e.g. dvr/*.avi\n`);
  });

  it('a text file is not taken for a video (ffmpeg would render it as one)', () => {
    copyFileSync(resolve(repoRoot, 'README.md'), join(tmp.dir, 'readme.txt'));
    const r = xnorcam(['batch', 'readme.txt', ...testModelArgs, '-o', 'o'], tmp.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: readme\.txt: not a video \([^\n]*\)\n$/);
    expect(existsSync(join(tmp.dir, 'o', 'readme.detections.jsonl'))).toBe(false);
  });

  it('unreadable inputs are each named with their reason, the readable ones processed, exit 1', () => {
    const wav = join(tmp.dir, 'sound.wav');
    expect(spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', wav]).status).toBe(0);
    writeFileSync(join(tmp.dir, 'notes.txt'), 'a note\n');
    const r = xnorcam(['batch', 'sound.wav', video, 'missing.mp4', 'notes.txt', ...testModelArgs, '-o', 'mixed'], tmp.dir);
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors.slice(0, 3)).toEqual(['error: sound.wav: no video stream', 'error: missing.mp4: no such file', expect.stringMatching(/^error: notes\.txt: not a (readable )?video \(/)]);
    expect(errors.slice(3)).toEqual(['error: 3 of 4 inputs not processed (see above): sound.wav, missing.mp4, notes.txt']);
    expect(readFileSync(join(tmp.dir, 'mixed', 'v.detections.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(25);
  });

  it('no readable input: the lines, exit 1, nothing written', () => {
    const r = xnorcam(['batch', 'gone1.mp4', 'gone2.mp4', ...testModelArgs, '-o', 'none'], tmp.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('error: gone1.mp4: no such file\nerror: gone2.mp4: no such file\n');
    expect(existsSync(join(tmp.dir, 'none'))).toBe(false);
  });

  it('a second batch into a folder another batch is writing is refused in one line naming it; the lock goes with the first', async () => {
    const long = makeVideo(join(tmp.dir, 'long.mp4'), { seconds: 120 });
    const out = join(tmp.dir, 'shared-out');
    const first = spawn(process.execPath, [bin, 'batch', long, ...testModelArgs, '-o', out, '--workers', '1'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => first.on('exit', (c) => r(c)));
    await untilWritten(join(out, 'long.detections.jsonl'));
    // The same name (another day's long.mp4) is refused; another input shares the folder.
    mkdirSync(join(tmp.dir, 'wed'));
    copyFileSync(video, join(tmp.dir, 'wed', 'long.mp4'));
    const second = xnorcam(['batch', join(tmp.dir, 'wed', 'long.mp4'), ...testModelArgs, '-o', out]);
    const beside = xnorcam(['batch', video, ...testModelArgs, '-o', out]);
    first.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^error: -o ${out}: another xnorcam batch \\(pid ${first.pid}, since [^)]+\\) is writing the outputs of long there: two writing one file corrupt it; wait for it to end, or choose another --out\n$`));
    expect(beside.status, beside.stderr).toBe(0);
    expect(existsSync(join(out, 'v.detections.jsonl'))).toBe(true);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    // Once the first has gone, the folder is free.
    expect(xnorcam(['batch', video, ...testModelArgs, '-o', out]).status).toBe(0);
  });

  // Both batches wrote here once (on an idle machine the second's back-off outlasted the first's run); a lock now
  // says `claiming` while its batch decides, and a batch that finds a claimed one is refused at once.
  it('two batches started at the same moment on the same inputs into one folder: one writes its files, the other is refused', async () => {
    const out = join(tmp.dir, 'race-out');
    mkdirSync(out);
    // Long enough that the two batches' runs overlap whatever the machine's speed: a one-second input was done,
    // its lock gone, before the second batch had started on a fast machine (then both rightly wrote, in turn).
    mkdirSync(join(tmp.dir, 'race'));
    const input = makeVideo(join(tmp.dir, 'race', 'v.mp4'), { seconds: 20, width: 160, height: 120 });
    // Locks left by batches killed outright (their processes gone): each is read before a claim, which
    // widened the moment between looking for other batches and claiming to one in which both looked.
    for (let i = 0; i < 5000; i++) {
      const pid = 4_190_000 + i;
      writeFileSync(join(out, `.xnorcam-batch-${pid}.lock`), JSON.stringify({ pid, host: hostname(), sources: [`old${i}`], since: '2026-01-01T00:00:00.000Z' }));
    }
    const batch = () =>
      new Promise<{ status: number | null; stderr: string }>((done) => {
        const p = spawn(process.execPath, [bin, 'batch', input, ...testModelArgs, '-o', out, '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('exit', (status) => done({ status, stderr }));
      });
    const runs = await Promise.all([batch(), batch()]);
    expect(runs.map((r) => r.status).sort()).toEqual([0, 2]);
    expect(errorLines(runs.find((r) => r.status === 2)!.stderr)).toEqual([expect.stringMatching(/another xnorcam batch \(pid \d+, .*\) is writing the outputs of v there/)]);
    expect(readJsonl(join(out, 'v.detections.jsonl'))).toHaveLength(500);
  });

  it('a batch that finds another already writing its outputs is refused at once, not after waiting for that one to end', async () => {
    const out = join(tmp.dir, 'held-out');
    mkdirSync(out);
    // Another batch that has claimed v's outputs: a live process of ours stands in for it.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const holderGone = new Promise((r) => holder.on('exit', r));
    writeFileSync(join(out, `.xnorcam-batch-${holder.pid}.lock`), JSON.stringify({ pid: holder.pid, host: hostname(), sources: ['v'], since: '2026-11-29T01:00:00.000Z' }));
    const late = spawn(process.execPath, [bin, 'batch', video, ...testModelArgs, '-o', out, '--workers', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    late.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = new Promise<number | null>((r) => late.on('exit', r));
    // The holder ends once the late batch has read the folder, told by its own lock going (written before it reads,
    // let go after): a late batch that stepped back and looked again found the folder free, and wrote the same files
    // after the other, exit 0. (Killing the holder when the lock appeared raced the late batch's read of the folder.)
    const ownLock = `.xnorcam-batch-${late.pid}.lock`;
    let seen = 0;
    const watcher = watch(out, (_, file) => {
      if (file === ownLock && ++seen === 2) holder.kill();
    });
    await status;
    watcher.close();
    holder.kill();
    await holderGone;
    expect(await status).toBe(2);
    expect(errorLines(stderr)).toEqual([expect.stringMatching(new RegExp(`another xnorcam batch \\(pid ${holder.pid}, since 2026-11-29T01:00:00.000Z\\) is writing the outputs of v there`))]);
    expect(existsSync(join(out, 'v.detections.jsonl'))).toBe(false);
  });

  it("a batch's -2 names are its own: another batch of an input of that name is refused", async () => {
    const long = makeVideo(join(tmp.dir, 'long2.mp4'), { seconds: 60, width: 160, height: 120 });
    for (const day of ['sat', 'sun']) {
      mkdirSync(join(tmp.dir, day));
      copyFileSync(long, join(tmp.dir, day, 'cam7.mp4'));
    }
    const out = join(tmp.dir, 'dup-out');
    const first = spawn(process.execPath, [bin, 'batch', join(tmp.dir, 'sat', 'cam7.mp4'), join(tmp.dir, 'sun', 'cam7.mp4'), ...testModelArgs, '-o', out, '--workers', '1'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => first.on('exit', (c) => r(c)));
    await untilWritten(join(out, 'cam7-2.detections.jsonl'));
    // A recording that is itself called cam7-2 would write over the files the first batch writes for sun/cam7.mp4.
    copyFileSync(video, join(tmp.dir, 'cam7-2.mp4'));
    const second = xnorcam(['batch', join(tmp.dir, 'cam7-2.mp4'), ...testModelArgs, '-o', out]);
    first.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(second.status).toBe(2);
    expect(errorLines(second.stderr)).toEqual([expect.stringMatching(new RegExp(`^error: -o ${out}: another xnorcam batch \\(pid ${first.pid}, .*\\) is writing the outputs of cam7-2 there`))]);
  });

  it('says which input got a -2 name, and which files of an earlier run it replaces', () => {
    for (const day of ['mon', 'tue']) {
      mkdirSync(join(tmp.dir, day));
      copyFileSync(video, join(tmp.dir, day, 'cam1.mp4'));
    }
    const first = xnorcam(['batch', 'mon/cam1.mp4', 'tue/cam1.mp4', ...testModelArgs, '-o', 'days'], tmp.dir);
    expect(first.status).toBe(0);
    const said = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('batch: ') && !/ frames from /.test(l));
    expect(said(first.stderr)).toEqual(['batch: tue/cam1.mp4 → days/cam1-2.* (an input before it has the name cam1)']);
    const again = xnorcam(['batch', 'tue/cam1.mp4', ...testModelArgs, '-o', 'days', '--annotate'], tmp.dir);
    expect(again.status).toBe(0);
    expect(said(again.stderr).filter((l) => !/annotated/.test(l))).toEqual([
      'batch: days/cam1.*: replacing the outputs of an earlier run (cam1.detections.jsonl, cam1.events.jsonl, cam1.tracks.txt, cam1.counts.csv)',
    ]);
  });

  it('an input whose name leaves no room for the suffixes: a shortened name, said; every input written', () => {
    // 246 bytes of UTF-8: fits the file system, but not with `.detections.jsonl` after it (ENAMETOOLONG, exit 70).
    const long = `${'é'.repeat(121)}.mp4`;
    copyFileSync(video, join(tmp.dir, long));
    const r = xnorcam(['batch', long, 'v.mp4', ...testModelArgs, '-o', 'longname'], tmp.dir);
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.status).toBe(0);
    const files = readdirSync(join(tmp.dir, 'longname')).filter((f) => f.endsWith('.detections.jsonl'));
    const short = files.find((f) => f !== 'v.detections.jsonl')!.replace(/\.detections\.jsonl$/, '');
    expect(short).toMatch(/^é+~[0-9a-f]{8}$/);
    expect(r.stderr).toContain(`batch: ${long} → longname/${short}.* (its name shortened to fit the file system's 255-byte limit on a file name)\n`);
    for (const name of [short, 'v']) expect(readJsonl(join(tmp.dir, 'longname', `${name}.detections.jsonl`))).toHaveLength(25);
  });
});
