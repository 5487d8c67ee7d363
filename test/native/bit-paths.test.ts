// Bit links through non-conv layers (Network's planBitLinks + KernelBackend.linkBinaryInputVia):
// route slices, upsampled branches, standalone maxpools, dropouts, one conv feeding several binary
// convs. On small random models (any darknet cfg, not only yolov3-tiny) every tensor the network
// still computes must equal, bit for bit, the plain run that keeps every layer's floats, on every
// ISA, kernel shape and thread count; and the planner must fall back to floats where a float
// reader, a misaligned route slice or a refused consumer needs them.
import { describe, expect, it } from 'vitest';
import { create } from '../../src/engine/kernels/native/index.js';
import { Network } from '../../src/engine/runtime/network.js';
import { bitPathCases as cases, buildBitPathModel as build, expectBitIdentical } from '../helpers/bit-paths.js';
import { backendConfigs, skipNote, unavailable } from './addon.js';

describe.skipIf(unavailable !== '')(`native bit links through route / upsample / maxpool${skipNote}`, () => {
  for (const { isa, shape, threads } of backendConfigs())
    it(`${isa} ${shape} ${threads} thread(s): bit-identical to the all-float run (${cases.length} models x 3 seeds)`, async () => {
      const be = await create({ isa, shape, threads, precision: 'exact' });
      for (const c of cases)
        for (let seed = 1; seed <= 3; seed++)
          expectBitIdentical(be, build(c.cfg, seed), `${c.name} (seed ${seed})`, seed * 31 + threads, isa === 'avx512' || shape === 'filters' ? c.linked.native : undefined);
    });

  it('describes the layers that run inside the links', async () => {
    // Filters-in-lanes blocks link on every ISA; the auto shape's pixel blocks do not on AVX2 (their 4-filter blocks share bytes between threads).
    const be = await create({ precision: 'exact', shape: 'filters' });
    const n = new Network(build(cases[0].cfg, 1), be);
    const names = n.describeLayers();
    expect(names[3]).toMatch(/maxpool .*as bits/);
    expect(names[6]).toMatch(/upsample .*as bits/);
    expect(names[7]).toMatch(/route .*as bits/);
    expect(names[2]).toMatch(/->bits/);
    const off = new Network(build(cases[0].cfg, 1), be, { bitLinks: false });
    expect(off.bitLinkedTensors.size).toBe(0);
  });

  it('linkBinaryInputVia: dry runs change nothing; slices, shapes and steps are checked', async () => {
    // Filters-in-lanes blocks link on every ISA; the auto shape's pixel blocks do not on AVX2 (their 4-filter blocks share bytes between threads).
    const be = await create({ precision: 'exact', shape: 'filters' });
    const m = build(cases[0].cfg, 2);
    // the raw API on this model's ops: 2 (16x20x32), 5 (1x1, 8x10x32), 4 (input 8x10x32), 8 (input 16x20x64)
    const plain = new Network(m, be, { keepLayerOutputs: true, bitLinks: false });
    const ops = (plain as unknown as { convIo: Map<number, { op: import('../../src/engine/kernels/backend.js').ConvOp }> }).convIo;
    const p2 = ops.get(2)!.op, p5 = ops.get(5)!.op, c8 = ops.get(8)!.op, c4 = ops.get(4)!.op;
    const up2 = { kind: 'upsample', stride: 2 } as const;
    // 5's 32 channels upsampled are channels 0..31 of 8's input; at 16 they are not a whole plane; without the upsample the size is wrong
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [up2], channelOffset: 16 }, true)).toBe(false);
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [], channelOffset: 0 }, true)).toBe(false);
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [up2], channelOffset: 64 }, true)).toBe(false); // past inC
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [up2], channelOffset: 0 }, true)).toBe(true);
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [up2], channelOffset: 0 }, true)).toBe(true); // the dry run linked nothing
    expect(be.linkBinaryInputVia!(p5, c8, { steps: [up2], channelOffset: 0 })).toBe(true);
    expect(be.linkBinaryInputVia!(p2, c8, { steps: [], channelOffset: 0 }, true)).toBe(false); // plane taken
    const pool2 = { kind: 'maxpool', size: 2, stride: 2, padding: 1, outH: 8, outW: 10 } as const;
    expect(be.linkBinaryInputVia!(p2, c4, { steps: [{ ...pool2, outH: 9 }], channelOffset: 0 }, true)).toBe(false); // 9 rows, not 8
    expect(be.linkBinaryInputVia!(p2, c8, { steps: [], channelOffset: 32 })).toBe(true);
    expect(be.linkBinaryInputVia!(p2, c4, { steps: [pool2], channelOffset: 0 })).toBe(true); // a second consumer of 2
    const nine = Array.from({ length: 9 }, () => up2);
    expect(be.linkBinaryInputVia!(p2, c4, { steps: nine, channelOffset: 0 }, true)).toBe(false); // more steps than the kernels take
  });
});
