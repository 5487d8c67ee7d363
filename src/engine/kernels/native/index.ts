import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { UserError } from '../../../core/errors.js';
import { logger } from '../../../core/log.js';
import { requestedPrecision, type Precision } from '../precision.js';
import type { BinaryConvParams, BitLinkPath, ConvGeometry, ConvOp, FloatConvParams, KernelActivation, KernelBackend, MaxPoolParams, PoolSpec, UpsampleParams, YoloParams } from '../backend.js';

/**
 * The native kernel backend: an N-API addon (native/, built by node-gyp at `npm ci`) with one
 * kernel set per instruction set, chosen at run time from the CPU's features. See docs/native.md.
 */
export type NativeIsa = 'avx512' | 'avx2' | 'popcnt' | 'neon';

export interface NativeOptions {
  /** Force an ISA path (default: XNORCAM_NATIVE_ISA, else the fastest this CPU runs). */
  isa?: NativeIsa;
  /** Threads per op for intra-frame threading (default: XNORCAM_NATIVE_THREADS, else 1). */
  threads?: number;
  /** Kernel shape, for tests: 'pixels' or 'filters' in vector lanes (default: picked per layer). */
  shape?: 'auto' | 'pixels' | 'filters';
  /**
   * Float-convolution numerics (default: XNORCAM_PRECISION, else 'exact'). 'fast' = int8 with AVX-512
   * VNNI where the CPU has it (groups-1 convolutions the runner marks safe, FMA for the others), FMA for every float
   * convolution on AVX2; elsewhere it logs once and stays exact.
   */
  precision?: Precision;
}

interface Addon {
  isas(): string[];
  prepare(isa: string, geom: Int32Array, weights: Float32Array, scale: Float32Array | null, bias: Float32Array, fast?: number): object;
  fastKind(isa: string): '' | FastKind;
  prepareMaxPool(isa: string, geom: Int32Array): object;
  prepareYolo(isa: string, geom: Int32Array, alpha: number, beta: number, fast?: boolean): object;
  prepareUpsample(isa: string, geom: Int32Array, scale: number): object;
  run(handle: object, input: Float32Array, output: Float32Array, threads: number): void;
  link(producer: object, consumer: object, path?: Int32Array, dry?: boolean): boolean;
  describe(handle: object): string;
  dispose(handle: object): void;
}

// src/engine/kernels/native and dist/engine/kernels/native are both four levels below the root.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const addonPath = path.join(root, 'native', 'build', 'Release', 'xnorcam_native.node');

let cached: Addon | undefined;

/** Loads the addon or throws one line saying why it is not there. */
export function loadAddon(): Addon {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    const failed = path.join(root, 'native', 'build', 'BUILD_FAILED.txt');
    if (existsSync(failed)) throw new Error(`native addon failed to build: ${readFileSync(failed, 'utf8').trim().split('\n')[0]}`);
    throw new Error('native addon is not built (npm rebuild, or node scripts/build-native.mjs)');
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (e) {
    throw new Error(`native addon does not load: ${(e as Error).message.split('\n')[0]}`);
  }
  // An addon built from older sources (npm run build without the native rebuild) lacks newer functions.
  if (typeof addon.fastKind !== 'function') throw new Error('native addon is out of date (rebuild it: node scripts/build-native.mjs)');
  cached = addon;
  return cached;
}

const ACT: Record<KernelActivation, number> = { linear: 0, leaky: 1, relu: 2 };
const SHAPE = { auto: 0, pixels: 1, filters: 2 } as const;

