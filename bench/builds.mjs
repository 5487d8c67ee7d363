// Two builds of xnorcam side by side in one process (a tool for kernel work): the same network on the native
// backend of this checkout and of another (e.g. a `git worktree` of the commit before a change, built there with
// `npm run build` and `node scripts/build-native.mjs`), frames interleaved one each in turn, so a busy machine slows
// both alike and the ratio stays meaningful. Prints ONE JSON document on stdout.
//
//   node bench/builds.mjs --base ../base [--model models/xnorcam-traffic.xnor | --cfg FILE.cfg [--weights FILE]
//                         | --yolov3-tiny 416] [--precision exact,fast] [--threads 1] [--frames 40] [--warmup 5] [--layers]
//                         [--this-first]
//
// --model is a packed model, read from each checkout (a relative path is taken in each); --cfg without --weights
// builds deterministic random weights (`randomModelFromCfg`, seed 1); --yolov3-tiny SIZE is bench/run.mjs's
// yolov3-tiny_xnor at that input, random weights.
// Rows: forward ms (median, best) per build and precision; `ratios`: this checkout / base, exact against the base's
// exact (its fast too, where the base has one). `--layers` adds each layer's median ms in both. Each frame runs the
// base first unless --this-first: an engine can pay for the other's cache footprint at a layer or two, so a
// per-layer difference that flips with the order is the order's, not the build's.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { helpIfAsked } from './help.mjs';
import { runMain } from './main.mjs';
import { median, round } from './stats.mjs';
import { yolov3TinyCfg } from './yolov3-tiny.mjs';

helpIfAsked(import.meta.url);

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(msg) {
  console.error(`error: bench/builds: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { base: null, model: 'models/xnorcam-traffic.xnor', cfg: null, weights: null, precisions: ['exact', 'fast'], threads: 1, frames: 40, warmup: 5, layers: false, thisFirst: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i] ?? fail(`${a} needs a value`);
    if (a === '--base') o.base = path.resolve(val());
    else if (a === '--model') o.model = val();
    else if (a === '--cfg') o.cfg = path.resolve(val());
    else if (a === '--weights') o.weights = path.resolve(val());
    else if (a === '--yolov3-tiny') o.yolov3Tiny = Number(val());
    else if (a === '--precision') o.precisions = val().split(',');
    else if (a === '--threads') o.threads = Number(val());
    else if (a === '--frames') o.frames = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--layers') o.layers = true;
    else if (a === '--this-first') o.thisFirst = true;
    else fail(`unknown option ${a}`);
  }
  if (!o.base) fail('--base DIR is required: the other checkout, built');
  if (!existsSync(path.join(o.base, 'dist', 'engine', 'runtime', 'network.js'))) fail(`${o.base} has no built dist/ (npm run build there)`);
  if (o.precisions.some((p) => p !== 'exact' && p !== 'fast')) fail('--precision takes exact, fast or exact,fast');
  if (!(o.frames >= 1) || !(o.warmup >= 0) || !(Number.isInteger(o.threads) && o.threads >= 1)) fail('--frames and --threads must be >= 1, --warmup >= 0');
  if (o.cfg && !existsSync(o.cfg)) fail(`${o.cfg} does not exist`);
  if (o.weights && !o.cfg) fail('--weights goes with --cfg');
  if (o.yolov3Tiny !== undefined) {
    if (o.cfg) fail('give --cfg or --yolov3-tiny, not both');
    if (!(Number.isInteger(o.yolov3Tiny) && o.yolov3Tiny >= 32 && o.yolov3Tiny % 32 === 0)) fail('--yolov3-tiny takes an input size, a multiple of 32');
    const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-bench-builds-'));
    o.cfg = path.join(dir, `yolov3-tiny_xnor_${o.yolov3Tiny}.cfg`);
    writeFileSync(o.cfg, yolov3TinyCfg({ size: o.yolov3Tiny, xnor: true }));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return o;
}

/** One checkout's engine modules, imported from its dist/ (its own native addon comes with them). */
async function engineOf(root) {
  const d = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const [{ loadModel, loadDarknetModel }, { randomModelFromCfg }, { createBackend }, { Network }] = await Promise.all([
    d('engine/load.js'), d('engine/random-model.js'), d('engine/kernels/select.js'), d('engine/runtime/network.js'),
  ]);
  return { root, loadModel, loadDarknetModel, randomModelFromCfg, createBackend, Network };
}

function modelFor(engine, o) {
  if (o.cfg) return o.weights ? engine.loadDarknetModel(o.cfg, o.weights) : engine.randomModelFromCfg(o.cfg, 1);
  const file = path.isAbsolute(o.model) ? o.model : path.join(engine.root, o.model);
  if (!existsSync(file)) fail(`${file} does not exist`);
  return engine.loadModel(file);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const runs = [];
  const builds = [['base', o.base], ['this', here]];
  if (o.thisFirst) builds.reverse();
  for (const [build, root] of builds) {
    const engine = await engineOf(root);
    for (const precision of o.precisions) {
      const backend = await engine.createBackend('native', { precision });
      if (precision === 'fast' && backend.precision !== 'fast') continue; // that build has no fast precision here
      backend.setThreads?.(o.threads);
      const net = new engine.Network(modelFor(engine, o), backend, { lazyYoloClasses: true });
      // the same deterministic input in both builds
      for (let i = 0; i < net.input.length; i++) net.input[i] = ((i * 2654435761) % 1000) / 1000;
      runs.push({ build, precision, backend: backend.name, net, ms: [], layerMs: net.spec.layers.map(() => []), names: net.describeLayers() });
    }
  }
  const timings = new Map(runs.map((r) => [r, new Float64Array(r.net.spec.layers.length)]));
  for (let f = 0; f < o.warmup + o.frames; f++)
    for (const r of runs) {
      const t = timings.get(r);
      t.fill(0);
      const t0 = performance.now();
      r.net.forward(t);
      const ms = performance.now() - t0;
      if (f < o.warmup) continue;
      r.ms.push(ms);
      t.forEach((v, i) => r.layerMs[i].push(v));
    }
  const results = runs.map((r) => ({
    build: r.build, root: r.build === 'base' ? o.base : here, backend: r.backend, precision: r.precision, threads: o.threads,
    forwardMs: round(median(r.ms)), forwardMinMs: round(Math.min(...r.ms)),
    ...(o.layers ? { layers: r.names.map((desc, i) => ({ index: i, desc, ms: round(median(r.layerMs[i])) })) } : {}),
  }));
  const baseExact = results.find((r) => r.build === 'base' && r.precision === 'exact');
  const ratios = results
    .filter((r) => r.build === 'this')
    .flatMap((r) => {
      const same = results.find((b) => b.build === 'base' && b.precision === r.precision);
      return [baseExact, same].filter((b, i, all) => b && all.indexOf(b) === i).map((b) => ({ this: r.precision, base: b.precision, ratio: round(r.forwardMs / b.forwardMs) }));
    });
  for (const r of runs) r.net.dispose?.();
  const model = o.yolov3Tiny ? `yolov3-tiny_xnor ${o.yolov3Tiny} (random weights)` : o.cfg ?? o.model;
  process.stdout.write(JSON.stringify({ bench: 'two builds side by side', model, frames: o.frames, warmup: o.warmup, results, ratios }, null, 2) + '\n');
}

runMain(main, 'bench/builds');
