// Bit links through non-conv layers on the wasm backend (Network's planBitLinks +
// KernelBackend.linkBinaryInputVia; steps in assembly/bit-steps.ts): the shared small models with
// route slices, upsampled branches, standalone maxpools and dropouts (test/helpers/bit-paths.ts),
// every tensor still computed bit-identical to the all-float run with 1 and 2 threads; the raw API's
// checks; and a consumer only partly linked (its other bytes packed from floats).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvOp, KernelBackend } from '../../src/engine/kernels/backend.js';
import { create } from '../../src/engine/kernels/wasm/index.js';
import { Network } from '../../src/engine/runtime/network.js';
import { bitPathCases as cases, buildBitPathModel as build, conv, expectBitIdentical, net, pool, route, up } from '../helpers/bit-paths.js';
import { firstBitDifference } from '../helpers/bit-links.js';
import { binaryParams, ensureWasmBuilt, fillRandom, rng } from '../kernels/helpers.js';

let be: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  be = await create({ precision: 'exact' });
});
afterAll(() => be.dispose?.());

/** The prepared conv ops of a network, by layer (Network keeps them private). */
const opsOf = (n: Network) => (n as unknown as { convIo: Map<number, { op: ConvOp }> }).convIo;

// Wide enough for layers over the backend's threading threshold (MIN_PARALLEL_MACS): with 2
// threads, binary producers split their filters between the threads.
const wideCases = [
  {
    name: 'yolov3-tiny head, wide',
    cfg: net(96, 64) + conv(16, 3, 'leaky', 0) + pool(2, 2) + conv(64, 3, 'leaky', 1) + pool(2, 2) + conv(128, 3, 'leaky', 1) + conv(64, 1, 'relu', 1) + up(2) + route('-1, 2') +
      conv(96, 3, 'linear', 1) + conv(8, 1, 'linear', 0),
    linked: [1, 2, 3, 4, 5, 6, 7],
  },
];

