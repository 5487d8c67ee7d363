// `npm run bench`: every suite in one JSON document, each run as its own process (so one suite's
// threads and memory do not disturb the next), in this order: kernels (every backend beside
// onnxruntime float, same run), model (the bundled model beside its float twin), pipeline (batch
// throughput, live latency), tracker (cost per frame).
//   node bench/all.mjs [--only kernels,model,pipeline,tracker]
// Suites alone: npm run bench:kernels | bench:model | bench:pipeline | bench:tracker | bench:soak.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { helpIfAsked } from './help.mjs';

helpIfAsked(import.meta.url);

const here = dirname(fileURLToPath(import.meta.url));
const suites = { kernels: 'run.mjs', model: 'model.mjs', pipeline: 'pipeline.mjs', tracker: 'tracker.mjs' };
const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv[onlyAt + 1].split(',') : Object.keys(suites);
for (const name of only) if (!(name in suites)) {
  console.error(`bench: unknown suite '${name}' (known: ${Object.keys(suites).join(', ')})`);
  process.exit(2);
}
const out = { machine: { node: process.version, platform: process.platform, arch: process.arch }, startedAt: new Date().toISOString(), suites: {} };
let failed = 0;
for (const name of only) {
  process.stderr.write(`bench: ${name}...\n`);
  const r = spawnSync(process.execPath, [join(here, suites[name])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  try {
    out.suites[name] = JSON.parse(r.stdout);
  } catch {
    out.suites[name] = { error: `exit ${r.status}; output was not JSON`, output: r.stdout.slice(-2000) };
    failed++;
  }
}
// Rows comparable across runs by a script ({model, size, threads, backend, msPerFrame}) stay at the top level.
out.results = out.suites.kernels?.results ?? [];
out.ratios = out.suites.kernels?.ratios ?? [];
out.finishedAt = new Date().toISOString();
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
process.exit(failed ? 1 : 0);
