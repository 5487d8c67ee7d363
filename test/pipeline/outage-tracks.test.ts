import { afterAll, describe, expect, it } from 'vitest';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import type { SourceEvents } from '../../src/core/feed.js';
import type { FrameResult, TrafficEvent } from '../../src/core/types.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { imageA, testModel } from '../helpers/model.js';
import { until } from '../helpers/wait.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a camera down (real RTSP server on 127.0.0.1)', () => {
  const cam = new TestRtspServer({ image: imageA, width: 160, height: 160, fps: 10 });
  let p: Pipeline | undefined;
  afterAll(async () => {
    await p?.close();
    await cam.stop();
  });

  it('empties its zones while it is down and starts new tracks when it is back, its clock moved on by the outage', async () => {
    await cam.start();
    p = new Pipeline({
      model: testModel,
      mode: 'live',
      workers: 1,
      sources: [{ url: cam.url, name: 'cam', zones: [{ name: 'all', polygon: [[0, 0], [160, 0], [160, 160], [0, 160]] }] }],
    });
    const results: FrameResult[] = [];
    const told: TrafficEvent[] = [];
    p.on('result', (r: FrameResult) => results.push(r));
    p.on('events', (e: SourceEvents) => told.push(...e.events));
    await p.start();
    const inZone = () => Object.values(p!.counts('cam')?.occupancy?.all ?? {}).reduce((a, b) => a + b, 0);
    await until('vehicles in the zone', () => inZone() > 0, 20_000);
    const idsBefore = new Set(results.flatMap((r) => r.tracks.filter((t) => t.confirmed).map((t) => t.id)));

    await cam.stop();
    await until('the source-down', () => told.some((e) => e.type === 'source-down'), 20_000);
    // Nobody can see the zone: it reads empty, and every stay in it ended with the camera, at its last sighting.
    expect(inZone()).toBe(0);
    const down = told.findIndex((e) => e.type === 'source-down');
    const exits = told.slice(down + 1).filter((e) => e.type === 'zone-exit');
    expect(exits.length).toBeGreaterThan(0);
    expect(exits.every((e) => e.type === 'zone-exit' && e.stillInside === true)).toBe(true);
    const lastBefore = results.at(-1)!.frame.ptsMs;
    await sleep(3000);

    await cam.start();
    const n = results.length;
    await until('vehicles in the zone again', () => inZone() > 0, 20_000);
    const after = results.slice(n);
    // New tracks: none of the ids from before the outage is carried over it.
    const idsAfter = new Set(after.flatMap((r) => r.tracks.map((t) => t.id)));
    expect([...idsAfter].filter((id) => idsBefore.has(id))).toEqual([]);
    // Its own time moved on by the outage (3 s and more here), not by one frame.
    expect(after[0].frame.ptsMs - lastBefore).toBeGreaterThan(2500);
  }, 90_000);
});
