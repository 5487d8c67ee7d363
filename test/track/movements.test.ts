/** Turning movements: the first line a track crossed and the last, told when the track ends. */
import { describe, expect, it } from 'vitest';
import { SourceAnalytics } from '../../src/track/analytics.js';
import type { Box, TrafficEvent } from '../../src/core/types.js';
import { renderScene, type ImageObject } from './synth.js';

/**
 * A crossroads seen from above in the 1280×720 picture: one line across each approach, 200 px out from the
 * centre (640, 360). A vehicle's anchor is its box's bottom centre.
 */
const lines: { name: string; points: [[number, number], [number, number]] }[] = [
  { name: 'north', points: [[520, 160], [760, 160]] },
  { name: 'south', points: [[520, 560], [760, 560]] },
  { name: 'west', points: [[440, 240], [440, 480]] },
  { name: 'east', points: [[840, 240], [840, 480]] },
];

/** A 60×40 box whose anchor runs along the polyline at `speed` px/s from `t0`, gone once at its end. */
function drive(points: [number, number][], speed: number, t0 = 0, classId = 0): ImageObject {
  const legs = points.slice(1).map((p, i) => Math.hypot(p[0] - points[i][0], p[1] - points[i][1]));
  return {
    classId,
    at: (t: number): Box | undefined => {
      let d = (t - t0) * speed;
      if (d < 0) return undefined;
      for (let i = 0; i < legs.length; i++) {
        if (d <= legs[i]) {
          const a = d / legs[i];
          const x = points[i][0] + a * (points[i + 1][0] - points[i][0]);
          const y = points[i][1] + a * (points[i + 1][1] - points[i][1]);
          return [x - 30, y - 40, x + 30, y];
        }
        d -= legs[i];
      }
      return undefined;
    },
  };
}

/**
 * The corner of a polyline rounded off to a curve of radius r, as a vehicle turns (a square corner at speed is a
 * jump the tracker's motion model cannot follow, and no driver makes one).
 */
function rounded(points: [number, number][], r = 80): [number, number][] {
  const out: [number, number][] = [points[0]];
  for (let i = 1; i < points.length - 1; i++) {
    const [a, c, b] = [points[i - 1], points[i], points[i + 1]];
    const towards = (p: [number, number]): [number, number] => {
      const d = Math.hypot(p[0] - c[0], p[1] - c[1]);
      const k = Math.min(r, d / 2) / d;
      return [c[0] + (p[0] - c[0]) * k, c[1] + (p[1] - c[1]) * k];
    };
    const [p, q] = [towards(a), towards(b)];
    // A quadratic Bézier through the corner: close enough to an arc for a box's path.
    for (let k = 0; k <= 8; k++) {
      const t = k / 8;
      out.push([(1 - t) ** 2 * p[0] + 2 * t * (1 - t) * c[0] + t * t * q[0], (1 - t) ** 2 * p[1] + 2 * t * (1 - t) * c[1] + t * t * q[1]]);
    }
  }
  out.push(points[points.length - 1]);
  return out;
}

/** Frame by frame, as the pipeline does: each frame's events, then the ones the input's end brings. */
function analyse(objects: ImageObject[], seconds: number, fps = 10) {
  const a = new SourceAnalytics({ source: 'x', lines, movements: true, clock: 'media' });
  const frames: { ptsMs: number; events: TrafficEvent[] }[] = [];
  for (const f of renderScene(objects, { fps, seconds, noise: 1, seed: 4 })) frames.push({ ptsMs: f.frame.ptsMs, events: a.update(f.frame, f.detections).events });
  const atEnd = a.finish();
  const all = [...frames.flatMap((f) => f.events), ...atEnd];
  const movements = all.filter((e): e is TrafficEvent & { type: 'movement' } => e.type === 'movement');
  const crossings = all.filter((e): e is TrafficEvent & { type: 'line-crossing' } => e.type === 'line-crossing');
  return { frames, atEnd, movements, crossings };
}

