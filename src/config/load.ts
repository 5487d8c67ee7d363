import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../core/errors.js';
import { readInputFile } from '../core/input-file.js';
import { pipelineSchema, type PipelineConfig } from './schema.js';

/** `sources[2].lines[0].points` — the key path as a user reads it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

/** Line of the deepest node that exists along `path`, so an error points at the right place. */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `required: ${issue.message.replace(/^Invalid input: /, '')}`;
  return issue.message.replace(/^Invalid input: /, '');
}

export interface ConfigProblem {
  path: string;
  line?: number;
  message: string;
}

/** Validates parsed YAML text; returns every problem (file-relative lines), or the config. */
export function validatePipelineText(text: string): { config?: PipelineConfig; problems: ConfigProblem[] } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({ path: '(yaml)', line: counter.linePos(e.pos[0]).line, message: e.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '') })),
    };
  }
  const result = pipelineSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return { config: result.data, problems: [] };
  return {
    problems: result.error.issues.map((issue) => {
      // For unknown keys point at the key itself rather than its parent object.
      const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
      return { path: formatPath(issue.path), line: lineOf(doc, counter, path), message: describeIssue(issue) };
    }),
  };
}

export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.path === '(yaml)' ? '' : `${p.path}: `}${p.message}`;
}

/**
 * Loads and validates a pipeline file. Relative model/source paths are resolved against the
 * file's folder so a pipeline works from any working directory. Throws a UserError naming the file,
 * line and key path of the first problem (`xnorcam check` lists them all).
 */
export function loadPipelineConfig(file: string): PipelineConfig {
  const text = readInputFile(file, 'a pipeline file', 'utf8');
  const { config, problems } = validatePipelineText(text);
  if (!config) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''}; run xnorcam check)` : '';
    throw new UserError(formatProblem(file, problems[0]) + more);
  }
  return resolvePaths(config, dirname(resolve(file)));
}

const isLocalPath = (url: string) => !/^[a-z][a-z0-9+.-]*:/i.test(url) && !url.startsWith('/dev/');

function resolvePaths(cfg: PipelineConfig, base: string): PipelineConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...cfg,
    model: cfg.model === undefined ? undefined : abs(cfg.model),
    sources: cfg.sources.map((s) => ({ ...s, url: isLocalPath(s.url) ? abs(s.url) : s.url, ...(s.model === undefined ? {} : { model: abs(s.model) }) })),
    outputs: cfg.outputs.files ? { ...cfg.outputs, files: { ...cfg.outputs.files, dir: abs(cfg.outputs.files.dir) } } : cfg.outputs,
  };
}
