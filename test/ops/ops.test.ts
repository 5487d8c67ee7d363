import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureLog } from '../../src/core/log.js';
import { createServer, type Server } from 'node:http';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebhookSink } from '../../src/ops/webhook-sink.js';
import { LiveLineFile, OUTPUT_RETRY_MS, RotatingLineFile } from '../../src/ops/rotating-file.js';
import { createPipelineMetrics } from '../../src/ops/metrics.js';
import type { PipelineFeed, SourceCounts, SourceStatus } from '../../src/core/feed.js';
import type { FrameResult, TrafficEvent } from '../../src/core/types.js';

const crossing = (trackId: number): TrafficEvent => ({ type: 'line-crossing', source: 'cam1', ptsMs: trackId * 40, at: Date.now(), line: 'l1', direction: 'forward', trackId, className: 'car' });

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real HTTP endpoint that answers `statuses` in turn (then 200) and records the bodies it accepted. */
async function endpoint(statuses: number[]): Promise<{ url: string; received: TrafficEvent[]; hits: () => number }> {
  const received: TrafficEvent[] = [];
  let hits = 0;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = statuses[hits++] ?? 200;
      if (status === 200) received.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/hook`, received, hits: () => hits };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** The JSON log lines written to stderr until `restore()` (nothing reaches the terminal meanwhile). */
function captureLog(): { lines: { msg: string; [k: string]: unknown }[]; restore: () => void } {
  configureLog({ json: true });
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.startsWith('{')) lines.push(JSON.parse(text));
    return true;
  });
  return { lines, restore: () => spy.mockRestore() };
}

describe('WebhookSink', () => {
  it('retries with backoff through outages and delivers in order', async () => {
    const ep = await endpoint([503, 503, 500]);
    const sink = new WebhookSink({ url: ep.url, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 5, queueSize: 100, baseDelayMs: 5 });
    for (let i = 1; i <= 5; i++) sink.push(crossing(i));
    // the endpoint records a delivery before it answers; the sink counts it when the answer arrives
    await until(() => ep.received.length === 5 && sink.stats.sent + sink.stats.failed + sink.stats.dropped >= 5);
    expect(ep.received.map((e) => (e as { trackId: number }).trackId)).toEqual([1, 2, 3, 4, 5]);
    expect(sink.stats).toMatchObject({ sent: 5, failed: 0, dropped: 0 });
    expect(ep.hits()).toBe(8);
    await sink.close();
  });

  it('sends user:password@ in its URL as basic authentication (fetch refuses such a URL), and logs the URL without secrets', async () => {
    const { lines, restore } = captureLog();
    const seen: { auth?: string; url?: string }[] = [];
    let hits = 0;
    const srv = createServer((req, res) => {
      seen.push({ auth: req.headers.authorization, url: req.url });
      req.resume();
      req.on('end', () => res.writeHead(hits++ === 0 ? 500 : 200).end());
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const sink = new WebhookSink({ url: `http://hookuser:hook%40pw@127.0.0.1:${port}/hook?key=abc`, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 5, queueSize: 10, baseDelayMs: 5 });
      sink.push(crossing(1));
      await until(() => sink.stats.sent === 1);
      await sink.close();
      expect(seen).toHaveLength(2);
      for (const r of seen) expect(r).toEqual({ auth: `Basic ${Buffer.from('hookuser:hook@pw').toString('base64')}`, url: '/hook?key=abc' });
      const logged = JSON.stringify(lines);
      expect(lines.find((l) => l.msg === 'webhook unreachable, retrying with backoff')).toMatchObject({ url: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${port}/…#[0-9a-f]{6}$`)) });
      expect(logged).not.toContain('hook%40pw');
      expect(logged).not.toContain('key=abc');
      // A % that is no escape (50%off) is taken as written, not a crash of the run at start.
      const literal = new WebhookSink({ url: `http://user:50%off@127.0.0.1:${port}/hook`, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 0, queueSize: 1 });
      await literal.close(0);
    } finally {
      restore();
      await new Promise((r) => srv.close(r));
    }
  });

  it('names a hook whose path is its secret (Slack, Teams, Discord) by its host and a hash, in every log line', async () => {
    const { lines, restore } = captureLog();
    try {
      const sink = new WebhookSink({ url: 'http://127.0.0.1:9/services/T000/B000/SlackSecret77', events: ['line-crossing'], timeoutMs: 1000, maxRetries: 0, queueSize: 10 });
      sink.push(crossing(1));
      await until(() => sink.stats.failed === 1);
      await sink.close(0);
      expect(lines.find((l) => l.msg === 'webhook events lost')).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:9\/…#[0-9a-f]{6}$/) });
      expect(JSON.stringify(lines)).not.toContain('SlackSecret77');
    } finally {
      restore();
    }
  });

  it('does not follow a redirect (it would take the headers, API keys, to another host): a failed delivery, saying why', async () => {
    const { lines, restore } = captureLog();
    const elsewhere: (string | undefined)[] = [];
    const thief = createServer((req, res) => {
      elsewhere.push(req.headers['x-api-key'] as string | undefined);
      req.resume();
      res.end();
    });
    await new Promise<void>((r) => thief.listen(0, '127.0.0.1', r));
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://localhost:${(thief.address() as AddressInfo).port}/stolen` }).end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    try {
      const sink = new WebhookSink({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 5, queueSize: 10, headers: { 'X-Api-Key': 'RedirKey2' } });
      sink.push(crossing(1));
      await until(() => sink.stats.failed === 1);
      await sink.close(0);
      expect(sink.stats).toMatchObject({ sent: 0, failed: 1 });
      expect(elsewhere).toEqual([]);
      expect(lines.find((l) => l.msg === 'webhook events lost')).toMatchObject({ failed: 1, reason: 'HTTP 307: redirects are not followed' });
    } finally {
      restore();
      await new Promise((r) => thief.close(r));
    }
  });

  it('keeps a bounded queue while the endpoint is down, dropping the oldest', async () => {
    const sink = new WebhookSink({ url: 'http://127.0.0.1:9/unreachable', events: ['line-crossing'], timeoutMs: 200, maxRetries: 100, queueSize: 3, baseDelayMs: 1000 });
    // push never waits for the network: the queue is settled before anything is awaited (no timing
    // assertion: a loaded machine made one flaky).
    for (let i = 1; i <= 10; i++) expect(sink.push(crossing(i))).toBeUndefined();
    expect(sink.stats.dropped).toBe(7);
    expect(sink.stats.queued).toBe(3);
    await sink.close(0);
  });

  it('gives up on an event the endpoint refuses (4xx) and goes on with the next', async () => {
    const ep = await endpoint([400]);
    const sink = new WebhookSink({ url: ep.url, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 5, queueSize: 10, baseDelayMs: 5 });
    sink.push(crossing(1));
    sink.push(crossing(2));
    // The endpoint records the event before it answers; the sink counts it once the answer is back.
    await until(() => ep.received.length === 1 && sink.stats.sent === 1);
    expect((ep.received[0] as { trackId: number }).trackId).toBe(2);
    expect(sink.stats).toMatchObject({ sent: 1, failed: 1 });
    await sink.close();
  });

  it('says why it cannot deliver, and sums up the events it lost (at most a line a minute), at shutdown too', async () => {
    const { lines, restore } = captureLog();
    try {
      const ep = await endpoint(Array(100).fill(500));
      const sink = new WebhookSink({ url: ep.url, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 1, queueSize: 2, baseDelayMs: 5 });
      for (let i = 1; i <= 4; i++) sink.push(crossing(i)); // the queue holds 2: two dropped at once
      await until(() => sink.stats.failed === 2);
      sink.push(crossing(5));
      await sink.close(1000);
      // The fifth was in flight at shutdown: its answer within the grace (a 500, no retry now) settles it.
      await until(() => sink.stats.failed + sink.stats.dropped === 5);
      const unreachable = lines.filter((l) => l.msg === 'webhook unreachable, retrying with backoff');
      expect(unreachable).toHaveLength(1);
      expect(unreachable[0].reason).toBe('HTTP 500');
      const lost = lines.filter((l) => l.msg === 'webhook events lost');
      // The first loss at once, the rest within the minute held back, then told at shutdown and with the
      // last answer: nothing unaccounted, nothing twice.
      expect(lost.length).toBeLessThanOrEqual(3);
      expect(lost.reduce((n, l) => n + (l.failed as number) + (l.dropped as number), 0)).toBe(5);
      expect(lost.at(-1)).toMatchObject({ totalFailed: 3, totalDropped: 2 });
      expect(sink.stats).toMatchObject({ sent: 0, failed: 3, dropped: 2, queued: 0 });
    } finally {
      restore();
    }
  });

  it('keeps to a loss line a minute when refusals and deliveries alternate, and counts an event in flight at shutdown once', async () => {
    const { lines, restore } = captureLog();
    try {
      const ep = await endpoint(Array.from({ length: 20 }, (_, i) => (i % 2 ? 200 : 422)));
      const sink = new WebhookSink({ url: ep.url, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 1, queueSize: 100, baseDelayMs: 5 });
      for (let i = 1; i <= 20; i++) sink.push(crossing(i));
      await until(() => sink.stats.sent + sink.stats.failed === 20);
      await sink.close(0);
      const lost = lines.filter((l) => l.msg === 'webhook events lost');
      expect(lost, JSON.stringify(lost)).toHaveLength(2); // the first refusal at once, the other nine at shutdown
      expect(lost[1]).toMatchObject({ failed: 9, dropped: 0, reason: 'HTTP 422' });
      server!.close();
      server = undefined;

      // An answer that comes after the shutdown began, within its grace: sent, not also dropped.
      server = createServer((req, res) => {
        req.resume();
        setTimeout(() => res.end(), 400);
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const slow = new WebhookSink({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, events: ['line-crossing'], timeoutMs: 2000, maxRetries: 1, queueSize: 10 });
      slow.push(crossing(1));
      await new Promise((r) => setTimeout(r, 100));
      await slow.close(1000);
      await until(() => slow.stats.sent === 1);
      expect(slow.stats).toMatchObject({ sent: 1, dropped: 0, failed: 0 });
    } finally {
      restore();
    }
  });

  it('tells a loss held back when its minute is up, though nothing else happens (a dead endpoint, no more traffic)', async () => {
    const { lines, restore } = captureLog();
    try {
      const ep = await endpoint(Array(10).fill(500));
      const sink = new WebhookSink({ url: ep.url, events: ['line-crossing'], timeoutMs: 1000, maxRetries: 0, queueSize: 10, lossReportMs: 300 });
      sink.push(crossing(1));
      sink.push(crossing(2));
      await until(() => sink.stats.failed === 2);
      await until(() => lines.filter((l) => l.msg === 'webhook events lost').length === 2, 2000);
      expect(lines.filter((l) => l.msg === 'webhook events lost').map((l) => l.failed)).toEqual([1, 1]);
      await sink.close(0);
    } finally {
      restore();
    }
  });

  it('aborts a request still unanswered when the shutdown\'s grace is over, and counts and logs its event as lost', async () => {
    const { lines, restore } = captureLog();
    try {
      // An endpoint that takes the request and never answers: the shutdown waited for the whole timeoutMs.
      let received = false;
      let aborted = false;
      server = createServer((req) => {
        received = true;
        req.resume();
        req.socket.once('close', () => (aborted = true));
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      const sink = new WebhookSink({ url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, events: ['line-crossing'], timeoutMs: 60_000, maxRetries: 3, queueSize: 10 });
      sink.push(crossing(1));
      sink.push(crossing(2));
      await until(() => received);
      await sink.close(200);
      expect(sink.stats).toMatchObject({ sent: 0, failed: 0, dropped: 2, queued: 0 });
      expect(lines.filter((l) => l.msg === 'webhook events lost')).toMatchObject([{ failed: 0, dropped: 2, totalDropped: 2 }]);
      await until(() => aborted);
    } finally {
      server?.closeAllConnections();
      restore();
    }
  });

  it('sends only the event types it is configured for', async () => {
    const ep = await endpoint([]);
    const sink = new WebhookSink({ url: ep.url, events: ['source-down'], timeoutMs: 1000, maxRetries: 1, queueSize: 10 });
    sink.push(crossing(1));
    sink.push({ type: 'source-down', source: 'cam1', at: 1, reason: 'watchdog' });
    await until(() => ep.received.length === 1);
    expect(ep.received[0].type).toBe('source-down');
    await sink.close();
  });
});

describe('RotatingLineFile', () => {
  it('rotates by size, keeps maxFiles, repeats the header, and every line stays whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-rot-'));
    const f = new RotatingLineFile(join(dir, 'counts.csv'), { maxBytes: 200, maxFiles: 2, header: 'time,count' });
    for (let i = 0; i < 100; i++) f.writeLine(`2026-01-01T00:00:${String(i).padStart(2, '0')},${i}`);
    f.close();
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['counts.csv', 'counts.csv.1', 'counts.csv.2']);
    for (const name of files) {
      const lines = readFileSync(join(dir, name), 'utf8').split('\n');
      expect(lines.pop()).toBe('');
      expect(lines[0]).toBe('time,count');
      for (const l of lines.slice(1)) expect(l).toMatch(/^2026-01-01T00:00:\d\d,\d+$/);
    }
    const last = readFileSync(join(dir, 'counts.csv'), 'utf8').trim().split('\n').pop();
    expect(last).toMatch(/,99$/);
  });
});

