import { unwatchFile, watch, watchFile, readFileSync, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import { formatProblemAt } from '../config/load.js';
import { logger } from '../core/log.js';
import { checkFileSource } from '../ingest/probe.js';
import { parseSource } from '../ingest/source-spec.js';
import type { ModelRef } from './model-ref.js';
import { modelIdentity } from './model-identity.js';
import type { Pipeline, PipelineOptions, PipelineSource } from './pipeline.js';

/**
 * What a (re)loaded pipeline file turns into; `fixed` holds settings only a restart applies, besides those
 * of `options`, by their keys in the file (`outputs.webhooks`).
 */
export interface ReloadableSetup {
  options: PipelineOptions;
  fixed?: Record<string, unknown>;
}

/** A source as last applied: its config (model made explicit) and its model's content key. */
export interface AppliedSource {
  cfg: PipelineSource;
  modelKey: string;
  modelId: string;
}

/** A source as the file now has it: with its place in the file, for the line of a problem with it. */
interface FileSource extends AppliedSource {
  index: number;
}

export interface SourceChange {
  name: string;
  /** Keys that differ (`model` when the model file or its content changed). */
  changed: string[];
}

export interface ReloadPlan {
  add: string[];
  remove: string[];
  restart: SourceChange[];
  unchanged: string[];
}

/** Which sources to add, remove, restart or leave alone. Pure: compares configs key by key. */
export function planReload(before: Map<string, AppliedSource>, after: Map<string, AppliedSource>): ReloadPlan {
  const plan: ReloadPlan = { add: [], remove: [], restart: [], unchanged: [] };
  for (const name of before.keys()) if (!after.has(name)) plan.remove.push(name);
  for (const [name, next] of after) {
    const prev = before.get(name);
    if (!prev) {
      plan.add.push(name);
      continue;
    }
    const changed = changedKeys(prev, next);
    if (changed.length) plan.restart.push({ name, changed });
    else plan.unchanged.push(name);
  }
  return plan;
}

function changedKeys(a: AppliedSource, b: AppliedSource): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a.cfg), ...Object.keys(b.cfg)]);
  keys.delete('model');
  for (const k of keys) {
    const x = (a.cfg as unknown as Record<string, unknown>)[k];
    const y = (b.cfg as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(k);
  }
  if (a.modelKey !== b.modelKey) out.push('model');
  return out.sort();
}

/** Every source of a setup with its effective model (own, else the pipeline's) resolved and hashed. */
function appliedSources(options: PipelineOptions, file: string): Map<string, FileSource> {
  const out = new Map<string, FileSource>();
  options.sources.forEach((s, i) => {
    const model: ModelRef = s.model ?? options.model;
    const { key, id } = modelIdentity(model, s.model ? `${file}: sources[${i}].model` : `${file}: model`);
    // Named in a pipeline file; a source given on the command line by its URL, without looking at the file.
    const name = s.name ?? parseSource(s.url, { checkFile: false }).name;
    out.set(name, { cfg: { ...s, name, model }, modelKey: key, modelId: id, index: i });
  });
  return out;
}

/** How often the pipeline file itself is looked at, ms (besides its folder's watch). */
const POLL_MS = 2000;

/** The settings only a restart applies, as JSON by their keys in the file (one key may stand for several values). */
function restartOnly(o: PipelineOptions, fixed: Record<string, unknown> = {}): Map<string, string> {
  const settings: [string, unknown][] = [
    ['workers', o.workers],
    ['detector.backend', o.backend],
    ['detector.precision', o.precision],
    ['detector.threadsPerFrame', o.threadsPerFrame],
    ['detector.classes', o.classes],
    ['countIntervalSeconds', o.countIntervalMs],
    ['outputs.dashboard', o.display],
    ...Object.entries(fixed),
  ];
  const out = new Map<string, string>();
  for (const [key, value] of settings) out.set(key, `${out.get(key) ?? ''}${String(JSON.stringify(value))};`);
  return out;
}

/** The keys whose restart-only settings differ: a warning naming them all sent the user looking at each. */
function changedSettings(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
}

/**
 * Why a source about to start cannot: its recording missing or no video, refused as start-up refuses it,
 * with its `url:` line; the source it would replace keeps running.
 */
async function checkStartable(file: string, text: string, a: FileSource): Promise<void> {
  try {
    await checkFileSource(a.cfg.url);
  } catch (e) {
    throw new Error(formatProblemAt(file, text, ['sources', a.index, 'url'], (e as Error).message));
  }
}

/**
 * Applies edits of the pipeline file to a running pipeline: on SIGHUP, and (debounced) when the file
 * changes on disk. The new file is validated completely first; a bad one is logged and ignored.
 * Only sources whose configuration or model content changed are restarted; the others keep running
 * without a gap. Detector thresholds apply live (a source's own `thresh:` restarts just that source);
 * thread counts, dashboard and outputs need a restart.
 */
