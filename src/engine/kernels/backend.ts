/**
 * The kernel boundary. The network runner (src/engine/runtime) owns the graph and calls these
 * ops; each backend (reference TypeScript, WebAssembly, native addon) implements them.
 *
 * Numerics are darknet's CPU numerics, and every backend must be bit-identical to the reference:
 *  - float conv: out = (((0 + w0*x0) + w1*x1) + ...) + bias, summed over k = (c, ky, kx) in that
 *    order, each product and each sum rounded to float32 (no FMA), zero padding.
 *    Vectorise across output pixels or filters, never across k, to keep the order.
 *  - binary conv: input bit = x > 0, weight bit = w > 0; spatial padding counts as -1 (bit 0);
 *    out = fround(fround((K - 2*mismatches) * scale[f]) + bias[f]), K = size*size*inC.
 *  - activation (applied by the kernel to its whole output tensor of n = outC*outH*outW values,
 *    CHW order): 'linear'; 'leaky' = x > 0 ? x : fround(x * fround(0.1)) except that the last
 *    (n % 8 || 8) elements use fround(0.1 * x) (darknet's scalar tail; differs by 1 ulp sometimes);
 *    'relu' = max(0, x).
 * Tensors are float32 CHW, batch 1, in memory from `allocFloat32` so a backend can read them
 * without copies (for WebAssembly they live in its linear memory).
 */
export type KernelActivation = 'linear' | 'leaky' | 'relu';

export interface ConvGeometry {
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  outH: number;
  outW: number;
  size: number;
  stride: number;
  pad: number;
}

export interface FloatConvParams extends ConvGeometry {
  groups: number;
  /** [outC][inC/groups][size][size], batch norm already folded in. */
  weights: Float32Array;
  bias: Float32Array;
  activation: KernelActivation;
  /**
   * Optional (additive): set by the runner when no binary conv lies downstream of this layer, so a
   * backend in 'fast' precision may run it in reduced precision. Where a binary conv follows, any
   * rounding difference near zero flips an input bit and the whole rest of the network moves, so
   * such layers stay exact (false or absent: exact).
   */
  fastOk?: boolean;
}

export interface BinaryConvParams extends ConvGeometry {
  /** [outC][inC][size][size]; only the sign is used (bit = w > 0). BN-folded float weights are fine. */
  weights: Float32Array;
  /** Per-filter scale (darknet's mean_arr: mean |w| after BN folding). */
  scale: Float32Array;
  /** Folded bias. */
  bias: Float32Array;
  activation: KernelActivation;
}

export interface ConvOp {
  /** input: inC*inH*inW floats, output: outC*outH*outW floats, both from allocFloat32. */
  run(input: Float32Array, output: Float32Array): void;
}

/**
 * darknet's maxpool (forward_maxpool_layer): the window of output (y, x) starts at
 * (y*stride + trunc(-padding/2), x*stride + trunc(-padding/2)); taps outside the input are
 * skipped; max starts at -FLT_MAX and takes a tap when `tap > max` (so NaN never wins and the
 * first of equal values stays, which decides the sign of a zero maximum).
 */
export interface MaxPoolParams {
  c: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  size: number;
  stride: number;
  padding: number;
}

/** A maxpool that follows a convolution (darknet [maxpool] keys; see MaxPoolParams for its rules). */
export interface PoolSpec {
  size: number;
  stride: number;
  padding: number;
}

/**
 * darknet's [yolo] layer at inference, as the runner's yolo() in src/engine/runtime/layers.ts:
 * for each of the `anchors` boxes (mask entries) of classes + 5 channels, tx and ty become
 * f(f(logistic(x) * f(scaleXY)) + f(-0.5 * (scaleXY - 1))), tw and th are copied, objectness and
 * class scores become logistic(x) = f(1 / f(1 + f(Math.exp(-x)))); other channels are copied.
 */
export interface YoloParams {
  c: number;
  h: number;
  w: number;
  classes: number;
  anchors: number;
  scaleXY: number;
  /**
   * Optional (additive): leave the class scores raw, activating only tx, ty and objectness
   * (NetworkOptions.lazyYoloClasses: the decoder applies the logistic where objectness passes).
   */
  rawClasses?: boolean;
}

/** darknet's [upsample] (nearest neighbour, output h*stride x w*stride); values times f(scale) unless it is 1. */
export interface UpsampleParams {
  c: number;
  h: number;
  w: number;
  stride: number;
  scale: number;
}

/**
 * A layer between the two convolutions of a bit link, as it acts on sign bits: darknet's maxpool
 * (MaxPoolParams rules: bit = OR of the window's taps, 0 for a window without taps) or upsample
 * (nearest neighbour; only with scale >= 1, which keeps every sign).
 */
