import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { FrameSlots } from '../../src/ingest/frame-slots.js';
import { SourceRunner } from '../../src/ingest/source-runner.js';
import { parseSource } from '../../src/ingest/source-spec.js';
import type { FrameResult } from '../../src/core/types.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';
import { makeVideo, probeFramePts, tempDir } from '../helpers/videos.js';
import { bin, imageA, testModel } from '../helpers/model.js';

describe('network sources', () => {
  let tmp: ReturnType<typeof tempDir>;
  let http: Server;
  let base = '';
  beforeAll(async () => {
    tmp = tempDir();
    http = createServer((req, res) => {
      // /slow/<file>: the stream's first bytes come 1.5 s after the request (a slow link, a long GOP).
      const slow = (req.url ?? '').startsWith('/slow/');
      const file = join(tmp.dir, (req.url ?? '/').split('?')[0].replace(/^\/slow\//, '/'));
      if (!existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': file.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' });
      const timer = setTimeout(() => createReadStream(file).pipe(res), slow ? 1500 : 0);
      req.on('close', () => clearTimeout(timer));
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => http.close(r));
    tmp.cleanup();
  });

  it('HLS over HTTP in batch mode: every frame, in order, then finished (a recording ends)', async () => {
    const src = makeVideo(join(tmp.dir, 'src.mp4'), { fps: 25, seconds: 4, audio: true });
    const r = spawnSync('ffmpeg', ['-v', 'error', '-i', src, '-c', 'copy', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod', join(tmp.dir, 'live.m3u8')]);
    expect(r.status).toBe(0);
    const n = probeFramePts(src).length;
    const p = new Pipeline({ model: testModel, mode: 'batch', workers: 1, sources: [{ url: `${base}/live.m3u8`, name: 'hls' }] });
    const results: FrameResult[] = [];
    p.on('result', (x: FrameResult) => results.push(x));
    await p.start();
    await p.finished;
    await p.close();
    expect(results.map((x) => x.frame.seq)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(p.sources()[0].state).toBe('finished');
  });

  it('xnorcam batch refuses a recording URL the server does not have, in one line, before any work', async () => {
    const out = join(tmp.dir, 'out-404');
    const r = await batch(`${base}/nope.mp4`, out);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^error: ${base.replace(/[.]/g, '\\.')}/nope\\.mp4: .*404`));
    expect(existsSync(out)).toBe(false);
    // With a password in the URL: the line names it hidden.
    const withPassword = await batch(`${base.replace('://', '://u:BatchSecret1@')}/nope.mp4`, out);
    expect(withPassword.stderr.trim()).toMatch(new RegExp(`^error: ${base.replace('://', '://u:***@').replace(/[.*]/g, '\\$&')}/nope\\.mp4: .*404`));
  });

  /** Not spawnSync: the server answering it runs in this process. */
  async function batch(url: string, out: string): Promise<{ status: number | null; stderr: string }> {
    const child = spawn(process.execPath, [bin, 'batch', url, '-o', out], { env: { ...process.env, XNORCAM_LOG_LEVEL: 'warn' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { status, stderr };
  }

  it('RTSP over UDP (--transport udp)', async () => {
    const cam = new TestRtspServer({ image: imageA, width: 160, height: 160, fps: 15 });
    await cam.start();
    try {
      const p = new Pipeline({ model: testModel, mode: 'live', workers: 1, sources: [{ url: cam.url, name: 'udp', transport: 'udp' }] });
      const results: FrameResult[] = [];
      p.on('result', (x: FrameResult) => results.push(x));
      await p.start();
      const t0 = Date.now();
      while (results.filter((x) => x.detections.length > 0).length < 10 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 50));
      await p.close();
      expect(results.filter((x) => x.detections.length > 0).length).toBeGreaterThanOrEqual(10);
    } finally {
      await cam.stop();
    }
  });

  it('waits for a slow first frame as long as the source\'s watchdog (it was cut at a fixed start limit, forever)', async () => {
    const src = makeVideo(join(tmp.dir, 'slow.mp4'), { fps: 10, seconds: 1 });
    expect(spawnSync('ffmpeg', ['-v', 'error', '-i', src, '-c', 'copy', '-f', 'mpegts', join(tmp.dir, 'slow.ts')]).status).toBe(0);
    const slots = new FrameSlots(32 * 32 * 3, 3);
    // A start limit shorter than the stream's first frame, a watchdog longer: the watchdog decides.
    const runner = new SourceRunner({ spec: parseSource(`${base}/slow/slow.ts`), width: 32, height: 32, slots, reconnect: true, realtime: false, loop: false, policy: { startMs: 500, stallMs: 4000 } });
    const first = new Promise<number>((resolve) => runner.once('frame', () => resolve(runner.reconnects)));
    runner.on('frame', (slot: number) => slots.release(slot));
    runner.start();
    try {
      const reconnects = await Promise.race([first, new Promise<string>((r) => setTimeout(() => r('no frame in 8 s'), 8000))]);
      expect(reconnects).toBe(0);
    } finally {
      runner.stop();
    }
  });
});
