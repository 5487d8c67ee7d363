import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipelineOutputs } from '../../src/ops/pipeline-outputs.js';
import { createPipelineMetrics } from '../../src/ops/metrics.js';
import { pipelineSchema } from '../../src/config/schema.js';
import type { PipelineFeed, SourceCounts, SourceStatus } from '../../src/core/feed.js';
import type { FrameResult, TrafficEvent } from '../../src/core/types.js';
import { logger } from '../../src/core/log.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** The files this process holds open. */
function openFds(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

/** A feed whose one source, `name`, is there while `counts()` gives its counts (a reload removes and adds it). */
function feedOf(name: string, counts: () => SourceCounts | undefined) {
  const emitter = new EventEmitter();
  return Object.assign(emitter, { sources: () => (counts() ? [{ name }] : []), overlay: () => ({ lines: [], zones: [] }), counts }) as unknown as PipelineFeed & EventEmitter;
}

/** A source's status as the feed reports it (only the name and state matter here). */
function sourceStatus(name: string, state: SourceStatus['state'], url = 'rtsp://x'): SourceStatus {
  return { name, url, state, decodedFps: 0, detectedFps: 0, latencyMs: 0, droppedFrames: 0, reconnects: 0, lastFrameAt: null, width: 640, height: 360 };
}

/** The minute must still be in progress when the run starts: not in its last seconds. */
async function notInAMinutesLastSeconds(): Promise<void> {
  if (Date.now() % 60_000 > 55_000) await new Promise((r) => setTimeout(r, 60_000 - (Date.now() % 60_000) + 100));
}

function feedFor(status: SourceStatus, counts: SourceCounts) {
  const emitter = new EventEmitter();
  return Object.assign(emitter, { sources: () => [status], overlay: () => ({ lines: [], zones: [] }), counts: () => counts }) as unknown as PipelineFeed & EventEmitter;
}

/** cam1's count of a minute: 3 cars forward over its stop line, in the 3 s of it the camera had video. */
function threeCarsIn(minute: number): SourceCounts {
  return { source: 'cam1', intervalMs: 60_000, total: {}, classes: ['car'], intervals: [{ start: minute, counts: { stopline: { forward: { car: 3 }, backward: {} } }, coveredSeconds: 3 }] };
}

/** A run writing cam1's `counts` into `dir`, started and stopped at those times of the clock (Date alone faked). */
async function runOnClock(dir: string, counts: SourceCounts, startedAt: number, stoppedAt: number): Promise<void> {
  const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } });
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(startedAt);
    const outputs = new PipelineOutputs(feedFor(sourceStatus('cam1', 'running'), counts), cfg);
    vi.setSystemTime(stoppedAt);
    await outputs.close();
  } finally {
    vi.useRealTimers();
  }
}

