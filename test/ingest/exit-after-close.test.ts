/**
 * ffmpeg's exit seen after its output closed, as on a loaded machine (fluent-ffmpeg then reports 'Output
 * stream closed' and kills it): a file that is no video must still fail with ffmpeg's reason.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameSlots } from '../../src/ingest/frame-slots.js';
import { SourceRunner } from '../../src/ingest/source-runner.js';
import { parseSource } from '../../src/ingest/source-spec.js';
import type { FfmpegRunEnd } from '../../src/ingest/ffmpeg-run.js';
import { makeVideo, tempDir } from '../helpers/videos.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

// The system ffmpeg, whose exit comes half a second after it closed its output. Read once per process: set
// before this file's first ffmpeg.
const slowExit = join(tmp.dir, 'ffmpeg-slow-exit');
writeFileSync(slowExit, '#!/bin/sh\nffmpeg "$@"\nrc=$?\nexec 1>&-\nsleep 0.5\nexit $rc\n');
chmodSync(slowExit, 0o755);
process.env.FFMPEG_PATH = slowExit;

function ingest(url: string): Promise<{ frames: number; end: FfmpegRunEnd }> {
  const slots = new FrameSlots(32 * 32 * 3, 3);
  const runner = new SourceRunner({ spec: parseSource(url), width: 32, height: 32, slots, reconnect: false, realtime: false, loop: false });
  let frames = 0;
  return new Promise((done) => {
    runner.on('frame', (slot: number) => {
      frames++;
      slots.release(slot);
    });
    runner.on('end', (end: FfmpegRunEnd) => done({ frames, end }));
    runner.start();
  });
}

describe('ffmpeg whose exit is seen after its output closed', () => {
  it('a file that is not a video fails with ffmpeg\'s reason, not as an empty recording', async () => {
    const junk = join(tmp.dir, 'junk.mp4');
    copyFileSync(fileURLToPath(import.meta.url), junk);
    const { frames, end } = await ingest(junk);
    expect(frames).toBe(0);
    expect(end.error).toMatch(/invalid data|moov/i);
  });

  it('a whole video still ends without an error, every frame delivered', async () => {
    const video = makeVideo(join(tmp.dir, 'whole.mp4'), { fps: 10, seconds: 1 });
    const { frames, end } = await ingest(video);
    expect(end).toEqual({ frames: 10, stopped: false });
    expect(frames).toBe(10);
  });
});
