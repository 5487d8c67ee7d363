// `npm run bench`: yolov3-tiny_xnor on every available kernel backend vs the float yolov3-tiny in
// onnxruntime-node, same run, same sizes. Prints ONE JSON document on stdout (progress on stderr).
//
//   node bench/run.mjs [--frames 30] [--warmup 5] [--sizes 416,320] [--backends wasm,...] [--reference]
//                      [--precision exact,fast] [--threads 1,2] [--bit-links on,off]
//                      [--sign-estimate on,off] [--class-gate 0.25,off] [--no-gemm-peak]
//   --no-gemm-peak skips bench/gemm-peak.mjs's GEMM rows; --bit-links on,off adds rows with the
//   bit links between convs turned off (NetworkOptions.bitLinks), to measure them in the same run;
//   --sign-estimate on,off the same for the native backend's int16 sign estimate of a bit-linked
//   float conv (XNORCAM_SIGN_ESTIMATE=off, native/src/sign_estimate_impl.h).
//   --class-gate: the objectness threshold the [yolo] heads compute class scores above, as a
//   detector at that threshold runs them (default 0.25, darknet's and the detector's default; `off`:
//   every cell's class scores, as darknet and onnxruntime compute them; see
//   src/engine/runtime/gated-heads.ts). Rows report the fraction of head cells computed: with random
//   weights and a noise input it is data, not a constant.
//
// Every backend runs in 'exact' precision (darknet's float32, bit for bit); a backend that has a
// 'fast' precision (int8 or FMA float layers, src/engine/kernels/precision.ts) also runs in that, as its
// own rows. Binary conv layers report their throughput as a fraction of one core's VPOPCNTDQ peak.
//
// Frames of all engines of a size are interleaved (one frame of each in turn), so load from other
// processes hits every engine alike and the ratios stay meaningful on a shared machine.
// Ratios are against onnxruntime on 1 thread (`speedup`); a row on more threads also gets
// `speedupVsSameThreads`, against onnxruntime given as many threads in the same run.
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { yolov3TinyCfg } from './yolov3-tiny.mjs';
import { yolov3TinyOnnx } from './onnx-yolov3-tiny.mjs';
import { helpIfAsked } from './help.mjs';
import { runMain } from './main.mjs';
import { median, round } from './stats.mjs';
import { backendIn } from './backend-in.mjs';

