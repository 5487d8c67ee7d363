/** How far behind its camera a live stream is (CameraLag): backlogs found, clock drift and restarts not taken for one. */
import { describe, expect, it } from 'vitest';
import { CameraLag } from '../../src/ingest/source-runner.js';

describe('CameraLag', () => {
  it('finds a decoder slower than the camera: 95 % of its speed is over 5 s behind within two minutes', () => {
    const lag = new CameraLag();
    let behind = 0;
    // One frame a camera second, arriving 1/0.95 s apart.
    for (let s = 0; s <= 120; s++) behind = lag.observe(s * 1000, 1e6 + (s * 1000) / 0.95);
    expect(behind).toBeGreaterThan(5000);
  });

  it('does not take a camera clock 200 ppm slow for a backlog, over two days', () => {
    const lag = new CameraLag();
    let worst = 0;
    for (let s = 0; s <= 48 * 3600; s += 10) worst = Math.max(worst, lag.observe(s * 1000 * (1 - 200e-6), 1e6 + s * 1000));
    expect(worst).toBeLessThan(100);
  });

  it('a burst after a connect is not ahead, a jump forward sets a new reference, a clock that goes back starts afresh', () => {
    const lag = new CameraLag();
    // Three frames buffered by the camera arrive at once, then frames on time.
    expect([0, 40, 80].map((p) => lag.observe(p, 5000))).toEqual([0, 0, 0]);
    expect(lag.observe(120, 5040)).toBe(0);
    // The camera skips 10 s forward (frames it dropped): no lag.
    expect(lag.observe(10_120, 5080)).toBe(0);
    // 2 s late.
    expect(lag.observe(10_160, 7120)).toBeGreaterThan(1900);
    // Its clock restarts at 0: a new reference, not 10 s "behind".
    expect(lag.observe(0, 7160)).toBe(0);
  });
});
