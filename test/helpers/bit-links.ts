// Shared by the bit-link tests of the wasm and native backends (KernelBackend.linkBinaryInput): the
// grid of producer -> (maxpool) -> binary consumer cases, and running a pair plain and linked.
import type { BinaryConvParams, ConvOp, FloatConvParams, KernelActivation, KernelBackend, PoolSpec } from '../../src/engine/kernels/backend.js';

export interface BitLinkCase {
  name: string;
  kind: 'float' | 'binary';
  /** A 3x3 stride-1 pad-1 conv. */
  producer: { inC: number; inH: number; inW: number; outC: number; size: number; stride: number; pad: number; activation: KernelActivation };
  pool?: PoolSpec;
  consumer: { outC: number; size: number; pad: number; activation: KernelActivation };
}

const acts: KernelActivation[] = ['leaky', 'relu', 'linear'];
const pools: (PoolSpec | undefined)[] = [undefined, { size: 2, stride: 2, padding: 0 }, { size: 2, stride: 1, padding: 1 }, { size: 3, stride: 2, padding: 2 }];

/**
 * Every float and binary producer of the given (inC, outC) and (inH, inW), unpooled and with each
 * maxpool kind, into each consumer geometry; activations and consumer widths rotate with the case.
 */
export function bitLinkCases(
  channels: readonly (readonly [number, number])[], sizes: readonly (readonly [number, number])[],
  consumers: readonly { size: number; pad: number }[], consumerOutC: (n: number) => number,
): BitLinkCase[] {
  const cases: BitLinkCase[] = [];
  let n = 0;
  for (const kind of ['float', 'binary'] as const)
    for (const [inC, outC] of channels)
      for (const pool of pools)
        for (const [inH, inW] of sizes)
          for (const consumer of consumers) {
            n++;
            cases.push({
              name: `${kind} ${inC}x${inH}x${inW} -> ${outC}${pool ? ` +pool ${pool.size}/${pool.stride}/${pool.padding}` : ''} -> binary ${consumer.size}x${consumer.size} pad ${consumer.pad}`,
              kind,
              producer: { inC, inH, inW, outC, size: 3, stride: 1, pad: 1, activation: acts[n % 3] },
              pool,
              consumer: { outC: consumerOutC(n), ...consumer, activation: acts[(n + 1) % 3] },
            });
          }
  return cases;
}

/** Every kind of count range for a binary producer: negative and zero scales, biases that make the output always or never positive. */
export function spreadCountRanges(p: BinaryConvParams): void {
  for (let f = 0; f < p.outC; f++) {
    if (f % 6 === 1) p.scale[f] = -p.scale[f];
    if (f % 6 === 2) p.scale[f] = 0;
    if (f % 6 === 3) p.bias[f] = f % 12 === 3 ? 1e6 : -1e6;
  }
}

/** The producer's output size after the case's maxpool (darknet's rule), [height, width]. */
export function pooledSize(c: BitLinkCase, outH: number, outW: number): [number, number] {
  const p = c.pool;
  return p ? [Math.floor((outH + p.padding - p.size) / p.stride) + 1, Math.floor((outW + p.padding - p.size) / p.stride) + 1] : [outH, outW];
}

/** A fresh op of the case's producer (its maxpool fused in). */
export function prepareProducer(be: KernelBackend, c: BitLinkCase, pp: FloatConvParams | BinaryConvParams): ConvOp {
  return c.kind === 'float'
    ? c.pool ? be.prepareFloatConvPool!(pp as FloatConvParams, c.pool) : be.prepareFloatConv(pp as FloatConvParams)
    : c.pool ? be.prepareBinaryConvPool!(pp as BinaryConvParams, c.pool) : be.prepareBinaryConv(pp as BinaryConvParams);
}

/**
 * Runs x through the plain pair [producer, consumer] (floats in between) and the linked pair; the
 * linked producer is handed `between` (the empty array, or a tensor it must leave alone when linked)
 * and so is the consumer when the pair is not linked. want: the plain output; got: the linked one.
 */
export function runPlainAndLinked(
  plain: ConvOp[], linked: ConvOp[], ok: boolean, x: Float32Array, mid: number, outLen: number, between: Float32Array,
): { want: Float32Array; got: Float32Array } {
  const floats = new Float32Array(mid);
  const want = new Float32Array(outLen);
  plain[0].run(x, floats);
  plain[1].run(floats, want);
  const got = new Float32Array(outLen).fill(Number.NaN);
  linked[0].run(x, between);
  linked[1].run(ok ? new Float32Array(0) : between, got);
  return { want, got };
}

/** The first element whose bits differ (NaN payloads and signed zeros included), or -1. */
export function firstBitDifference(got: Float32Array, want: Float32Array): number {
  const ug = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const uw = new Uint32Array(want.buffer, want.byteOffset, want.length);
  return uw.findIndex((v, k) => v !== ug[k]);
}
