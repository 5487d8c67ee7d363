/** The live counts CSV through a step back of the wall clock (NTP, a hand-set clock), on a fake clock in-process. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { SourceAnalytics } from '../../src/track/analytics.js';
import { pipelineSchema } from '../../src/config/schema.js';
import { configureLog } from '../../src/core/log.js';
import type { PipelineFeed } from '../../src/core/feed.js';
import type { Detection, FrameResult, TrafficEvent } from '../../src/core/types.js';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** The warnings logged until the test ends (as JSON lines; nothing reaches the terminal). */
function warnings(): string[] {
  configureLog({ json: true });
  const lines: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const rec = JSON.parse(String(chunk)) as { level: string; msg: string };
    if (rec.level === 'warn') lines.push(rec.msg);
    return true;
  });
  return lines;
}

/** A car every 3 s, driving down the picture over the line at y = 200 in 2 s: its boxes at `t` s. */
function cars(t: number): Detection[] {
  const k = Math.floor(t / 3);
  const s = t - 3 * k;
  if (s >= 2) return [];
  const y = 100 + 100 * s;
  return [{ classId: 2, className: 'car', score: 0.9, box: [280, y - 60, 360, y] }];
}

/**
 * A camera at 10 fps counted into 10 s intervals by a real SourceAnalytics, frames dated by the wall clock
 * as they arrive; at 40 s the clock is stepped back 120 s. The outputs write every 5 s, and stop at `stopAt`.
 */
async function runThroughStepBack(stopAt: number) {
  const dir = mkdtempSync(join(tmpdir(), 'xnorcam-clock-'));
  const cfg = pipelineSchema.parse({ sources: [{ name: 'cam', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir, events: true, counts: true } } });
  const lines: { name: string; points: [[number, number], [number, number]] }[] = [{ name: 'in', points: [[0, 200], [640, 200]] }, { name: 'out', points: [[0, 260], [640, 260]] }];
  const analytics = new SourceAnalytics({ source: 'cam', lines, countIntervalMs: 10_000, movements: true });
  const feed = Object.assign(new EventEmitter(), {
    sources: () => [{ name: 'cam' }],
    overlay: () => ({ lines: [], zones: [] }),
    counts: () => ({ ...analytics.counts(), classes: ['car'] }),
  }) as unknown as PipelineFeed & EventEmitter;
  const warned = warnings();
  // The monotonic clock too: it goes on through the step, as the machine's does.
  vi.useFakeTimers({ toFake: ['Date', 'performance'] });
  vi.setSystemTime(Date.UTC(2026, 10, 29, 1, 38, 0));
  const outputs = new PipelineOutputs(feed, cfg);
  for (let i = 1; i <= stopAt * 10; i++) {
    vi.advanceTimersByTime(100);
    if (i === 400) vi.setSystemTime(Date.now() - 120_000);
    const frame = { source: 'cam', seq: i, ptsMs: i * 100, capturedAt: Date.now(), width: 640, height: 360 };
    const detections = cars(i / 10);
    const { tracks, events } = analytics.update(frame, detections);
    feed.emit('result', { frame, detections, tracks, events, detectedAt: Date.now(), detectMs: 1 } satisfies FrameResult);
    // What the 5-second timer runs.
    if (i % 50 === 0) (outputs as unknown as { flushCounts(final: boolean): void }).flushCounts(false);
  }
  await outputs.close();
  const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrafficEvent);
  const crossings = events.filter((e) => e.type === 'line-crossing' && e.line === 'in');
  const rows = (kind: string) => readFileSync(join(dir, `cam.${kind}.csv`), 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
  const byStart = new Map<number, number>();
  for (const r of rows('counts')) if (r[2] === 'in') byStart.set(Number(r[1]), (byStart.get(Number(r[1])) ?? 0) + Number(r[5]));
  const sum = (ns: Iterable<number>) => [...ns].reduce((a, b) => a + b, 0);
  return {
    crossings,
    starts: [...byStart.keys()],
    byStart,
    counted: sum(byStart.values()),
    movements: events.filter((e) => e.type === 'movement').length,
    moved: sum(rows('movements').map((r) => Number(r[5]))),
    movementStarts: [...new Set(rows('movements').map((r) => Number(r[1])))],
    warned,
  };
}

describe('a step back of the clock', () => {
  it('loses no crossing from the counts CSV: those dated into intervals already written go into the next one written', async () => {
    const run = await runThroughStepBack(200);
    // A car every 3 s for 200 s, and every one counted; its movement (in → out) too.
    expect(run.crossings).toHaveLength(67);
    expect(run.counted).toBe(run.crossings.length);
    expect(run.movements).toBeGreaterThanOrEqual(66);
    expect(run.moved).toBe(run.movements);
    expect(run.movementStarts).toEqual(run.starts);
    // In time order, each interval once.
    expect(run.starts).toEqual([...run.starts].sort((a, b) => a - b));
    // Told once, with where the counts go: after the last interval written at the step (10 s in).
    const told = run.warned.filter((m) => m.includes('clock went back'));
    expect(told).toEqual([expect.stringContaining('the clock went back 120 s: counts until it catches up are put in the interval from 2026-11-29T01:38:20.000Z')]);
    // That interval holds its own cars (3 before the step, 3 when the clock went through it again) and the 34
    // dated 100 s into intervals already written.
    expect(run.byStart.get(Date.UTC(2026, 10, 29, 1, 38, 20))).toBeGreaterThanOrEqual(38);
  });

  it('writes them on a stop before the clock has caught up, in an interval after the last one written', async () => {
    const run = await runThroughStepBack(100);
    // The last car is over the line in the last frame, not yet counted: 33.
    expect(run.crossings).toHaveLength(33);
    expect(run.counted).toBe(run.crossings.length);
    expect(run.moved).toBe(run.movements);
    expect(run.starts).toEqual([...run.starts].sort((a, b) => a - b));
    // The 60 s after the step, 20 cars, in the first interval not yet written at it.
    expect(run.byStart.get(Date.UTC(2026, 10, 29, 1, 38, 20))).toBeGreaterThanOrEqual(23);
    expect(run.starts.at(-1)).toBe(Date.UTC(2026, 10, 29, 1, 38, 30));
  });
});