describe('wasm bit links through route / upsample / maxpool', () => {
  for (const threads of [1, 2])
    it(`${threads} thread(s): bit-identical to the all-float run (${cases.length + wideCases.length} models x 3 seeds)`, () => {
      be.setThreads!(threads);
      try {
        for (const c of [...cases.map((c) => ({ ...c, linked: c.linked.wasm })), ...wideCases])
          for (let seed = 1; seed <= 3; seed++) expectBitIdentical(be, build(c.cfg, seed), `${c.name} (seed ${seed})`, seed * 31 + threads, c.linked);
      } finally {
        be.setThreads!(1);
      }
    });

  it('describes the layers that run inside the links', () => {
    const names = new Network(build(cases[0].cfg, 1), be).describeLayers();
    expect(names[2]).toMatch(/->bits/);
    expect(names[3]).toMatch(/maxpool .*as bits/);
    expect(names[6]).toMatch(/upsample .*as bits/);
    expect(names[7]).toMatch(/route .*as bits/);
  });

  it('linkBinaryInputVia: dry runs change nothing; slices, shapes and producers are checked', () => {
    const m = build(cases[0].cfg, 2);
    // this model's ops: float 0 (+ pool 1, 20x16x16), 2 (16x20x32), 5 (1x1, 8x10x32); inputs: 2 16x20x16, 4 8x10x32, 8 16x20x64
    const ops = opsOf(new Network(m, be, { bitLinks: false })); // 0 with its maxpool fused in
    const [p0, p2, p5, c2, c4, c8] = [0, 2, 5, 2, 4, 8].map((i) => ops.get(i)!.op);
    const up2 = { kind: 'upsample', stride: 2 } as const;
    const via = be.linkBinaryInputVia!.bind(be);
    expect(via(p5, c8, { steps: [up2], channelOffset: 4 }, true)).toBe(false); // not a whole byte
    expect(via(p5, c8, { steps: [], channelOffset: 0 }, true)).toBe(false); // 8x10, not 16x20
    expect(via(p5, c8, { steps: [up2], channelOffset: 40 }, true)).toBe(false); // past inC
    expect(via(p5, c8, { steps: [up2], channelOffset: 16 }, true)).toBe(true); // any byte on wasm
    expect(via(p5, c8, { steps: [up2], channelOffset: 0 }, true)).toBe(true);
    expect(via(p5, c8, { steps: [up2], channelOffset: 0 })).toBe(true);
    expect(via(p2, c8, { steps: [], channelOffset: 24 }, true)).toBe(false); // overlaps 5's channels 0..31
    const pool2 = { kind: 'maxpool', size: 2, stride: 2, padding: 0, outH: 8, outW: 10 } as const;
    expect(via(p2, c4, { steps: [{ ...pool2, outH: 9 }], channelOffset: 0 }, true)).toBe(false); // 9 rows, not 8
    expect(via(p2, c4, { steps: [{ ...pool2, size: 0 }], channelOffset: 0 }, true)).toBe(false);
    expect(via(p2, c8, { steps: [], channelOffset: 32 })).toBe(true);
    expect(via(p2, c4, { steps: [pool2], channelOffset: 0 })).toBe(true); // a second consumer of 2
    // a float producer links only directly, to one consumer
    expect(via(p0, c8, { steps: [up2], channelOffset: 32 }, true)).toBe(false);
    expect(via(p0, c2, { steps: [], channelOffset: 0 }, true)).toBe(true);
    expect(via(p0, c2, { steps: [], channelOffset: 0 })).toBe(true);
    expect(be.linkBinaryInput!(p2, c2)).toBe(false); // producer and consumer the same op; and 2's input is taken
  });

  it('a consumer partly linked packs its other channels from the floats', () => {
    // producer A's 24 channels, maxpooled, are bytes 1..3 of consumer C's 40-channel input; bytes 0 and 4 come from floats
    const r = rng(7);
    const a = binaryParams({ inC: 8, inH: 12, inW: 14, outC: 24, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, r);
    const c = binaryParams({ inC: 40, inH: 6, inW: 7, outC: 16, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' }, r);
    const [aPlain, cPlain, aLinked, cLinked] = [be.prepareBinaryConv(a), be.prepareBinaryConv(c), be.prepareBinaryConv(a), be.prepareBinaryConv(c)];
    const pool2 = { kind: 'maxpool', size: 2, stride: 2, padding: 0, outH: 6, outW: 7 } as const;
    expect(be.linkBinaryInputVia!(aLinked, cLinked, { steps: [pool2], channelOffset: 8 })).toBe(true);
    const x = be.allocFloat32(8 * 12 * 14);
    const aOut = be.allocFloat32(24 * 12 * 14);
    const pooled = be.allocFloat32(24 * 6 * 7);
    const cIn = be.allocFloat32(40 * 6 * 7);
    const want = be.allocFloat32(16 * 6 * 7);
    const got = be.allocFloat32(16 * 6 * 7);
    const mp = be.prepareMaxPool!({ c: 24, inH: 12, inW: 14, outH: 6, outW: 7, size: 2, stride: 2, padding: 0 });
    for (let round = 0; round < 3; round++) {
      fillRandom(x, r);
      fillRandom(cIn, r);
      aPlain.run(x, aOut);
      mp.run(aOut, pooled);
      cIn.set(pooled, 8 * 6 * 7);
      cPlain.run(cIn, want);
      aOut.fill(Number.NaN);
      aLinked.run(x, aOut);
      expect(aOut.every(Number.isNaN), 'a linked producer leaves its output alone').toBe(true);
      // channels 8..31 of the float input are wrong now: the consumer must take them from A's bits
      cIn.fill(round % 2 ? 1 : -1, 8 * 6 * 7, 32 * 6 * 7);
      cLinked.run(cIn, got);
      expect(firstBitDifference(got, want), `round ${round}`).toBe(-1);
    }
  });
});
