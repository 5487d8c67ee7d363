import { isUtf8 } from 'node:buffer';
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { inputError, missingFolderError, UserError } from './errors.js';

/**
 * Reads a file the user named, turning the usual failures into one line that names the file:
 * "no such file", "is a directory, expected <what>", "a device, not a file" (a pipe too, for binary
 * files), "a binary file, expected <what>" (text only), "<file>:<line>: not UTF-8 text" ('utf8-strict'
 * only), or "cannot read (<code>)".
 */
export function readInputFile(file: string, expected: string): Buffer;
export function readInputFile(file: string, expected: string, encoding: 'utf8' | 'utf8-strict'): string;
export function readInputFile(file: string, expected: string, encoding?: 'utf8' | 'utf8-strict'): Buffer | string {
  let data: Buffer;
  try {
    // A device (/dev/zero, /dev/urandom) would be read until memory runs out. A pipe is read to its end:
    // fine for text (a pipeline file through process substitution), not for a model, which is never piped.
    const st = statSync(file);
    if (st.isSocket()) throw new UserError(`${file}: a socket, not a file; expected ${expected}`);
    if (st.isCharacterDevice() || st.isBlockDevice()) throw new UserError(`${file}: a device, not a file; expected ${expected}`);
    if (st.isFIFO() && !encoding) throw new UserError(`${file}: a pipe, not a file; expected ${expected}`);
    data = readFileSync(file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such file`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, expected ${expected}`);
    throw new UserError(`${file}: cannot read (${code ?? (e as Error).message})`);
  }
  if (!encoding) return data;
  // A binary file where text is expected (the .weights given as the .cfg) would otherwise be quoted back,
  // control bytes and all, in a parse error about its first line.
  if (data.subarray(0, 4096).includes(0)) throw new UserError(`${file}: a binary file, expected ${expected}`);
  if (encoding === 'utf8-strict' && !isUtf8(data)) throw inputError(file, firstNonUtf8Line(data), 'not UTF-8 text');
  return data.toString('utf8');
}

/** 1-based; bytes read as latin1 are one character each, so the line breaks found are the bytes'. */
function firstNonUtf8Line(data: Buffer): number {
  return data.toString('latin1').split(/\r\n|\r|\n/).findIndex((line) => !isUtf8(Buffer.from(line, 'latin1'))) + 1;
}

/** Refuses an output file whose folder does not exist, before the work that would produce it. */
export function refuseMissingOutputFolder(output: string): void {
  if (!existsSync(dirname(output))) throw missingFolderError(output);
}

/**
 * Refuses an output path that is one of the command's input files (the same file by device and inode,
 * so another spelling or a link is caught too): writing it would destroy the input it was made from.
 */
export function refuseOutputOverInput(output: string, inputs: (string | undefined)[], flag = '-o'): void {
  let out: Stats;
  try {
    out = statSync(output);
  } catch {
    return; // not there yet: nothing to destroy
  }
  for (const input of inputs) {
    if (input === undefined) continue;
    let st: Stats;
    try {
      st = statSync(input);
    } catch {
      continue;
    }
    if (st.isFile() && st.ino === out.ino && st.dev === out.dev) throw new UserError(`${flag} ${output}: is the input file ${input}; writing it would destroy it`);
  }
}
