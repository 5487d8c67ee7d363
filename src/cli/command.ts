import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';

/** One option of a command; `--help` is generated from these, so every option is documented. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in --help. */
  description: string;
  /** Placeholder shown in --help, e.g. FILE. */
  value?: string;
  default?: string | boolean;
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  name: string;
  summary: string;
  /** e.g. `<cfg> <weights> -o <model.xnor>` */
  usage: string;
  /** Extra paragraphs under the usage line. */
  details?: string;
  options: O;
  /** Bounds on the number of positional arguments. */
  positionals?: { min?: number; max?: number };
}

type OptionValue<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean | undefined
  : S['multiple'] extends true
    ? string[] | undefined
    : string | undefined;

export interface ParsedArgs<O extends Record<string, OptionSpec>> {
  values: { [K in keyof O]: OptionValue<O[K]> };
  positionals: string[];
}

export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const lines = [`xnorcam ${spec.name} — ${spec.summary}`, '', `Usage: xnorcam ${spec.name} ${spec.usage}`];
  if (spec.details) lines.push('', spec.details.trim());
  const rows: [string, string][] = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${o.default})` : '';
    return [flag, o.description + def];
  });
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  lines.push('', 'Options:', ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`));
  return lines.join('\n') + '\n';
}

/**
 * Parses argv for a command. Returns null when --help was printed. Unknown options and wrong
 * positional counts become a one-line UserError naming the problem.
 */
export function parseCommandArgs<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[]): ParsedArgs<O> | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(spec));
    return null;
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; default?: string | boolean }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}), ...(o.default !== undefined ? { default: o.default } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(spec, argv), options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const unknown = /^Unknown option '([^']+)'/.exec(err.message);
    // node's "argument is ambiguous" (a value starting with '-') says its remedy on a later line
    const dash = /^Option '(--?[\w-]+)[^']*' argument is ambiguous/.exec(err.message);
    const msg = unknown
      ? `unknown option '${unknown[1]}'${didYouMean(unknown[1].replace(/^-+/, ''), Object.keys(spec.options), (o) => `--${o}`)}`
      : dash
        ? `${dash[1]} takes a value; one starting with '-' is written ${dash[1]}=-VALUE`
        : err.message.split('\n')[0].replace(/\. To specify a positional.*$/, '');
    throw new UserError(`xnorcam ${spec.name}: ${msg} (see xnorcam ${spec.name} --help)`, 2);
  }
  refuseRepeatedOptions(spec, parsed.tokens);
  const n = parsed.positionals.length;
  const { min = 0, max = Infinity } = spec.positionals ?? {};
  if (n < min) throw new UserError(`xnorcam ${spec.name}: missing argument; usage: xnorcam ${spec.name} ${spec.usage}`, 2);
  if (n > max) throw new UserError(`xnorcam ${spec.name}: unexpected argument '${parsed.positionals[max]}'; usage: xnorcam ${spec.name} ${spec.usage}`, 2);
  return { values: parsed.values, positionals: parsed.positionals } as unknown as ParsedArgs<O>;
}

/**
 * `--fps -1`: node takes `-1` for an option and asks for `--fps=-1`; a negative number is plainly the
 * option's value, so it is passed on as such and judged by the option's own range ("not a number above 0").
 */
function joinNegativeValues<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: string[]): string[] {
  const byShort = new Map(Object.entries(spec.options).filter(([, o]) => o.short).map(([n, o]) => [o.short!, n]));
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = a.startsWith('--') ? a.slice(2) : /^-\w$/.test(a) ? byShort.get(a.slice(1)) : undefined;
    const next = argv[i + 1];
    if (name !== undefined && spec.options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * An option given twice with different values (`--fps 25 --fps 30`, two `-o`): node keeps the last, so a
 * script's earlier value was dropped without a word. Repeatable options (`--line`) and a flag said twice are fine.
 */
function refuseRepeatedOptions<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, tokens: ReturnType<typeof parseArgs>['tokens']): void {
  const seen = new Map<string, string | undefined>();
  for (const t of tokens ?? []) {
    if (t.kind !== 'option') continue;
    const o = spec.options[t.name];
    if (!o || o.multiple || o.type === 'boolean') continue;
    if (seen.has(t.name) && !sameValue(seen.get(t.name), t.value)) {
      throw new UserError(`xnorcam ${spec.name}: --${t.name} given twice ('${seen.get(t.name)}' and '${t.value}'); give it once (see xnorcam ${spec.name} --help)`, 2);
    }
    seen.set(t.name, t.value);
  }
}

/** The same value written twice, as text or as a number (`0.3` and `0.30`). */
function sameValue(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.trim() === '' || b.trim() === '') return false;
  return Number.isFinite(Number(a)) && Number(a) === Number(b);
}

/**
 * The values a numeric option takes. `above`/`below` make `min`/`max` exclusive. Declared rather than
 * written as a predicate so that the error can say what would have been accepted.
 */
export interface NumberRange {
  min?: number;
  max?: number;
  above?: boolean;
  below?: boolean;
  integer?: boolean;
}

export function inRange(n: number, r: NumberRange): boolean {
  if (!Number.isFinite(n) || (r.integer && !Number.isInteger(n))) return false;
  if (r.min !== undefined && (r.above ? n <= r.min : n < r.min)) return false;
  return r.max === undefined || (r.below ? n < r.max : n <= r.max);
}

/** "an integer from 1 to 256", "a number above 0", "a number from 0 to below 1"... */
export function describeRange(given: NumberRange): string {
  // A bound that only keeps integers exact (Number.MAX_SAFE_INTEGER) is not worth reading out.
  const r = given.max !== undefined && given.max >= Number.MAX_SAFE_INTEGER ? { ...given, max: undefined } : given;
  const kind = r.integer ? 'an integer' : 'a number';
  if (r.min !== undefined && r.max !== undefined && !r.above) return `${kind} from ${r.min} to ${r.below ? 'below ' : ''}${r.max}`;
  const lo = r.min === undefined ? '' : r.above ? `above ${r.min}` : `of ${r.min} or more`;
  const hi = r.max === undefined ? '' : r.below ? `below ${r.max}` : `up to ${r.max}`;
  return [kind, lo, lo && hi ? 'and' : '', hi].filter(Boolean).join(' ');
}

/** Parses a numeric option, naming the flag and what it takes in the error. */
export function numberOption(name: string, raw: string | undefined, fallback: number, range: NumberRange = {}): number {
  if (raw === undefined) return fallback;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!inRange(n, range)) throw new UserError(`--${name}: '${raw}' is not ${describeRange(range)}`, 2);
  return n;
}

/** Declares a command spec with its option types inferred (so parsed values are typed). */
export function defineCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}
