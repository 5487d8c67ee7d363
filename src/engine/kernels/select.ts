import { logger } from '../../core/log.js';
import { UserError } from '../../core/errors.js';
import type { KernelBackend } from './backend.js';
import { requestedPrecision, type Precision } from './precision.js';
import { ReferenceBackend } from './reference.js';
import { KERNEL_BACKENDS, type KernelBackendName } from './names.js';

/**
 * Kernel backends, fastest first. A backend module lives in its own folder and exports
 * `create(opts?: { precision?: Precision }): Promise<KernelBackend>` (backends without a reduced
 * precision ignore the option), throwing with a one-line reason when it cannot run here
 * (addon not built, CPU lacks the instructions, ...). `auto` takes the first that loads and logs
 * once why the faster ones were skipped. XNORCAM_BACKEND (or --backend) forces one.
 */
const modules: Record<KernelBackendName, string | null> = { native: './native/index.js', wasm: './wasm/index.js', reference: null };
const registry: { name: string; module: string | null }[] = KERNEL_BACKENDS.map((name) => ({ name, module: modules[name] }));

/** Options every backend's `create` accepts. */
export interface BackendOptions {
  /** Float-convolution numerics (default: XNORCAM_PRECISION, else 'exact'); see precision.ts. */
  precision?: Precision;
}

type BackendModule = { create(opts?: BackendOptions): Promise<KernelBackend> };

async function load(entry: { name: string; module: string | null }, opts: BackendOptions = {}): Promise<KernelBackend> {
  if (entry.module === null) return new ReferenceBackend();
  const specifier: string = entry.module; // a variable, so the compiler does not resolve optional modules
  const mod = (await import(specifier)) as BackendModule;
  return mod.create(opts);
}

const warnedExact = new Set<string>();
/** A backend that knows nothing of precision runs everything exact: say so once when 'fast' was asked for. */
function noteExact(backend: KernelBackend, precision: Precision): KernelBackend {
  if (precision === 'fast' && backend.precision === undefined && !warnedExact.has(backend.name)) {
    warnedExact.add(backend.name);
    logger.warn(`precision 'fast' is not available on kernel backend ${backend.name}; float layers run exact`);
  }
  return backend;
}

const skipped = new Set<string>();

/**
 * Creates a backend by name ('auto', 'reference', 'wasm', 'native', ...). `opts.precision` (else
 * XNORCAM_PRECISION, else 'exact') goes to the backend; one that cannot run 'fast' runs exact and warns.
 */
export async function createBackend(name: string = process.env.XNORCAM_BACKEND || 'auto', opts: BackendOptions = {}): Promise<KernelBackend> {
  const precision = requestedPrecision(opts.precision);
  const o: BackendOptions = { ...opts, precision };
  if (name !== 'auto') {
    const entry = registry.find((e) => e.name === name);
    if (!entry) throw new UserError(`unknown kernel backend '${name}' (known: auto, ${registry.map((e) => e.name).join(', ')})`, 2);
    try {
      return noteExact(await load(entry, o), precision);
    } catch (e) {
      throw new UserError(`kernel backend '${name}' is not available here: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  for (const entry of registry) {
    try {
      return noteExact(await load(entry, o), precision);
    } catch (e) {
      if (!skipped.has(entry.name)) {
        skipped.add(entry.name);
        logger.warn(`kernel backend ${entry.name} unavailable, falling back`, { reason: (e as Error).message.split('\n')[0] });
      }
    }
  }
  return noteExact(new ReferenceBackend(), precision);
}

/** Names of the backends that load on this machine (for tests and the benchmark). */
export async function availableBackends(): Promise<string[]> {
  const names: string[] = [];
  for (const entry of registry) {
    try {
      const b = await load(entry);
      b.dispose?.();
      names.push(entry.name);
    } catch {
      /* not available here */
    }
  }
  return names;
}
