import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../core/errors.js';
import { defaultModelPath } from '../detect/default-model.js';
import { MODEL_ID_BYTES, modelHeaderProblem } from '../engine/model-file/format.js';

/** A model as loadDetector takes it: a packed `.xnor` path, or darknet cfg + weights (+ class names). */
export type ModelRef = string | { cfg: string; weights: string; names?: string };

/** The values of the model flags, as a command parsed them. */
export interface ModelFlags {
  model?: string;
  cfg?: string;
  weights?: string;
  names?: string;
}

export function describeModel(m: ModelRef): string {
  return typeof m === 'string' ? m : m.cfg;
}

/** The model options every command that loads a detector shares. */
export const modelOptions = {
  model: { type: 'string', value: 'FILE', description: 'Packed .xnor model (default: the bundled models/xnorcam-traffic.xnor)' },
  cfg: { type: 'string', value: 'FILE', description: 'Darknet .cfg instead of --model (with --weights)' },
  weights: { type: 'string', value: 'FILE', description: 'Darknet .weights for --cfg' },
  names: { type: 'string', value: 'FILE', description: 'Class names for --cfg (one per line)' },
} as const;

/** Where the model-flag rules of the commands differ on purpose; the rest is one logic. */
export interface ModelFlagRules {
  /**
   * Flag mistakes are usage errors of `xnorcam <command>`: prefixed with it, exit 2 (detect, eval).
   * Without it they are plain one-line errors, exit 1 (the video commands).
   */
  command?: string;
  /** Refuse --names without --cfg: a .xnor model carries its own class names. */
  namesNeedCfg?: boolean;
  /** Class names for --cfg when --names is not given (eval: the dataset's classes.txt). */
  defaultNames?: string;
  /**
   * Check before loading that every named file exists and that --model is not a darknet .cfg, so a
   * long-running command fails before it starts threads; otherwise the loader reports a bad file.
   */
  checkFiles?: boolean;
  /** The error when no model flag is given and the bundled model is missing. */
  bundledMissing?: (bundled: string) => string;
}

/** --model / --cfg + --weights [+ --names] / the bundled model, by the given command's rules. */
export function parseModelFlags(v: ModelFlags, rules: ModelFlagRules = {}): ModelRef {
  const flagError = (message: string) =>
    rules.command ? new UserError(`xnorcam ${rules.command}: ${message}`, 2) : new UserError(message);
  const file = (flag: string, f: string) => {
    if (rules.checkFiles && !existsSync(f)) throw new UserError(`--${flag}: ${f}: no such file`);
    return f;
  };
  if (v.model && (v.cfg || v.weights)) throw flagError('give either --model or --cfg/--weights, not both');
  if (v.cfg || v.weights) {
    if (!v.cfg || !v.weights) {
      const [given, missing] = v.cfg ? ['cfg', 'weights'] : ['weights', 'cfg'];
      throw flagError(rules.command ? `--${given} needs --${missing} too` : `--cfg and --weights go together (got only --${given})`);
    }
    const names = v.names ?? rules.defaultNames;
    return { cfg: file('cfg', v.cfg), weights: file('weights', v.weights), ...(names ? { names: file('names', names) } : {}) };
  }
  if (v.names && rules.namesNeedCfg) throw flagError('--names only applies with --cfg/--weights (a .xnor model carries its names)');
  if (v.model) {
    if (rules.checkFiles && v.model.endsWith('.cfg')) throw new UserError(`--model ${v.model}: a darknet .cfg needs --cfg ${v.model} --weights FILE`);
    return file('model', v.model);
  }
  const bundled = defaultModelPath();
  if (!existsSync(bundled)) throw new UserError((rules.bundledMissing ?? bundledMissing)(bundled));
  return bundled;
}

function bundledMissing(bundled: string): string {
  return `the bundled model ${relative(process.cwd(), bundled) || bundled} is missing; pass --model FILE.xnor or --cfg/--weights`;
}

/**
 * The video commands' rules (run, batch, pipeline files): every file checked before threads start, and
 * --names refused beside a .xnor model as detect refuses it (ignored, it left classes named class0, class2, ...).
 */
export function resolveModel(v: ModelFlags, command: string): ModelRef {
  return parseModelFlags(v, { command, checkFiles: true, namesNeedCfg: true });
}

/**
 * Why `path` cannot be a packed .xnor model, judged from its first bytes (magic and format version)
 * so a check stays cheap; undefined when it looks like one. The loader still verifies the rest.
 */
export function modelFileProblem(path: string): string | undefined {
  let fd: number;
  try {
    if (statSync(path).isDirectory()) return 'is a folder, not a .xnor model';
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such file';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
    return `cannot be read (${code ?? (e as Error).message})`;
  }
  try {
    const head = Buffer.alloc(MODEL_ID_BYTES);
    const n = readSync(fd, head, 0, head.length, 0);
    return modelHeaderProblem(head.subarray(0, n));
  } catch (e) {
    return `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  } finally {
    closeSync(fd);
  }
}
