import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { defaultWorkers } from '../../src/pipeline/worker-pool.js';
import { availableParallelism } from 'node:os';
import { loadDetector } from '../../src/detect/detector.js';
import type { Detection, FrameResult } from '../../src/core/types.js';
import type { DisplayFrame } from '../../src/core/feed.js';
import { tempDir } from '../helpers/videos.js';
import { imageA, testModel } from '../helpers/model.js';
import { defaultModelPath } from '../../src/detect/default-model.js';

/** Every frame of a file as the model sees it (160×160 rgb24), decoded by ffmpeg here in the test. */
function rawFrames(path: string): Buffer[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-vf', 'scale=160:160:flags=bilinear,format=rgb24', '-fps_mode', 'passthrough', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 30 });
  const frame = 160 * 160 * 3;
  return Array.from({ length: r.stdout.length / frame }, (_, i) => r.stdout.subarray(i * frame, (i + 1) * frame));
}

const collect = (p: Pipeline) => {
  const results: FrameResult[] = [];
  p.on('result', (r: FrameResult) => results.push(r));
  return results;
};

describe('pipeline with the real XNOR detector', () => {
  let tmp: ReturnType<typeof tempDir>;
  let lossless: string;
  beforeAll(() => {
    tmp = tempDir();
    // Lossless (PNG-in-MKV) frames that all differ: exact pixels reach the model, so results are checkable.
    lossless = join(tmp.dir, 'lossless.mkv');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', imageA, '-f', 'lavfi', '-i', 'mandelbrot=size=160x160:rate=25',
      '-filter_complex', '[1:v]format=rgb24[m];[0:v][m]blend=all_mode=average:shortest=1,format=rgb24', '-t', '4', '-c:v', 'png', lossless]);
    expect(r.status).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('batch: every frame detected once, in order, exactly as the detector sees the decoded pixels', async () => {
    const frames = rawFrames(lossless);
    expect(frames.length).toBe(100);
    const det = await loadDetector(testModel);
    const expected: Detection[][] = frames.map((f) => det.detectRgb(f, 160, 160, { thresh: 0.2 }));
    const p = new Pipeline({ model: testModel, sources: [{ url: lossless }], mode: 'batch', workers: 2, detect: { thresh: 0.2 }, batchQueue: 2 });
    const results = collect(p);
    await p.start();
    await p.finished;
    await p.close();
    expect(results.map((r) => r.frame.seq)).toEqual(frames.map((_, i) => i));
    expect(results.map((r) => r.frame.ptsMs)).toEqual(frames.map((_, i) => i * 40));
    expect(results.map((r) => r.detections)).toEqual(expected);
    expect(expected.flat().length).toBeGreaterThan(100); // the comparison is not between empty lists
    const st = p.sources()[0];
    expect(st.state).toBe('finished');
    expect(st.droppedFrames).toBe(0);
  });

  it('batch with threads splitting each frame: the same detections, and workers default to cores / threadsPerFrame', async () => {
    const frames = rawFrames(lossless).slice(0, 30);
    const det = await loadDetector(testModel, { backend: 'wasm' });
    const expected: Detection[][] = frames.map((f) => det.detectRgb(f, 160, 160, { thresh: 0.2 }));
    const p = new Pipeline({
      model: testModel, sources: [{ url: lossless }], mode: 'batch', backend: 'wasm', threadsPerFrame: 2, detect: { thresh: 0.2 }, batchQueue: 2,
    });
    const results = collect(p);
    await p.start();
    const info = p.detectorInfo!;
    expect(info.threadsPerFrame).toBe(2);
    expect(info.workers).toBe(defaultWorkers(2));
    expect(info.workers).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
    await p.finished;
    await p.close();
    expect(results.slice(0, 30).map((r) => r.detections)).toEqual(expected);
    expect(expected.flat().length).toBeGreaterThan(30);
  });

  it('batch --stride keeps every Nth frame, in order', async () => {
    const p = new Pipeline({ model: testModel, sources: [{ url: lossless }], mode: 'batch', workers: 2, stride: 7 });
    const results = collect(p);
    await p.start();
    await p.finished;
    await p.close();
    expect(results.map((r) => r.frame.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i * 7));
  });

  it('batch: several inputs at once, each complete and in order', async () => {
    const p = new Pipeline({ model: testModel, sources: [{ url: lossless, name: 'a' }, { url: lossless, name: 'b' }, { url: 'lavfi:testsrc2=size=320x240:rate=30:duration=2', name: 'c' }], mode: 'batch', workers: 2 });
    const results = collect(p);
    await p.start();
    await p.finished;
    await p.close();
    for (const [name, n] of [['a', 100], ['b', 100], ['c', 60]] as const) {
      expect(results.filter((r) => r.frame.source === name).map((r) => r.frame.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    // Interleaved, not one after the other: the sources shared the threads.
    const firstC = results.findIndex((r) => r.frame.source === 'c');
    const lastA = results.map((r) => r.frame.source).lastIndexOf('a');
    expect(firstC).toBeLessThan(lastA);
    expect(results.find((r) => r.frame.source === 'c')!.frame.width).toBe(320);
  });

  it('batch: input after input reuses the frame memory of ended ones (it grew by every input\'s slots)', async () => {
    // The bundled model's 640×384 frames: each source's slots are a few MB, which threads used to hold
    // until their own garbage collection, seldom, so memory grew with the number of inputs. Counted as
    // the slot sets the inputs ran on (memory figures would depend on when the collector runs).
    const p = new Pipeline({ model: defaultModelPath(), sources: [], mode: 'batch', workers: 1 });
    await p.start();
    const sets = new Set<unknown>();
    try {
      for (let i = 0; i < 12; i++) {
        const ended = new Promise((r) => p.once('source-end', r));
        const name = await p.addSource({ url: 'lavfi:testsrc2=size=64x64:rate=10:duration=0.2', mode: 'batch' });
        sets.add((p as unknown as { byName: Map<string, { slots: unknown }> }).byName.get(name)!.slots);
        await ended;
      }
      expect(sets.size).toBe(1);
    } finally {
      await p.close();
    }
  }, 60_000);

  it('live: a source faster than the detector drops old frames, counts them and keeps latency bounded', async () => {
    // Decoding as fast as ffmpeg can (no -re) outruns one detector thread, like a camera outrunning a slow CPU.
    const p = new Pipeline({ model: testModel, sources: [{ url: lossless, loop: false }], mode: 'live', workers: 1, realtime: false });
    const results = collect(p);
    await p.start();
    await p.finished;
    const st = p.sources()[0];
    await p.close();
    expect(st.droppedFrames).toBeGreaterThan(0);
    expect(results.length + st.droppedFrames).toBe(100);
    const seqs = results.map((r) => r.frame.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const lat = results.map((r) => r.detectedAt - r.frame.capturedAt).sort((a, b) => a - b);
    // Latest-frame-wins: a frame waits at most for one detection in progress, never behind a queue.
    expect(lat[Math.floor(lat.length * 0.95)]).toBeLessThan(250);
  });

  it('live: a file played live runs at its native rate', async () => {
    const p = new Pipeline({ model: testModel, sources: [{ url: lossless }], mode: 'live', workers: 1 });
    const results = collect(p);
    const t0 = Date.now();
    await p.start();
    await p.finished;
    const st = p.sources()[0];
    await p.close();
    const wall = Date.now() - t0;
    expect(wall).toBeGreaterThan(3500); // 4 s of video, not decoded as fast as possible
    // Every frame read, each detected or dropped for a newer one: how many are dropped is the machine's speed
    // (a loaded one detected 88 of the 100 in time), not the pacing's.
    expect(results.length).toBeGreaterThan(0);
    expect(results.length + st.droppedFrames).toBe(100);
  });

  /** A file played live with 320-wide display frames: its results and display frames. */
  async function playedWithDisplay(url: string): Promise<{ results: FrameResult[]; displays: DisplayFrame[] }> {
    const p = new Pipeline({ model: testModel, sources: [{ url }], mode: 'live', workers: 1, display: { width: 320 } });
    const results = collect(p);
    const displays: DisplayFrame[] = [];
    p.on('display', (d: DisplayFrame) => displays.push(d));
    await p.start();
    await p.finished;
    await p.close();
    return { results, displays };
  }
  /** A JPEG's [width, height], from its SOF0 marker. */
  const jpegSize = (jpeg: Buffer) => {
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    return [jpeg.readUInt16BE(sof + 7), jpeg.readUInt16BE(sof + 5)];
  };

  it('live: emits MJPEG display frames at the display size, paired with results by (source, seq)', async () => {
    const { results, displays } = await playedWithDisplay(lossless);
    expect(displays.length).toBeGreaterThan(90);
    expect(displays.map((d) => d.seq)).toEqual(displays.map((_, i) => i));
    for (const d of displays.slice(0, 5)) {
      expect([d.jpeg[0], d.jpeg[1], d.jpeg.at(-2), d.jpeg.at(-1)]).toEqual([0xff, 0xd8, 0xff, 0xd9]);
      expect(d.width).toBe(160);
    }
    const bySeq = new Map(displays.map((d) => [d.seq, d]));
    for (const r of results) expect(bySeq.get(r.frame.seq)?.ptsMs).toBe(r.frame.ptsMs);
    // The JPEG really is display-sized (320 wide here, the source is 160).
    expect(jpegSize(displays[0].jpeg)[0]).toBe(320);
  });

  it('live: shows a camera with non-square pixels at its true shape (960×720 at SAR 4:3 is 16:9 on screen)', async () => {
    const wide = join(tmp.dir, 'anamorphic.mkv');
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=960x720:rate=10', '-t', '1', '-vf', 'setsar=4/3', '-c:v', 'ffv1', wide], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { displays } = await playedWithDisplay(wide);
    expect(displays.length).toBeGreaterThan(3);
    // Boxes stay in the stored pixels (960×720); the picture is square-pixelled: 320×180, not 320×240.
    expect([displays[0].width, displays[0].height]).toEqual([960, 720]);
    expect(jpegSize(displays[0].jpeg)).toEqual([320, 180]);
  });

  it('rejects a missing file with one clear line before starting threads', () => {
    expect(() => new Pipeline({ model: testModel, sources: [{ url: join(tmp.dir, 'nope.mp4') }] })).toThrow(/nope\.mp4: no such file/);
  });
});