export class PipelineReloader {
  private applied: Map<string, AppliedSource>;
  private detect: string;
  /** The restart-only settings the process runs with, which no reload changes. */
  private readonly fixed: Map<string, string>;
  private lastText: string;
  private watcher?: FSWatcher;
  private debounce?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again?: 'signal' | 'file';
  private closed = false;
  private readonly onHup = () => void this.reload('signal');
  private poll?: (cur: Stats, prev: Stats) => void;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly file: string,
    private readonly load: () => ReloadableSetup,
    initial: ReloadableSetup,
    private readonly debounceMs = 300,
  ) {
    this.applied = appliedSources(initial.options, file);
    this.detect = JSON.stringify(initial.options.detect ?? {});
    this.fixed = restartOnly(initial.options, initial.fixed);
    this.lastText = readText(file);
  }

  /**
   * Listens for SIGHUP, watches the file's folder (editors often replace a file rather than write it), and
   * looks at the file itself every POLL_MS: a file Docker bind-mounts over the folder's entry (compose's
   * `./my.yaml:/app/pipelines/docker.yaml`) is written through another folder, and its own folder's watch
   * hears nothing of it.
   */
  start(): void {
    process.on('SIGHUP', this.onHup);
    const changed = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload('file'), this.debounceMs);
    };
    try {
      const name = basename(this.file);
      this.watcher = watch(dirname(this.file), (_event, entry) => {
        if (entry !== null && entry !== name) return;
        changed();
      });
      this.watcher.on('error', (e) => logger.warn('cannot watch the pipeline file; reload with SIGHUP', { file: this.file, error: e.message }));
    } catch (e) {
      logger.warn('cannot watch the pipeline file; reload with SIGHUP', { file: this.file, error: (e as Error).message });
    }
    // A reload whose text is what was last applied does nothing, so hearing of one save twice costs a read.
    this.poll = (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) changed();
    };
    watchFile(this.file, { interval: POLL_MS, persistent: false }, this.poll);
  }

  close(): Promise<void> {
    this.closed = true;
    process.off('SIGHUP', this.onHup);
    clearTimeout(this.debounce);
    this.watcher?.close();
    if (this.poll) unwatchFile(this.file, this.poll);
    return this.running ?? Promise.resolve();
  }

  /** One reload at a time; a request during one runs once after it. */
  reload(reason: 'signal' | 'file'): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = this.again === 'signal' ? 'signal' : reason;
      return this.running;
    }
    this.running = this.apply(reason).finally(() => {
      this.running = undefined;
      const next = this.again;
      this.again = undefined;
      if (next) void this.reload(next);
    });
    return this.running;
  }

  private async apply(reason: 'signal' | 'file'): Promise<void> {
    const text = readText(this.file);
    // Editors fire several events per save; a SIGHUP always re-reads (a model file may have been replaced).
    if (reason === 'file' && text === this.lastText) return;
    this.lastText = text;

    let setup: ReloadableSetup;
    let next: Map<string, FileSource>;
    let plan: ReturnType<typeof planReload>;
    try {
      setup = this.load();
      next = appliedSources(setup.options, this.file);
      plan = planReload(this.applied, next);
      // Only the sources that will start need their input now: a recording an unchanged source has
      // finished with may have been archived, and that is no reason to refuse an edit elsewhere.
      for (const name of [...plan.add, ...plan.restart.map((r) => r.name)]) await checkStartable(this.file, text, next.get(name)!);
    } catch (e) {
      logger.error('pipeline file rejected; the running pipeline is unchanged', { reason, error: (e as Error).message });
      return;
    }

    const detect = JSON.stringify(setup.options.detect ?? {});
    if (detect !== this.detect) {
      this.pipeline.setDetectOptions(setup.options.detect ?? {});
      this.detect = detect;
      logger.info('detector thresholds changed', { detect });
    }
    const pending = changedSettings(this.fixed, restartOnly(setup.options, setup.fixed));
    if (pending.length) logger.warn('settings changed that take effect only when xnorcam run restarts; it runs on with the old ones', { changed: pending.join(',') });

    for (const name of plan.remove) {
      await this.pipeline.removeSource(name);
      this.applied.delete(name);
      logger.info('source removed', { source: name });
    }
    // What was done, not what was planned: a restart refused (a truncated model) is not a restart.
    let restarted = 0;
    let added = 0;
    let failed = 0;
    for (const { name, changed } of plan.restart) {
      const a = next.get(name)!;
      try {
        await this.pipeline.replaceSource(name, a.cfg);
        this.applied.set(name, a);
        restarted++;
        logger.info('source restarted', { source: name, changed: changed.join(','), model: this.pipeline.modelOf(name) ?? a.modelId });
      } catch (e) {
        failed++;
        if (this.pipeline.modelOf(name) !== undefined) {
          logger.error('source not restarted; it keeps its previous configuration', { source: name, error: (e as Error).message });
        } else {
          // It failed after the old source had stopped: forgotten here, so the next reload adds it again.
          this.applied.delete(name);
          logger.error('source stopped: its new configuration could not be started; fix the file to add it again', { source: name, error: (e as Error).message });
        }
      }
    }
    for (const name of plan.add) {
      const a = next.get(name)!;
      try {
        await this.pipeline.addSource(a.cfg);
        this.applied.set(name, a);
        added++;
        logger.info('source added', { source: name, model: this.pipeline.modelOf(name) ?? a.modelId });
      } catch (e) {
        failed++;
        logger.error('source not added', { source: name, error: (e as Error).message });
      }
    }
    this.pipeline.arrange([...next.keys()]);
    const summary = { reason, added, removed: plan.remove.length, restarted, unchanged: plan.unchanged.length, ...(failed ? { failed } : {}) };
    if (failed) logger.warn('pipeline reloaded in part', summary);
    else logger.info('pipeline reloaded', summary);
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
