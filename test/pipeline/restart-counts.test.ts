import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceCounts } from '../../src/core/feed.js';
import type { FrameInfo, LineCounts, TrafficEvent } from '../../src/core/types.js';
import type { AnalyticsConfig } from '../../src/track/analytics.js';
import { validatePipelineText } from '../../src/config/load.js';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { Pipeline, type PipelineSource } from '../../src/pipeline/pipeline.js';
import { tempDir } from '../helpers/videos.js';
import { until } from '../helpers/wait.js';
import { testModel } from '../helpers/model.js';

/** Each analytics instance's (each life of the source's) covered ms of its one interval, newest last. */
const lives = vi.hoisted(() => [] as { coveredMs: number }[]);

/**
 * Stands in for the tracker: each instance counts exactly one crossing of its first line, on its
 * first frame. Real crossings need real traffic and a real model; what is tested here is what the
 * pipeline does with counts when a reload restarts a source. The seconds each life covered are
 * measured from its frames as SourceAnalytics measures them (IntervalCoverage).
 */
vi.mock('../../src/pipeline/analytics-loader.js', async () => {
  const { IntervalCoverage, coveredSeconds } = await import('../../src/core/interval-coverage.js');
  return { loadAnalytics: async (cfg: AnalyticsConfig) => {
    const line = cfg.lines?.[0]?.name ?? 'none';
    // what a calibration the analytics refuse does to a restart
    if (line === 'refused') throw new Error('the calibration is refused');
    const intervalMs = cfg.countIntervalMs ?? 60_000;
    const counts: SourceCounts = { source: cfg.source, intervalMs, total: {}, intervals: [] };
    const one = (): LineCounts => ({ [line]: { forward: { car: 1 }, backward: {} } });
    const life = { coveredMs: 0 };
    lives.push(life);
    const coverage = new IntervalCoverage(intervalMs, (_start, ms) => (life.coveredMs += ms));
    return {
      update(info: FrameInfo) {
        coverage.frame(info.capturedAt, info.seq);
        if (counts.intervals.length) return { tracks: [], events: [] };
        counts.total = one();
        counts.intervals.push({ start: Math.floor(info.capturedAt / intervalMs) * intervalMs, counts: one() });
        const event: TrafficEvent = { type: 'line-crossing', source: cfg.source, ptsMs: info.ptsMs, at: info.capturedAt, line, direction: 'forward', trackId: 1, className: 'car' };
        return { tracks: [], events: [event] };
      },
      counts: () => ({ ...structuredClone(counts), intervals: counts.intervals.map((iv) => ({ ...structuredClone(iv), coveredSeconds: coveredSeconds(life.coveredMs) })) }),
      overlay: () => ({ lines: cfg.lines ?? [], zones: cfg.zones ?? [] }),
      finish: () => [],
    };
  } };
});

/**
 * One interval for every test, whenever it runs. Intervals start on multiples of their length since the epoch:
 * 2^40 ms (35 years) puts the one in progress from 2004-11 to 2039-09. An hour's ended within a run that started
 * seconds before it, and the two lives counted in two intervals.
 */
const LONG_INTERVAL_MS = 2 ** 40;

/**
 * A one-camera pipeline writing events.jsonl and counts.csv into `dir`, started, with its crossings
 * counted as they come. One long interval: every crossing falls into the interval still open at the end.
 */
async function startCamera(dir: string) {
  const { config } = validatePipelineText(`sources:\n  - name: cam\n    url: x.mp4\noutputs:\n  files: { dir: ${JSON.stringify(dir)}, events: true, counts: true }\n`);
  const p = new Pipeline({ model: testModel, sources: [camera('stop')], workers: 1, countIntervalMs: LONG_INTERVAL_MS });
  const outputs = new PipelineOutputs(p, { outputs: config!.outputs, retention: config!.retention });
  const seen = { crossed: 0 };
  p.on('result', (r) => (seen.crossed += r.events.filter((e: TrafficEvent) => e.type === 'line-crossing').length));
  await p.start();
  return { p, outputs, seen };
}

/**
 * A counts CSV's rows of one interval (every line, direction and class: 0 for the test model's classes
 * and the other direction), the ones with a count: one block of rows per interval, not two.
 */
function counted(path: string): string[] {
  const rows = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  expect(new Set(rows.map((r) => r.split(',')[1])).size).toBe(1);
  expect(rows).toHaveLength(2 * 4); // forward and backward × car and the model's class0, class1, class2
  // Every row of the interval ends in the same covered_s.
  expect(new Set(rows.map((r) => r.split(',')[6])).size).toBe(1);
  return rows.filter((r) => r.split(',')[5] !== '0');
}

