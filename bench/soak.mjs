// Soak benchmark: N local RTSP cameras through `xnorcam run <pipeline.yaml>` for --minutes, as a user
// runs it unattended. Prints ONE JSON document on stdout (progress on stderr). Needs `npm run build`.
//
//   node bench/soak.mjs [--minutes 10] [--cameras 4] [--size 640x360] [--fps 15] [--fps-cap 10]
//                       [--outage-seconds 15] [--sample-seconds 15] [--warmup-seconds 60] [--keep]
//
// Cameras: a generated traffic video (`xnorcam synth video`, cached in .cache/soak/) cut into JPEG
// frames once; each camera is its own GStreamer RTSP server process (test/helpers/rtsp-server.py)
// looping those frames at --fps and encoding H.264 (x264 ultrafast), so one camera can be "unplugged"
// (SIGKILL) and plugged back on the same port without touching the others.
// Pipeline: a temporary YAML (validated by `xnorcam check`, the same zod schema as `run`) with one
// counting line per camera, events + counts files in a temporary folder, the dashboard on a free port.
// Every --sample-seconds: the xnorcam process's VmRSS, its CPU, `/metrics` and `/api/sources`.
// A WebSocket viewer is connected from the first third on, so the dashboard's clients gauge moves.
// At 1/3 of the run the second camera is killed for --outage-seconds, then restarted; the time until
// its frames (lastFrameAt) and its detections (xnorcam_frames_detected_total) resume is measured.
// At the end: SIGTERM, exit code 0 expected, events.jsonl complete, and <camera>.counts.csv with rows
// for every camera that counted crossings (the CSV gets a row only per interval with crossings).
// Metrics "moved": a counter or histogram count rose between the first and last scrape; a gauge took
// more than one value over the scrapes (or, for rates and memory, was > 0 all along).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { helpIfAsked } from './help.mjs';

helpIfAsked(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin/xnorcam.js');
const rtspScript = path.join(root, 'test/helpers/rtsp-server.py');
const log = (m) => process.stderr.write(`soak ${new Date().toISOString().slice(11, 19)}: ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = { minutes: 10, cameras: 4, size: '640x360', fps: 15, fpsCap: 10, outageSeconds: 15, sampleSeconds: 15, warmupSeconds: 60, keep: false };
  const num = (a, v, ok) => {
    const n = Number(v);
    if (!ok(n)) {
      console.error(`error: bench/soak: ${a} '${v}' is out of range`);
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    if (a === '--minutes') o.minutes = num(a, val(), (n) => n >= 1 && n <= 24 * 60);
    else if (a === '--cameras') o.cameras = num(a, val(), (n) => Number.isInteger(n) && n >= 2 && n <= 32);
    else if (a === '--size') {
      o.size = val();
      if (!/^\d+x\d+$/.test(o.size ?? '')) num(a, o.size, () => false);
    } else if (a === '--fps') o.fps = num(a, val(), (n) => Number.isInteger(n) && n >= 1 && n <= 60);
    else if (a === '--fps-cap') o.fpsCap = num(a, val(), (n) => n > 0 && n <= 120);
    else if (a === '--outage-seconds') o.outageSeconds = num(a, val(), (n) => n >= 1 && n <= 600);
    else if (a === '--sample-seconds') o.sampleSeconds = num(a, val(), (n) => n >= 1 && n <= 600);
    else if (a === '--warmup-seconds') o.warmupSeconds = num(a, val(), (n) => n >= 0 && n <= 3600);
    else if (a === '--keep') o.keep = true;
    else {
      console.error(`error: bench/soak: unknown option ${a}`);
      process.exit(2);
    }
  }
  return o;
}

/** The traffic video and its JPEG frames, made once per size/fps and cached. */
function cameraFrames(o) {
  const dir = path.join(root, '.cache', 'soak');
  mkdirSync(dir, { recursive: true });
  const video = path.join(dir, `traffic-${o.size}-${o.fps}fps.mp4`);
  if (!existsSync(video)) {
    log(`generating 20 s ${o.size} ${o.fps} fps traffic video → ${path.relative(root, video)} (once)`);
    const tmp = video.replace(/\.mp4$/, '.partial.mp4');
    const r = spawnSync(process.execPath, [cli, 'synth', 'video', '--out', tmp, '--seconds', '20', '--seed', '3', '--size', o.size, '--fps', String(o.fps)], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth video failed: ${r.stderr.trim().split('\n').pop()}`);
    renameSync(tmp, video);
    // The ground truth beside it (not used here, kept for looking at the scene).
    for (const ext of ['.gt.txt', '.truth.json']) if (existsSync(tmp.replace(/\.mp4$/, ext))) renameSync(tmp.replace(/\.mp4$/, ext), video.replace(/\.mp4$/, ext));
  }
  const frames = path.join(dir, `frames-${o.size}-${o.fps}fps`);
  if (!existsSync(path.join(frames, 'done'))) {
    rmSync(frames, { recursive: true, force: true });
    mkdirSync(frames);
    const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', video, '-q:v', '4', '-start_number', '0', path.join(frames, 'f%05d.jpg')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg frames: ${r.stderr}`);
    writeFileSync(path.join(frames, 'done'), '');
  }
  return { video, frames, count: readdirSync(frames).filter((f) => f.endsWith('.jpg')).length };
}

