import { describe, expect, it } from 'vitest';
import { IntervalCoverage, MAX_COVERED_GAP_MS } from '../../src/core/interval-coverage.js';

/** Covered seconds by interval start (s), of frames at `frames` ([t ms, seq]), an input then ended. */
function coverage(intervalMs: number, frames: ([number, number] | [number, number, boolean])[]): Record<number, number> {
  const out: Record<number, number> = {};
  const c = new IntervalCoverage(intervalMs, (start, ms) => (out[start / 1000] = Math.round((out[start / 1000] ?? 0) + ms)));
  for (const [t, seq, counted] of frames) c.frame(t, seq, counted);
  c.end();
  for (const k of Object.keys(out)) out[Number(k)] /= 1000;
  return out;
}

describe('IntervalCoverage', () => {
  it('a camera down from 01:31:07 to 01:32:54: its two minutes say how much of them had video', () => {
    const frames: [number, number][] = [];
    // 10 fps from 01:30:00 (t = 0) to 01:31:07, then from 01:32:54 to 01:34:00 (a reconnected stream numbers its frames anew).
    for (let t = 0; t < 67_000; t += 100) frames.push([t, frames.length]);
    for (let t = 174_000, seq = 0; t < 240_000; t += 100) frames.push([t, seq++]);
    expect(coverage(60_000, frames)).toEqual({ 0: 60, 60: 7, 120: 6, 180: 60 });
  });

  it('covers a gap up to 2 s, and frames a stride skipped on purpose, but not consecutive frames further apart', () => {
    expect(MAX_COVERED_GAP_MS).toBe(2000);
    const tenFps = (to: number): [number, number][] => Array.from({ length: to / 100 + 1 }, (_, i) => [i * 100, i]);
    // 0-1 s at 10 fps, then a frame 2 s on (covered) or 2.5 s on (not: the frame before it stands for 0.1 s).
    expect(coverage(60_000, [...tenFps(1000), [3000, 11]])).toEqual({ 0: 3.1 });
    expect(coverage(60_000, [...tenFps(1000), [3500, 11]])).toEqual({ 0: 1.2 });
    // Every 30th frame of 10 fps: 3 s apart, video throughout (the last frame a decoded frame's 0.1 s).
    expect(coverage(60_000, [[0, 0], [3000, 30], [6000, 60], [9000, 90]])).toEqual({ 0: 9.1 });
    // A gap over an interval's end is split between the two.
    expect(coverage(10_000, [[9000, 0], [10_500, 1]])).toEqual({ 0: 1, 10: 2 });
  });

  it('a burst of frames at a camera start does not turn a busy detector\'s later stride into an outage', () => {
    // 25 fps: 5 frames arrive 2 ms apart (ffmpeg's backlog), then the detector keeps every 75th frame (3 s apart) for a minute.
    const frames: [number, number][] = [[0, 0], [2, 1], [4, 2], [6, 3], [8, 4]];
    for (let k = 1; k <= 20; k++) frames.push([8 + k * 3000, 4 + k * 75]);
    // (it read 0.048 of the minute: the burst set the frame period to 2 ms, and every 3 s gap then looked too long)
    expect(coverage(120_000, frames)[0]).toBeGreaterThan(60);
  });

  it('a frame the detector failed on covers nothing, nor the time to the next frame', () => {
    // 25 fps for 12 s; frames 25-274 (1-11 s) failed.
    const frames: [number, number, boolean][] = Array.from({ length: 300 }, (_, i) => [i * 40, i, i < 25 || i >= 275]);
    expect(coverage(60_000, frames)).toEqual({ 0: 2 }); // 25 frames counted at each end: 1 s each
  });
});
