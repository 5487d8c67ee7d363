/** A camera that comes back at another resolution (reconfigured, reset to its defaults): its lines are said to be misplaced. */
import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { FrameResult } from '../../src/core/types.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { imageA, testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

describe('a camera back at another size (real RTSP camera restarted, real pipeline)', () => {
  const cams: TestRtspServer[] = [];
  let pipeline: Pipeline;
  afterAll(async () => {
    await pipeline?.close();
    for (const c of cams) await c.stop();
  });

  it('warns that its lines are misplaced, and of a line now outside the picture, as a fresh start would', async () => {
    const cam = new TestRtspServer({ image: imageA, width: 320, height: 240, fps: 10 });
    cams.push(cam);
    await cam.start();
    const warned: string[] = [];
    pipeline = new Pipeline({
      model: testModel,
      mode: 'live',
      workers: 1,
      // 'count' near the bottom of the 320x240 picture, 'middle' in the top half: inside both pictures.
      sources: [{ url: cam.url, name: 'cam', mode: 'live', lines: [{ name: 'count', points: [[0, 200], [320, 200]] }, { name: 'middle', points: [[0, 60], [160, 60]] }] }],
      warn: (source, message) => warned.push(`${source}: ${message}`),
    });
    const sizes: string[] = [];
    pipeline.on('result', (r: FrameResult) => {
      const size = `${r.frame.width}x${r.frame.height}`;
      if (sizes.at(-1) !== size) sizes.push(size);
    });
    await pipeline.start();
    await until('frames of the 320x240 camera', () => sizes.includes('320x240'), 20_000);
    expect(warned).toEqual([]);

    // The camera restarted at half the size, on the same address.
    await cam.stop();
    const again = new TestRtspServer({ image: imageA, width: 160, height: 120, fps: 10, port: cam.port });
    cams.push(again);
    await again.start();
    await until('frames of the 160x120 camera', () => sizes.includes('160x120'), 30_000);
    expect(warned).toEqual([
      'cam: source size changed from 320x240 to 160x120: its lines are in source pixels of the 320x240 picture, so on this one they are misplaced even where inside it (counting the wrong places): set the camera back to 320x240, or redraw for 160x120',
      "cam: line 'count' has every point outside the 160x120 picture (source pixels)",
    ]);
  }, 90_000);
});