describe('LiveLineFile (a live output that must outlive the disk)', () => {
  const logged = () => {
    const lines: { level: string; msg: string; f: Record<string, unknown> }[] = [];
    return { lines, error: (msg: string, f: Record<string, unknown>) => lines.push({ level: 'error', msg, f }), warn: (msg: string, f: Record<string, unknown>) => lines.push({ level: 'warn', msg, f }), info: (msg: string, f: Record<string, unknown>) => lines.push({ level: 'info', msg, f }) };
  };

  it('refuses a link planted at its name (a shared folder): its target is never written, the log names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-link-'));
    const victim = join(mkdtempSync(join(tmpdir(), 'xnorcam-victim-')), 'authorized_keys');
    writeFileSync(victim, 'ssh-ed25519 AAAA mine\n');
    const path = join(dir, 'events.jsonl');
    symlinkSync(victim, path);
    const log = logged();
    const f = new LiveLineFile(path, { maxBytes: 1 << 20, maxFiles: 2 }, log);
    f.writeLine('{"n":0}');
    f.close();
    expect(readFileSync(victim, 'utf8')).toBe('ssh-ed25519 AAAA mine\n');
    expect(log.lines[0]).toMatchObject({ level: 'error', f: { file: path, error: `${path}: is a symbolic link; output files are never written through one (remove it)` } });
  });

  it('goes on when the file was moved away before it rotates (an archive job)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-rot-'));
    const log = logged();
    const f = new LiveLineFile(join(dir, 'cam.detections.jsonl'), { maxBytes: 100, maxFiles: 2 }, log);
    for (let i = 0; i < 3; i++) f.writeLine(`{"n":${i}}`);
    mkdirSync(join(dir, 'archive'));
    renameSync(join(dir, 'cam.detections.jsonl'), join(dir, 'archive', 'cam.jsonl'));
    for (let i = 3; i < 40; i++) f.writeLine(`{"n":${i}}`);
    f.close();
    expect(log.lines).toEqual([]);
    const current = readFileSync(join(dir, 'cam.detections.jsonl'), 'utf8').trim().split('\n');
    expect(current.at(-1)).toBe('{"n":39}');
  });

  it('starts a new file at its path within a second of the open one being moved away or deleted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-moved-'));
    const path = join(dir, 'cam.counts.csv');
    const log = logged();
    let now = 0;
    const f = new LiveLineFile(path, { maxBytes: 1 << 20, maxFiles: 2, header: 'a,b' }, log, () => now);
    f.writeLine('1,1');
    mkdirSync(join(dir, 'archive'));
    renameSync(path, join(dir, 'archive', 'cam.counts.csv'));
    now += 400;
    f.writeLine('2,2'); // within the second: still into the moved file
    now += 700;
    f.writeLine('3,3');
    expect(readFileSync(join(dir, 'archive', 'cam.counts.csv'), 'utf8')).toBe('a,b\n1,1\n2,2\n');
    expect(readFileSync(path, 'utf8')).toBe('a,b\n3,3\n');
    expect(log.lines).toEqual([{ level: 'info', msg: 'output file was moved or deleted; a new one is started at its path', f: { file: path } }]);
    // Deleted: its lines no longer go into a file nobody can read.
    rmSync(path);
    now += 1000;
    f.writeLine('4,4');
    expect(readFileSync(path, 'utf8')).toBe('a,b\n4,4\n');
    expect(log.lines).toHaveLength(2);
    // Emptied in place (logrotate's copytruncate, same inode): it gets its header back.
    truncateSync(path, 0);
    now += 1000;
    f.writeLine('5,5');
    f.close();
    expect(readFileSync(path, 'utf8')).toBe('a,b\n5,5\n');
    expect(log.lines.at(-1)).toEqual({ level: 'info', msg: 'output file was truncated (copytruncate); writing on from its new end', f: { file: path } });
  });

  /**
   * A folder whose `full` is /dev/full (every write fails with ENOSPC), linked (a link at the file's own name
   * is refused); `free()` puts a real folder in its place, as space freed would.
   */
  const fullDisk = () => {
    const disk = join(mkdtempSync(join(tmpdir(), 'xnorcam-full-')), 'disk');
    symlinkSync('/dev', disk);
    return {
      path: join(disk, 'full'),
      free: () => {
        rmSync(disk);
        mkdirSync(disk);
      },
    };
  };

  it('drops and counts lines while the disk is full, says so once, and writes again when it can', () => {
    const { path, free } = fullDisk();
    const log = logged();
    let now = 0;
    const f = new LiveLineFile(path, { maxBytes: 1 << 20, maxFiles: 2 }, log, () => now);
    for (let i = 0; i < 5; i++) f.writeLine(`{"n":${i}}`);
    now += OUTPUT_RETRY_MS; // tried again: still full, not logged again
    f.writeLine('{"n":5}');
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 'error', f: { file: path } });
    expect(log.lines[0].msg).toMatch(/^output file cannot be written; its lines are dropped until it can/);
    expect(String(log.lines[0].f.error)).toMatch(/ENOSPC/);
    // Space again: the next try after the pause writes.
    free();
    now += 1000;
    f.writeLine('{"n":6}'); // within the pause: dropped
    now += OUTPUT_RETRY_MS;
    f.writeLine('{"n":7}');
    f.close();
    expect(readFileSync(path, 'utf8')).toBe('{"n":7}\n');
    expect(log.lines[1]).toEqual({ level: 'info', msg: 'output file writable again', f: { file: path, linesWrittenLate: 0, linesLost: 7 } });
  });

  it("holds a counts CSV's rows while the disk is full and writes them in order, before newer rows, once it can", () => {
    const { path, free } = fullDisk();
    const log = logged();
    let now = 0;
    const f = new LiveLineFile(path, { maxBytes: 1 << 20, maxFiles: 2, holdLines: 100 }, log, () => now);
    const interval = (m: number) => [`0${m},a,1`, `0${m},b,2`];
    f.writeLines(interval(1));
    now += OUTPUT_RETRY_MS;
    f.writeLines(interval(2));
    expect(f.held).toBe(4);
    expect(f.failing()).toMatchObject({ file: path, held: 4, lost: 0, error: expect.stringMatching(/ENOSPC/) });
    expect(log.lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^output file cannot be written; its lines are held \(up to 100\) and written in order once it can be/)]);
    // Space again: the retry (its timer's) writes them without waiting for the next interval.
    free();
    now += OUTPUT_RETRY_MS;
    f.retry();
    f.writeLines(interval(3));
    f.close();
    expect(readFileSync(path, 'utf8')).toBe('01,a,1\n01,b,2\n02,a,1\n02,b,2\n03,a,1\n03,b,2\n');
    expect(log.lines.slice(1)).toEqual([{ level: 'info', msg: 'output file writable again', f: { file: path, linesWrittenLate: 4, linesLost: 0 } }]);
    expect(f.totalLost).toBe(0);
  });

  it('past its hold drops the oldest intervals whole, says so once, and counts them', () => {
    const { path } = fullDisk();
    const log = logged();
    const f = new LiveLineFile(path, { maxBytes: 1 << 20, maxFiles: 2, holdLines: 5 }, log, () => 0);
    for (let m = 0; m < 5; m++) f.writeLines([`${m},a`, `${m},b`]);
    expect(f.held).toBe(4);
    expect(log.lines.map((l) => [l.level, l.f.linesLost])).toEqual([['error', undefined], ['warn', 2]]);
    expect(log.lines[1].msg).toMatch(/holds 5 lines, its most: the oldest are dropped/);
    // Stopped while still full: one line with every line not saved, dropped and held.
    expect(f.close()).toBe(10);
    expect(log.lines.at(-1)).toEqual({ level: 'error', msg: 'output file closed with lines not saved', f: { file: path, linesLost: 10, heldNotWritten: 4 } });
    expect(f.totalLost).toBe(10);
  });

  it('survives a folder that cannot be made', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xnorcam-nodir-'));
    writeFileSync(join(dir, 'out'), 'a file where the folder should be\n');
    const log = logged();
    const f = new LiveLineFile(join(dir, 'out', 'events.jsonl'), { maxBytes: 1000, maxFiles: 1 }, log);
    f.writeLine('{}');
    f.close();
    expect(log.lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^output file cannot be written/), 'output file closed with lines not saved']);
    expect(String(log.lines[0].f.error)).toMatch(/EEXIST|ENOTDIR/);
  });
});

