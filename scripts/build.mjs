// Build everything `npm ci` must produce: the TypeScript (dist/), the WebAssembly kernels and the
// dashboard's browser code. Each step is a separate command so a failure names the step.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

const steps = [
  ['typescript', bin('tsc'), ['-p', 'tsconfig.json']],
];
if (existsSync(join(root, 'scripts', 'build-wasm.mjs'))) steps.push(['wasm kernels', process.execPath, ['scripts/build-wasm.mjs']]);
if (existsSync(join(root, 'web', 'tsconfig.json'))) steps.push(['dashboard', bin('tsc'), ['-p', 'web/tsconfig.json']]);

for (const [name, cmd, args] of steps) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${name} step failed (exit ${r.status})`);
    process.exit(1);
  }
}