/** One camera = one GStreamer RTSP server process looping the frames (stop = pull the plug). */
class Camera {
  constructor(name, frames, o) {
    this.name = name;
    this.port = 0;
    this.proc = undefined;
    // multifilesrc stamps buffers from the caps' framerate and keeps counting across loops, so the
    // stream is a steady --fps forever; x264 ultrafast at this size costs a few % of a core.
    this.launch =
      `( multifilesrc location=${path.join(frames, 'f%05d.jpg')} index=0 loop=true caps=image/jpeg,framerate=${o.fps}/1 ! ` +
      `jpegdec ! videoconvert ! video/x-raw,format=I420 ! ` +
      `x264enc tune=zerolatency speed-preset=ultrafast key-int-max=${o.fps} bitrate=700 ! ` +
      `h264parse config-interval=1 ! rtph264pay name=pay0 pt=96 config-interval=1 )`;
  }
  get url() {
    return `rtsp://127.0.0.1:${this.port}/${this.name}`;
  }
  async start() {
    // A restarted camera reuses its port; the old socket may linger for a moment.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.spawnOnce();
      } catch (e) {
        if (attempt >= 20) throw e;
        await sleep(250);
      }
    }
  }
  spawnOnce() {
    return new Promise((resolve, reject) => {
      const p = spawn('/usr/bin/python3', [rtspScript, '--port', String(this.port), '--mount', `/${this.name}`, '--launch', this.launch], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`${this.name}: RTSP server did not start: ${err}`));
      }, 15_000);
      p.stdout.on('data', (d) => {
        out += d;
        const m = /READY (\d+)/.exec(out);
        if (m && !this.proc) {
          clearTimeout(timer);
          this.port = Number(m[1]);
          this.proc = p;
          resolve();
        }
      });
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => {
        clearTimeout(timer);
        if (this.proc !== p) reject(new Error(`${this.name}: RTSP server exited (${code}): ${err.trim().split('\n').pop()}`));
      });
    });
  }
  async stop() {
    const p = this.proc;
    if (!p) return;
    this.proc = undefined;
    await new Promise((resolve) => {
      p.once('exit', resolve);
      p.kill('SIGKILL');
    });
  }
}

/** Prometheus text → Map('name{labels}' → value). */
function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

async function getText(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

function procRssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** utime + stime of a process (all its threads), seconds. */
function procCpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}

