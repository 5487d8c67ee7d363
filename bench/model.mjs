// The bundled model's speed (the model card's table): models/xnorcam-traffic.xnor (or --model, e.g. the
// 320x192 models/xnorcam-traffic-320.xnor with --cfg models/xnorcam-traffic-320.cfg) on every kernel
// backend and precision, beside its float twin (the same cfg with every conv in float, deterministic
// random weights: the same compute as a trained float twin) in the same run, on generated traffic
// frames at the model's input size. Prints ONE JSON document on stdout (progress on stderr).
//
//   node bench/model.mjs [--frames 40] [--warmup 5] [--backends native-avx512,wasm] [--precision exact,fast]
//                        [--model FILE.xnor --cfg FILE.cfg]
//
// Per engine: `forwardMs` (the network alone, what the XNOR / float ratio compares) and, for the
// XNOR model, `detectMs` (detectRgb: forward, decoding and NMS at thresh 0.25, what a frame costs a
// user). Frames of all engines are interleaved, one frame each in turn, so load from other
// processes hits every engine alike. One thread each (the worker pool's mode).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { helpIfAsked } from './help.mjs';
import { runMain } from './main.mjs';
import { median, round } from './stats.mjs';
import { backendIn } from './backend-in.mjs';

helpIfAsked(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;
const log = (m) => process.stderr.write(`bench: ${m}\n`);

function fail(msg) {
  console.error(`error: bench/model: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    frames: 40, warmup: 5, backends: null, precisions: ['exact', 'fast'],
    model: path.join(root, 'models', 'xnorcam-traffic.xnor'), cfg: path.join(root, 'models', 'xnorcam-traffic.cfg'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--frames') o.frames = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--backends') o.backends = val().split(',');
    else if (a === '--precision') o.precisions = val().split(',');
    else if (a === '--model') o.model = path.resolve(val());
    else if (a === '--cfg') o.cfg = path.resolve(val());
    else fail(`unknown option ${a}`);
  }
  if (!(o.frames >= 1) || !(o.warmup >= 0)) fail('--frames must be >= 1 and --warmup >= 0');
  if (o.precisions.some((p) => p !== 'exact' && p !== 'fast')) fail('--precision takes exact, fast or exact,fast');
  for (const f of [o.model, o.cfg]) if (!existsSync(f)) fail(`${f} does not exist`);
  return o;
}

/** The cfg with every conv in float: darknet's xnor=1 (and bin_output) lines dropped. */
function floatTwinCfg(cfgText) {
  return cfgText.split('\n').filter((l) => !/^\s*(xnor|bin_output)\s*=/.test(l)).join('\n');
}

/** Generated traffic frames at w x h, as raw RGB (xnorcam synth, the same generator as the model's data). */
async function trafficFrames(dir, w, h, count) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'xnorcam.js'), 'synth', 'dataset', '--out', dir, '--count', String(count),
    '--seed', '31337', '--size', `${w}x${h}`], { encoding: 'utf8' });
  if (r.status !== 0) fail(`xnorcam synth failed: ${(r.stderr || '').trim().split('\n').pop()}`);
  const sharp = (await import('sharp')).default;
  const imgDir = path.join(dir, 'images');
  const frames = [];
  for (const f of readdirSync(imgDir).sort()) {
    // rendered at w x h already (--size)
    frames.push(new Uint8Array(await sharp(path.join(imgDir, f)).removeAlpha().raw().toBuffer()));
  }
  return frames;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(root, 'dist', 'detect', 'detector.js'))) fail('dist/ is missing: run `npm run build` first');
  const { EngineDetector } = await import(dist('detect/detector.js'));
  const { rgbToPlanar } = await import(dist('detect/preprocess.js'));
  const { loadModel } = await import(dist('engine/load.js'));
  const { randomModelFromCfg } = await import(dist('engine/random-model.js'));
  const { availableBackends, createBackend } = await import(dist('engine/kernels/select.js'));

  const xnorModel = loadModel(opts.model);
  const { width, height } = xnorModel.spec.net;
  const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-bench-model-'));
  try {
    const twinCfg = path.join(tmp, 'float-twin.cfg');
    writeFileSync(twinCfg, floatTwinCfg(readFileSync(opts.cfg, 'utf8')));
    const floatModel = randomModelFromCfg(twinCfg, 1);
    const frames = await trafficFrames(path.join(tmp, 'frames'), width, height, 8);
    log(`${frames.length} generated ${width}x${height} traffic frames`);

    const backends = (opts.backends ?? (await availableBackends())).filter((b) => b !== 'reference');
    const engines = [];
    for (const name of backends)
      for (const precision of opts.precisions) {
        for (const [kind, model] of [['xnor', xnorModel], ['float-twin', floatModel]]) {
          const kernels = await backendIn(createBackend, name, precision);
          if (precision === 'fast' && kernels.precision !== 'fast') {
            kernels.dispose?.();
            continue;
          }
          const det = new EngineDetector(model, kernels);
          engines.push({ kind, backend: kernels.name, precision, det, forward: [], detect: [], detections: [] });
        }
      }
    log(`${engines.map((e) => `${e.kind}/${e.backend}/${e.precision}`).join(', ')}: ${opts.warmup} warm-up + ${opts.frames} frames each, interleaved`);
    for (let f = 0; f < opts.warmup + opts.frames; f++) {
      const rgb = frames[f % frames.length];
      for (const e of engines) {
        // forward alone (the ratio), then the whole detectRgb on the same frame (what a user pays)
        rgbToPlanar(rgb, width, height, e.det.network.input);
        const t0 = performance.now();
        e.det.network.forward();
        const t1 = performance.now();
        const dets = e.kind === 'xnor' ? e.det.detectRgb(rgb, width, height) : null;
        const t2 = performance.now();
        if (f < opts.warmup) continue;
        e.forward.push(t1 - t0);
        if (dets) {
          e.detect.push(t2 - t1);
          e.detections.push(dets.length);
        }
      }
    }
    const results = engines.map((e) => {
      e.det.dispose();
      return {
        model: e.kind === 'xnor' ? path.basename(opts.model) : `${path.basename(opts.cfg)} float twin (random weights)`,
        kind: e.kind, backend: e.backend, precision: e.precision, threads: 1, size: `${width}x${height}`,
        forwardMs: round(median(e.forward)), forwardMinMs: round(Math.min(...e.forward)),
        ...(e.detect.length ? { detectMs: round(median(e.detect)), detectMinMs: round(Math.min(...e.detect)), detectionsPerFrame: round(median(e.detections), 1) } : {}),
      };
    });
    // side by side, same backend and precision: float twin forward / XNOR forward (> 1: XNOR faster)
    const ratios = results.filter((r) => r.kind === 'xnor').map((r) => {
      const twin = results.find((t) => t.kind === 'float-twin' && t.backend === r.backend && t.precision === r.precision);
      return { backend: r.backend, precision: r.precision, xnorForwardMs: r.forwardMs, floatTwinForwardMs: twin?.forwardMs,
        xnorSpeedupVsFloatTwin: twin ? round(twin.forwardMs / r.forwardMs, 2) : null };
    });
    for (const r of results) log(`  ${r.kind} ${r.backend} ${r.precision}: forward ${r.forwardMs} ms${r.detectMs !== undefined ? `, detectRgb ${r.detectMs} ms` : ''}`);
    process.stdout.write(JSON.stringify({
      bench: 'xnorcam bundled model vs its float twin', date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model,
      cores: cpus().length, loadAverage: loadavg().map((x) => round(x, 2)), frames: opts.frames, warmup: opts.warmup, results, ratios,
    }, null, 2) + '\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main, 'bench/model');