/**
 * The covered_s of an interval the lives from `first` on counted in: each life's seconds (to the ms, as its
 * counts had them) added, what a restart or a removal and return within the interval must give.
 */
function coveredBy(first: number): string {
  const ms = lives.slice(first).reduce((a, l) => a + Math.round(l.coveredMs), 0);
  return String(ms / 1000);
}

/** A second of a life's frames: its covered seconds are more than a frame's when it ends. */
const aSecondOfFrames = () => until('a second of frames', () => lives.at(-1)!.coveredMs >= 1000, 20_000);

function camera(line: string, y = 60): PipelineSource {
  return { name: 'cam', url: 'lavfi:testsrc2=size=160x120:rate=5', mode: 'live', lines: [{ name: line, points: [[0, y], [160, y]] }] };
}

describe('a source restarted by a reload keeps what it counted', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => (tmp = tempDir()));
  afterAll(() => tmp.cleanup());

  it('crossings of the still-open interval stay in the counts and in counts.csv', async () => {
    const first = lives.length;
    const { p, outputs, seen } = await startCamera(tmp.dir);
    try {
      await until('the first crossing', () => seen.crossed === 1, 20_000);
      await aSecondOfFrames();
      await p.replaceSource('cam', camera('stop', 80)); // the line moved: what a reload does
      await until('the crossing after the restart', () => seen.crossed === 2, 20_000);
      await aSecondOfFrames();
      const c = p.counts('cam')!;
      expect(c.total.stop.forward.car).toBe(2);
      expect(c.intervals).toHaveLength(1);
      expect(c.intervals[0].counts.stop.forward.car).toBe(2);
    } finally {
      await p.close();
      await outputs.close();
    }
    const events = readFileSync(join(tmp.dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.type === 'line-crossing')).toHaveLength(2);
    // Both lives' seconds: neither the old one's alone nor the new one's.
    expect(lives.slice(first)).toHaveLength(2);
    expect(counted(join(tmp.dir, 'cam.counts.csv'))).toEqual([expect.stringMatching(new RegExp(`,stop,forward,car,2,${coveredBy(first)}$`))]);
  }, 60_000);

  it('a source removed by a reload leaves the crossings of its open interval in counts.csv', async () => {
    const dir = join(tmp.dir, 'removed');
    const first = lives.length;
    const { p, outputs, seen } = await startCamera(dir);
    try {
      await until('the crossing', () => seen.crossed === 1, 20_000);
      await aSecondOfFrames();
      await p.removeSource('cam'); // the source was deleted from the pipeline file
    } finally {
      await p.close();
      await outputs.close();
    }
    expect(counted(join(dir, 'cam.counts.csv'))).toEqual([expect.stringMatching(new RegExp(`,stop,forward,car,1,${coveredBy(first)}$`))]);
  }, 60_000);

  it('a source removed and added back within one interval writes that interval once, with both lives\' crossings', async () => {
    const dir = join(tmp.dir, 'removed-and-back');
    const first = lives.length;
    const { p, outputs, seen } = await startCamera(dir);
    try {
      await until('the crossing', () => seen.crossed === 1, 20_000);
      await aSecondOfFrames();
      await p.removeSource('cam'); // taken out of the pipeline file…
      await p.addSource(camera('stop')); // …and put back a few seconds later
      await until('the crossing after its return', () => seen.crossed === 2, 20_000);
      await aSecondOfFrames();
    } finally {
      await p.close();
      await outputs.close();
    }
    // One block of rows per interval (it was two: car,1 and car,1 for the same interval), with both lives' seconds.
    expect(lives.slice(first)).toHaveLength(2);
    expect(counted(join(dir, 'cam.counts.csv'))).toEqual([expect.stringMatching(new RegExp(`,stop,forward,car,2,${coveredBy(first)}$`))]);
  }, 60_000);

  it('a restart whose analytics are refused leaves the old source running, and its counts are written', async () => {
    // The new analytics are built before the old source stops (they were built after, and a refusal
    // then left the source gone).
    const dir = join(tmp.dir, 'failed-restart');
    const first = lives.length;
    const { p, outputs, seen } = await startCamera(dir);
    try {
      await until('the crossing', () => seen.crossed === 1, 20_000);
      await aSecondOfFrames();
      await expect(p.replaceSource('cam', camera('refused'))).rejects.toThrow(/calibration is refused/);
      expect(p.sourceNames()).toEqual(['cam']);
    } finally {
      await p.close();
      await outputs.close();
    }
    // The old source's seconds alone: the refused analytics counted none.
    expect(lives.slice(first)).toHaveLength(1);
    expect(counted(join(dir, 'cam.counts.csv'))).toEqual([expect.stringMatching(new RegExp(`,stop,forward,car,1,${coveredBy(first)}$`))]);
  }, 60_000);
});