helpIfAsked(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => pathToFileURL(path.join(root, 'dist', p)).href;

function parseArgs(argv) {
  const o = { frames: 30, warmup: 5, sizes: [416, 320], backends: null, reference: false, gemmPeak: true, precisions: ['exact', 'fast'], threads: [1, 2], bitLinks: [true], signEstimate: [true], classGates: [0.25] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--frames') o.frames = Number(val());
    else if (a === '--warmup') o.warmup = Number(val());
    else if (a === '--sizes') o.sizes = val().split(',').map(Number);
    else if (a === '--backends') o.backends = val().split(',');
    else if (a === '--reference') o.reference = true;
    else if (a === '--no-gemm-peak') o.gemmPeak = false;
    else if (a === '--precision') o.precisions = val().split(',');
    else if (a === '--threads') o.threads = val().split(',').map(Number);
    else if (a === '--sign-estimate') o.signEstimate = val().split(',').map((v) => (v === 'on' ? true : v === 'off' ? false : fail('--sign-estimate takes on, off or on,off')));
    else if (a === '--class-gate') o.classGates = val().split(',').map((v) => (v === 'off' ? null : Number(v) > 0 && Number(v) < 1 ? Number(v) : fail('--class-gate takes thresholds in (0, 1) or off, e.g. 0.25,off')));
    else if (a === '--bit-links') o.bitLinks = val().split(',').map((v) => (v === 'on' ? true : v === 'off' ? false : fail('--bit-links takes on, off or on,off')));
    else fail(`unknown option ${a}`);
  }
  if (o.precisions.some((p) => p !== 'exact' && p !== 'fast')) fail('--precision takes exact, fast or exact,fast');
  if (o.threads.some((t) => t !== 1 && t !== 2)) fail('--threads takes 1, 2 or 1,2');
  if (!(o.frames >= 1) || o.sizes.some((s) => !(s >= 32 && s % 32 === 0))) fail('--frames must be >= 1 and --sizes multiples of 32');
  return o;
}

function fail(msg) {
  console.error(`error: bench: ${msg}`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

function randomInput(a, seed) {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
}

// One core's AVX-512 VPOPCNTDQ peak in binary ops/s (1 binary MAC = 2 ops), as bench/gemm-peak.mjs.
const POPCNT_PEAK = 2.49e12;

/**
 * One XNOR network on one backend, ready to time; null for a 2-thread request on a backend without
 * intra-frame threading, or for 'fast' on a backend without that precision.
 */
async function xnorEngine({ Network, createBackend }, model, name, size, threads, precision, bitLinks, signEstimate, classGate) {
  if (!signEstimate && !name.startsWith('native')) return null; // only the native backend has one
  const backend = await backendIn(createBackend, name, precision);
  if (precision === 'fast' && backend.precision !== 'fast') {
    backend.dispose?.();
    return null;
  }
  if (threads > 1) {
    if (!backend.setThreads) {
      backend.dispose?.();
      return null;
    }
    backend.setThreads(threads);
  }
  if (!bitLinks && !backend.linkBinaryInput) {
    backend.dispose?.();
    return null; // nothing to turn off: the same as the default row
  }
  // the addon reads XNORCAM_SIGN_ESTIMATE when a layer is prepared, i.e. while the network is built
  const savedEstimate = process.env.XNORCAM_SIGN_ESTIMATE;
  if (!signEstimate) process.env.XNORCAM_SIGN_ESTIMATE = 'off';
  let net;
  try {
    // as the detector runs it: yolo class scores are activated at decode time, for the cells whose
    // objectness passes the threshold (NetworkOptions.lazyYoloClasses; decoding is not timed here,
    // nor for onnxruntime)
    net = new Network(model, backend, { bitLinks, lazyYoloClasses: true });
  } finally {
    if (savedEstimate === undefined) delete process.env.XNORCAM_SIGN_ESTIMATE;
    else process.env.XNORCAM_SIGN_ESTIMATE = savedEstimate;
  }
  randomInput(net.input, 42);
  const timings = new Float64Array(net.spec.layers.length);
  const perLayer = net.spec.layers.map(() => []);
  const gateCells = [];
  return {
    row: { model: 'yolov3-tiny_xnor', size, threads, backend: backend.name, precision, ...(bitLinks ? {} : { bitLinks: false }), ...(signEstimate ? {} : { signEstimate: false }), classGate, bitLinkedTensors: [...net.bitLinkedTensors] },
    times: [],
    frame: (record) => {
      timings.fill(0);
      net.forward(timings, classGate ?? undefined);
      if (record) {
        timings.forEach((t, i) => perLayer[i].push(t));
        for (const [conv, head] of net.gatedHeads) gateCells.push(head.computedCells / (net.spec.layers[conv].output.h * net.spec.layers[conv].output.w));
      }
    },
    finish: (row) => {
      const names = net.describeLayers();
      row.layers = net.spec.layers.map((l, i) => {
        const entry = { index: i, type: l.type, desc: names[i], ms: round(median(perLayer[i])), bestMs: round(Math.min(...perLayer[i])) };
        if (l.type === 'convolutional' && l.xnor) {
          // binary ops of the layer (2 per binary MAC) over its fastest time, against one core's peak per thread
          const ops = 2 * l.output.c * l.output.h * l.output.w * l.size * l.size * l.input.c;
          entry.binaryTops = round(ops / (entry.bestMs / 1e3) / 1e12);
          entry.popcntPeakFraction = round(ops / (entry.bestMs / 1e3) / (POPCNT_PEAK * threads), 3);
        }
        return entry;
      });
      // where the frame goes: float convs, binary convs, everything else (pool, route, yolo, ...)
      const split = { floatConvMs: 0, binaryConvMs: 0, otherMs: 0 };
      net.spec.layers.forEach((l, i) => {
        const key = l.type !== 'convolutional' ? 'otherMs' : l.xnor ? 'binaryConvMs' : 'floatConvMs';
        split[key] += median(perLayer[i]);
      });
      row.split = Object.fromEntries(Object.entries(split).map(([k, v]) => [k, round(v)]));
      // the share of the heads' cells whose class scores were computed, over all frames and heads
      if (gateCells.length) row.classScoreCells = round(gateCells.reduce((a, b) => a + b, 0) / gateCells.length, 4);
      backend.dispose?.();
    },
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(path.join(root, 'dist', 'engine', 'runtime', 'network.js'))) fail('dist/ is missing: run `npm run build` first');
  const { Network } = await import(dist('engine/runtime/network.js'));
  const { randomModelFromCfg } = await import(dist('engine/random-model.js'));
  const { availableBackends, createBackend } = await import(dist('engine/kernels/select.js'));
  const ort = (await import('onnxruntime-node')).default;

  const backends = opts.backends ?? (await availableBackends());
  const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-bench-'));
  const results = [];
  try {
    for (const size of opts.sizes) {
      const cfgPath = path.join(tmp, `yolov3-tiny_xnor-${size}.cfg`);
      writeFileSync(cfgPath, yolov3TinyCfg({ size, xnor: true }));
      const model = randomModelFromCfg(cfgPath, 1);

      // engines: name -> { frame(): Promise<void>|void, layers?: ... }
      const engines = [];
      for (const name of backends) {
        if (name === 'reference' && !opts.reference) {
          results.push({ model: 'yolov3-tiny_xnor', size, threads: 1, backend: name, msPerFrame: null,
            skipped: 'the TypeScript reference takes seconds per frame at full size; run with --reference to time it' });
          continue;
        }
        for (const precision of opts.precisions)
          for (const threads of opts.threads)
            for (const bitLinks of opts.bitLinks)
              for (const signEstimate of opts.signEstimate)
                for (const classGate of opts.classGates) {
                  const engine = await xnorEngine({ Network, createBackend }, model, name, size, threads, precision, bitLinks, signEstimate, classGate);
                  if (engine) engines.push(engine);
                }
      }
      const { bytes } = yolov3TinyOnnx(size);
      for (const threads of opts.threads) {
        const session = await ort.InferenceSession.create(bytes, {
          intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
          // Its pool threads would otherwise spin after each run and steal the CPU from the engine
          // timed next in the interleaved loop.
          extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
        });
        const data = new Float32Array(3 * size * size);
        randomInput(data, 42);
        const feeds = { input: new ort.Tensor('float32', data, [1, 3, size, size]) };
        engines.push({
          row: { model: 'yolov3-tiny', size, threads, backend: 'onnxruntime-float' },
          times: [],
          frame: () => session.run(feeds),
          finish: () => session.release?.(),
        });
      }

      log(`size ${size}: ${engines.map((e) => `${e.row.backend}${e.row.precision === 'fast' ? '(fast)' : ''}${e.row.bitLinks === false ? '(no bit links)' : ''}${e.row.signEstimate === false ? '(no sign estimate)' : ''}${e.row.classGate === null ? '(whole heads)' : ''}/${e.row.threads}t`).join(', ')}; ${opts.warmup} warm-up + ${opts.frames} frames each, interleaved`);
      for (let f = 0; f < opts.warmup + opts.frames; f++) {
        for (const e of engines) {
          const t0 = performance.now();
          await e.frame(f >= opts.warmup);
          if (f >= opts.warmup) e.times.push(performance.now() - t0);
        }
      }
      for (const e of engines) {
        const row = { ...e.row, msPerFrame: round(median(e.times)), minMs: round(Math.min(...e.times)), frames: e.times.length };
        e.finish(row);
        results.push(row);
        log(`  ${row.backend}${row.precision === 'fast' ? ' fast' : ''}${row.bitLinks === false ? ' no-bit-links' : ''}${row.signEstimate === false ? ' no-sign-estimate' : ''}${row.classGate === null ? ' whole-heads' : ''} ${row.threads}t @${size}: ${row.msPerFrame} ms/frame (best ${row.minMs})`);
      }
      // Side-by-side ratios: onnxruntime float time / XNOR time (> 1 means the XNOR engine is faster).
      const ort1 = results.find((r) => r.size === size && r.backend === 'onnxruntime-float' && r.threads === 1);
      for (const r of results.filter((r) => ort1 && r.size === size && r.model === 'yolov3-tiny_xnor' && r.msPerFrame)) {
        r.speedupVsOnnxruntime1t = round(ort1.msPerFrame / r.msPerFrame, 2);
        // the same from each engine's fastest frame: steadier when other processes share the CPU
        r.speedupAtMinVsOnnxruntime1t = round(ort1.minMs / r.minMs, 2);
        // and against onnxruntime given as many threads, where that row was measured
        const ortN = results.find((o) => o.size === size && o.backend === 'onnxruntime-float' && o.threads === r.threads);
        if (ortN && r.threads !== 1) r.speedupVsOnnxruntimeSameThreads = round(ortN.msPerFrame / r.msPerFrame, 2);
      }
    }

    const gemmPeak = path.join(root, 'bench', 'gemm-peak.mjs');
    let gemm;
    if (opts.gemmPeak && existsSync(gemmPeak)) {
      log('bench/gemm-peak.mjs (native GEMM throughput) ...');
      try {
        const mod = await import(pathToFileURL(gemmPeak).href);
        const fn = mod.run ?? mod.default ?? mod.bench;
        gemm = typeof fn === 'function' ? await fn() : { error: 'bench/gemm-peak.mjs exports no run()' };
      } catch (e) {
        gemm = { error: `bench/gemm-peak.mjs failed: ${e.message.split('\n')[0]}` };
      }
    }

    const ratios = results
      .filter((r) => r.model === 'yolov3-tiny_xnor' && r.msPerFrame)
      .map((r) => ({ size: r.size, backend: r.backend, precision: r.precision, threads: r.threads, ...(r.bitLinks === false ? { bitLinks: false } : {}), ...(r.signEstimate === false ? { signEstimate: false } : {}), classGate: r.classGate, msPerFrame: r.msPerFrame, minMs: r.minMs, vs: 'onnxruntime-float 1 thread', speedup: r.speedupVsOnnxruntime1t, speedupAtMin: r.speedupAtMinVsOnnxruntime1t, ...(r.speedupVsOnnxruntimeSameThreads ? { speedupVsSameThreads: r.speedupVsOnnxruntimeSameThreads } : {}) }));
    const doc = {
      bench: 'xnorcam yolov3-tiny_xnor vs onnxruntime float yolov3-tiny',
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      loadAverage: loadavg().map((x) => round(x, 2)),
      frames: opts.frames,
      warmup: opts.warmup,
      weights: 'random (deterministic seed)',
      results,
      ratios,
    };
    if (gemm !== undefined) doc.gemmPeak = gemm;
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

runMain(main, 'bench');
