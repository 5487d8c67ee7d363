import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, type Document } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { readInputFile } from '../core/input-file.js';
import { modelFileProblem } from '../pipeline/model-ref.js';
import { folderSourceProblem, videoFileProblem } from '../ingest/source-spec.js';
import { pipelineJsonSchema, pipelineSchema, type PipelineConfig } from './schema.js';
import { closestMatch, didYouMean } from '../core/suggest.js';

/** `sources[2].lines[0].points` — the key path as a user reads it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

/**
 * Line of the deepest key or item that exists along `path`. A key's own line, not its value's: a
 * block value (`lines:` then its items) starts on the next line, and the user looks for the key.
 */
function lineOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  const line = (n: unknown) => (isNode(n) && n.range ? counter.linePos(n.range[0]).line : undefined);
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1) as (string | number)[], true);
    const key = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
      const at = pair && (line(pair.key) ?? line(pair.value));
      if (at !== undefined) return at;
    } else if (isSeq(parent) && typeof key === 'number') {
      const at = line(parent.items[key]);
      if (at !== undefined) return at;
    }
  }
  return line(doc.contents);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(issue.path);
    if (issue.keys.length === 1) return `unknown key '${issue.keys[0]}'${didYouMean(issue.keys[0], allowed)}`;
    return `unknown keys ${issue.keys.map((k) => { const m = closestMatch(k, allowed); return `'${k}'${m ? ` (did you mean '${m}'?)` : ''}`; }).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) return `required: ${issue.message.replace(/^Invalid input: /, '')}`;
  return issue.message.replace(/^Invalid input: /, '');
}

type JsonSchemaNode = { properties?: Record<string, JsonSchemaNode>; items?: JsonSchemaNode; anyOf?: JsonSchemaNode[]; oneOf?: JsonSchemaNode[] };
let schemaRoot: JsonSchemaNode | undefined;

/** The keys an object at this path may have (every variant of a union's), for "did you mean". */
function keysAt(path: readonly PropertyKey[]): string[] {
  schemaRoot ??= pipelineJsonSchema() as JsonSchemaNode;
  let nodes: JsonSchemaNode[] = [schemaRoot];
  const variants = (n: JsonSchemaNode): JsonSchemaNode[] => [n, ...(n.anyOf ?? []).flatMap(variants), ...(n.oneOf ?? []).flatMap(variants)];
  for (const key of path) {
    nodes = nodes.flatMap(variants).flatMap((n) => {
      const next = typeof key === 'number' ? n.items : n.properties?.[String(key)];
      return next ? [next] : [];
    });
  }
  return [...new Set(nodes.flatMap(variants).flatMap((n) => Object.keys(n.properties ?? {})))];
}

/** The largest pipeline file read, in characters. */
const MAX_PIPELINE_CHARS = 4 * 2 ** 20;

/** A YAML parse error in the words of this file's format: which key is duplicated, not the library's advice. */
function yamlErrorMessage(e: { code: string; message: string; pos: [number, number] }, text: string): string {
  if (e.code === 'DUPLICATE_KEY') {
    // The error marks where the key starts: read it up to its colon (quoted or plain).
    const m = /^(?:"([^"\n]*)"|'([^'\n]*)'|([^:\n]+?))\s*:/.exec(text.slice(e.pos[0]));
    const key = m ? (m[1] ?? m[2] ?? m[3]) : undefined;
    return key ? `key '${key}' appears twice in the same map` : 'a key appears twice in the same map';
  }
  if (e.code === 'MULTIPLE_DOCS') return "a second YAML document starts here ('---'): a pipeline file is one document";
  if (/call stack/i.test(e.message)) return 'nested too deeply to read';
  return e.message.split('\n')[0].replace(/ at line \d+, column \d+.*$/, '');
}

export interface ConfigProblem {
  path: string;
  line?: number;
  message: string;
}

/**
 * Validates parsed YAML text; returns every problem (file-relative lines, in line order), or the
 * config. Given the file's path, the model files it names are checked too (relative to its folder);
 * `skipPipelineModel` leaves the top-level `model:` alone (run --model replaces it). The recordings its sources
 * name, by `missingSourceFiles`: one missing a problem ('error', run) or a warning ('warning', check: it may be
 * made later), a folder a problem either way; or not looked at ('skip', a reload).
 */
export function validatePipelineText(
  text: string,
  opts: { file?: string; skipPipelineModel?: boolean; missingSourceFiles?: 'error' | 'warning' | 'skip' } = {},
): { config?: PipelineConfig; problems: ConfigProblem[]; warnings: ConfigProblem[] } {
  const yamlProblem = (message: string, line?: number) => ({ problems: [{ path: '(yaml)', line, message }], warnings: [] });
  // Thousands of cameras fit in a few hundred KiB; a file of many MiB is the wrong file, and parsing it
  // took minutes and gigabytes.
  if (text.length > MAX_PIPELINE_CHARS) return yamlProblem(`${(text.length / 2 ** 20).toFixed(1)} MiB of text: a pipeline file is at most ${MAX_PIPELINE_CHARS / 2 ** 20} MiB (is this the right file?)`);
  const counter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  let raw: unknown;
  try {
    // logLevel 'error': the library's own warnings (a key that is a list) would print as a multi-line
    // Node warning; such a key is reported below as an unknown key instead.
    doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
    if (doc.errors.length > 0) {
      // One line per problem: a deep nesting fails once per level.
      const seen = new Set<string>();
      const problems = doc.errors
        .map((e) => ({ path: '(yaml)', line: counter.linePos(e.pos[0]).line, message: yamlErrorMessage(e, text) }))
        .filter((p) => !seen.has(`${p.line} ${p.message}`) && Boolean(seen.add(`${p.line} ${p.message}`)));
      return { problems: byLine(problems), warnings: [] };
    }
    raw = doc.toJS() ?? {};
  } catch (e) {
    // The library refuses an alias bomb ("billion laughs") while building the value; a deep nesting overflows the stack.
    const message = (e as Error).message;
    const unresolved = /^Unresolved alias.*: (.+)$/.exec(message);
    if (unresolved) {
      const name = unresolved[1];
      const at = text.search(new RegExp(`\\*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w-])`));
      return yamlProblem(`alias *${name} has no anchor &${name} before it`, at >= 0 ? counter.linePos(at).line : undefined);
    }
    if (/alias count/i.test(message)) return yamlProblem('too many aliases (*name) to expand: a pipeline file needs few or none');
    if (e instanceof RangeError) return yamlProblem('nested too deeply to read');
    throw e;
  }
  const result = pipelineSchema.safeParse(raw);
  const problems: ConfigProblem[] = result.success
    ? []
    : result.error.issues.map((issue) => {
        // For unknown keys point at the key itself rather than its parent object.
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
        return { path: formatPath(issue.path), line: lineOf(doc, counter, path), message: describeIssue(issue) };
      });
  const warnings: ConfigProblem[] = [];
  // Model files are checked even when other keys are wrong, so one `check` lists everything.
  if (opts.file) {
    const base = dirname(resolve(opts.file));
    for (const { path, value } of modelPaths(raw, opts.skipPipelineModel)) {
      const problem = modelFileProblem(isAbsolute(value) ? value : resolve(base, value));
      if (problem) problems.push({ path: formatPath(path), line: lineOf(doc, counter, path), message: `${value}: ${problem}` });
    }
    // Recorded files likewise, with the line: `run` cannot start without them; `check` warns, as a
    // recording may only be made later (the demo's video is rendered by its first run).
    for (const { path, value } of opts.missingSourceFiles === 'skip' ? [] : sourceFilePaths(raw)) {
      const full = isAbsolute(value) ? value : resolve(base, value);
      // A folder is no recording still to be made: a problem for check as for run.
      const folder = folderSourceProblem(full, value);
      const problem = folder ?? videoFileProblem(full);
      if (problem) (opts.missingSourceFiles === 'error' || folder ? problems : warnings).push({ path: formatPath(path), line: lineOf(doc, counter, path), message: `${redactSecrets(value)}: ${problem}` });
    }
  }
  if (result.success && problems.length === 0) return { config: result.data, problems, warnings };
  return { problems: byLine(problems), warnings };
}

/** The `model:` values (top level and per source) that are non-empty strings; the schema reports the rest. */
function modelPaths(raw: unknown, skipPipelineModel = false): { path: (string | number)[]; value: string }[] {
  const out: { path: (string | number)[]; value: string }[] = [];
  const obj = (x: unknown): Record<string, unknown> | undefined => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined);
  const top = obj(raw);
  if (!top) return out;
  if (!skipPipelineModel && typeof top.model === 'string' && top.model) out.push({ path: ['model'], value: top.model });
  if (Array.isArray(top.sources)) {
    top.sources.forEach((s, i) => {
      const m = obj(s)?.model;
      if (typeof m === 'string' && m) out.push({ path: ['sources', i, 'model'], value: m });
    });
  }
  return out;
}

/** The sources' `url:` values that name local files (not cameras, streams, devices or test sources). */
function sourceFilePaths(raw: unknown): { path: (string | number)[]; value: string }[] {
  const top = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  if (!top || !Array.isArray(top.sources)) return [];
  return top.sources.flatMap((s, i) => {
    const url = s && typeof s === 'object' ? (s as Record<string, unknown>).url : undefined;
    return typeof url === 'string' && url && isLocalPath(url) ? [{ path: ['sources', i, 'url'], value: url }] : [];
  });
}

/** Stable sort by line; problems without a line go last. */
function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || a.i - b.i)
    .map(({ p }) => p);
}

export function formatProblem(file: string, p: ConfigProblem): string {
  return `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.path === '(yaml)' ? '' : `${p.path}: `}${p.message}`;
}

/**
 * A problem found after loading, at a key of the file's text (a reload's check that a source's recording
 * plays), in the words of the loader's own: `pipeline.yaml:12: sources[1].url: …`.
 */
export function formatProblemAt(file: string, text: string, path: (string | number)[], message: string): string {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, logLevel: 'silent' });
  return formatProblem(file, { path: formatPath(path), line: lineOf(doc, counter, path), message });
}

/**
 * Loads and validates a pipeline file. Relative model/source paths are resolved against the
 * file's folder so a pipeline works from any working directory. Throws a UserError naming the file,
 * line and key path of the first problem (`xnorcam check` lists them all). With `checkModels`, the
 * model files it names must exist and be .xnor models (run: fail before threads start, with the
 * line), and so must the recordings its sources name unless `sourceFiles: 'skip'` (a reload);
 * `skipPipelineModel` when a --model flag replaces the top-level one.
 */
export function loadPipelineConfig(file: string, opts: { checkModels?: boolean; skipPipelineModel?: boolean; sourceFiles?: 'check' | 'skip' } = {}): PipelineConfig {
  const text = readInputFile(file, 'a pipeline file', 'utf8');
  const { config, problems } = validatePipelineText(
    text,
    opts.checkModels ? { file, skipPipelineModel: opts.skipPipelineModel, missingSourceFiles: opts.sourceFiles === 'skip' ? 'skip' : 'error' } : {},
  );
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
