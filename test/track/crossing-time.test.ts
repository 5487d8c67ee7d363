import { describe, expect, it } from 'vitest';
import { SourceAnalytics } from '../../src/track/analytics.js';
import type { TrafficEvent } from '../../src/core/types.js';
import { gauss, rng } from './synth.js';

/**
 * A car driving down the picture at 150 px/s with its box jittering as a detector's does; the counting line
 * at y = 300, so its anchor (bottom centre) goes over the line at exactly 4/3 s.
 */
type Crossing = Extract<TrafficEvent, { type: 'line-crossing' }>;

function crossings(fps: number, clock: 'media' | 'capture', seed: number): Crossing[] {
  const a = new SourceAnalytics({ source: 'cam', lines: [{ name: 'l', points: [[0, 300], [640, 300]] }], clock });
  const r = rng(seed);
  const events: TrafficEvent[] = [];
  for (let f = 0; f * 1000 / fps < 3000; f++) {
    const ptsMs = (f * 1000) / fps;
    const y = 100 + 0.15 * ptsMs + gauss(r);
    const box: [number, number, number, number] = [300, y - 80, 380, y];
    events.push(...a.update({ source: 'cam', seq: f, ptsMs, capturedAt: 1.7e12 + ptsMs, width: 640, height: 480 }, [{ classId: 0, className: 'car', score: 0.9, box }]).events);
  }
  return events.filter((e): e is Crossing => e.type === 'line-crossing');
}

describe('a line crossing is dated when the vehicle crossed', () => {
  for (const fps of [2, 5, 12.5, 25]) {
    it(`at ${fps} fps, not at the frame that made it certain`, () => {
      for (const seed of [1, 2, 3]) {
        const [e, ...more] = crossings(fps, 'media', seed);
        expect(more).toHaveLength(0);
        // The frames either side are 1000/fps apart; 1 px of jitter at 150 px/s is 7 ms.
        expect(Math.abs(e.ptsMs - 4000 / 3), `seed ${seed}`).toBeLessThan(25);
        expect(e.at).toBe(e.ptsMs);
      }
    });
  }

  it('on the wall clock too', () => {
    const [e] = crossings(5, 'capture', 1);
    expect(Math.abs(e.at - (1.7e12 + 4000 / 3))).toBeLessThan(25);
    expect(Number.isInteger(e.at)).toBe(true);
  });
});