describe('pipeline metrics', () => {
  it('exports per-source and detector metrics that move with the pipeline', async () => {
    const status: SourceStatus = { name: 'cam1', url: 'rtsp://x', state: 'running', decodedFps: 25, detectedFps: 12.5, latencyMs: 80, droppedFrames: 3, reconnects: 1, lastFrameAt: Date.now(), width: 640, height: 360, detectFailures: 4 };
    // A camera dead since it was started 90 s ago: no frame ever.
    const dead: SourceStatus = { name: 'cam2', url: 'rtsp://y', state: 'reconnecting', decodedFps: 0, detectedFps: 0, latencyMs: 0, droppedFrames: 0, reconnects: 5, lastFrameAt: null, width: 0, height: 0, startedAt: Date.now() - 90_000 };
    const emitter = new EventEmitter();
    const feed = Object.assign(emitter, { sources: () => [status, dead], overlay: () => ({ lines: [], zones: [] }), counts: () => undefined }) as unknown as PipelineFeed;
    let depth = 2;
    const metrics = createPipelineMetrics(feed, {
      workerQueueDepth: () => depth,
      websocketClients: () => 4,
      webhooks: () => [{ url: 'https://hooks.example.org/traffic', sent: 7, failed: 2, dropped: 1, queued: 3 }],
    });
    const result = (seq: number): FrameResult => ({
      frame: { source: 'cam1', seq, ptsMs: seq * 40, capturedAt: 1000, width: 640, height: 360 },
      detections: [], tracks: [], events: [crossing(seq)], detectedAt: 1120, detectMs: 9,
    });
    emitter.emit('result', result(1));
    emitter.emit('result', result(2));
    const text = await metrics.render();
    expect(text).toMatch(/xnorcam_source_decoded_fps\{source="cam1"\} 25/);
    expect(text).toMatch(/xnorcam_source_detected_fps\{source="cam1"\} 12.5/);
    expect(text).toMatch(/xnorcam_source_skipped_frames_total\{source="cam1"\} 3/);
    expect(text).toMatch(/xnorcam_source_reconnects_total\{source="cam1"\} 1/);
    expect(text).toMatch(/xnorcam_source_detect_failures_total\{source="cam1"\} 4/);
    // Counted from its start, so an alert on it fires for a camera that never came up (it read -1).
    const sinceDead = Number(/xnorcam_source_seconds_since_last_frame\{source="cam2"\} ([\d.]+)/.exec(text)?.[1]);
    expect(sinceDead).toBeGreaterThanOrEqual(90);
    expect(sinceDead).toBeLessThan(120);
    expect(text).toMatch(/xnorcam_frames_detected_total\{source="cam1"\} 2/);
    expect(text).toMatch(/xnorcam_events_total\{source="cam1",type="line-crossing"\} 2/);
    expect(text).toMatch(/xnorcam_detection_latency_seconds_bucket\{le="0.2",source="cam1"\} 2/);
    expect(text).toMatch(/xnorcam_detector_seconds_sum 0.018/);
    expect(text).toMatch(/xnorcam_worker_queue_depth 2/);
    expect(text).toMatch(/xnorcam_websocket_clients 4/);
    expect(text).toMatch(/xnorcam_webhook_events_total\{webhook="https:\/\/hooks.example.org\/traffic",outcome="failed"\} 2/);
    expect(text).toMatch(/xnorcam_webhook_queue\{webhook="https:\/\/hooks.example.org\/traffic"\} 3/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds /);
    status.reconnects = 2;
    depth = 0;
    const again = await metrics.render();
    expect(again).toMatch(/xnorcam_source_reconnects_total\{source="cam1"\} 2/);
    expect(again).toMatch(/xnorcam_worker_queue_depth 0/);
    // A down event told as it happens (no frame carries it) counts too.
    emitter.emit('events', { source: 'cam1', events: [{ type: 'source-down', source: 'cam1', at: 1, reason: 'stream ended' }] });
    expect(await metrics.render()).toMatch(/xnorcam_events_total\{source="cam1",type="source-down"\} 1/);
    // A reload removes the source: its series go with it, where they piled up for the life of the process.
    emitter.emit('removed', { source: 'cam1' });
    const after = await metrics.render();
    expect(after).not.toMatch(/xnorcam_frames_detected_total\{source="cam1"\}/);
    expect(after).not.toMatch(/xnorcam_events_total\{source="cam1"/);
    expect(after).not.toMatch(/xnorcam_detection_latency_seconds_bucket\{le="0.2",source="cam1"\}/);
    metrics.close();
  });

  it('exports line counts and zone occupancy as the dashboard shows them', async () => {
    const status: SourceStatus = { name: 'cam1', url: 'rtsp://x', state: 'running', decodedFps: 25, detectedFps: 25, latencyMs: 80, droppedFrames: 0, reconnects: 0, lastFrameAt: Date.now(), width: 640, height: 360 };
    const counts: SourceCounts = {
      source: 'cam1',
      intervalMs: 60_000,
      total: { stop: { forward: { car: 12, bus: 1 }, backward: { car: 3 } } },
      intervals: [],
      occupancy: { junction: { car: 2, truck: 1 }, bay: {} },
    };
    const emitter = new EventEmitter();
    const feed = Object.assign(emitter, { sources: () => [status], overlay: () => ({ lines: [], zones: [] }), counts: () => counts }) as unknown as PipelineFeed;
    const metrics = createPipelineMetrics(feed);
    const text = await metrics.render();
    expect(text).toMatch(/xnorcam_line_crossings_total\{source="cam1",line="stop",direction="forward",class="car"\} 12/);
    expect(text).toMatch(/xnorcam_line_crossings_total\{source="cam1",line="stop",direction="backward",class="car"\} 3/);
    expect(text).toMatch(/xnorcam_zone_occupancy\{source="cam1",zone="junction",class="truck"\} 1/);
    counts.occupancy = { junction: { car: 1 }, bay: {} };
    const again = await metrics.render();
    expect(again).toMatch(/xnorcam_zone_occupancy\{source="cam1",zone="junction",class="car"\} 1/);
    // A class that left the zone reads 0, not its old value nor a gap.
    expect(again).toMatch(/xnorcam_zone_occupancy\{source="cam1",zone="junction",class="truck"\} 0/);
    metrics.close();
  });

  it('reads the worker queue depth from the pipeline when no probe is given', async () => {
    let depth = 3;
    const feed = Object.assign(new EventEmitter(), { sources: () => [], overlay: () => ({ lines: [], zones: [] }), counts: () => undefined, queueDepth: () => depth }) as unknown as PipelineFeed;
    const metrics = createPipelineMetrics(feed, { websocketClients: () => 1 });
    expect(await metrics.render()).toMatch(/xnorcam_worker_queue_depth 3/);
    depth = 1;
    expect(await metrics.render()).toMatch(/xnorcam_worker_queue_depth 1/);
    metrics.close();
  });
});
