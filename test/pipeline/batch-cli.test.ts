import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { spec as batchSpec } from '../../src/cli/batch.js';
import { spec as runSpec } from '../../src/cli/run.js';
import { makeVideo, probeFramePts, tempDir } from '../helpers/videos.js';
import { shared, testModel, testModelArgs } from '../helpers/model.js';
import { readJsonl, xnorcam } from '../helpers/cli.js';

describe('xnorcam batch', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.cleanup());

  it('processes real clips (AVI/MPEG-4 at 14.985 fps, MP4/H.264 + AAC at 23.976 fps) concurrently: every frame, in order, all outputs', () => {
    const video = resolve(shared, 'fixtures/real-traffic/video');
    const counts = JSON.parse(readFileSync(resolve(shared, 'fixtures/real-traffic/video_frame_counts.json'), 'utf8')) as Record<string, number>;
    const clips = ['highway_us_rear_320x240.avi', 'dense_urban_dhaka_elevated.mp4'];
    const out = join(tmp.dir, 'real');
    const r = xnorcam(['batch', ...clips.map((c) => join(video, c)), ...testModelArgs, '--out', out, '--line', 'l:0,150,320,150', '--annotate']);
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.status).toBe(0);
    for (const clip of clips) {
      const name = clip.replace(/\.\w+$/, '');
      const expected = Object.entries(counts).find(([k]) => k.includes(name))![1];
      const lines = readJsonl(join(out, `${name}.detections.jsonl`));
      expect(lines.map((l) => l.frame)).toEqual(Array.from({ length: expected }, (_, i) => i));
      expect(lines.every((l) => Array.isArray(l.detections) && Array.isArray(l.tracks) && Array.isArray(l.events))).toBe(true);
      expect(existsSync(join(out, `${name}.tracks.txt`))).toBe(true);
      expect(probeFramePts(join(out, `${name}.annotated.mp4`)).length).toBe(expected);
    }
    // With how much video that was and how fast: what a batch is for.
    expect(r.stderr).toMatch(/batch: 912 frames from 2 inputs \(([\d.]+ s|\d+ min \d\d s) of video in ([\d.]+ s|\d+ min \d\d s), \d+\.\d× real time\) → /);
  });

  it('warns of a line or zone drawn outside the picture (for another camera, another resolution), once', () => {
    const clip = makeVideo(join(tmp.dir, 'small.mp4'), { width: 320, height: 240, fps: 10, seconds: 1 });
    const r = xnorcam(['batch', clip, ...testModelArgs, '-o', join(tmp.dir, 'geometry'), '--line', 'far:0,400,1280,400', '--line', 'ok:0,120,320,120', '--zone', 'half:0,0,640,0,640,120,0,120']);
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('outside the 320x240 picture'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain("line 'far' has every point outside the 320x240 picture");
    expect(warnings[1]).toContain("zone 'half' has 2 of its 4 points outside the 320x240 picture");
  });

  it("warns once, at model load, that a letter_box=1 model's detections differ from darknet's (frames are stretched)", () => {
    const cfg = join(tmp.dir, 'letterbox.cfg');
    writeFileSync(cfg, readFileSync(testModel.cfg, 'utf8').replace('[net]\n', '[net]\nletter_box=1\n'));
    const clip = makeVideo(join(tmp.dir, 'letterbox.mp4'), { width: 320, height: 240, fps: 5, seconds: 1 });
    const warned = (stderr: string) => stderr.split('\n').filter((l) => l.includes('letter_box=1'));
    const r = xnorcam(['batch', clip, clip, '--cfg', cfg, '--weights', testModel.weights, '-o', join(tmp.dir, 'letterbox-out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(warned(r.stderr)).toHaveLength(1);
    expect(warned(r.stderr)[0]).toContain("the model's cfg has letter_box=1, but video frames are stretched to its input size, not letterboxed: its detections will differ from darknet's");
    const plain = xnorcam(['batch', clip, ...testModelArgs, '-o', join(tmp.dir, 'plain-out')]);
    expect(plain.status, plain.stderr).toBe(0);
    expect(warned(plain.stderr)).toEqual([]);
  });

  it('--help documents every option of batch and run', () => {
    for (const [cmd, s] of [['batch', batchSpec], ['run', runSpec]] as const) {
      const r = xnorcam([cmd, '--help']);
      expect(r.status).toBe(0);
      for (const name of Object.keys(s.options)) expect(r.stdout).toContain(`--${name}`);
    }
  });

  it('rejects bad flags with one line', () => {
    const r = xnorcam(['batch', 'x.mp4', '--stride', '0', ...testModelArgs]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("error: xnorcam batch: --stride: '0' is not an integer of 1 or more (see xnorcam batch --help)");
    for (const cmd of ['batch', 'run']) {
      const t = xnorcam([cmd, 'x.mp4', '--threads-per-frame', '1.5', ...testModelArgs]);
      expect(t.status).toBe(2);
      expect(t.stderr.trim()).toBe(`error: xnorcam ${cmd}: --threads-per-frame: '1.5' is not an integer from 1 to 64 (see xnorcam ${cmd} --help)`);
    }
  });

  it('refuses --names beside a .xnor model, as detect does, for batch, run and a pipeline file', () => {
    const model = join(tmp.dir, 'nonames.xnor');
    const c = xnorcam(['convert', testModel.cfg, testModel.weights, '-o', model]);
    expect(c.status, c.stderr).toBe(0);
    const clip = makeVideo(join(tmp.dir, 'names.mp4'), { width: 160, height: 120, fps: 5, seconds: 1 });
    const pipeline = join(tmp.dir, 'names.yaml');
    writeFileSync(pipeline, `model: ${model}\nsources:\n  - name: cam\n    url: ${clip}\n`);
    for (const args of [['batch', clip, '-o', join(tmp.dir, 'names-out')], ['run', clip, '--no-dashboard', '--duration', '1'], ['run', pipeline, '--no-dashboard', '--duration', '1']]) {
      const r = xnorcam([...args, ...(args[1] === pipeline ? [] : ['--model', model]), '--names', testModel.names]);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([`error: xnorcam ${args[0]}: --names only applies with --cfg/--weights (a .xnor model carries its names)`]);
      // A usage error, as in detect: exit 2, not 1 (a bad input).
      expect(r.status).toBe(2);
    }
  });
});
