import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { JsonLinesOut } from '../../src/cli/json-lines-out.js';
import type { FrameResult, TrafficEvent } from '../../src/core/types.js';

/** A stream whose reader has stopped reading: writes queue up, as on a pipe to a stalled process. */
function stalled(): Writable & { chunks: string[]; resume(): void } {
  const chunks: string[] = [];
  let held: (() => void)[] = [];
  let flowing = false;
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      if (flowing) done();
      else held.push(done);
    },
  });
  return Object.assign(w, {
    chunks,
    resume() {
      flowing = true;
      for (const d of held) d();
      held = [];
    },
  });
}

const crossing: TrafficEvent = { type: 'line-crossing', source: 'cam', ptsMs: 0, at: 0, line: 'stop', direction: 'forward', trackId: 1, className: 'car' };
const result = (seq: number, events: TrafficEvent[] = []): FrameResult => ({
  frame: { source: 'cam', seq, ptsMs: seq * 40, capturedAt: seq, width: 640, height: 360 },
  detections: [],
  tracks: [],
  events,
  detectedAt: seq,
  detectMs: 1,
});

describe('run --json output', () => {
  it('writes every frame to a reader that keeps up', () => {
    const out = stalled();
    out.resume();
    const json = new JsonLinesOut(out, () => undefined, 1000);
    for (let i = 0; i < 100; i++) json.frame(result(i));
    expect(json.skipped).toBe(0);
    expect(out.chunks).toHaveLength(100);
  });

  it('skips frames without events for a reader that has stalled past the backlog, keeps every event, and says so', async () => {
    const out = stalled();
    const warnings: string[] = [];
    let now = 0;
    const json = new JsonLinesOut(out, (m) => warnings.push(m), 2000, () => now);
    for (let i = 0; i < 200; i++) {
      now += 100;
      json.frame(result(i, i % 50 === 49 ? [crossing] : []));
    }
    json.events({ source: 'cam', events: [crossing] });
    // Held in memory: the backlog, a frame over it and the five lines with events, not 200 frames' worth.
    expect(out.writableLength).toBeLessThan(2000 + 6 * 400);
    expect(json.skipped).toBeGreaterThan(150);
    // Told on stderr, at most every 10 s: 20 s of skipping, two or three lines.
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings.length).toBeLessThanOrEqual(3);
    expect(warnings[0]).toMatch(/^--json: the reader of stdout is behind by over 0 MB; 1 frame results without events skipped \(1 in all; frames with events are all written\)$/);

    // The reader catches up: it gets every line written, in order, and every frame is written again.
    out.resume();
    json.frame(result(200));
    await new Promise((r) => setImmediate(r));
    const written = out.chunks.map((c) => JSON.parse(c) as { frame?: { seq: number }; source?: string; events: TrafficEvent[] });
    expect(json.skipped).toBe(200 - (written.length - 2));
    // Every frame with a crossing, and the source's last events, reached the reader.
    expect(written.filter((w) => w.frame && w.events.length).map((w) => w.frame!.seq)).toEqual([49, 99, 149, 199]);
    expect(written.at(-2)).toEqual({ source: 'cam', events: [crossing] });
    expect(written.at(-1)!.frame!.seq).toBe(200);
    // What was skipped since the last warning is told when the run ends, so the counts add up.
    const told = warnings.length;
    json.finish();
    expect(warnings.length).toBe(told + 1);
    const sum = warnings.reduce((n, w) => n + Number(/; (\d+) frame results/.exec(w)![1]), 0);
    expect(sum).toBe(json.skipped);
    json.finish();
    expect(warnings.length).toBe(told + 1);
  });
});
