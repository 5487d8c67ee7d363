import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { UserError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { Detection } from '../core/types.js';
import type { DetectOptions } from '../detect/types.js';
import { FrameSlots } from '../ingest/frame-slots.js';
import type { ModelRef } from './model-ref.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

/** Frame slots of ended sources kept for the next ones (see slotsFor). */
const MAX_SPARE_SLOTS = 4;

/** How a model's detector threads run. */
export interface DetectorPoolOptions {
  /** Frames detected at once (detector threads); default: cores / threadsPerFrame. */
  workers?: number;
  backend?: string;
  precision?: 'exact' | 'fast';
  /**
   * Threads that split each frame's layers (intra-frame threading, backend.setThreads): lower
   * latency per frame for few cameras, where `workers` (one frame per thread) gives throughput.
   */
  threadsPerFrame?: number;
}

/** Detector threads when none are asked for: the cores, shared by each frame's threadsPerFrame. */
export function defaultWorkers(threadsPerFrame = 1): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, threadsPerFrame)));
}

export interface DetectJobResult {
  detections: Detection[];
  detectMs: number;
  error?: string;
}

interface PoolWorker {
  worker: Worker;
  busy: boolean;
  job?: { id: number; done: (r: DetectJobResult) => void };
}

/**
 * The detector threads, one per core by default. Each loads the model once; a job names a slot of a
 * registered SharedArrayBuffer, so handing a frame over costs a small message, not a copy.
 * Emits nothing: the caller asks `idleCount()` and gets called back per job, and `onIdle` fires when
 * a thread frees up so the scheduler can hand out the next frame.
 */
export class WorkerPool {
  inputWidth = 0;
  inputHeight = 0;
  classNames: string[] = [];
  /** The model's cfg asks for letter_box=1, which frames stretched to the network size do not give it. */
  letterbox = false;
  /** The threshold the model's card recommends (a specialised model's operating point), if any. */
  operatingThresh: number | undefined;
  backend = '';
  /** Float-layer numerics the detector threads actually run ('fast' only where the backend has it). */
  precision: 'exact' | 'fast' = 'exact';
  /** Threads each detector thread splits a frame over (1: one frame, one thread). */
  threadsPerFrameInUse = 1;
  onIdle: () => void = () => undefined;
  private readonly workers: PoolWorker[] = [];
  /** When the last thread went (see emptySince). */
  private emptyAt = 0;
  private readonly buffers = new Map<FrameSlots, number>();
  private readonly spareSlots: FrameSlots[] = [];
  private nextBuffer = 1;
  private nextJob = 1;
  private closing = false;

  private constructor(
    private readonly model: ModelRef,
    private readonly backendName: string | undefined,
    private readonly requestedPrecision: 'exact' | 'fast' | undefined,
    private readonly threadsPerFrame: number | undefined,
  ) {}