function geometry(kind: string, p: ConvGeometry & { groups: number; activation: KernelActivation }, shape: number, pool?: PoolSpec): Int32Array {
  const { inC, inH, inW, outC, outH, outW, size, stride, pad, groups } = p;
  const ints = [inC, inH, inW, outC, outH, outW, size, stride, pad, groups];
  if (!ints.every((v) => Number.isInteger(v))) throw new Error(`${kind} conv: geometry must be integers`);
  if (inC < 1 || outC < 1 || size < 1 || stride < 1 || pad < 0 || groups < 1 || inC % groups || outC % groups)
    throw new Error(`${kind} conv: bad geometry (inC ${inC}, outC ${outC}, size ${size}, stride ${stride}, pad ${pad}, groups ${groups})`);
  const eh = Math.floor((inH + 2 * pad - size) / stride) + 1;
  const ew = Math.floor((inW + 2 * pad - size) / stride) + 1;
  if (outH !== eh || outW !== ew || eh < 1 || ew < 1)
    throw new Error(`${kind} conv: output ${outH}x${outW} does not match input ${inH}x${inW}, size ${size}, stride ${stride}, pad ${pad} (expected ${eh}x${ew})`);
  if (!(p.activation in ACT)) throw new Error(`${kind} conv: unknown activation '${p.activation}'`);
  const poolInts = pool ? [pool.size, pool.stride, pool.padding] : [0, 0, 0];
  if (pool && !(Number.isInteger(pool.size) && Number.isInteger(pool.stride) && Number.isInteger(pool.padding) && pool.size >= 1 && pool.stride >= 1 && pool.padding >= 0))
    throw new Error(`${kind} conv: bad maxpool (size ${pool.size}, stride ${pool.stride}, padding ${pool.padding})`);
  return Int32Array.from([...ints, ACT[p.activation], shape, ...poolInts]);
}

/** kernels.h XK_MAX_BIT_STEPS. */
const MAX_BIT_STEPS = 8;

/**
 * kernels.h XK_MAX_BINARY_WORDS: 32-channel words per output of a binary convolution, ceil(inC / 32) x kernel area.
 * Said here as a user error naming the layer's size and the way out; the addon refuses the same, as its last line of
 * defence.
 */
const MAX_BINARY_WORDS = 4095;
function checkBinaryWords(p: BinaryConvParams): void {
  const words = Math.ceil(p.inC / 32) * p.size * p.size;
  if (words > MAX_BINARY_WORDS)
    throw new UserError(`binary convolution of ${p.inC} channels, ${p.size}x${p.size}: ${words} words per output, over the native kernels' ${MAX_BINARY_WORDS} (use --backend wasm)`);
}

/** The addon's path array: [chOff, nsteps, then kind, size, stride, offset, oh, ow per step] (kernels.h XkBitPath). */
function encodePath(path: BitLinkPath): Int32Array {
  const ints = [path.channelOffset, path.steps.length];
  for (const s of path.steps) {
    if (s.kind === 'maxpool') ints.push(1, s.size, s.stride, Math.trunc(-s.padding / 2), s.outH, s.outW);
    else ints.push(2, 0, s.stride, 0, 0, 0);
  }
  if (!ints.every((v) => Number.isInteger(v))) throw new Error('bit link: path values must be integers');
  return Int32Array.from(ints);
}

/** A prepared native convolution. `kernel` names the kernel shape chosen (for benchmarks). */
export class NativeConvOp implements ConvOp {
  kernel: string;
  /** The other op of a bit link (linkBinaryInput), kept reachable as long as this one. */
  private linked: NativeConvOp[] = [];
  constructor(
    private readonly addon: Addon,
    readonly handle: object,
    readonly backend: NativeBackend,
  ) {
    this.kernel = addon.describe(handle);
  }
  /** See KernelBackend.linkBinaryInput / linkBinaryInputVia. */
  linkTo(consumer: NativeConvOp, path?: BitLinkPath, dryRun = false): boolean {
    if (path && path.steps.length > MAX_BIT_STEPS) return false;
    if (!this.addon.link(this.handle, consumer.handle, path && encodePath(path), dryRun)) return false;
    if (dryRun) return true;
    if (!this.linked.includes(consumer)) this.linked.push(consumer);
    if (!consumer.linked.includes(this)) consumer.linked.push(this);
    this.kernel = this.addon.describe(this.handle);
    consumer.kernel = this.addon.describe(consumer.handle);
    return true;
  }
  run(input: Float32Array, output: Float32Array): void {
    this.addon.run(this.handle, input, output, this.backend.threads);
  }
  dispose(): void {
    this.addon.dispose(this.handle);
  }
}

