import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { configureLog } from '../../src/core/log.js';
import type { SourceEvents } from '../../src/core/feed.js';
import { createPipelineMetrics } from '../../src/ops/metrics.js';
import { makeVideo, tempDir } from '../helpers/videos.js';
import { testModel } from '../helpers/model.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { formatStatus } from '../../src/cli/run.js';
import { defaultModelPath } from '../../src/detect/default-model.js';

/** Log records written while `body` runs (JSON log format). */
type LogRecord = { msg: string; level: string; [k: string]: unknown };
async function capturingLog<T>(body: (sofar: () => LogRecord[]) => Promise<T>): Promise<{ value: T; records: LogRecord[] }> {
  const lines: string[] = [];
  const records = () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogRecord);
  configureLog({ json: true });
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const value = await body(records);
    return { value, records: records() };
  } finally {
    write.mockRestore();
  }
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 100));
}

/**
 * Runs a one-source pipeline whose frames are dropped until it is warned as too slow (or `enough`), then
 * `lingerMs` more; the log and its too-slow warnings.
 */
async function runTillWarned(p: Pipeline, enough: () => boolean, ms: number, lingerMs = 0): Promise<{ records: LogRecord[]; warnings: LogRecord[] }> {
  const { value: status, records } = await capturingLog(async (sofar) => {
    await p.start();
    await until(() => sofar().some((r) => r.msg.startsWith('source too slow')) || enough(), ms);
    await new Promise((r) => setTimeout(r, lingerMs));
    const s = p.sources()[0];
    await p.close();
    return s;
  });
  expect(status.droppedFrames).toBeGreaterThan(0);
  return { records, warnings: records.filter((r) => r.msg.startsWith('source too slow for tracking')) };
}

describe('live capacity: a camera xnorcam cannot keep up with', () => {
  let tmp: ReturnType<typeof tempDir>;
  let http: Server;
  let base = '';
  const seconds = 40;
  beforeAll(async () => {
    tmp = tempDir();
    const mp4 = makeVideo(join(tmp.dir, 'cam.mp4'), { width: 160, height: 96, fps: 10, seconds });
    const r = spawnSync('ffmpeg', ['-v', 'error', '-i', mp4, '-c', 'copy', '-f', 'mpegts', join(tmp.dir, 'cam.ts')]);
    expect(r.status).toBe(0);
    const ts = readFileSync(join(tmp.dir, 'cam.ts'));
    // The stream at half its own speed: frames reach ffmpeg later and later against their timestamps, as they
    // do when a decoder slower than the camera leaves the stream queued in socket buffers.
    http = createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'video/mp2t' });
      const perTick = Math.ceil(ts.length / ((2 * seconds * 1000) / 100));
      // Its first 6 s at once, for ffmpeg's probe of a stream's first seconds (5 s for MPEG-TS over HTTP).
      let at = Math.ceil((ts.length * 6) / seconds);
      res.write(ts.subarray(0, at));
      const timer = setInterval(() => {
        res.write(ts.subarray(at, at + perTick));
        at += perTick;
        if (at >= ts.length) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      req.on('close', () => clearInterval(timer));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((r) => http.close(r));
    tmp.cleanup();
  });

  it('measures how far behind the camera it is, warns once with what to do, and resyncs without a source-down', async () => {
    const p = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: `${base}/cam.ts`, name: 'slowcam' }], reconnect: { maxBehindMs: 2000 } });
    const events: SourceEvents[] = [];
    p.on('events', (e: SourceEvents) => events.push(e));
    let framesAfterResync = 0;
    p.on('result', () => {
      if ((p.sources()[0].resyncs ?? 0) > 0) framesAfterResync++;
    });
    const metrics = createPipelineMetrics(p);
    const { value: [status, scraped], records } = await capturingLog(async () => {
      await p.start();
      await until(() => framesAfterResync >= 5, 30_000);
      const s = p.sources()[0];
      const text = await metrics.render();
      await p.close();
      metrics.close();
      return [s, text] as const;
    });
    expect(scraped).toMatch(/^xnorcam_source_behind_seconds\{source="slowcam"\} [\d.]+$/m);
    expect(scraped).toMatch(/^xnorcam_source_resyncs_total\{source="slowcam"\} 1$/m);
    expect(status.resyncs).toBe(1);
    expect(status.reconnects).toBe(0);
    expect(status.behindMs).toBeGreaterThanOrEqual(0);
    expect(framesAfterResync).toBeGreaterThanOrEqual(5);
    const kinds = events.flatMap((e) => e.events.map((x) => x.type));
    expect(kinds.filter((k) => k === 'source-down')).toEqual([]);
    expect(kinds.filter((k) => k === 'source-up')).toEqual(['source-up']);
    const warnings = records.filter((r) => r.msg.startsWith('source falling behind the camera'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', source: 'slowcam' });
    expect(String(warnings[0].fix)).toMatch(/resolution or frame rate at the camera.*fpsCap/);
    expect(Number(warnings[0].behindSeconds)).toBeGreaterThanOrEqual(2);
    expect(records.filter((r) => r.msg.startsWith('source resync'))).toHaveLength(1);
    expect(records.filter((r) => r.msg.startsWith('source down'))).toEqual([]);
  }, 60_000);
});