  static async create(model: ModelRef, opts: DetectorPoolOptions = {}): Promise<WorkerPool> {
    const pool = new WorkerPool(model, opts.backend, opts.precision, opts.threadsPerFrame);
    const n = Math.max(1, opts.workers ?? defaultWorkers(opts.threadsPerFrame));
    try {
      await Promise.all(Array.from({ length: n }, () => pool.spawn()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Since when the pool has had no thread at all (epoch ms), or null. Every thread dead and none able to
   * restart (its model file gone): frames still arrive, nothing detects them.
   */
  get emptySince(): number | null {
    return this.workers.length === 0 && !this.closing && this.emptyAt > 0 ? this.emptyAt : null;
  }

  idleCount(): number {
    let n = 0;
    for (const w of this.workers) if (!w.busy) n++;
    return n;
  }

  /**
   * Frame slots for a new source, visible to every thread: those an ended source gave back when they
   * fit, else new ones. A batch of hundreds of files then reuses a few SharedArrayBuffers instead of
   * making one per file: the threads let go of a forgotten one only when their own garbage collector
   * runs, which they seldom need, so memory grew by the slots of every input (600 MB after 250 inputs).
   */
  slotsFor(frameBytes: number, capacity: number): FrameSlots {
    const i = this.spareSlots.findIndex((s) => s.frameBytes === frameBytes && s.capacity === capacity);
    if (i >= 0) return this.spareSlots.splice(i, 1)[0];
    const slots = new FrameSlots(frameBytes, capacity);
    this.register(slots);
    return slots;
  }

  /** Takes back the slots of a source that has ended (no frame of it in flight), for the next source. */
  giveBack(slots: FrameSlots): void {
    if (!this.buffers.has(slots)) return;
    slots.reset();
    this.spareSlots.push(slots);
    // A few kept (sources of several sizes may alternate); older ones are let go.
    while (this.spareSlots.length > MAX_SPARE_SLOTS) this.unregister(this.spareSlots.shift()!);
  }

  /** Makes a source's frame slots visible to every thread. */
  private register(slots: FrameSlots): void {
    const id = this.nextBuffer++;
    this.buffers.set(slots, id);
    const msg: WorkerRequest = { type: 'buffer', id, buffer: slots.buffer, frameBytes: slots.frameBytes, capacity: slots.capacity };
    for (const w of this.workers) w.worker.postMessage(msg);
  }

  private unregister(slots: FrameSlots): void {
    const id = this.buffers.get(slots);
    if (id === undefined) return;
    this.buffers.delete(slots);
    const msg: WorkerRequest = { type: 'forget', id };
    for (const w of this.workers) w.worker.postMessage(msg);
  }

  /** Runs detection on an idle thread; returns false when none is idle. */
  detect(slots: FrameSlots, slot: number, sourceWidth: number, sourceHeight: number, opts: DetectOptions, done: (r: DetectJobResult) => void): boolean {
    const w = this.workers.find((x) => !x.busy);
    if (!w) return false;
    const id = this.nextJob++;
    w.busy = true;
    w.job = { id, done };
    const msg: WorkerRequest = { type: 'detect', job: id, buffer: this.buffers.get(slots)!, slot, width: sourceWidth, height: sourceHeight, opts };
    w.worker.postMessage(msg);
    return true;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }

  /**
   * Replaces a thread that died, trying again (1 s, 2 s, ... up to a minute apart) while it fails: a
   * model file being rewritten in place fails to load for a moment, and a pool that gave up after one
   * try stayed a thread short for good (with one thread, its sources ran on with no detections).
   */
  private respawn(attempt: number): void {
    if (this.closing) return;
    this.spawn().catch((e: Error) => {
      const waitMs = Math.min(60_000, 1000 * 2 ** attempt);
      logger.error('could not restart detector thread; trying again', { error: e.message, inSeconds: waitMs / 1000, threads: this.workers.length });
      setTimeout(() => this.respawn(attempt + 1), waitMs).unref();
    });
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerScript(), {
        workerData: { model: this.model, backend: this.backendName, precision: this.requestedPrecision, threadsPerFrame: this.threadsPerFrame },
      });
      const entry: PoolWorker = { worker, busy: true };
      let ready = false;
      worker.on('message', (msg: WorkerReply) => {
        if (msg.type === 'ready') {
          ready = true;
          // Closed while this thread was loading (a restart racing a shutdown): it must not keep the process alive.
          if (this.closing) {
            void worker.terminate();
            return resolve();
          }
          this.inputWidth = msg.inputWidth;
          this.inputHeight = msg.inputHeight;
          this.classNames = msg.classNames;
          this.letterbox = msg.letterbox;
          this.backend = msg.backend;
          this.precision = msg.precision ?? 'exact';
          this.threadsPerFrameInUse = msg.threadsPerFrame;
          this.operatingThresh = msg.operatingThresh;
          entry.busy = false;
          this.workers.push(entry);
          for (const [slots, id] of this.buffers) {
            const m: WorkerRequest = { type: 'buffer', id, buffer: slots.buffer, frameBytes: slots.frameBytes, capacity: slots.capacity };
            worker.postMessage(m);
          }
          resolve();
          this.onIdle();
        } else if (msg.type === 'failed') {
          void worker.terminate();
          reject(msg.userError ? new UserError(msg.message) : new Error(`detector thread failed to load the model: ${msg.message}`));
        } else if (msg.type === 'result') {
          const job = entry.job;
          entry.job = undefined;
          entry.busy = false;
          if (job && job.id === msg.job) job.done({ detections: msg.detections, detectMs: msg.detectMs, ...(msg.error ? { error: msg.error } : {}) });
          this.onIdle();
        }
      });
      worker.on('error', (err) => {
        if (!ready) return reject(err);
        logger.error('detector thread crashed, starting a new one', { error: err.message });
      });
      worker.on('exit', () => {
        const i = this.workers.indexOf(entry);
        if (i >= 0) {
          this.workers.splice(i, 1);
          // The last thread going, not a failed restart (never in the list): restarts that keep failing
          // must not restart the clock, or /healthz would alarm late and then flap.
          if (this.workers.length === 0) this.emptyAt = Date.now();
        }
        if (!ready || this.closing) return;
        // The frame it held is lost (reported as an error result); the pool heals itself.
        const job = entry.job;
        entry.job = undefined;
        job?.done({ detections: [], detectMs: 0, error: 'detector thread exited' });
        this.respawn(0);
      });
    });
  }
}

/** The compiled worker: next to this file in dist/, or dist/ when running from src/ under vitest. */
function workerScript(): URL {
  const here = new URL('./detect-worker.js', import.meta.url);
  if (import.meta.url.endsWith('.ts')) {
    const dist = new URL('../../dist/pipeline/detect-worker.js', import.meta.url);
    if (!existsSync(fileURLToPath(dist))) throw new Error('dist/pipeline/detect-worker.js missing: run `npm run build` first');
    return dist;
  }
  return here;
}
