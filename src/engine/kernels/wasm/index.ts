import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BinaryConvParams, BitLinkPath, ConvOp, FloatConvParams, KernelBackend, MaxPoolParams, PoolSpec, UpsampleParams, YoloParams } from '../backend.js';
import { WasmBinaryConv } from './binary-conv.js';
import { allocBitDest, planBitDest } from './bit-dests.js';
import { WasmFastFloatConv } from './fast-conv.js';
import { WasmWinogradConv, winogradFits } from './winograd.js';
import { WasmFloatConv } from './float-conv.js';
import { WasmHeap } from './heap.js';
import { WasmMaxPool, WasmUpsample, WasmYolo } from './layers.js';
import type { Exports, Threads } from './ops.js';
import type { Precision } from '../precision.js';
import { WasmPool } from './pool.js';
import { wasmApi, type WasmModule } from './wasm-api.js';

/**
 * The WebAssembly SIMD backend. The kernels (assembly/kernels.ts, compiled by
 * scripts/build-wasm.mjs into build/xnorcam-kernels.wasm) work in a shared linear memory owned by
 * this backend; tensors from allocFloat32 are views of it, so run() passes addresses, not copies.
 * Bit-identical to the reference backend (see backend.ts and assembly/kernels.ts for how).
 */
const WASM_FILE = fileURLToPath(new URL('../../../../build/xnorcam-kernels.wasm', import.meta.url));

let compiled: Promise<WasmModule> | undefined;

/** Tests compare 'fast' 3x3 convs through Winograd with the direct int16 ones. */
let useWinograd = true;
export function setWinograd(on: boolean): void {
  useWinograd = on;
}

function compileOnce(): Promise<WasmModule> {
  compiled ??= readFile(WASM_FILE)
    .catch(() => {
      throw new Error(`${WASM_FILE} is missing (run npm run build)`);
    })
    .then((bytes) => wasmApi.compile(bytes));
  return compiled;
}

export class WasmBackend implements KernelBackend {
  readonly name = 'wasm';
  private readonly threads: Threads = { pool: null };
  private threadCount = 1;
  constructor(
    private readonly heap: WasmHeap,
    private readonly k: Exports,
    private readonly module: WasmModule,
    /** 'fast': float convs the runner marks `fastOk` (groups 1) run in int16 (fast-conv.ts). */
    readonly precision: Precision = 'exact',
  ) {}
  allocFloat32(count: number): Float32Array {
    return this.heap.f32(this.heap.alloc(count * 4), count);
  }
  prepareFloatConv(p: FloatConvParams): ConvOp {
    return this.floatConv(p);
  }
  prepareBinaryConv(p: BinaryConvParams): ConvOp {
    return new WasmBinaryConv(this.heap, this.k, this.threads, p);
  }
  /** A conv with the maxpool after it (bit-identical to the two ops; bit links skip its float output). */
  prepareFloatConvPool(p: FloatConvParams, pool: PoolSpec): ConvOp {
    return this.floatConv(p, pool);
  }
  prepareBinaryConvPool(p: BinaryConvParams, pool: PoolSpec): ConvOp {
    return new WasmBinaryConv(this.heap, this.k, this.threads, p, pool);
  }
  private floatConv(p: FloatConvParams, pool?: PoolSpec): ConvOp {
    if (this.precision === 'fast' && p.fastOk && p.groups === 1) {
      if (winogradFits(p) && useWinograd) return new WasmWinogradConv(this.heap, this.k, this.threads, p, pool);
      return new WasmFastFloatConv(this.heap, this.k, this.threads, p, pool);
    }
    return new WasmFloatConv(this.heap, this.k, this.threads, p, pool);
  }
  /**
   * Bit links: an exact float or binary conv of this backend (maybe with its maxpool) writes the
   * sign bits of its output straight into the zero-bordered bit image of the binary conv that alone
   * reads it (see KernelBackend.linkBinaryInput); bit-identical to packing the floats.
   */
  linkBinaryInput(producer: ConvOp, consumer: ConvOp): boolean {
    return this.linkBinaryInputVia(producer, consumer, { steps: [], channelOffset: 0 });
  }
  /**
   * Bit links through maxpool / upsample / route layers (KernelBackend.linkBinaryInputVia; the
   * steps: bit-dests.ts). A binary producer may feed any number of consumer slices, a consumer
   * take its input bytes from several producers (route slices start on a byte: channel offsets
   * are multiples of 8). An exact float producer links only directly (no steps, the consumer's
   * whole input, one consumer): its int16 sign estimate (float-conv.ts) may write the pooled bits
   * straight into that one consumer.
   */
  linkBinaryInputVia(producer: ConvOp, consumer: ConvOp, path: BitLinkPath, dryRun = false): boolean {
    if (!(consumer instanceof WasmBinaryConv) || !(producer instanceof WasmFloatConv || producer instanceof WasmBinaryConv)) return false;
    if (producer === consumer) return false;
    const t = consumer.bitInput();
    const plan = planBitDest(producer.bitSource, path, t);
    if (typeof plan === 'string' || !consumer.canTakeBits(plan.byteOffset, plan.n)) return false;
    if (producer instanceof WasmFloatConv) {
      const direct = path.steps.length === 0 && path.channelOffset === 0 && producer.bitSource.c === t.c;
      if (!direct || producer.bitsOut) return false;
      if (dryRun) return true;
      if (!producer.linkOutput(t)) return false;
    } else {
      if (!producer.canLinkOutput()) return false;
      if (dryRun) return true;
      if (!producer.startBitOutput()) return false;
    }
    producer.addBitDest(allocBitDest(this.heap, plan));
    consumer.takeBits(plan.byteOffset, plan.n);
    return true;
  }
  prepareMaxPool(p: MaxPoolParams): ConvOp {
    return new WasmMaxPool(this.heap, this.k, this.threads, p);
  }
  prepareYolo(p: YoloParams): ConvOp {
    return new WasmYolo(this.heap, this.k, this.threads, p);
  }
  prepareUpsample(p: UpsampleParams): ConvOp {
    return new WasmUpsample(this.heap, this.k, this.threads, p);
  }
  /**
   * Intra-frame threading: large convolutions (already prepared ones too) split their output rows
   * or filters over n threads (1 = off, the default): n - 1 workers share this backend's memory.
   */
  setThreads(n: number): void {
    const t = Math.max(1, Math.floor(n));
    if (t === this.threadCount) return;
    this.threads.pool?.close();
    this.threads.pool = t > 1 ? new WasmPool(this.module, this.heap.memory, this.heap, t - 1) : null;
    this.threadCount = t;
  }
  dispose(): void {
    this.threads.pool?.close();
    this.threads.pool = null;
    this.threadCount = 1;
  }
}

export async function create(opts: { precision?: Precision } = {}): Promise<KernelBackend> {
  const module = await compileOnce();
  const heap = new WasmHeap();
  const instance = await wasmApi.instantiate(module, {
    env: {
      memory: heap.memory,
      abort: () => {
        throw new Error('wasm kernel abort');
      },
    },
  });
  const k = instance.exports as unknown as Exports;
  heap.start(k.heapBase());
  return new WasmBackend(heap, k, module, opts.precision ?? 'exact');
}