function childPids(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(f[1]) === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Least-squares slope of y over x. */
function slope(xs, ys) {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

const sumWhere = (m, prefix) => {
  let s = 0;
  let found = false;
  for (const [k, v] of m) {
    if (k === prefix || k.startsWith(prefix + '{')) {
      s += v;
      found = true;
    }
  }
  return found ? s : null;
};
const valueOf = (m, name, source) => (source ? m.get(`${name}{source="${source}"}`) ?? null : sumWhere(m, name));

/** Every metric issue 8 names, and how to tell it moved. */
const WATCHED = [
  { what: 'per-source decoded fps', metric: 'xnorcam_source_decoded_fps', kind: 'rate', perSource: true },
  { what: 'per-source detected fps', metric: 'xnorcam_source_detected_fps', kind: 'rate', perSource: true },
  // Drops happen only when two frames of one camera arrive while the threads are busy, so any camera
  // moving counts; reconnects must move for the camera that was unplugged (and only for it).
  { what: 'skipped frames', metric: 'xnorcam_source_skipped_frames_total', kind: 'counter', perSource: true, any: true },
  { what: 'reconnects', metric: 'xnorcam_source_reconnects_total', kind: 'counter', perSource: true, victimOnly: true },
  { what: 'frames detected', metric: 'xnorcam_frames_detected_total', kind: 'counter', perSource: true },
  { what: 'latency histogram', metric: 'xnorcam_detection_latency_seconds_count', kind: 'counter', perSource: true },
  { what: 'detector time per frame', metric: 'xnorcam_detector_seconds_count', kind: 'counter' },
  { what: 'worker queue depth', metric: 'xnorcam_worker_queue_depth', kind: 'gauge' },
  { what: 'WebSocket clients', metric: 'xnorcam_websocket_clients', kind: 'gauge' },
  { what: 'process memory', metric: 'process_resident_memory_bytes', kind: 'rate' },
  { what: 'event-loop lag', metric: 'nodejs_eventloop_lag_seconds', kind: 'gauge' },
  { what: 'event-loop lag p99', metric: 'nodejs_eventloop_lag_p99_seconds', kind: 'gauge' },
  { what: 'source up', metric: 'xnorcam_source_up', kind: 'gauge', perSource: true },
  { what: 'seconds since last frame', metric: 'xnorcam_source_seconds_since_last_frame', kind: 'gauge', perSource: true },
];

function metricMovement(scrapes, names, victim) {
  const out = {};
  const notMoving = [];
  for (const w of WATCHED) {
    const series = (source) => scrapes.map((s) => valueOf(s.metrics, w.metric, source)).filter((v) => v !== null);
    const judge = (vals) => {
      if (vals.length < 2) return { moved: false, first: vals[0] ?? null, last: vals.at(-1) ?? null };
      const first = vals[0];
      const last = vals.at(-1);
      const min = Math.min(...vals);
      const max = Math.max(...vals);
      const moved = w.kind === 'counter' ? last > first : w.kind === 'rate' ? min > 0 || max > min : max > min;
      return { moved, first: round(first, 6), last: round(last, 6), min: round(min, 6), max: round(max, 6) };
    };
    if (w.perSource) {
      const per = Object.fromEntries(names.map((n) => [n, judge(series(n))]));
      const moved = w.victimOnly
        ? Object.entries(per).every(([n, p]) => p.moved === (n === victim))
        : w.any
          ? Object.values(per).some((p) => p.moved)
          : Object.values(per).every((p) => p.moved);
      out[w.metric] = { what: w.what, moved, ...(w.victimOnly ? { expected: `moves for ${victim} only` } : w.any ? { expected: 'moves for at least one camera' } : {}), perSource: per };
      if (!moved) notMoving.push(`${w.metric} (${Object.entries(per).map(([n, p]) => `${n}:${p.first}→${p.last}`).join(',')})`);
    } else {
      const j = judge(series());
      out[w.metric] = { what: w.what, ...j };
      if (!j.moved) notMoving.push(w.metric);
    }
  }
  return { metrics: out, notMoving };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const [w, h] = o.size.split('x').map(Number);
  const cam = cameraFrames(o);
  const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-soak-'));
  const outDir = path.join(tmp, 'out');
  const cameras = Array.from({ length: o.cameras }, (_, i) => new Camera(`cam${i + 1}`, cam.frames, o));
  let xn;
  let viewer;
  // Ctrl-C on the benchmark must not leave cameras or xnorcam behind.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      xn?.kill('SIGKILL');
      for (const c of cameras) c.proc?.kill('SIGKILL');
      if (!o.keep) rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    });
  }
  try {
    for (const c of cameras) await c.start();
    log(`${o.cameras} RTSP cameras up (${o.size} ${o.fps} fps, ${cam.count} frames looping): ${cameras.map((c) => c.port).join(', ')}`);

    const yaml = [
      '# Generated by bench/soak.mjs',
      'workers: auto',
      'countIntervalSeconds: 60',
      'sources:',
      ...cameras.map((c) => `  - { name: ${c.name}, url: "${c.url}", fpsCap: ${o.fpsCap}, lines: [{ name: count, points: [[0, ${Math.round(h / 2)}], [${w}, ${Math.round(h / 2)}]] }] }`),
      'outputs:',
      '  dashboard: { enabled: true, host: 127.0.0.1, port: 0 }',
      `  files: { dir: "${outDir}", events: true, counts: true }`,
      '',
    ].join('\n');
    const yamlPath = path.join(tmp, 'soak.yaml');
    writeFileSync(yamlPath, yaml);
    const check = spawnSync(process.execPath, [cli, 'check', yamlPath], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`xnorcam check ${yamlPath}: ${check.stderr.trim() || check.stdout.trim()}`);

    const runLog = [];
    xn = spawn(process.execPath, [cli, 'run', yamlPath, '--stats', String(o.sampleSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => xn.on('exit', (code, signal) => resolve({ code, signal })));
    const keepLog = (d) => {
      runLog.push(...String(d).split('\n').filter(Boolean));
      if (runLog.length > 400) runLog.splice(0, runLog.length - 400);
    };
    xn.stderr.on('data', keepLog);
    const base = await new Promise((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`no dashboard banner after 60 s: ${runLog.slice(-5).join(' | ')}`)), 60_000);
      // The address: a `dashboard` record on stderr where the log is JSON (no terminal here), else a line on stdout.
      const look = (d) => {
        out += d;
        const m = /"msg":"dashboard","url":"(http:[^"]+)"/.exec(out) ?? /dashboard: (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1].replace(/\/+$/, ''));
        }
      };
      xn.stdout.on('data', (d) => {
        keepLog(d);
        look(d);
      });
      xn.stderr.on('data', look);
      void exited.then((e) => reject(new Error(`xnorcam run exited early (${e.code ?? e.signal}): ${runLog.slice(-5).join(' | ')}`)));
    });
    const t0 = Date.now();
    const totalMs = o.minutes * 60_000;
    log(`xnorcam run pid ${xn.pid}, dashboard ${base}; soaking ${o.minutes} min`);

    const names = cameras.map((c) => c.name);
    const samples = [];
    const scrapes = [];
    let lastCpu = { at: t0, xn: procCpuSeconds(xn.pid), kids: new Map() };
    const sample = async () => {
      const at = Date.now();
      const rss = procRssMiB(xn.pid);
      const kids = childPids(xn.pid);
      const ffmpegRss = kids.map(procRssMiB).reduce((a, b) => a + (b ?? 0), 0);
      const cpuXn = procCpuSeconds(xn.pid);
      const kidCpu = new Map(kids.map((p) => [p, procCpuSeconds(p)]));
      let kidDelta = 0;
      for (const [p, c] of kidCpu) kidDelta += (c ?? 0) - (lastCpu.kids.get(p) ?? c ?? 0);
      const dt = (at - lastCpu.at) / 1000;
      const s = {
        t: round((at - t0) / 1000, 1),
        rssMiB: round(rss, 1),
        ffmpegRssMiB: round(ffmpegRss, 1),
        ffmpegProcesses: kids.length,
        cpuPercent: samples.length ? round((100 * (cpuXn - lastCpu.xn)) / dt, 1) : null,
        ffmpegCpuPercent: samples.length ? round((100 * kidDelta) / dt, 1) : null,
        load1: round(loadavg()[0], 2),
      };
      lastCpu = { at, xn: cpuXn, kids: kidCpu };
      try {
        const [metricsText, sourcesText] = await Promise.all([getText(`${base}/metrics`), getText(`${base}/api/sources`)]);
        const metrics = parseMetrics(metricsText);
        const sources = JSON.parse(sourcesText).sources;
        scrapes.push({ t: s.t, metrics, sources });
        s.sources = Object.fromEntries(sources.map((x) => [x.name, { state: x.state, decodedFps: x.decodedFps, detectedFps: x.detectedFps, dropped: x.droppedFrames, reconnects: x.reconnects }]));
        s.detectedTotal = valueOf(metrics, 'xnorcam_frames_detected_total');
        s.queueDepth = valueOf(metrics, 'xnorcam_worker_queue_depth');
      } catch (e) {
        s.scrapeError = e.message;
      }
      samples.push(s);
      log(`t=${s.t}s rss ${s.rssMiB} MiB cpu ${s.cpuPercent}% ffmpeg ${s.ffmpegCpuPercent}% load ${s.load1} detected ${s.detectedTotal ?? s.scrapeError}`);
    };

    // The outage: the second camera loses power at 1/3 of the run.
    const victim = cameras[1];
    const outageAt = t0 + totalMs / 3;
    const outage = { camera: victim.name, seconds: o.outageSeconds };
    const outageDone = (async () => {
      await sleep(outageAt - Date.now());
      const before = JSON.parse(await getText(`${base}/api/sources`)).sources.find((s) => s.name === victim.name);
      outage.reconnectsBefore = before.reconnects;
      await victim.stop();
      const killedAt = Date.now();
      outage.killedAtSecond = round((killedAt - t0) / 1000, 1);
      log(`outage: ${victim.name} killed`);
      let sawDown = null;
      while (Date.now() - killedAt < o.outageSeconds * 1000) {
        const s = JSON.parse(await getText(`${base}/api/sources`)).sources.find((x) => x.name === victim.name);
        if (!sawDown && s.state !== 'running') sawDown = { afterSeconds: round((Date.now() - killedAt) / 1000, 1), state: s.state };
        await sleep(250);
      }
      outage.downSeen = sawDown;
      await victim.start();
      const backAt = Date.now();
      outage.restartedAtSecond = round((backAt - t0) / 1000, 1);
      log(`outage: ${victim.name} restarted on port ${victim.port}`);
      const detectedAtRestart = valueOf(parseMetrics(await getText(`${base}/metrics`)), 'xnorcam_frames_detected_total', victim.name);
      let framesBack = null;
      let detectionsBack = null;
      while ((framesBack === null || detectionsBack === null) && Date.now() - backAt < 60_000) {
        const [mt, st] = await Promise.all([getText(`${base}/metrics`), getText(`${base}/api/sources`)]);
        const now = Date.now();
        const s = JSON.parse(st).sources.find((x) => x.name === victim.name);
        if (framesBack === null && s.state === 'running' && s.lastFrameAt !== null && s.lastFrameAt > backAt) framesBack = round((s.lastFrameAt - backAt) / 1000, 2);
        if (detectionsBack === null && valueOf(parseMetrics(mt), 'xnorcam_frames_detected_total', victim.name) > detectedAtRestart) detectionsBack = round((now - backAt) / 1000, 2);
        await sleep(250);
      }
      outage.framesResumedAfterRestartSeconds = framesBack;
      outage.detectionsResumedAfterRestartSeconds = detectionsBack;
      const after = JSON.parse(await getText(`${base}/api/sources`)).sources.find((s) => s.name === victim.name);
      outage.reconnectsAdded = after.reconnects - outage.reconnectsBefore;
      log(`outage: ${victim.name} frames back after ${framesBack} s, detections after ${detectionsBack} s`);
    })();

    // A dashboard viewer from 1/3 of the run on (so the WebSocket clients gauge and the send path are exercised).
    const viewerStats = { binaryFrames: 0, textMessages: 0, errors: 0 };
    const viewerTimer = setTimeout(() => {
      viewer = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`);
      viewer.on('open', () => viewer.send(JSON.stringify({ type: 'subscribe', sources: '*' })));
      viewer.on('message', (d, isBinary) => (isBinary ? viewerStats.binaryFrames++ : viewerStats.textMessages++));
      viewer.on('error', () => viewerStats.errors++);
    }, totalMs / 3 - 5000);

    await sample();
    while (Date.now() - t0 < totalMs) {
      await sleep(Math.min(o.sampleSeconds * 1000 - ((Date.now() - t0) % (o.sampleSeconds * 1000)), totalMs - (Date.now() - t0)));
      if (xn.exitCode !== null) throw new Error(`xnorcam run died: ${runLog.slice(-5).join(' | ')}`);
      await sample();
    }
    clearTimeout(viewerTimer);
    await outageDone;
    const lastSources = scrapes.at(-1)?.sources ?? [];
    const lastMetrics = scrapes.at(-1)?.metrics ?? new Map();
    viewer?.close();
    // Crossings counted per camera (a counts CSV is due only where there are some).
    const crossings = {};
    for (const n of names) {
      const c = JSON.parse(await getText(`${base}/api/counts?source=${n}`));
      let total = 0;
      for (const dirs of Object.values(c.total ?? {})) for (const d of ['forward', 'backward']) for (const k of Object.values(dirs[d] ?? {})) total += k;
      crossings[n] = total;
    }

    // Graceful stop.
    const termAt = Date.now();
    xn.kill('SIGTERM');
    const exit = await Promise.race([exited, sleep(30_000).then(() => ({ code: null, signal: 'timeout' }))]);
    const stopSeconds = round((Date.now() - termAt) / 1000, 2);
    if (exit.signal === 'timeout') xn.kill('SIGKILL');

    // Outputs flushed?
    const files = existsSync(outDir) ? readdirSync(outDir).sort() : [];
    const events = files.includes('events.jsonl') ? readFileSync(path.join(outDir, 'events.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    const eventTypes = {};
    for (const e of events) eventTypes[e.type] = (eventTypes[e.type] ?? 0) + 1;
    const countsFiles = Object.fromEntries(
      names.map((n) => {
        const f = path.join(outDir, `${n}.counts.csv`);
        if (!existsSync(f)) return [n, null];
        const rows = readFileSync(f, 'utf8').trim().split('\n');
        return [n, { rows: rows.length - 1, header: rows[0] }];
      }),
    );
    const allLines = files.includes('events.jsonl') && readFileSync(path.join(outDir, 'events.jsonl'), 'utf8').endsWith('\n');

    // Memory: after the warm-up to the end.
    const warm = samples.filter((s) => s.t >= o.warmupSeconds && s.rssMiB !== null);
    const rssSeries = warm.length >= 2 ? warm : samples.filter((s) => s.rssMiB !== null);
    const rss = {
      startMiB: rssSeries[0]?.rssMiB ?? null,
      startAtSecond: rssSeries[0]?.t ?? null,
      endMiB: rssSeries.at(-1)?.rssMiB ?? null,
      maxMiB: round(Math.max(...samples.map((s) => s.rssMiB ?? 0)), 1),
      slopeMiBPer10Min: round(slope(rssSeries.map((s) => s.t), rssSeries.map((s) => s.rssMiB)) * 600, 2),
      ffmpegTotalMiBEnd: samples.at(-1)?.ffmpegRssMiB ?? null,
    };
    const cpuWarm = warm.filter((s) => s.cpuPercent !== null);
    const avg = (xs) => (xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 1) : null);

    const perSource = Object.fromEntries(
      names.map((n) => {
        const s = lastSources.find((x) => x.name === n) ?? {};
        const detected = valueOf(lastMetrics, 'xnorcam_frames_detected_total', n);
        const dropped = s.droppedFrames ?? null;
        return [
          n,
          {
            framesDetected: detected,
            framesDecoded: detected !== null && dropped !== null ? detected + dropped : null,
            droppedFrames: dropped,
            reconnects: s.reconnects ?? null,
            decodedFps: s.decodedFps ?? null,
            detectedFps: s.detectedFps ?? null,
            latencyMsP50: s.latencyMs ?? null,
            state: s.state ?? null,
          },
        ];
      }),
    );
    const movement = metricMovement(scrapes, names, victim.name);
    // How busy the detector threads were: explains an empty worker queue at every scrape.
    const firstM = scrapes[0]?.metrics ?? new Map();
    const detSec = (valueOf(lastMetrics, 'xnorcam_detector_seconds_sum') ?? 0) - (valueOf(firstM, 'xnorcam_detector_seconds_sum') ?? 0);
    const detN = (valueOf(lastMetrics, 'xnorcam_detector_seconds_count') ?? 0) - (valueOf(firstM, 'xnorcam_detector_seconds_count') ?? 0);
    const spanS = (scrapes.at(-1)?.t ?? 0) - (scrapes[0]?.t ?? 0);
    const threads = Number(/"threads":(\d+)/.exec(runLog.join('\n'))?.[1] ?? cpus().length);
    const detector = { msPerFrameAvg: detN ? round((1000 * detSec) / detN, 2) : null, threads, busyShare: spanS ? round(detSec / (spanS * threads), 3) : null };

    const result = {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, load1AtStart: samples[0]?.load1, load1AtEnd: samples.at(-1)?.load1, shared: 'other jobs run on this machine at the same time; fps and CPU are lower bounds' },
      setup: {
        minutes: o.minutes,
        cameras: o.cameras,
        camera: `GStreamer RTSP on 127.0.0.1, ${o.size} ${o.fps} fps H.264 (x264 ultrafast), ${cam.count}-frame synth traffic loop`,
        fpsCap: o.fpsCap,
        model: 'bundled (models/xnorcam-traffic.xnor)',
        samples: samples.length,
        sampleSeconds: o.sampleSeconds,
        warmupSeconds: o.warmupSeconds,
      },
      perSource,
      rss,
      detector,
      cpu: { xnorcamPercentAvg: avg(cpuWarm.map((s) => s.cpuPercent)), ffmpegPercentAvg: avg(cpuWarm.map((s) => s.ffmpegCpuPercent)) },
      outage,
      viewer: viewerStats,
      shutdown: { exitCode: exit.code, signal: exit.signal, seconds: stopSeconds, ok: exit.code === 0 },
      outputs: {
        files,
        events: events.length,
        eventTypes,
        eventsEndsWithNewline: allLines,
        crossingsCounted: crossings,
        countsCsv: countsFiles,
        flushed: files.includes('events.jsonl') && allLines && names.every((n) => crossings[n] === 0 || (countsFiles[n] !== null && countsFiles[n].rows > 0)),
      },
      metricsMoved: { notMoving: movement.notMoving, ...movement.metrics },
      samples,
    };
    if (o.keep) result.keptIn = tmp;
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    viewer?.terminate();
    if (xn && xn.exitCode === null && xn.signalCode === null) xn.kill('SIGKILL');
    for (const c of cameras) await c.stop();
    if (!o.keep) rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`error: bench/soak: ${e.message}`);
  process.exit(1);
});
