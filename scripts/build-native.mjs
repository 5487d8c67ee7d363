// Builds the optional native kernel addon. Never fails the install: without a compiler the
// WebAssembly kernels are used and the reason is logged once at run time.
import { existsSync, writeFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
// Built already from these sources for this node: not built again. `npx xnorcam` in a clone installs the clone
// into npx's cache, which runs this install script again: a rebuild took a minute and, while it ran, the addon
// was gone from under any xnorcam running (falling back to WebAssembly). XNORCAM_REBUILD_NATIVE=1 forces one.
const addon = join(nativeDir, 'build', 'Release', 'xnorcam_native.node');
const stamp = join(nativeDir, 'build', 'BUILT_FOR.txt');
const builtFor = `${process.versions.modules} ${process.platform} ${process.arch}\n`;
if (process.env.XNORCAM_REBUILD_NATIVE !== '1' && upToDate()) {
  console.log('xnorcam: native kernels up to date');
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
  writeFileSync(stamp, builtFor);
  console.log('xnorcam: native kernels built');
}
process.exit(0);

/** The addon there, built for this node's ABI, newer than every source it is built from. */
function upToDate() {
  if (!existsSync(addon) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== builtFor) return false;
  const built = statSync(addon).mtimeMs;
  const newest = (dir) => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return Math.max(statSync(join(nativeDir, 'binding.gyp')).mtimeMs, newest(join(nativeDir, 'src'))) <= built;
}