/** What the native fast precision does where the runner allows int8: 'int8' (AVX-512 VNNI) or 'fma' (AVX2: FMA only). */
export type FastKind = 'int8' | 'fma';

export class NativeBackend implements KernelBackend {
  readonly name: string;
  readonly precision: Precision;
  /** With precision 'fast': how the float convolutions run (null with 'exact'). */
  readonly fastKind: FastKind | null;
  threads: number;
  private readonly shape: number;
  constructor(
    private readonly addon: Addon,
    readonly isa: NativeIsa,
    opts: NativeOptions,
  ) {
    this.name = `native-${isa}`;
    this.threads = Math.max(1, Math.floor(opts.threads ?? 1));
    this.shape = SHAPE[opts.shape ?? 'auto'];
    const kind = addon.fastKind(isa);
    this.fastKind = opts.precision === 'fast' && kind !== '' ? kind : null;
    this.precision = this.fastKind ? 'fast' : 'exact';
  }
  allocFloat32(count: number): Float32Array {
    return new Float32Array(count);
  }
  /** Intra-frame threading: every op's output is split over n threads (1 = off). */
  setThreads(n: number): void {
    this.threads = Math.max(1, Math.floor(n));
  }
  /** Bit output (KernelBackend.linkBinaryInput): false unless both ops are this backend's convolutions and the kernels accept the pair. */
  linkBinaryInput(producer: ConvOp, consumer: ConvOp): boolean {
    if (!(producer instanceof NativeConvOp) || !(consumer instanceof NativeConvOp)) return false;
    if (producer.backend !== this || consumer.backend !== this) return false;
    return producer.linkTo(consumer);
  }
  /** A bit link through maxpool / upsample / route layers (KernelBackend.linkBinaryInputVia). */
  linkBinaryInputVia(producer: ConvOp, consumer: ConvOp, path: BitLinkPath, dryRun = false): boolean {
    if (!(producer instanceof NativeConvOp) || !(consumer instanceof NativeConvOp)) return false;
    if (producer.backend !== this || consumer.backend !== this) return false;
    return producer.linkTo(consumer, path, dryRun);
  }
  prepareFloatConv(p: FloatConvParams): NativeConvOp {
    const g = geometry('float', p, this.shape);
    return new NativeConvOp(this.addon, this.addon.prepare(this.isa, g, p.weights, null, p.bias, this.fastMode(p)), this);
  }
  /** 0: exact; 1: FMA (float convs that feed binary ones: rounding-level differences); 2: int8 (FMA where fastKind is 'fma'). */
  private fastMode(p: FloatConvParams): number {
    if (this.precision !== 'fast') return 0;
    return p.fastOk === true ? 2 : 1;
  }
  prepareBinaryConv(p: BinaryConvParams): NativeConvOp {
    checkBinaryWords(p);
    const g = geometry('binary', { ...p, groups: 1 }, this.shape);
    return new NativeConvOp(this.addon, this.addon.prepare(this.isa, g, p.weights, p.scale, p.bias), this);
  }
  prepareFloatConvPool(p: FloatConvParams, pool: PoolSpec): NativeConvOp {
    const g = geometry('float', p, this.shape, pool);
    return new NativeConvOp(this.addon, this.addon.prepare(this.isa, g, p.weights, null, p.bias, this.fastMode(p)), this);
  }
  prepareBinaryConvPool(p: BinaryConvParams, pool: PoolSpec): NativeConvOp {
    checkBinaryWords(p);
    const g = geometry('binary', { ...p, groups: 1 }, this.shape, pool);
    return new NativeConvOp(this.addon, this.addon.prepare(this.isa, g, p.weights, p.scale, p.bias), this);
  }
  prepareYolo(p: YoloParams): NativeConvOp {
    const { c, h, w, classes, anchors, scaleXY } = p;
    if (![c, h, w, classes, anchors].every((v) => Number.isInteger(v)) || c < 1 || h < 1 || w < 1 || classes < 0 || anchors < 0 || anchors * (classes + 5) > c)
      throw new Error(`yolo: bad geometry (c ${c}, ${h}x${w}, classes ${classes}, anchors ${anchors})`);
    // The same float32 constants as the runner's yolo(): alpha = f(scale_x_y), beta = f(-(scale_x_y - 1) / 2).
    const alpha = Math.fround(scaleXY);
    const beta = Math.fround(-0.5 * (scaleXY - 1));
    // fast precision: float32 logistic (a few ulp from V8's Math.exp path; detections unchanged)
    const fast = this.precision === 'fast';
    return new NativeConvOp(this.addon, this.addon.prepareYolo(this.isa, Int32Array.from([c, h * w, classes, anchors, p.rawClasses ? 1 : 0]), alpha, beta, fast), this);
  }
  prepareUpsample(p: UpsampleParams): NativeConvOp {
    const { c, h, w, stride, scale } = p;
    if (![c, h, w, stride].every((v) => Number.isInteger(v)) || c < 1 || h < 1 || w < 1 || stride < 1 || !Number.isFinite(scale))
      throw new Error(`upsample: bad geometry (c ${c}, ${h}x${w}, stride ${stride}, scale ${scale})`);
    return new NativeConvOp(this.addon, this.addon.prepareUpsample(this.isa, Int32Array.from([c, h, w, stride]), Math.fround(scale)), this);
  }
  prepareMaxPool(p: MaxPoolParams): NativeConvOp {
    const { c, inH, inW, outH, outW, size, stride, padding } = p;
    const ints = [c, inH, inW, outH, outW, size, stride, padding];
    if (!ints.every((v) => Number.isInteger(v)) || c < 1 || inH < 1 || inW < 1 || outH < 1 || outW < 1 || size < 1 || stride < 1 || padding < 0)
      throw new Error(`maxpool: bad geometry (${ints.join(', ')})`);
    return new NativeConvOp(this.addon, this.addon.prepareMaxPool(this.isa, Int32Array.from(ints)), this);
  }
}

