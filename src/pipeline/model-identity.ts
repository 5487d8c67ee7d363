import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { UserError } from '../core/errors.js';
import type { ModelRef } from './model-ref.js';

/**
 * What a model is, by content: `key` (the full hash) decides which sources share a detector pool,
 * `id` (`name@hash8`) is what logs, stats and the dashboard show. Hashing the bytes rather than the
 * path means a model file replaced in place counts as a new model on reload, and two paths to the
 * same file share one pool.
 */
export interface ModelIdentity {
  key: string;
  id: string;
}

export function modelIdentity(model: ModelRef, what = 'model'): ModelIdentity {
  const files = typeof model === 'string' ? [model] : [model.cfg, model.weights, ...(model.names ? [model.names] : [])];
  const hash = createHash('sha256');
  for (const f of files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UserError(`${what}: ${f}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a model file' : (e as Error).message}`);
    }
    hash.update(String(bytes.length)).update(':').update(bytes);
  }
  const key = hash.digest('hex');
  const main = typeof model === 'string' ? model : model.cfg;
  return { key, id: `${basename(main, extname(main))}@${key.slice(0, 8)}` };
}
