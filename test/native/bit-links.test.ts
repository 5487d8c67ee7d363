// Bit links (KernelBackend.linkBinaryInput): a convolution writing the packed sign bits of its
// output straight into the binary convolution after it must give the consumer the same bits as
// the float path (producer floats -> consumer sign packing), for every ISA, kernel shape and
// thread count, and must leave the tensor between them untouched.
import { describe, expect, it } from 'vitest';
import type { BinaryConvParams, ConvOp, FloatConvParams, KernelActivation, PoolSpec } from '../../src/engine/kernels/backend.js';
import { create, loadAddon, supportedIsas, type NativeOptions } from '../../src/engine/kernels/native/index.js';
import { binaryLayer, floatLayer, randomFloats, rng, type Shape } from './layers.js';

let unavailable = '';
try {
  loadAddon();
} catch (e) {
  unavailable = (e as Error).message;
}
const isas = supportedIsas();

interface Case {
  name: string;
  producer: Shape & { kind: 'float' | 'binary' };
  pool?: PoolSpec;
  consumer: { outC: number; size: number; pad: number; activation: KernelActivation };
}

const act: KernelActivation[] = ['leaky', 'relu', 'linear'];
const cases: Case[] = [];
let n = 0;
for (const kind of ['float', 'binary'] as const)
  for (const [inC, outC] of [[3, 16], [16, 32], [32, 64], [5, 24], [40, 8], [64, 48], [7, 40]] as const)
    for (const pool of [undefined, { size: 2, stride: 2, padding: 0 }, { size: 2, stride: 1, padding: 1 }, { size: 3, stride: 2, padding: 2 }])
      for (const [inH, inW] of [[18, 22], [13, 13], [9, 37]] as const)
        for (const consumer of [{ size: 3, pad: 1 }, { size: 1, pad: 0 }, { size: 3, pad: 0 }]) {
          n++;
          cases.push({
            name: `${kind} ${inC}x${inH}x${inW} -> ${outC}${pool ? ' +pool' : ''} -> binary ${consumer.size}x${consumer.size} pad ${consumer.pad}`,
            producer: { kind, inC, inH, inW, outC, size: 3, stride: 1, pad: 1, activation: act[n % 3] },
            pool,
            consumer: { outC: 16 + (n % 3) * 8, ...consumer, activation: act[(n + 1) % 3] },
          });
        }

function build(be: Awaited<ReturnType<typeof create>>, c: Case, seed: number) {
  const pp = c.producer.kind === 'float' ? floatLayer(c.producer, seed) : binaryLayer(c.producer, seed);
  if ('scale' in pp) {
    // every kind of count range: negative and zero scales, biases that make the output always or never positive
    for (let f = 0; f < pp.outC; f++) {
      if (f % 6 === 1) pp.scale[f] = -pp.scale[f];
      if (f % 6 === 2) pp.scale[f] = 0;
      if (f % 6 === 3) pp.bias[f] = f % 12 === 3 ? 1e6 : -1e6;
    }
  }
  const ph = c.pool ? Math.floor((pp.outH + c.pool.padding - c.pool.size) / c.pool.stride) + 1 : pp.outH;
  const pw = c.pool ? Math.floor((pp.outW + c.pool.padding - c.pool.size) / c.pool.stride) + 1 : pp.outW;
  const cp = binaryLayer({ inC: c.producer.outC, inH: ph, inW: pw, stride: 1, ...c.consumer }, seed + 7);
  const prepP = (): ConvOp =>
    c.producer.kind === 'float'
      ? c.pool ? be.prepareFloatConvPool!(pp as FloatConvParams, c.pool) : be.prepareFloatConv(pp as FloatConvParams)
      : c.pool ? be.prepareBinaryConvPool!(pp as BinaryConvParams, c.pool) : be.prepareBinaryConv(pp as BinaryConvParams);
  return { pp, cp, mid: c.producer.outC * ph * pw, prepP, prepC: () => be.prepareBinaryConv(cp) };
}

