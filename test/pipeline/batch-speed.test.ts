/** `xnorcam batch --calibration/--zone`: speeds and zone events from a recording, against a generated video's exact truth. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/videos.js';
import { readJsonl, xnorcam } from '../helpers/cli.js';

interface Truth {
  line: { points: [[number, number], [number, number]] };
  calibration: { image: [number, number][]; world: [number, number][] };
  crossings: { direction: string; className: string; speedKmh: number; ptsMs: number }[];
}

describe('xnorcam batch with a ground calibration and a zone', () => {
  let tmp: ReturnType<typeof tempDir>;
  let video: string;
  let truth: Truth;
  beforeAll(() => {
    tmp = tempDir();
    video = join(tmp.dir, 'traffic.mp4');
    // 640x360: a quarter of the default's pixels to synthesise and decode, the model's input as detailed (320 wide).
    const r = xnorcam(['synth', 'video', '--out', video, '--seconds', '10', '--seed', '3', '--size', '640x360']);
    expect(r.status, r.stderr).toBe(0);
    truth = JSON.parse(readFileSync(join(tmp.dir, 'traffic.truth.json'), 'utf8')) as Truth;
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('gives crossings speeds close to the true ones (median error under 6 %), and zone events, from the command line alone', () => {
    const line = `count:${truth.line.points.flat().join(',')}`;
    const calibration = truth.calibration.image.map((p, i) => `${p.join(',')}=${truth.calibration.world[i].join(',')}`).join(' ');
    const zone = `road:${truth.calibration.image.flat().join(',')}`;
    const out = join(tmp.dir, 'out');
    // the bundled model: speeds need real detections to track
    const r = xnorcam(['batch', video, '--line', line, '--calibration', calibration, '--zone', zone, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const events = readJsonl(join(out, 'traffic.detections.jsonl')).flatMap((f) => f.events as { type: string; direction?: string; className?: string; ptsMs: number; speedKmh?: number }[]);
    const crossings = events.filter((e) => e.type === 'line-crossing');
    const timed = crossings.filter((e) => e.speedKmh !== undefined);
    expect(truth.crossings.length).toBeGreaterThan(3);
    expect(timed.length).toBeGreaterThan(crossings.length / 3);
    const errors = timed.map((c) => {
      // the same vehicle's true crossing: same direction and class, within a quarter second (a crossing is dated
      // when the detected box's anchor went over the line, interpolated between frames: 17 of 17 here within 82 ms)
      const t = truth.crossings
        .filter((x) => x.direction === c.direction && x.className === c.className && Math.abs(x.ptsMs - c.ptsMs) <= 250)
        .sort((a, b) => Math.abs(a.ptsMs - c.ptsMs) - Math.abs(b.ptsMs - c.ptsMs))[0];
      expect(t, `a true ${c.direction} ${c.className} crossing before ${c.ptsMs} ms`).toBeDefined();
      const error = Math.abs(c.speedKmh! - t.speedKmh) / t.speedKmh;
      // a long bus's box moves its anchor as it turns towards the camera: the worst case measured is 21 %
      expect(error, `crossing at ${c.ptsMs} ms: ${c.speedKmh} km/h, truth ${t.speedKmh}`).toBeLessThan(0.25);
      return error;
    });
    errors.sort((a, b) => a - b);
    expect(errors[Math.floor(errors.length / 2)], `errors ${errors.map((e) => e.toFixed(3)).join(' ')}`).toBeLessThan(0.06);
    expect(events.some((e) => e.type === 'zone-enter')).toBe(true);
    expect(events.some((e) => e.type === 'zone-exit')).toBe(true);

    // The events file: the frames' events in order, then the vehicles still on the road when the video
    // ended, leaving with it: every stay that began has an end, so a dwell study sees every vehicle.
    const logged = readJsonl(join(out, 'traffic.events.jsonl')) as unknown as { type: string; trackId?: number; zone?: string; stillInside?: boolean; dwellMs?: number }[];
    // Traffic only, on the video's clock (the run's own source-up would be on the wall clock).
    expect(logged.filter((e) => e.type === 'source-up' || e.type === 'source-down')).toEqual([]);
    const atEnd = logged.filter((e) => e.stillInside);
    expect(logged.slice(0, logged.length - atEnd.length)).toEqual(events);
    expect(atEnd.length).toBeGreaterThan(0);
    for (const e of atEnd) expect(e.type).toBe('zone-exit');
    const stays = (type: string) => logged.filter((e) => e.type === type).map((e) => `${e.zone}#${e.trackId}`).sort();
    expect(stays('zone-exit')).toEqual(stays('zone-enter'));
  }, 120_000);

  it("says an input's warnings as batch lines (a line off the picture, a calibration in centimetres), as log records only when asked", () => {
    const cm = truth.calibration.image.map((p, i) => `${p.join(',')}=${truth.calibration.world[i].map((v) => Math.round(v * 100)).join(',')}`).join(' ');
    const args = ['batch', video, '--stride', '50', '--line', 'far:2000,10,2100,10', '--calibration', cm];
    const plain = xnorcam([...args, '-o', join(tmp.dir, 'warned')]);
    expect(plain.status, plain.stderr).toBe(0);
    const lines = plain.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines).toContain("batch: traffic: line 'far' has every point outside the 640x360 picture (source pixels)");
    const units = lines.filter((l) => l.startsWith('batch: traffic: calibration: its ground points are '));
    expect(units, plain.stderr).toHaveLength(1);
    expect(units[0]).toMatch(/ m apart, no road patch a camera calibrates: are its world points \(--calibration E,N; calibration.world in a pipeline file\) in metres\? /);
    const json = xnorcam([...args, '-o', join(tmp.dir, 'warned-json')], undefined, { XNORCAM_LOG_FORMAT: 'json' });
    expect(json.status, json.stderr).toBe(0);
    const records = json.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; source: string });
    expect(records.filter((r) => r.level === 'warn' && r.source === 'traffic').map((r) => r.msg.split(' ')[0])).toEqual(['line', 'calibration:']);
  }, 120_000);

  it('refuses a calibration or zone it could not use, in one line, before any work', () => {
    const cases: [string[], string][] = [
      [['--calibration', '1,2=3,4'], "error: --calibration '1,2=3,4': 1 point pair; expected four X,Y=E,N pairs (source pixels = ground metres), e.g. \"410,700=0,0 890,700=7,0 700,320=7,40 560,320=0,40\""],
      [['--calibration', '0,0=0,0 1,1=1,1 2,2=2,2 0,5=0,5'], "error: --calibration '0,0=0,0 1,1=1,1 2,2=2,2 0,5=0,5': image points 1, 2 and 3 are on one line"],
      // A ';' for a ',' is named as typed, not counted as a fifth pair.
      [['--calibration', '674.63;457.68=-8.913,12.427 1251.18,369.5=0.07,12.427 927.75,28.8=4.005,31.19 483.47,63.01=-8.913,31.19'], "error: --calibration '674.63;457.68=-8.913,12.427 1251.18,369.5=0.07,12.427 927.75,28.8=4.005,31.19 483.47,63.01=-8.913,31.19': '674.63;457.68=-8.913,12.427' is not X,Y=E,N; expected four X,Y=E,N pairs (source pixels = ground metres), e.g. \"410,700=0,0 890,700=7,0 700,320=7,40 560,320=0,40\""],
      // An image point far off the picture (2063 for 63) crosses the image outline: said so, not blamed on the world points' order.
      [['--calibration', '674.63,457.68=-8.913,12.427 1251.18,369.5=0.07,12.427 927.75,28.8=4.005,31.19 483.47,2063.01=-8.913,31.19'], "error: --calibration '674.63,457.68=-8.913,12.427 1251.18,369.5=0.07,12.427 927.75,28.8=4.005,31.19 483.47,2063.01=-8.913,31.19': image points, in the order given, outline a crossed shape (side 1–2, 674.63,457.68 to 1251.18,369.5, crosses side 3–4, 927.75,28.8 to 483.47,2063.01) where the world points do not: an image point is mistyped, off the picture or listed out of turn"],
      [['--zone', 'z:0,0,1,1,2,2'], "error: --zone 'z:0,0,1,1,2,2': the points enclose no area (all on one line)"],
      [['--zone', 'z:0,0,10,0,0,10,10,10'], "error: --zone 'z:0,0,10,0,0,10,10,10': its sides 2 and 4 cross: list the points in order around the zone"],
      [['--zone', 'z:0,0,1,1'], "error: --zone 'z:0,0,1,1': expected NAME:X1,Y1,X2,Y2,X3,Y3[,...] (three or more points, source pixels)"],
    ];
    for (const [args, message] of cases) {
      const r = xnorcam(['batch', video, ...args, '-o', join(tmp.dir, 'never')]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim()).toBe(message);
    }
  });
});