/** ISA paths this CPU runs, fastest first ([] when the addon is not built). */
export function supportedIsas(): NativeIsa[] {
  try {
    return loadAddon().isas() as NativeIsa[];
  } catch {
    return [];
  }
}

export async function create(opts: NativeOptions = {}): Promise<KernelBackend> {
  const addon = loadAddon();
  const have = addon.isas() as NativeIsa[];
  if (have.length === 0) throw new Error('native kernels: this CPU has none of the supported instruction sets (AVX-512, AVX2, POPCNT, NEON)');
  const forced = opts.isa ?? (process.env.XNORCAM_NATIVE_ISA as NativeIsa | undefined) ?? undefined;
  if (forced && !have.includes(forced))
    throw new Error(`native ISA '${forced}' is not available on this CPU (available: ${have.join(', ')})`);
  const threads = opts.threads ?? (Number(process.env.XNORCAM_NATIVE_THREADS) || 1);
  const precision = requestedPrecision(opts.precision);
  const backend = new NativeBackend(addon, forced ?? have[0], { ...opts, threads, precision });
  if (precision === 'fast' && backend.precision !== 'fast') warnOnce(`native-${backend.isa}`);
  return backend;
}

const warned = new Set<string>();
function warnOnce(name: string): void {
  if (warned.has(name)) return;
  warned.add(name);
  logger.warn(`precision 'fast' is not available on kernel backend ${name} (the native-avx2 kernels have it, with FMA, and native-avx512 with VNNI); float layers run exact`);
}
