import { describe, expect, it } from 'vitest';
import { FramePairer } from '../../src/server/frame-pairer.js';
import type { DisplayFrame } from '../../src/core/feed.js';
import type { FrameResult } from '../../src/core/types.js';

/** Display JPEGs meet the detection result of the same (source, seq), in every arrival order. */
function harness() {
  let now = 1000;
  const out: { seq: number; withResult: boolean; source: string }[] = [];
  const p = new FramePairer({ emit: (d, r) => out.push({ seq: d.seq, withResult: r !== null && r.frame.seq === d.seq, source: d.source }), now: () => now });
  const display = (seq: number, capturedAt = 10_000 + seq, source = 'a'): DisplayFrame => ({ source, seq, ptsMs: seq * 40, capturedAt, width: 4, height: 4, jpeg: Buffer.from([seq]) });
  const result = (seq: number, capturedAt = 10_000 + seq, source = 'a'): FrameResult => ({
    frame: { source, seq, ptsMs: seq * 40, capturedAt, width: 8, height: 8 }, detections: [], tracks: [], events: [], detectedAt: now, detectMs: 1,
  });
  return { p, out, display, result, advance: (ms: number) => (now += ms) };
}

describe('FramePairer', () => {
  it('sends pictures at once, bare, until the detector has answered at all', () => {
    const h = harness();
    h.p.addDisplay(h.display(0));
    h.p.addDisplay(h.display(1));
    expect(h.out).toEqual([{ seq: 0, withResult: false, source: 'a' }, { seq: 1, withResult: false, source: 'a' }]);
  });

  it('then holds each picture for its own result, and drops pictures the detector skipped', () => {
    const h = harness();
    h.p.addResult(h.result(0)); // detector is running
    for (const s of [1, 2, 3, 4]) h.p.addDisplay(h.display(s));
    expect(h.out).toEqual([]);
    h.p.addResult(h.result(2)); // live mode skipped 1
    h.p.addResult(h.result(4)); // and 3
    expect(h.out).toEqual([{ seq: 2, withResult: true, source: 'a' }, { seq: 4, withResult: true, source: 'a' }]);
  });

  it('pairs a result that comes before its picture', () => {
    const h = harness();
    h.p.addResult(h.result(0));
    h.p.addResult(h.result(1));
    h.p.addDisplay(h.display(1));
    h.p.addDisplay(h.display(0)); // late and older than what was sent: never shown out of order
    expect(h.out).toEqual([{ seq: 1, withResult: true, source: 'a' }]);
  });

  it('goes back to bare pictures when results stop for 3 s', () => {
    const h = harness();
    h.p.addResult(h.result(0));
    h.p.addDisplay(h.display(1));
    expect(h.out).toEqual([]);
    h.advance(3500);
    h.p.addDisplay(h.display(2));
    expect(h.out).toEqual([{ seq: 2, withResult: false, source: 'a' }]);
  });

  it('starts over when a source restarts (seq back to 0 with a newer capture time)', () => {
    const h = harness();
    h.p.addResult(h.result(50));
    h.p.addDisplay(h.display(50));
    h.p.addDisplay(h.display(0, 99_000));
    h.p.addResult(h.result(0, 99_000));
    expect(h.out.map((o) => o.seq)).toEqual([50, 0]);
    expect(h.out[1].withResult).toBe(true);
  });

  it('keeps sources apart and bounds what it holds', () => {
    const h = harness();
    h.p.addResult(h.result(0, 1, 'a'));
    h.p.addResult(h.result(0, 1, 'b'));
    for (let s = 1; s <= 500; s++) h.p.addDisplay(h.display(s, 10_000 + s, 'a'));
    h.p.addDisplay(h.display(7, 10_007, 'b'));
    h.p.addResult(h.result(7, 10_007, 'b'));
    h.p.addResult(h.result(5, 10_005, 'a')); // evicted long ago: nothing to pair with
    h.p.addResult(h.result(499, 10_499, 'a'));
    expect(h.out).toEqual([{ seq: 7, withResult: true, source: 'b' }, { seq: 499, withResult: true, source: 'a' }]);
  });
});