describe('turning movements', () => {
  it('tells each vehicle that came in by one line and left by another, when its track ends, dated at its last crossing', () => {
    const { frames, atEnd, movements, crossings } = analyse(
      [
        drive([[640, 700], [640, 20]], 200), // straight on, south → north
        drive(rounded([[600, 700], [600, 360], [1200, 360]]), 150, 1, 1), // a truck turning right, south → east
        drive(rounded([[1200, 330], [680, 330], [680, 20]]), 150, 2), // east → north
      ],
      11,
    );
    expect(movements.map((m) => `${m.from}>${m.to}:${m.className}`).sort()).toEqual(['east>north:car', 'south>east:truck', 'south>north:car']);
    for (const m of movements) {
      // Its last crossing: the line it left by, its time (interpolated) and its clocks.
      const last = crossings.filter((c) => c.trackId === m.trackId).sort((p, q) => p.ptsMs - q.ptsMs).at(-1)!;
      expect(last.line).toBe(m.to);
      expect(m.ptsMs).toBe(last.ptsMs);
      expect(m.at).toBe(last.at);
      expect(m.source).toBe('x');
      // Told in a frame after the vehicle has gone (the track is dropped once it stays lost), not at the end.
      const told = frames.find((f) => f.events.includes(m));
      expect(told, `${m.from}>${m.to} told with a frame`).toBeDefined();
      expect(told!.ptsMs).toBeGreaterThan(m.ptsMs);
    }
    expect(atEnd).toEqual([]);
  });

  it('tells a vehicle still in view when the input ends, and none for one line crossed or one crossed back over', () => {
    const { atEnd, movements } = analyse(
      [
        // west → east, still driving off to the right when the input ends
        drive([[100, 380], [1270, 380]], 150),
        // a U-turn: in over the south line, back out over it
        drive(rounded([[560, 700], [560, 400], [700, 400], [700, 700]], 60), 150),
        // in over the west line, parked in the middle
        drive([[100, 420], [620, 420], [620, 421]], 200),
      ],
      7,
    );
    expect(movements).toHaveLength(1);
    expect(atEnd).toEqual(movements);
    expect(movements[0]).toMatchObject({ type: 'movement', from: 'west', to: 'east', className: 'car' });
  });

  it('counts from the first line to the last however many lines lie between', () => {
    // Through the middle from the west approach to the north one, over the south line and back on the way.
    const { movements } = analyse([drive(rounded([[100, 400], [600, 400], [600, 620], [700, 620], [700, 20]], 50), 150)], 12);
    expect(movements.map((m) => `${m.from}>${m.to}`)).toEqual(['west>north']);
  });

  it('is off unless asked for, and refuses fewer than two lines', () => {
    const a = new SourceAnalytics({ source: 'x', lines });
    const events: TrafficEvent[] = [];
    for (const f of renderScene([drive([[640, 700], [640, 20]], 200)], { fps: 10, seconds: 6, noise: 1, seed: 4 })) events.push(...a.update(f.frame, f.detections).events);
    events.push(...a.finish());
    expect(events.filter((e) => e.type === 'line-crossing')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'movement')).toEqual([]);
    expect(() => new SourceAnalytics({ source: 'cam', lines: lines.slice(0, 1), movements: true })).toThrow('cam: movements need at least two lines (one across each approach), got 1');
  });

  it('keeps a movement\'s way round when the stream\'s timestamps restart between its two crossings', () => {
    // A camera whose timestamps reset (a restarted encoder) while a car drives south → north: south crossed at
    // 0.7 s, north at 2.7 s, the clock going from 100 s back to 0 at 1.5 s.
    const a = new SourceAnalytics({ source: 'x', lines, movements: true, clock: 'media' });
    const events: TrafficEvent[] = [];
    for (const f of renderScene([drive([[640, 700], [640, 20]], 200)], { fps: 10, seconds: 5, noise: 1, seed: 4 })) {
      const t = f.frame.ptsMs;
      events.push(...a.update({ ...f.frame, ptsMs: t < 1500 ? 100_000 + t : t - 1500 }, f.detections).events);
    }
    events.push(...a.finish());
    const moved = events.filter((e) => e.type === 'movement');
    expect(moved).toMatchObject([{ from: 'south', to: 'north' }]);
    // Dated by the north crossing, on the clock the stream had then.
    expect(Math.abs(moved[0].ptsMs - 1200)).toBeLessThan(100);
  });

  it('tells no movement for a pedestrian crossing two approaches, nor for two lines drawn over each other', () => {
    // A person walking south → north across the junction (class 5: person), beside a car doing the same.
    const { movements } = analyse([drive([[600, 700], [600, 20]], 120, 0, 5), drive([[680, 700], [680, 20]], 200)], 8);
    expect(movements.map((m) => [m.from, m.to, m.className])).toEqual([['south', 'north', 'car']]);
    // 'south' pasted twice under another name: a car going south → (out of view before north) crossed one place.
    const doubled = new SourceAnalytics({ source: 'x', lines: [...lines, { name: 'south-again', points: lines[1].points }], movements: true, clock: 'media' });
    const events: TrafficEvent[] = [];
    for (const f of renderScene([drive([[640, 700], [640, 300]], 200)], { fps: 10, seconds: 4, noise: 1, seed: 4 })) events.push(...doubled.update(f.frame, f.detections).events);
    events.push(...doubled.finish());
    expect(events.filter((e) => e.type === 'line-crossing').map((e) => (e as { line: string }).line).sort()).toEqual(['south', 'south-again']);
    expect(events.filter((e) => e.type === 'movement')).toEqual([]);
  });
});
