import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';

/**
 * The dashboard page: web/index.html and web/style.css from the source tree, and the browser
 * modules compiled by `tsc -p web/tsconfig.json` into dist/web/. Only names matching a fixed
 * pattern are served, so no request path ever reaches the file system unchecked.
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const webSourceDir = join(repoRoot, 'web');
export const webBuildDir = join(repoRoot, 'dist', 'web');

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Maps a URL path to a file, or null when it is not part of the page. */
export function staticFileFor(pathname: string): string | null {
  if (pathname === '/' || pathname === '/index.html') return join(webSourceDir, 'index.html');
  if (pathname === '/style.css') return join(webSourceDir, 'style.css');
  const m = /^\/app\/([a-z0-9-]+\.js(?:\.map)?)$/.exec(pathname);
  return m ? join(webBuildDir, m[1]) : null;
}

export async function serveStatic(file: string, res: ServerResponse, head: boolean): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    // Not built when its entry module is missing; a name it does not have (a typo, an old bookmark) is just not found.
    const missingBuild = file.startsWith(webBuildDir) && !(await access(join(webBuildDir, 'main.js')).then(() => true, () => false));
    res.writeHead(missingBuild ? 500 : 404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(missingBuild ? 'xnorcam: the dashboard is not built (run `npm run build`)\n' : 'not found\n');
    return;
  }
  const ext = file.slice(file.lastIndexOf('.'));
  res.writeHead(200, {
    'Content-Type': types[ext] ?? 'application/octet-stream',
    'Content-Length': body.length,
    'Cache-Control': 'no-cache',
  });
  res.end(head ? undefined : body);
}
