import { Worker } from 'node:worker_threads';
import type { WasmHeap } from './heap.js';
import type { WasmMemory, WasmModule } from './wasm-api.js';

/**
 * Intra-frame threading for the wasm backend: worker threads that instantiate the same kernels on
 * the same shared memory and run a slice of one op (a range of output rows or filters) while the
 * calling thread runs another. Jobs go through a small control block in the shared memory with
 * Atomics.wait/notify, so a layer costs one wake-up per worker, no message passing.
 */

/** Kernel functions a worker may run (index = function id in the control block). */
export const POOL_FUNCTIONS = ['floatGemm', 'binConv', 'fastGemmT', 'binConvBits', 'binConvLastTap', 'binConvBitsLastTapRows',
  'binConvBitsRows', 'seBandsClaim', 'winoChunks'] as const;
export type PoolFunction = (typeof POOL_FUNCTIONS)[number];

// control block, per worker (int32 slots)
const JOB = 0; // sequence number of the posted job (-1 = stop)
const DONE = 1; // sequence number of the last finished job
const FN = 2;
const ARGC = 3;
const ARGS = 4;
const FAILED = 30;
const CTRL_INTS = 32;
const MAX_ARGS = FAILED - ARGS;
/** A worker that has not finished a layer's share in this long is considered dead. */
const STALL_MS = 60_000;
/**
 * How long a worker polls for its next job, and the calling thread for a worker's end, before
 * sleeping in Atomics.wait. A futex sleep and wake-up costs ~40-60 us each way on this VM (a job
 * round trip measured 84 us back to back, 116 us after a gap), more than many layers' shares take;
 * jobs of one frame come within a few hundred microseconds of each other, so a short poll finds
 * them awake. Idle longer (between frames), the worker sleeps and costs nothing.
 */
const WORKER_SPIN_MS = 0.5;
const CALLER_SPIN_MS = 2;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrlPtr, names } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel abort'); } } });
const fns = names.map((n) => instance.exports[n]);
const c = new Int32Array(memory.buffer, ctrlPtr, ${CTRL_INTS});
let seen = 0;
for (;;) {
  let job = Atomics.load(c, ${JOB});
  if (job === seen) {
    // poll a while (the next job of a frame is usually near), then sleep
    const end = performance.now() + ${WORKER_SPIN_MS};
    for (let i = 0; (job = Atomics.load(c, ${JOB})) === seen; i++) if ((i & 63) === 0 && performance.now() > end) break;
    if (job === seen) {
      Atomics.wait(c, ${JOB}, seen);
      continue;
    }
  }
  if (job < 0) break;
  seen = job;
  try {
    fns[c[${FN}]](...c.subarray(${ARGS}, ${ARGS} + c[${ARGC}]));
    c[${FAILED}] = 0;
  } catch (e) {
    c[${FAILED}] = 1;
  }
  Atomics.store(c, ${DONE}, job);
  Atomics.notify(c, ${DONE});
}
`;

export class WasmPool {
  private readonly workers: Worker[] = [];
  private readonly ctrl: Int32Array[] = [];
  private seq = 0;

  constructor(module: WasmModule, memory: WasmMemory, heap: WasmHeap, workers: number) {
    for (let i = 0; i < workers; i++) {
      const ptr = heap.alloc(CTRL_INTS * 4);
      this.ctrl.push(heap.i32(ptr, CTRL_INTS));
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctrlPtr: ptr, names: POOL_FUNCTIONS } });
      w.unref(); // an idle pool never keeps the process alive
      this.workers.push(w);
    }
  }

  /** Threads that take part in a job: the workers plus the calling thread. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs kernel `fn` with shares[i + 1] on worker i and with shares[0] here (from `local`, this
   * thread's instance); returns when every share is done. Arguments are int32 (addresses too).
   */
  run<F extends PoolFunction>(fn: F, shares: number[][], local: Record<F, (...args: number[]) => void>): void {
    const seq = ++this.seq;
    const used = Math.min(this.workers.length, shares.length - 1);
    for (let i = 0; i < used; i++) {
      const c = this.ctrl[i];
      const args = shares[i + 1];
      if (args.length > MAX_ARGS) throw new Error(`wasm pool: ${fn} has too many arguments`);
      c[FN] = POOL_FUNCTIONS.indexOf(fn);
      c[ARGC] = args.length;
      c.set(args, ARGS);
      Atomics.store(c, JOB, seq);
      Atomics.notify(c, JOB);
    }
    try {
      local[fn].apply(null, shares[0]);
    } finally {
      this.waitFor(fn, seq, used);
    }
  }

  private waitFor(fn: PoolFunction, seq: number, used: number): void {
    for (let i = 0; i < used; i++) {
      const c = this.ctrl[i];
      // poll first: the worker's share usually ends about when ours does
      const spinEnd = performance.now() + CALLER_SPIN_MS;
      for (let n = 0; Atomics.load(c, DONE) !== seq; n++) if ((n & 63) === 0 && performance.now() > spinEnd) break;
      const deadline = Date.now() + STALL_MS;
      for (let done = Atomics.load(c, DONE); done !== seq; done = Atomics.load(c, DONE)) {
        if (Date.now() > deadline) throw new Error(`wasm pool: worker ${i} stopped responding`);
        Atomics.wait(c, DONE, done, 1000);
      }
      if (c[FAILED]) throw new Error(`wasm pool: ${fn} failed on worker ${i}`);
    }
  }

  close(): void {
    for (let i = 0; i < this.workers.length; i++) {
      Atomics.store(this.ctrl[i], JOB, -1);
      Atomics.notify(this.ctrl[i], JOB);
      void this.workers[i].terminate();
    }
    this.workers.length = 0;
  }
}

/** Splits [0, n) into at most `parts` contiguous ranges of whole units of `unit`. */
export function splitRange(n: number, parts: number, unit = 1): [number, number][] {
  const units = Math.ceil(n / unit);
  const k = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) {
    const a = Math.floor((units * i) / k) * unit;
    const b = Math.min(n, Math.floor((units * (i + 1)) / k) * unit);
    if (b > a) out.push([a, b]);
  }
  return out;
}
