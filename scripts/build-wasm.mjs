// Compiles the AssemblyScript kernels (assembly/kernels.ts) into build/xnorcam-kernels.wasm.
// Run by scripts/build.mjs (so by `npm ci` / `npm run build`). The module imports a shared memory
// (env.memory; the loader gives it a 2 GiB maximum): growing it never detaches handed-out tensors.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
mkdirSync(join(root, 'build'), { recursive: true });
// Written under a temporary name and renamed, so a concurrent reader never sees half a module.
const out = join(root, 'build', 'xnorcam-kernels.wasm');
const tmp = `${out}.${process.pid}.tmp`;
const args = [
  asc, 'assembly/kernels.ts',
  '-o', tmp,
  '-O3', '--noAssert', '--runtime', 'stub',
  '--enable', 'simd', '--enable', 'threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536',
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  rmSync(tmp, { force: true });
  console.error('build-wasm: asc failed');
  process.exit(1);
}
renameSync(tmp, out);
