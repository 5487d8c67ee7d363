// Builds the optional native kernel addon. Never fails the install: without a compiler the
// WebAssembly kernels are used and the reason is logged once at run time.
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
if (!existsSync(join(nativeDir, 'binding.gyp'))) process.exit(0);
if (process.env.XNORCAM_SKIP_NATIVE === '1') {
  console.log('xnorcam: native kernels skipped (XNORCAM_SKIP_NATIVE=1)');
  process.exit(0);
}
const gyp = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the headers of the node that runs us when they are installed beside it (Debian's
// nodejs, official tarballs): without this node-gyp tries to download headers, which fails offline.
const prefix = dirname(dirname(process.execPath));
const gypArgs = ['rebuild', '-j', 'max'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) gypArgs.push(`--nodedir=${prefix}`);
const r = existsSync(gyp)
  ? spawnSync(process.execPath, [gyp, ...gypArgs], { cwd: nativeDir, encoding: 'utf8' })
  : { status: 1, stderr: 'node-gyp is not installed', stdout: '' };
mkdirSync(join(nativeDir, 'build'), { recursive: true });
if (r.status !== 0) {
  const reason = `${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}`.slice(0, 400);
  writeFileSync(join(nativeDir, 'build', 'BUILD_FAILED.txt'), reason + '\n');
  console.log(`xnorcam: native kernels not built (${reason}); the WebAssembly kernels will be used`);
} else {
  console.log('xnorcam: native kernels built');
}
process.exit(0);
