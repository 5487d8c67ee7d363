// Bit links (KernelBackend.linkBinaryInput): a convolution writing the packed sign bits of its
// output straight into the binary convolution after it must give the consumer the same bits as
// the float path (producer floats -> consumer sign packing), for every ISA, kernel shape and
// thread count, and must leave the tensor between them untouched.
import { describe, expect, it } from 'vitest';
import { create } from '../../src/engine/kernels/native/index.js';
import { bitLinkCases, firstBitDifference, pooledSize, prepareProducer, runPlainAndLinked, spreadCountRanges, type BitLinkCase } from '../helpers/bit-links.js';
import { backendConfigs, skipNote, unavailable } from './addon.js';
import { binaryLayer, floatLayer, randomFloats, rng, type Shape } from './layers.js';

type Case = BitLinkCase;
const cases = bitLinkCases(
  [[3, 16], [16, 32], [32, 64], [5, 24], [40, 8], [64, 48], [7, 40]], [[18, 22], [13, 13], [9, 37]],
  [{ size: 3, pad: 1 }, { size: 1, pad: 0 }, { size: 3, pad: 0 }], (n) => 16 + (n % 3) * 8,
);

function build(be: Awaited<ReturnType<typeof create>>, c: Case, seed: number) {
  const pp = c.kind === 'float' ? floatLayer(c.producer, seed) : binaryLayer(c.producer, seed);
  if ('scale' in pp) spreadCountRanges(pp);
  const [ph, pw] = pooledSize(c, pp.outH, pp.outW);
  const cp = binaryLayer({ inC: c.producer.outC, inH: ph, inW: pw, stride: 1, ...c.consumer }, seed + 7);
  return { pp, cp, mid: c.producer.outC * ph * pw, prepP: () => prepareProducer(be, c, pp), prepC: () => be.prepareBinaryConv(cp) };
}

describe.skipIf(unavailable !== '')(`native bit links${skipNote}`, () => {
  for (const { isa, shape, threads } of backendConfigs())
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
          const untouched = new Float32Array(mid).fill(Number.NaN);
          const { want, got } = runPlainAndLinked(plain, linked, ok, input, mid, cp.outC * cp.outH * cp.outW, untouched);
          const bad = firstBitDifference(got, want);
          expect(bad, `${c.name} (linked: ${ok}) round ${round}: element ${bad}`).toBe(-1);
          if (ok) expect(untouched.every((v) => Number.isNaN(v)), `${c.name}: the tensor between linked ops was written`).toBe(true);
        }
      });
      // AVX-512 pixels-in-lanes blocks (8/16 filters) and filters-in-lanes blocks (2 vectors) own whole
      // bytes: every pair links. Narrower pixels-in-lanes blocks (4 filters) share bytes between threads: never.
      if (isa === 'avx512' || shape === 'filters') expect(linkedCount).toBe(cases.length);
    });

  it('refuses pairs it cannot link, and a linked op stops once its partner is disposed', async () => {
    // Filters-in-lanes blocks link on every ISA; the auto shape's pixel blocks do not on AVX2 (their 4-filter blocks share bytes between threads).
    const be = await create({ precision: 'exact', shape: 'filters' });
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