export type BitLinkStep =
  | { kind: 'maxpool'; size: number; stride: number; padding: number; outH: number; outW: number }
  | { kind: 'upsample'; stride: number };

/** KernelBackend.linkBinaryInputVia: steps in order from the producer, then the channel offset in the consumer's input. */
export interface BitLinkPath {
  steps: BitLinkStep[];
  channelOffset: number;
}

export interface KernelBackend {
  /** 'reference', 'wasm', 'native-avx512', 'native-avx2', 'native-popcnt', 'native-neon', ... */
  readonly name: string;
  /**
   * Optional (additive): 'fast' when this backend's float convolutions run in reduced precision
   * (src/engine/kernels/precision.ts; opt-in, never bit-identical); absent or 'exact' otherwise.
   */
  readonly precision?: 'exact' | 'fast';
  /** Zeroed float32 storage the kernels can use directly. Views stay valid for the backend's life. */
  allocFloat32(count: number): Float32Array;
  /** Prepares (packs, reorders, copies) weights once at load; run() must not allocate. */
  prepareFloatConv(p: FloatConvParams): ConvOp;
  prepareBinaryConv(p: BinaryConvParams): ConvOp;
  /**
   * Optional (additive, native backend): a maxpool op, bit-identical to the TypeScript one in
   * src/engine/runtime/layers.ts; run(input c*inH*inW, output c*outH*outW). Runners use it when
   * present: `backend.prepareMaxPool?.(p) ?? <TypeScript maxpool>`.
   */
  prepareMaxPool?(p: MaxPoolParams): ConvOp;
  /**
   * Optional (additive, native backend): the yolo layer, bit-identical to the runner's TypeScript
   * yolo() (exp is V8's Math.exp, i.e. fdlibm's); run(input, output), both c*h*w.
   */
  prepareYolo?(p: YoloParams): ConvOp;
  /** Optional (additive, native backend): the upsample layer, bit-identical to the runner's upsample(). */
  prepareUpsample?(p: UpsampleParams): ConvOp;
  /**
   * Optional (additive, native backend): a convolution with the maxpool that follows it fused in,
   * so the full-size conv output is never written. run(input, pooled) writes the pooled tensor
   * (outC * poolH * poolW, poolH = floor((outH + padding - size) / stride) + 1, same for W); its
   * bits equal prepare*Conv(p).run() followed by the maxpool. Use only when nothing else reads the
   * conv layer's own output (no [route]/[shortcut] to it).
   */
  prepareFloatConvPool?(p: FloatConvParams, pool: PoolSpec): ConvOp;
  prepareBinaryConvPool?(p: BinaryConvParams, pool: PoolSpec): ConvOp;
  /**
   * Optional (additive, native backend): intra-frame threading. Every op prepared by this backend
   * splits its output over n threads (1 = off, the default); for one camera at lowest latency,
   * not for the worker pool's one-frame-per-thread mode.
   */
  setThreads?(n: number): void;
  /**
   * Optional (additive, native backend): bit output. `producer` (a convolution from this backend,
   * maybe with a fused maxpool) whose output tensor is read by nothing but the binary convolution
   * `consumer` writes that consumer's packed input bits itself (bit = output value > 0, after the
   * activation and the pool: exactly what the consumer would compute from the floats), so no float
   * tensor is written between them and the consumer packs nothing. After `true`,
   * producer.run(input, out) leaves `out` untouched and consumer.run(input, out) ignores `input`
   * (both may be empty arrays); results are bit-identical. `false`: not linked, nothing changed.
   */
  linkBinaryInput?(producer: ConvOp, consumer: ConvOp): boolean;
  /**
   * Optional (additive, native backend): a bit link through non-conv layers. `producer`'s output,
   * carried along `path` (maxpools, upsamples, then placed at input channel `path.channelOffset` of
   * `consumer`: a route slice), is (part of) `consumer`'s input; the producer writes those packed
   * sign bits itself, as linkBinaryInput. A producer may feed several consumers, and a consumer take
   * its input from several producers (disjoint channel ranges). After `true` the producer writes no
   * output tensor; the consumer reads no input tensor once links cover all its input channels.
   * `dryRun`: only whether it would link (nothing changes), so a runner can check every link of a
   * plan before making any. `false`: not linked, nothing changed.
   */
  linkBinaryInputVia?(producer: ConvOp, consumer: ConvOp, path: BitLinkPath, dryRun?: boolean): boolean;
  dispose?(): void;
}
