import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Compiles the dashboard page (web/ → dist/web/) so tests serve the current code. */
export function buildWeb(): void {
  const r = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'web/tsconfig.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p web/tsconfig.json failed:\n${r.stdout}${r.stderr}`);
  if (!existsSync(join(root, 'dist', 'web', 'main.js'))) throw new Error('dashboard build produced no dist/web/main.js');
}