describe('a camera that sends a keyframe every 10 s', () => {
  // 25 fps, a keyframe every 250 frames: a 10 s gap, as many cameras are set up to save bandwidth.
  const cam = new TestRtspServer({
    launch:
      '( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=25/1 ! videoconvert ! video/x-raw,format=I420 ! ' +
      'x264enc tune=zerolatency speed-preset=ultrafast key-int-max=250 bitrate=400 ! h264parse config-interval=1 ! rtph264pay name=pay0 pt=96 config-interval=1 )',
  });
  beforeAll(() => cam.start());
  afterAll(() => cam.stop());

  it('comes up at the first try (it waited for a second keyframe, past the 10 s start watchdog, and restarted forever)', async () => {
    const p = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: cam.url, name: 'longgop' }] });
    let results = 0;
    p.on('result', () => results++);
    const { value: status, records } = await capturingLog(async () => {
      await p.start();
      await until(() => results >= 5 || p.sources()[0].reconnects >= 2, 30_000);
      const s = p.sources()[0];
      await p.close();
      return s;
    });
    expect(status.reconnects).toBe(0);
    expect(results).toBeGreaterThanOrEqual(5);
    expect(records.filter((r) => r.msg.startsWith('source stalled'))).toEqual([]);
  }, 60_000);

  it('a start watchdog shorter than its keyframe gap says to raise watchdogSeconds', async () => {
    const p = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: cam.url, name: 'longgop' }], reconnect: { startMs: 300, stallMs: 300 } });
    const { value: down, records } = await capturingLog(async () => {
      await p.start();
      await until(() => p.sources()[0].state === 'reconnecting', 20_000);
      const s = p.sources()[0];
      await p.close();
      return s;
    });
    expect(down.lastError).toBe('no frame within 300 ms of starting (keyframes further apart than that? raise watchdogSeconds)');
    expect(records.find((r) => r.msg.startsWith('source stalled'))).toMatchObject({ source: 'longgop', reason: down.lastError });
  }, 60_000);
});

describe('a box too slow for its cameras', () => {
  it('warns once per source when it is detected at under the rate the tracker needs while frames are dropped', async () => {
    // A test source read as fast as ffmpeg makes it (not played live): far more frames than one thread
    // detects, so most are dropped, as on an overloaded box; a bound no rate reaches stands for "too slow".
    const p = new Pipeline({
      model: testModel,
      mode: 'live',
      workers: 1,
      realtime: false,
      sources: [{ url: 'lavfi:testsrc2=size=320x240:rate=25', name: 'flood' }],
      overload: { minFps: 1e9, forMs: 2000 },
    });
    // A while longer once warned: it is said once, not every second it stays slow.
    const { records, warnings } = await runTillWarned(p, () => false, 20_000, 2500);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', source: 'flood', needFps: 1e9 });
    expect(records.filter((r) => r.msg.startsWith('source fast enough'))).toEqual([]);
  }, 60_000);
});

describe('a camera falling behind on a box too slow for it', () => {
  // A camera whose clock runs 1.5 times as fast as frames reach us (60 fps dated, 40 sent a second), as when
  // decoding is slower than the camera: it is resynced every 15 s. The bundled 640×384 model on one thread
  // detects far fewer than 40 a second, so frames are dropped, except in the seconds each resync takes: its
  // stream starts 2 s of camera time (3 s) after a connect, as a camera's does once ffmpeg has waited for a keyframe.
  const cam = new TestRtspServer({
    launch:
      '( videotestsrc is-live=false pattern=ball ! video/x-raw,width=160,height=120,framerate=60/1 ! identity sleep-time=25000 ! ' +
      'queue min-threshold-time=2000000000 max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! videoconvert ! video/x-raw,format=I420 ! ' +
      'x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 bitrate=300 ! h264parse config-interval=1 ! rtph264pay name=pay0 pt=96 config-interval=1 )',
  });
  beforeAll(() => cam.start());
  afterAll(() => cam.stop());

  it('is still warned about (each resync restarted its clock: resynced every 15 s, never warned)', async () => {
    const forMs = 20_000;
    const p = new Pipeline({
      model: defaultModelPath(),
      mode: 'live',
      workers: 1,
      sources: [{ url: cam.url, name: 'lagcam' }],
      reconnect: { maxBehindMs: 1000 },
      overload: { minFps: 1e9, forMs },
    });
    const { records, warnings } = await runTillWarned(p, () => (p.sources()[0].resyncs ?? 0) >= 3, 60_000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', source: 'lagcam' });
    // The minute it was too slow for spans a resync.
    const warnedAt = Date.parse(String(warnings[0].time));
    const slowFrom = warnedAt - Number(warnings[0].forSeconds) * 1000;
    const resyncs = records.filter((r) => r.msg.startsWith('source resync')).map((r) => Date.parse(String(r.time)));
    expect(resyncs.some((t) => t > slowFrom && t < warnedAt)).toBe(true);
  }, 90_000);
});

describe("a camera's own frame rate", () => {
  it('is reported beside decodedFps, which counts the frames fpsCap keeps (a 60 fps camera capped at 10 read 10)', async () => {
    const tmp = tempDir();
    const clip = makeVideo(join(tmp.dir, 'hfr.mp4'), { width: 160, height: 120, fps: 60, seconds: 3 });
    const p = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: clip, name: 'hfr', fpsCap: 10, loop: true }] });
    const metrics = createPipelineMetrics(p);
    let results = 0;
    p.on('result', () => results++);
    await p.start();
    try {
      await until(() => results >= 5, 20_000);
      const s = p.sources()[0];
      expect(s.streamFps).toBe(60);
      expect(formatStatus(s)).toContain('camera 60 fps');
      const text = await metrics.render();
      expect(text).toMatch(/^xnorcam_source_stream_fps\{source="hfr"\} 60$/m);
      expect(text).toMatch(/^# HELP xnorcam_source_decoded_fps .*after fpsCap/m);
    } finally {
      await p.close();
      metrics.close();
      tmp.cleanup();
    }
  }, 60_000);
});