describe.skipIf(unavailable !== '')(`native bit links${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  for (const isa of isas)
    for (const shape of ['auto', 'pixels', 'filters'] as NonNullable<NativeOptions['shape']>[])
      for (const threads of [1, 2])
        it(`${isa} ${shape} ${threads} thread(s): linked output bit-identical to the float path (${cases.length} pairs)`, async () => {
          const be = await create({ isa, shape, threads, precision: 'exact' });
          let linkedCount = 0;
          cases.forEach((c, i) => {
            const { pp, cp, mid, prepP, prepC } = build(be, c, 100 + i);
            const plain = [prepP(), prepC()];
            const linked = [prepP(), prepC()];
            const ok = be.linkBinaryInput!(linked[0], linked[1]);
            if (ok) linkedCount++;
            const r = rng(900 + i);
            for (let round = 0; round < 2; round++) {
              const input = randomFloats(pp.inC * pp.inH * pp.inW, r, round === 0 ? 0.05 : 0.3);
              const between = new Float32Array(mid);
              const want = new Float32Array(cp.outC * cp.outH * cp.outW);
              plain[0].run(input, between);
              plain[1].run(between, want);
              const untouched = new Float32Array(ok ? mid : mid).fill(Number.NaN);
              const got = new Float32Array(want.length).fill(Number.NaN);
              linked[0].run(input, untouched);
              linked[1].run(ok ? new Float32Array(0) : untouched, got);
              const ug = new Uint32Array(got.buffer), uw = new Uint32Array(want.buffer);
              const bad = uw.findIndex((v, k) => v !== ug[k]);
              expect(bad, `${c.name} (linked: ${ok}) round ${round}: element ${bad}`).toBe(-1);
              if (ok) expect(untouched.every((v) => Number.isNaN(v)), `${c.name}: the tensor between linked ops was written`).toBe(true);
            }
          });
          // AVX-512 pixels-in-lanes blocks (8/16 filters) and filters-in-lanes blocks (2 vectors) own whole
          // bytes: every pair links. Narrower pixels-in-lanes blocks (4 filters) share bytes between threads: never.
          if (isa === 'avx512' || shape === 'filters') expect(linkedCount).toBe(cases.length);
        });

  it('refuses pairs it cannot link, and a linked op stops once its partner is disposed', async () => {
    const be = await create({ precision: 'exact' });
    const base: Shape = { inC: 16, inH: 12, inW: 12, outC: 32, size: 3, stride: 1, pad: 1, activation: 'leaky' };
    const producer = () => be.prepareBinaryConv(binaryLayer(base, 1));
    const strided = be.prepareBinaryConv(binaryLayer({ ...base, inC: 32, stride: 2 }, 2));
    expect(be.linkBinaryInput!(producer(), strided)).toBe(false); // consumer stride 2
    const floatConsumer = be.prepareFloatConv(floatLayer({ ...base, inC: 32 }, 3));
    expect(be.linkBinaryInput!(producer(), floatConsumer)).toBe(false);
    const wrongC = be.prepareBinaryConv(binaryLayer({ ...base, inC: 16 }, 4));
    expect(be.linkBinaryInput!(producer(), wrongC)).toBe(false); // 32 channels into a 16-channel conv
    const pool3 = be.prepareBinaryConvPool!(binaryLayer(base, 5), { size: 3, stride: 1, padding: 2 });
    expect(be.linkBinaryInput!(pool3, be.prepareBinaryConv(binaryLayer({ ...base, inC: 32, inH: 10, inW: 10 }, 6)))).toBe(false); // 12x12 pooled, not 10x10
    const p = producer();
    const c = be.prepareBinaryConv(binaryLayer({ ...base, inC: 32 }, 7));
    expect(be.linkBinaryInput!(p, c)).toBe(true);
    expect(be.linkBinaryInput!(producer(), c)).toBe(false); // one writer per consumer
    const input = randomFloats(16 * 144, rng(8));
    p.run(input, new Float32Array(0));
    c.run(new Float32Array(0), new Float32Array(32 * 144));
    (c as unknown as { dispose(): void }).dispose();
    expect(() => p.run(input, new Float32Array(0))).toThrow(/linked to this one/);
  });
});