describe('pipeline outputs', () => {
  it('writes the event log, counts per closed interval, source up/down events, and posts webhooks', async () => {
    const received: TrafficEvent[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        received.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;

    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    // Stale files from an earlier run, older than the retention period, and ones that are not ours: a user's, a
    // counts file of a name this pipeline has no source of, a batch run's results.
    const stale = ['cam1.counts.csv.2', 'events.jsonl.3'];
    const theirs = ['notes.txt', 'site survey.csv', 'survey.counts.csv', 'clip.detections.jsonl', 'clip.counts.csv', 'clip.events.jsonl'];
    for (const f of [...stale, ...theirs]) writeFileSync(join(dir, f), 'x\n');
    const old = (Date.now() - 40 * 86_400_000) / 1000;
    for (const f of [...stale, ...theirs]) utimesSync(join(dir, f), old, old);

    const cfg = pipelineSchema.parse({
      sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }],
      outputs: { files: { dir, detections: true }, webhooks: [{ url: hook, events: ['line-crossing', 'source-down'] }] },
      retention: { days: 30 },
    });
    const status = sourceStatus('cam1', 'starting');
    const t0 = Date.UTC(2026, 10, 25, 8, 0, 0);
    const counts: SourceCounts = {
      source: 'cam1',
      intervalMs: 60_000,
      total: { stop: { forward: { car: 3 }, backward: { bus: 1 } } },
      intervals: [
        { start: t0, counts: { stop: { forward: { car: 2 }, backward: {} } }, coveredSeconds: 60 },
        { start: t0 + 60_000, counts: { stop: { forward: { car: 1 }, backward: { bus: 1 } } }, coveredSeconds: 42.5 },
      ],
    };
    const feed = feedFor(status, counts);
    const outputs = new PipelineOutputs(feed, cfg);
    for (const f of stale) expect(existsSync(join(dir, f)), f).toBe(false);
    // Files in the same folder that this pipeline's sources did not write are someone else's, whatever their extension.
    for (const f of theirs) expect(existsSync(join(dir, f)), f).toBe(true);

    feed.emit('events', { source: 'cam1', events: [{ type: 'source-up', source: 'cam1', at: t0 }] });
    const crossing: TrafficEvent = { type: 'line-crossing', source: 'cam1', ptsMs: 40, at: t0 + 1000, line: 'stop', direction: 'forward', trackId: 7, className: 'car' };
    const detection = { classId: 2, className: 'car', score: 0.3964037299156189, box: [10.123456, 20.98765, 110.5, 80.04] as [number, number, number, number] };
    const result: FrameResult = { frame: { source: 'cam1', seq: 1, ptsMs: 40, capturedAt: t0, width: 640, height: 360 }, detections: [detection], tracks: [], events: [crossing], detectedAt: t0 + 20, detectMs: 9 };
    feed.emit('result', result);
    feed.emit('events', { source: 'cam1', events: [{ type: 'source-down', source: 'cam1', at: t0 + 2000, reason: 'no frames for 10 s' }] });
    await outputs.close();

    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(['source-up', 'line-crossing', 'source-down']);
    expect(events[2].reason).toBe('no frames for 10 s');
    expect(received.map((e) => e.type).sort()).toEqual(['line-crossing', 'source-down']);
    const csv = readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n');
    expect(csv).toEqual([
      'interval_start,interval_start_ms,line,direction,class,count,covered_s',
      // Every line, direction and class of each interval, 0 where none crossed (classes alphabetically), and the
      // seconds of the interval the camera had video: 42.5 of 08:01 say its 1 car is no full minute's.
      `2026-11-25T08:00:00.000Z,${t0},stop,forward,car,2,60`,
      `2026-11-25T08:00:00.000Z,${t0},stop,backward,car,0,60`,
      `2026-11-25T08:01:00.000Z,${t0 + 60_000},stop,forward,bus,0,42.5`,
      `2026-11-25T08:01:00.000Z,${t0 + 60_000},stop,forward,car,1,42.5`,
      `2026-11-25T08:01:00.000Z,${t0 + 60_000},stop,backward,bus,1,42.5`,
      `2026-11-25T08:01:00.000Z,${t0 + 60_000},stop,backward,car,0,42.5`,
    ]);
    const det = JSON.parse(readFileSync(join(dir, 'cam1.detections.jsonl'), 'utf8').trim());
    // As batch writes it (rounded), with the camera's arrival time.
    expect(det).toEqual({ frame: 1, ptsMs: 40, capturedAt: t0, detections: [{ classId: 2, className: 'car', score: 0.3964, box: [10.1, 21, 110.5, 80] }], tracks: [], events: [crossing] });
  });

  it('names webhooks in /metrics by host and a hash of the URL, not by a path that is their secret (Slack, Teams)', async () => {
    const slack = (secret: string) => `https://hooks.slack.com/services/T000/B000/${secret}`;
    const hooks = [slack('SlackSecret1'), slack('SlackSecret2'), slack('SlackSecret1')];
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { webhooks: hooks.map((url) => ({ url })) } });
    const outputs = new PipelineOutputs(feedOf('cam1', () => undefined), cfg);
    const text = await createPipelineMetrics(feedOf('cam1', () => undefined), { webhooks: () => outputs.webhookStats() }).render();
    await outputs.close();
    const labels = [...text.matchAll(/xnorcam_webhook_queue\{webhook="([^"]*)"\}/g)].map((m) => m[1]);
    expect(labels).toHaveLength(3);
    for (const l of labels) expect(l).toMatch(/^https:\/\/hooks\.slack\.com\/…#[0-9a-f]{6}(-2)?$/);
    // Two hooks on one host are two series; the same URL given twice (for other events) too.
    expect(new Set(labels).size).toBe(3);
    expect(labels[2]).toBe(`${labels[0]}-2`);
    expect(text).not.toContain('Secret');
  });

  it('logs the events not tied to a frame: source down as it happens, zone exits of vehicles still inside as a source ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir, counts: false } } });
    const status = sourceStatus('cam1', 'starting');
    const feed = feedFor(status, { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [] });
    const outputs = new PipelineOutputs(feed, cfg);
    const exit: TrafficEvent = { type: 'zone-exit', source: 'cam1', ptsMs: 5950, at: 7, zone: 'bay', trackId: 4, className: 'truck', dwellMs: 4900, stillInside: true };
    const down: TrafficEvent = { type: 'source-down', source: 'cam1', at: 8, reason: 'ended' };
    feed.emit('events', { source: 'cam1', events: [exit, down] });
    await outputs.close();
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events).toEqual([exit, down]);
  });

  it('refuses a files.dir that cannot be a folder before any camera starts, and outlives a full disk after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    writeFileSync(join(dir, 'blocker'), 'a file\n');
    const status = sourceStatus('cam1', 'starting');
    const feed = feedFor(status, { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [] });
    const under = join(dir, 'blocker', 'out');
    const bad = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir: under } } });
    expect(() => new PipelineOutputs(feed, bad)).toThrow(`outputs.files.dir: ${under}: ${join(dir, 'blocker')} is not a folder`);

    // A file that cannot be written while running (a folder in its place): the event is dropped and logged,
    // nothing is thrown at the pipeline.
    mkdirSync(join(dir, 'events.jsonl'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir, counts: false } } });
    const outputs = new PipelineOutputs(feed, cfg);
    expect(() => feed.emit('events', { source: 'cam1', events: [{ type: 'source-up', source: 'cam1', at: 1 }] })).not.toThrow();
    await outputs.close();
  });

  it('closes the files of a source a reload removed (held open, retention could never remove them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam2', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir, detections: true } } });
    const status = sourceStatus('cam2', 'running');
    const feed = feedFor(status, { source: 'cam2', intervalMs: 60_000, total: {}, intervals: [] });
    const outputs = new PipelineOutputs(feed, cfg);
    feed.emit('result', { frame: { source: 'cam2', seq: 0, ptsMs: 0, capturedAt: 1, width: 640, height: 360 }, detections: [], tracks: [], events: [], detectedAt: 2, detectMs: 1 } satisfies FrameResult);
    const path = join(dir, 'cam2.detections.jsonl');
    expect(openFds().includes(path)).toBe(true);
    feed.emit('removed', { source: 'cam2', counts: { source: 'cam2', intervalMs: 60_000, total: {}, intervals: [] } });
    expect(openFds().includes(path)).toBe(false);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(1);
    await outputs.close();
  });

  it('writes a removed camera\'s interval in progress when it ends, then lets go of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam3', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } });
    const feed = feedOf('cam3', () => undefined);
    const outputs = new PipelineOutputs(feed, cfg);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const counts = { source: 'cam3', intervalMs: 60_000, total: {}, intervals: [{ start: minute, counts: { stop: { forward: { car: 4 }, backward: {} } }, coveredSeconds: 31 }] };
    feed.emit('removed', { source: 'cam3', counts });
    const path = join(dir, 'cam3.counts.csv');
    expect(existsSync(path)).toBe(false); // the minute is not over
    const now = vi.spyOn(Date, 'now').mockReturnValue(minute + 2 * 60_000);
    try {
      (outputs as unknown as { flushCounts(final: boolean): void }).flushCounts(false);
    } finally {
      now.mockRestore();
    }
    expect(readFileSync(path, 'utf8').trim().split('\n').slice(1)).toEqual([`${new Date(minute).toISOString()},${minute},stop,forward,car,4,31`, `${new Date(minute).toISOString()},${minute},stop,backward,car,0,31`]);
    expect(openFds().includes(path)).toBe(false);
    await outputs.close();
  });

  it("writes a recording's (mode: batch) counts as xnorcam batch's table, ended by its last frame, totals when it ends; a replay afresh", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'rec', url: 'rec.mp4', mode: 'batch' }], outputs: { files: { dir } } });
    let counts: SourceCounts = { source: 'rec', intervalMs: 60_000, total: {}, intervals: [], classes: ['car'] };
    const feed = Object.assign(new EventEmitter(), {
      sources: () => [sourceStatus('rec', 'running', 'rec.mp4')],
      overlay: () => ({ lines: [{ name: 'stop', points: [[0, 0], [1, 1]] }], zones: [] }),
      counts: () => counts,
    }) as unknown as PipelineFeed & EventEmitter;
    const outputs = new PipelineOutputs(feed, cfg);
    const path = join(dir, 'rec.counts.csv');
    /** A pass over a 70.5 s recording at 2 fps, a car crossing at each of `cars` (ms); its 'source-end' with `end`. */
    const pass = (cars: number[], end: boolean) => {
      for (let seq = 0; seq <= 140; seq++) {
        const ptsMs = seq * 500;
        counts = { ...counts, asOf: ptsMs };
        const events: TrafficEvent[] = cars.filter((t) => t === ptsMs).map((t) => ({ type: 'line-crossing', source: 'rec', ptsMs: t, at: t, line: 'stop', direction: 'forward', trackId: 1, className: 'car' }));
        feed.emit('result', { frame: { source: 'rec', seq, ptsMs, capturedAt: ptsMs, width: 4, height: 4 }, detections: [], tracks: [], events, detectedAt: 0, detectMs: 0 } as FrameResult);
      }
      if (end) feed.emit('source-end', { source: 'rec' });
    };
    const table = (first: number, second: number) => [
      'interval_start_s,interval_end_s,line,direction,class,count,covered_s',
      `0,60,stop,forward,car,${first},60`,
      '0,60,stop,backward,car,0,60',
      `60,70.5,stop,forward,car,${second},10.5`,
      '60,70.5,stop,backward,car,0,10.5',
      `total,,stop,forward,car,${first + second},70.5`,
      'total,,stop,backward,car,0,70.5',
    ];
    pass([1000, 2000, 65_000], true);
    // Whole when the recording ends, the run going on: the last interval ends with the recording, then totals.
    expect(readFileSync(path, 'utf8').trim().split('\n')).toEqual(table(2, 1));
    // A reload plays it again (its counts start from 0): a new pass, written afresh, not appended.
    feed.emit('removed', { source: 'rec', counts });
    counts = { source: 'rec', intervalMs: 60_000, total: {}, intervals: [], classes: ['car'] };
    pass([3000], false);
    await outputs.close();
    expect(readFileSync(path, 'utf8').trim().split('\n')).toEqual(table(1, 0));
  });

  it("a camera under a recording's name (a restart without mode: batch) starts its own counts CSVs: the recording's tables kept, rotated", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const table = (kind: string, keys: string) => [`interval_start_s,interval_end_s,${kind},count`, `0,60,${keys},car,2`, `total,,${keys},car,2`, ''].join('\n');
    const recCounts = table('line,direction,class', 'stop,forward');
    const recMovements = table('from,to,class', 'stop,exit');
    writeFileSync(join(dir, 'cam1.counts.csv'), recCounts);
    writeFileSync(join(dir, 'cam1.movements.csv'), recMovements);
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
    const at = `${new Date(minute).toISOString()},${minute}`;
    const counts: SourceCounts = { ...threeCarsIn(minute), movements: {} };
    counts.intervals[0].movements = { stopline: { exit: { car: 1 } } };
    const outputs = new PipelineOutputs(feedFor(sourceStatus('cam1', 'running'), counts), pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
    await outputs.close();
    expect(readFileSync(join(dir, 'cam1.counts.csv.1'), 'utf8')).toBe(recCounts);
    expect(readFileSync(join(dir, 'cam1.movements.csv.1'), 'utf8')).toBe(recMovements);
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n')).toEqual(['interval_start,interval_start_ms,line,direction,class,count,covered_s', `${at},stopline,forward,car,3,3`, `${at},stopline,backward,car,0,3`]);
    expect(readFileSync(join(dir, 'cam1.movements.csv'), 'utf8').trim().split('\n')).toEqual(['interval_start,interval_start_ms,from,to,class,count,covered_s', `${at},stopline,exit,car,1,3`, `${at},exit,stopline,car,0,3`]);
  });

  it('never removes a file it still writes to, even one older than the retention (a camera down for weeks)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir, counts: false } }, retention: { days: 1 } });
    const status = sourceStatus('cam1', 'starting');
    const feed = feedFor(status, { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [] });
    const outputs = new PipelineOutputs(feed, cfg);
    feed.emit('events', { source: 'cam1', events: [{ type: 'source-up', source: 'cam1', at: 1 }] });
    const old = (Date.now() - 3 * 86_400_000) / 1000;
    utimesSync(join(dir, 'events.jsonl'), old, old);
    // What the hourly timer runs.
    (outputs as unknown as { applyRetention(): void }).applyRetention();
    feed.emit('events', { source: 'cam1', events: [{ type: 'source-down', source: 'cam1', at: 2, reason: 'gone' }] });
    await outputs.close();
    const events = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrafficEvent);
    expect(events.map((e) => e.type)).toEqual(['source-up', 'source-down']);
  });

  it('writes the counts of an interval once it has ended, without waiting for traffic in a later one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } });
    const status = sourceStatus('cam1', 'running');
    // The evening's last busy minute ended 20 minutes ago; the current one is still open.
    const minute = 60_000;
    const ended = Math.floor(Date.now() / minute) * minute - 20 * minute;
    const counts: SourceCounts = { source: 'cam1', intervalMs: minute, total: {}, intervals: [{ start: ended, counts: { stop: { forward: { car: 4 }, backward: {} } }, coveredSeconds: 60 }] };
    const feed = feedFor(status, counts);
    const outputs = new PipelineOutputs(feed, cfg);
    // What the 5-second timer runs.
    (outputs as unknown as { flushCounts(final: boolean): void }).flushCounts(false);
    const csv = () => readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n');
    expect(csv()).toEqual(['interval_start,interval_start_ms,line,direction,class,count,covered_s', `${new Date(ended).toISOString()},${ended},stop,forward,car,4,60`, `${new Date(ended).toISOString()},${ended},stop,backward,car,0,60`]);
    // An interval that is still open (or ended less than 10 s ago) waits.
    counts.intervals.push({ start: Math.floor(Date.now() / minute) * minute, counts: { stop: { forward: { bus: 1 }, backward: {} } } });
    (outputs as unknown as { flushCounts(final: boolean): void }).flushCounts(false);
    expect(csv()).toHaveLength(3);
    await outputs.close();
    expect(csv()).toHaveLength(5);
  });

  it('a run started again within a minute writes that minute once, whole: the part the stop wrote is counted on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (start: number, dir: string, cls: string, n: number, covered: number) => `${new Date(start).toISOString()},${start},stopline,${dir},${cls},${n},${covered}`;
    // The run before: a closed minute, then the minute in progress when it was stopped (23 cars so far, in 24 s).
    writeFileSync(join(dir, 'cam1.counts.csv'), [header, row(minute - 60_000, 'backward', 'car', 40, 60), row(minute, 'backward', 'car', 23, 24), row(minute, 'forward', 'bus', 1, 24), ''].join('\n'));
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } });
    const status = sourceStatus('cam1', 'running');
    // This run's count of the same minute: 3 more cars, in 10 s more.
    const feed = feedFor(status, { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [{ start: minute, counts: { stopline: { forward: {}, backward: { car: 3 } } }, coveredSeconds: 10 }] });
    const outputs = new PipelineOutputs(feed, cfg);
    await outputs.close();
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n')).toEqual([
      header,
      row(minute - 60_000, 'backward', 'car', 40, 60),
      row(minute, 'forward', 'bus', 1, 34),
      row(minute, 'forward', 'car', 0, 34),
      row(minute, 'backward', 'bus', 0, 34),
      row(minute, 'backward', 'car', 26, 34),
    ]);
  });
  it('a run started again seconds before the interval ends carries it on, though the interval has ended by its first write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const minute = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (dir: string, n: number, covered: number) => `${new Date(minute).toISOString()},${minute},stopline,${dir},car,${n},${covered}`;
    writeFileSync(join(dir, 'cam1.counts.csv'), [header, row('forward', 23, 56), row('backward', 0, 56), ''].join('\n'));
    // Started at :56 of that minute; its first write (here, the stop) comes after the minute has ended.
    await runOnClock(dir, threeCarsIn(minute), minute + 56_000, minute + 62_000);
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n')).toEqual([header, row('forward', 26, 59), row('backward', 0, 59)]);
  });
  it('leaves an interval in progress off this run\'s grid as written (a file of another countIntervalSeconds, from before the folder recorded it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const minute = (Math.floor(Date.now() / 60_000) + 1) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (start: number, dir: string, n: number, covered = 10) => `${new Date(start).toISOString()},${start},stopline,${dir},car,${n},${covered}`;
    // The run before counted 10 s intervals and was stopped in minute:10 … :20; this one counts minutes.
    const before = [header, row(minute, 'forward', 4), row(minute, 'backward', 0), row(minute + 10_000, 'forward', 2), row(minute + 10_000, 'backward', 1), ''].join('\n');
    writeFileSync(join(dir, 'cam1.counts.csv'), before);
    await runOnClock(dir, threeCarsIn(minute), minute + 15_000, minute + 15_000);
    // Not carried on into this run as an interval of its own at minute:10.
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8')).toBe(before + [row(minute, 'forward', 3, 3), row(minute, 'backward', 0, 3), ''].join('\n'));
  });
  it('carries on an interrupted interval of counts and movements as one interval, not two of one start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = `${new Date(minute).toISOString()},${minute}`;
    writeFileSync(join(dir, 'cam1.counts.csv'), ['interval_start,interval_start_ms,line,direction,class,count,covered_s', `${at},north,forward,car,2,41`, `${at},south,backward,car,1,41`, ''].join('\n'));
    writeFileSync(join(dir, 'cam1.movements.csv'), ['interval_start,interval_start_ms,from,to,class,count,covered_s', `${at},north,south,car,1,41`, `${at},south,north,car,0,41`, ''].join('\n'));
    const counts: SourceCounts = { source: 'cam1', intervalMs: 60_000, total: {}, classes: ['car'], movements: {}, intervals: [] };
    const carried: SourceCounts[] = [];
    const feed = Object.assign(feedFor(sourceStatus('cam1', 'running'), counts), { carryCounts: (_: string, c: SourceCounts) => carried.push(c) > 0 });
    const outputs = new PipelineOutputs(feed, pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
    outputs.resumeIntervals();
    await outputs.close();
    expect(carried.map((c) => c.intervals)).toEqual([
      // The seconds it had video so far too: the interval's rest adds this run's.
      [{ start: minute, counts: { north: { forward: { car: 2 }, backward: {} }, south: { forward: {}, backward: { car: 1 } } }, coveredSeconds: 41, movements: { north: { south: { car: 1 } }, south: { north: { car: 0 } } } }],
    ]);
  });

  it("upgraded from a version without covered_s: the old counts file is kept whole, rotated, with a warning; the new one's minute says this run's seconds", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const at = `${new Date(minute).toISOString()},${minute}`;
    // The old format, stopped within this minute: not cut into (its rows have no seconds to carry on), nor mixed with the new columns.
    const old = ['interval_start,interval_start_ms,line,direction,class,count', `${at},stopline,forward,car,23`, `${at},stopline,backward,car,0`, ''].join('\n');
    writeFileSync(join(dir, 'cam1.counts.csv'), old);
    const warn = vi.spyOn(logger, 'warn');
    try {
      const outputs = new PipelineOutputs(feedFor(sourceStatus('cam1', 'running'), threeCarsIn(minute)), pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
      outputs.resumeIntervals();
      await outputs.close();
      expect(warn.mock.calls.some(([msg, fields]) => /older version's columns/.test(String(msg)) && (fields as { kept?: string })?.kept === join(dir, 'cam1.counts.csv.1'))).toBe(true);
    } finally {
      warn.mockRestore();
    }
    expect(readFileSync(join(dir, 'cam1.counts.csv.1'), 'utf8')).toBe(old);
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n')).toEqual(['interval_start,interval_start_ms,line,direction,class,count,covered_s', `${at},stopline,forward,car,3,3`, `${at},stopline,backward,car,0,3`]);
  });

  it('writes an interrupted interval carried on with its lines in their order (the file is read from its end)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (line: string, dir: string, n: number, covered: number) => `${new Date(minute).toISOString()},${minute},${line},${dir},car,${n},${covered}`;
    writeFileSync(join(dir, 'cam1.counts.csv'), [header, row('north', 'forward', 2, 30), row('north', 'backward', 0, 30), row('south', 'forward', 0, 30), row('south', 'backward', 1, 30), ''].join('\n'));
    const counts: SourceCounts = { source: 'cam1', intervalMs: 60_000, total: {}, classes: ['car'], intervals: [{ start: minute, counts: { north: { forward: { car: 1 }, backward: {} }, south: { forward: {}, backward: {} } }, coveredSeconds: 5 }] };
    const outputs = new PipelineOutputs(feedFor(sourceStatus('cam1', 'running'), counts), pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
    await outputs.close();
    expect(readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n')).toEqual([header, row('north', 'forward', 3, 35), row('north', 'backward', 0, 35), row('south', 'forward', 0, 35), row('south', 'backward', 1, 35)]);
  });
  it('carries on an interrupted interval whose class names are quoted, and cuts nothing above a row it cannot read', async () => {
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const iso = new Date(minute).toISOString();
    const status = sourceStatus('cam1', 'running');
    const now = (cls: string, n: number): SourceCounts => ({ source: 'cam1', intervalMs: 60_000, total: {}, intervals: [{ start: minute, counts: { l: { forward: { [cls]: n }, backward: {} } }, coveredSeconds: 1 }] });
    const runOnce = async (rows: string[], counts: SourceCounts) => {
      const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
      writeFileSync(join(dir, 'cam1.counts.csv'), [header, ...rows, ''].join('\n'));
      const outputs = new PipelineOutputs(feedFor(status, counts), pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
      await outputs.close();
      return readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n');
    };
    // A class name with a comma (a user's names file) is quoted, and read back whole.
    const quoted = await runOnce([`${iso},${minute},l,forward,car,5,20`, `${iso},${minute},l,forward,"pickup, truck",2,20`], now('pickup, truck', 1));
    expect(quoted[0]).toBe(header);
    expect(quoted.slice(1)).toEqual([`${iso},${minute},l,forward,car,5,21`, `${iso},${minute},l,forward,"pickup, truck",3,21`, `${iso},${minute},l,backward,car,0,21`, `${iso},${minute},l,backward,"pickup, truck",0,21`]);
    // A row that is no count above the interval's rows: nothing is cut (a partial take would leave a key twice).
    const odd = [`${iso},${minute},l,forward,car,5,20`, 'not a row', `${iso},${minute},l,forward,bus,1,20`];
    expect(await runOnce(odd, now('bus', 1))).toEqual([header, ...odd, `${iso},${minute},l,forward,bus,1,1`, `${iso},${minute},l,backward,bus,0,1`]);
  });

  it('carries on an interrupted interval larger than the tail first read (every class of a COCO model on many lines): whole, each key once', async () => {
    await notInAMinutesLastSeconds();
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const header = 'interval_start,interval_start_ms,line,direction,class,count,covered_s';
    const row = (start: number, line: string, cls: string, n: number, covered: number) => `${new Date(start).toISOString()},${start},${line},forward,${cls},${n},${covered}`;
    // 8 lines × 160 classes: 1,280 rows, about 100 KB for the minute in progress, after a closed minute.
    const lines = Array.from({ length: 8 }, (_, i) => `line${i}`);
    const classes = Array.from({ length: 160 }, (_, i) => `class${i}`);
    const before = lines.flatMap((l) => classes.map((c) => row(minute, l, c, 1, 30)));
    writeFileSync(join(dir, 'cam1.counts.csv'), [header, row(minute - 60_000, 'line0', 'class0', 7, 60), ...before, ''].join('\n'));
    expect(Buffer.byteLength(before.join('\n'))).toBeGreaterThan(64 * 1024);
    const counts: SourceCounts = { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [{ start: minute, counts: { line0: { forward: { class0: 2 }, backward: {} } }, coveredSeconds: 2 }] };
    const outputs = new PipelineOutputs(feedFor(sourceStatus('cam1', 'running'), counts), pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } }));
    await outputs.close();
    const rows = readFileSync(join(dir, 'cam1.counts.csv'), 'utf8').trim().split('\n').slice(1);
    const forward = rows.filter((r) => r.startsWith(new Date(minute).toISOString()) && r.includes(',forward,'));
    const keys = forward.map((r) => r.split(',').slice(2, 5).join(','));
    expect(new Set(keys).size).toBe(keys.length);
    expect(forward).toHaveLength(lines.length * classes.length);
    expect(forward).toContain(row(minute, 'line0', 'class0', 3, 32));
    expect(rows[0]).toBe(row(minute - 60_000, 'line0', 'class0', 7, 60));
  });

  it('writes nothing through a link planted at an output name (the lock, the event log, a counts CSV): the target is untouched', async () => {
    await notInAMinutesLastSeconds();
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-out-'));
    const victims = mkdtempSync(join(tmpdir(), 'xnorcam-victim-'));
    // Shaped as a counts CSV stopped mid-minute, which a start cuts the minute's rows from to carry them on.
    const text = `interval_start,interval_start_ms,line,direction,class,count\n${new Date(minute).toISOString()},${minute},l,forward,car,5\n`;
    for (const name of ['.xnorcam.lock', 'events.jsonl', 'cam1.counts.csv']) {
      writeFileSync(join(victims, name), text);
      symlinkSync(join(victims, name), join(dir, name));
    }
    const cfg = pipelineSchema.parse({ sources: [{ name: 'cam1', url: 'rtsp://127.0.0.1/x' }], outputs: { files: { dir } } });
    const counts: SourceCounts = { source: 'cam1', intervalMs: 60_000, total: {}, intervals: [{ start: minute, counts: { l: { forward: { car: 1 }, backward: {} } } }] };
    const feed = feedFor(sourceStatus('cam1', 'running'), counts);
    const outputs = new PipelineOutputs(feed, cfg);
    feed.emit('events', { source: 'cam1', events: [{ type: 'source-up', source: 'cam1', at: minute }] });
    // The lock, a courtesy, is put in place of its link.
    expect(lstatSync(join(dir, '.xnorcam.lock')).isFile()).toBe(true);
    await outputs.close();
    for (const name of ['.xnorcam.lock', 'events.jsonl', 'cam1.counts.csv']) expect(readFileSync(join(victims, name), 'utf8'), name).toBe(text);
    // The lines are counted as lost (/metrics), and logged with the file's name.
    expect(outputs.linesLost().map((l) => l.file).sort()).toEqual(['cam1.counts.csv', 'events.jsonl']);
  });
});
