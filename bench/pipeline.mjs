// Pipeline benchmark: batch throughput end to end and live latency. Prints ONE JSON document on stdout
// (progress on stderr). Needs `npm run build` first.
//
//   node bench/pipeline.mjs [--seconds 60] [--model FILE.xnor] [--size 416] [--workers N] [--threads-per-frame N]
//                           [--live-seconds 20] [--skip-live] [--skip-batch]
//
// Batch: `xnorcam batch` (the real CLI, as a user runs it) on a generated 1280x720 30 fps H.264 file
// of --seconds; frames/s end to end (decode + detect + track + JSONL/MOT/CSV), × real time, peak RSS of
// the xnorcam process (detector threads included; ffmpeg's own memory is a separate process).
// Live: a local RTSP camera (GStreamer, 1280x720 30 fps, on this same machine) through the live
// pipeline; latency = detections ready − frame fully received from ffmpeg, p50/p95.
// Model: --model, else the bundled models/xnorcam-traffic.xnor, else yolov3-tiny_xnor at --size with
// deterministic random weights (same compute as a trained one; detections meaningless).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { yolov3TinyCfg } from './yolov3-tiny.mjs';
import { helpIfAsked } from './help.mjs';

helpIfAsked(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
const log = (m) => process.stderr.write(`bench: ${m}\n`);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function parseArgs(argv) {
  const o = { seconds: 60, model: undefined, size: 416, workers: undefined, threadsPerFrame: undefined, liveSeconds: 20, live: true, batch: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--seconds') o.seconds = Number(val());
    else if (a === '--model') o.model = val();
    else if (a === '--size') o.size = Number(val());
    else if (a === '--workers') o.workers = Number(val());
    else if (a === '--threads-per-frame') o.threadsPerFrame = Number(val());
    else if (a === '--live-seconds') o.liveSeconds = Number(val());
    else if (a === '--skip-live') o.live = false;
    else if (a === '--skip-batch') o.batch = false;
    else {
      console.error(`error: bench/pipeline: unknown option ${a}`);
      process.exit(2);
    }
  }
  return o;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
};

async function resolveModel(o, tmp) {
  if (o.model) return { path: o.model, kind: 'given' };
  const { defaultModelPath } = await import(dist('detect/default-model.js'));
  if (existsSync(defaultModelPath())) return { path: defaultModelPath(), kind: 'bundled' };
  const { randomModelFromCfg } = await import(dist('engine/random-model.js'));
  const { encodeModel } = await import(dist('engine/model-file/format.js'));
  const cfg = path.join(tmp, `yolov3-tiny_xnor_${o.size}.cfg`);
  writeFileSync(cfg, yolov3TinyCfg({ size: o.size, xnor: true }));
  const file = path.join(tmp, `random-${o.size}.xnor`);
  writeFileSync(file, encodeModel(randomModelFromCfg(cfg, 1)));
  return { path: file, kind: `random-weights yolov3-tiny_xnor ${o.size}x${o.size}` };
}

function benchVideo(seconds) {
  const dir = path.join(root, '.cache', 'bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `720p30-${seconds}s-v2.mp4`);
  if (existsSync(file)) return file;
  log(`generating ${seconds} s 1280x720 30 fps H.264 → ${path.relative(process.cwd(), file)} (once)`);
  // Moving pattern + light temporal noise: ~2 Mbit/s, the bitrate of a typical 720p30 traffic camera
  // (a clean test card would be unrealistically cheap to decode, heavy noise unrealistically expensive).
  const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30,noise=alls=4:allf=t`, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '25', '-g', '60', '-pix_fmt', 'yuv420p', `${file}.tmp.mp4`]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  spawnSync('mv', [`${file}.tmp.mp4`, file]);
  return file;
}

async function batch(o, model, tmp) {
  const video = benchVideo(o.seconds);
  const out = path.join(tmp, 'out');
  const args = [path.join(root, 'bin/xnorcam.js'), 'batch', video, '--model', model.path, '--out', out, ...(o.workers ? ['--workers', String(o.workers)] : []),
    ...(o.threadsPerFrame ? ['--threads-per-frame', String(o.threadsPerFrame)] : [])];
  log(`batch: ${args.slice(1).join(' ')}`);
  const useTime = existsSync('/usr/bin/time');
  const t0 = Date.now();
  const r = await new Promise((resolve) => {
    const p = useTime ? spawn('/usr/bin/time', ['-f', 'XNORCAM_TIME %e %M', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => {
      err += d;
      process.stderr.write(d);
    });
    p.on('close', (code) => resolve({ code, err }));
  });
  const wall = (Date.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`batch failed (${r.code})`);
  const m = /XNORCAM_TIME ([\d.]+) (\d+)/.exec(r.err);
  const lines = readFileSync(path.join(out, `${path.basename(video, '.mp4')}.detections.jsonl`), 'utf8').trim().split('\n');
  const frames = lines.map((l) => JSON.parse(l).frame);
  const inOrder = frames.every((f, i) => f === i);
  const seconds = m ? Number(m[1]) : wall;
  return {
    video: { file: path.relative(root, video), width: 1280, height: 720, fps: 30, seconds: o.seconds, frames: o.seconds * 30, kbitPerSecond: Math.round((statSync(video).size * 8) / o.seconds / 1000) },
    framesProcessed: frames.length,
    everyFrameInOrder: inOrder && frames.length === o.seconds * 30,
    wallSeconds: round(seconds),
    framesPerSecond: round(frames.length / seconds, 1),
    timesRealTime: round(o.seconds / seconds),
    peakRssMiB: m ? round(Number(m[2]) / 1024, 1) : null,
  };
}

async function live(o, model) {
  const { Pipeline } = await import(dist('pipeline/pipeline.js'));
  const server = spawn('/usr/bin/python3', [path.join(root, 'test/helpers/rtsp-server.py'), '--port', '0', '--width', '1280', '--height', '720', '--fps', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (c) => reject(new Error(`RTSP server exited ${c}`)));
  });
  const url = `rtsp://127.0.0.1:${port}/cam`;
  log(`live: ${url} for ${o.liveSeconds} s`);
  const p = new Pipeline({ model: model.path, mode: 'live', workers: o.workers, threadsPerFrame: o.threadsPerFrame, sources: [{ url, name: 'cam' }] });
  const lat = [];
  let first = 0;
  p.on('result', (r) => {
    if (!first) first = Date.now();
    // Skip the first 2 s: connection set-up, not steady state.
    if (Date.now() - first > 2000) lat.push(r.detectedAt - r.frame.capturedAt);
  });
  await p.start();
  await new Promise((r) => setTimeout(r, o.liveSeconds * 1000));
  const st = p.sources()[0];
  await p.close();
  server.kill('SIGTERM');
  const decoded = lat.length + st.droppedFrames;
  return {
    source: 'GStreamer RTSP 1280x720 30 fps H.264 on 127.0.0.1 (same machine)',
    seconds: o.liveSeconds,
    results: lat.length,
    latencyMs: { p50: round(quantile(lat, 0.5), 1), p95: round(quantile(lat, 0.95), 1), max: round(Math.max(...lat), 1) },
    decodedFps: st.decodedFps,
    detectedFps: st.detectedFps,
    droppedFrames: st.droppedFrames,
    droppedShare: decoded ? round(st.droppedFrames / decoded, 3) : 0,
  };
}

const o = parseArgs(process.argv.slice(2));
const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-bench-'));
try {
  const model = await resolveModel(o, tmp);
  const result = { machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, model: { kind: model.kind, file: model.kind === 'bundled' || model.kind === 'given' ? model.path : undefined } };
  if (o.batch) result.batch = await batch(o, model, tmp);
  if (o.live) result.live = await live(o, model);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
