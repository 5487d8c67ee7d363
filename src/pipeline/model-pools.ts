import { logger } from '../core/log.js';
import type { ModelRef } from './model-ref.js';
import { modelIdentity, type ModelIdentity } from './model-identity.js';
import { WorkerPool, type DetectorPoolOptions } from './worker-pool.js';

/** A source's hold on the detector threads of its model. Give it back with `ModelPools.release`. */
export interface ModelLease extends ModelIdentity {
  pool: WorkerPool;
}

interface Entry {
  id: string;
  users: number;
  pool: Promise<WorkerPool>;
}

/**
 * One WorkerPool per distinct model (by content), shared by every source using that model and closed
 * when the last of them lets go. Each pool has the configured thread count; the pipeline caps how
 * many detections run at once over all pools, so several models do not oversubscribe the cores.
 */
export class ModelPools {
  private readonly entries = new Map<string, Entry>();
  onIdle: () => void = () => undefined;

  constructor(private readonly opts: DetectorPoolOptions) {}

  /** Loads the model on first use (rejects, leaving nothing behind, when it cannot be loaded). */
  async acquire(model: ModelRef, identity: ModelIdentity = modelIdentity(model)): Promise<ModelLease> {
    let entry = this.entries.get(identity.key);
    if (!entry) {
      const pool = WorkerPool.create(model, this.opts).then((p) => {
        p.onIdle = () => this.onIdle();
        logger.debug('model loaded', { model: identity.id, input: `${p.inputWidth}x${p.inputHeight}`, backend: p.backend, precision: p.precision, threads: p.size });
        // ffmpeg scales frames to the network size without keeping their aspect (docs/engine.md, Limits).
        if (p.letterbox) {
          logger.warn("the model's cfg has letter_box=1, but video frames are stretched to its input size, not letterboxed: its detections will differ from darknet's", { model: identity.id, input: `${p.inputWidth}x${p.inputHeight}` });
        }
        return p;
      });
      entry = { id: identity.id, users: 0, pool };
      this.entries.set(identity.key, entry);
      pool.catch(() => {
        if (this.entries.get(identity.key) === entry) this.entries.delete(identity.key);
      });
    }
    entry.users++;
    try {
      return { ...identity, pool: await entry.pool };
    } catch (e) {
      entry.users--;
      throw e;
    }
  }

  release(lease: ModelLease): void {
    const entry = this.entries.get(lease.key);
    if (!entry || --entry.users > 0) return;
    this.entries.delete(lease.key);
    logger.debug('model unloaded', { model: entry.id });
    void entry.pool.then((p) => p.close()).catch(() => undefined);
  }

  /** Loaded models (for logs): id and their pool. */
  async loaded(): Promise<{ id: string; pool: WorkerPool }[]> {
    const out: { id: string; pool: WorkerPool }[] = [];
    for (const e of this.entries.values()) out.push({ id: e.id, pool: await e.pool });
    return out;
  }

  async close(): Promise<void> {
    const pools = [...this.entries.values()].map((e) => e.pool.then((p) => p.close()).catch(() => undefined));
    this.entries.clear();
    await Promise.all(pools);
  }
}
