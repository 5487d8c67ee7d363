import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../core/errors.js';
import { defaultModelPath } from '../detect/default-model.js';

/** A model as loadDetector takes it: a packed `.xnor` path, or darknet cfg + weights (+ class names). */
export type ModelRef = string | { cfg: string; weights: string; names?: string };

export function describeModel(m: ModelRef): string {
  return typeof m === 'string' ? m : m.cfg;
}

/** The model options every video command shares. */
export const modelOptions = {
  model: { type: 'string', value: 'FILE', description: 'Packed .xnor model (default: the bundled models/xnorcam-traffic.xnor)' },
  cfg: { type: 'string', value: 'FILE', description: 'Darknet .cfg instead of --model (with --weights)' },
  weights: { type: 'string', value: 'FILE', description: 'Darknet .weights for --cfg' },
  names: { type: 'string', value: 'FILE', description: 'Class names for --cfg (one per line)' },
} as const;

/** --model / --cfg + --weights [+ --names] / the bundled model, checked to exist. */
export function resolveModel(v: { model?: string; cfg?: string; weights?: string; names?: string }): ModelRef {
  const need = (flag: string, file: string) => {
    if (!existsSync(file)) throw new UserError(`--${flag}: ${file}: no such file`);
    return file;
  };
  if (v.cfg || v.weights) {
    if (!v.cfg || !v.weights) throw new UserError(`--cfg and --weights go together (got only --${v.cfg ? 'cfg' : 'weights'})`);
    if (v.model) throw new UserError('give either --model or --cfg/--weights, not both');
    return { cfg: need('cfg', v.cfg), weights: need('weights', v.weights), ...(v.names ? { names: need('names', v.names) } : {}) };
  }
  if (v.model) {
    if (v.model.endsWith('.cfg')) throw new UserError(`--model ${v.model}: a darknet .cfg needs --cfg ${v.model} --weights FILE`);
    return need('model', v.model);
  }
  const bundled = defaultModelPath();
  if (!existsSync(bundled)) throw new UserError(`the bundled model ${relative(process.cwd(), bundled) || bundled} is missing; pass --model FILE.xnor or --cfg/--weights`);
  return bundled;
}
