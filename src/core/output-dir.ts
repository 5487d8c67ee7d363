import { accessSync, constants, existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileErrorReason, UserError } from './errors.js';

/**
 * Makes an output folder the user named, or says in one line why it cannot be one, before any work:
 * `label` names where it was given (`-o out`, `outputs.files.dir: /data/out`).
 */
export function makeOutputDir(dir: string, label: string, exitCode?: number): void {
  const fail = (why: string) => new UserError(`${label}: ${why}`, exitCode);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw fail('exists and is not a folder');
    if (code === 'ENOTDIR') {
      let p = resolve(dir);
      while (p !== dirname(p) && !isFile(p)) p = dirname(p);
      throw fail(`${p === dirname(p) ? 'a parent' : isAbsolute(dir) ? p : relative(process.cwd(), p)} is not a folder`);
    }
    // Node's recursive mkdir says ENOENT where a missing parent cannot be made (a read-only file system):
    // the first folder to make, made alone, gives the real reason.
    const parent = code === 'ENOENT' ? unwritableParent(dir) : undefined;
    if (parent) throw fail(`${parent.path} is not writable (${parent.reason}): the folder cannot be made in it`);
    if (code === 'EACCES' || code === 'EPERM') throw fail('permission denied');
    if (code === 'EROFS') throw fail('read-only file system');
    throw fail((e as Error).message.replace(/^\w+: /, ''));
  }
}

/** The deepest existing folder above `dir`, when making a folder in it fails for want of permission or a writable disk. */
function unwritableParent(dir: string): { path: string; reason: string } | undefined {
  let p = resolve(dir);
  while (dirname(p) !== p && !existsSync(dirname(p))) p = dirname(p);
  try {
    mkdirSync(p);
    rmdirSync(p);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') return undefined;
    return { path: dirname(p), reason: fileErrorReason(code)! };
  }
}

function isFile(p: string): boolean {
  try {
    return !statSync(p).isDirectory();
  } catch {
    return false;
  }
}
