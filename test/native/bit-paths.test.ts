// Bit links through non-conv layers (Network's planBitLinks + KernelBackend.linkBinaryInputVia):
// route slices, upsampled branches, standalone maxpools, dropouts, one conv feeding several binary
// convs. On small random models (any darknet cfg, not only yolov3-tiny) every tensor the network
// still computes must equal, bit for bit, the plain run that keeps every layer's floats, on every
// ISA, kernel shape and thread count; and the planner must fall back to floats where a float
// reader, a misaligned route slice or a refused consumer needs them.
import { describe, expect, it } from 'vitest';
import { parseCfg } from '../../src/engine/darknet/cfg.js';
import { prepareModel } from '../../src/engine/darknet/prepare.js';
import { create } from '../../src/engine/kernels/native/index.js';
import { defaultClassNames, type Model } from '../../src/engine/model.js';
import { randomRawWeights } from '../../src/engine/random-model.js';
import { Network } from '../../src/engine/runtime/network.js';
import { firstBitDifference } from '../helpers/bit-links.js';
import { backendConfigs, isas, skipNote, unavailable } from './addon.js';
import { randomFloats, rng } from './layers.js';

const net = (w: number, h: number, c = 3) => `[net]\nwidth=${w}\nheight=${h}\nchannels=${c}\n`;
const conv = (filters: number, size: number, act: string, xnor: 0 | 1, stride = 1) =>
  `[convolutional]\nbatch_normalize=1\nfilters=${filters}\nsize=${size}\nstride=${stride}\npad=${size > 1 ? 1 : 0}\nxnor=${xnor}\nactivation=${act}\n`;
const pool = (size: number, stride: number, padding?: number) => `[maxpool]\nsize=${size}\nstride=${stride}\n${padding === undefined ? '' : `padding=${padding}\n`}`;
const up = (stride: number, scale?: number) => `[upsample]\nstride=${stride}\n${scale === undefined ? '' : `scale=${scale}\n`}`;
const route = (layers: string) => `[route]\nlayers=${layers}\n`;

interface Case {
  name: string;
  cfg: string;
  /**
   * bitLinkedTensors with the AVX-512 kernels and with filters-in-lanes kernels on any ISA (the
   * narrower pixels-in-lanes blocks of AVX2 / POPCNT share bytes between threads: refused, floats)
   */
  linked: number[];
}

const cases: Case[] = [
  {
    // yolov3-tiny's second head in small: 2 feeds maxpool 3 (-> 4) and route 7's second slice; 5 is upsampled into its first
    name: 'route of an upsampled branch and a conv also read by a standalone maxpool',
    cfg: net(40, 32) + conv(16, 3, 'leaky', 0) + pool(2, 2) + conv(32, 3, 'leaky', 1) + pool(2, 2) + conv(64, 3, 'leaky', 1) + conv(32, 1, 'relu', 1) + up(2) + route('-1, 2') + conv(48, 3, 'linear', 1) + conv(8, 1, 'linear', 0),
    linked: [1, 2, 3, 4, 5, 6, 7],
  },
  {
    // 3-part route (a part used twice), upsample by 3 with scale 2, maxpool 3/1 with darknet's padding, a dropout, a pairs consumer (16 channels)
    name: 'three-part route, upsample x3, maxpool 3/1, dropout, 16-channel consumer',
    cfg:
      net(30, 18) + conv(16, 3, 'leaky', 0) + pool(3, 1) + `[dropout]\nprobability=.5\n` + conv(32, 3, 'leaky', 1) + pool(3, 3) + conv(32, 3, 'relu', 1) +
      up(3, 2) + route('3, -1, 3') + conv(24, 3, 'leaky', 1) + conv(4, 1, 'linear', 0),
    linked: [1, 2, 3, 4, 5, 6, 7],
  },
  {
    // a route part whose channels start at 16 (not a whole 32-bit plane): that route and its inputs 1 and 5 stay
    // float, and so do the maxpools reading them; the upsampled branch 3 -> 4 -> 5 still takes bits
    name: 'misaligned route slice falls back to floats',
    cfg: net(24, 24) + conv(16, 3, 'leaky', 0) + conv(16, 3, 'leaky', 1) + pool(2, 2) + conv(32, 3, 'leaky', 1) + up(2) + conv(32, 3, 'leaky', 1) + pool(2, 2) + conv(32, 3, 'leaky', 1) + route('1, 5') + conv(16, 3, 'leaky', 1),
    linked: [0, 3, 4],
  },
  {
    // a float conv (and a shortcut) read a bit-capable tensor: it stays float; a mish conv cannot produce bits;
    // a stride-2 binary consumer is refused by the kernels, so what feeds it stays float
    name: 'float readers, mish producers and refused consumers keep floats',
    cfg:
      net(32, 20) + conv(32, 3, 'leaky', 0) + conv(32, 3, 'leaky', 1) + route('-1') + conv(32, 1, 'linear', 0) + route('1') + conv(32, 3, 'mish', 1) + pool(2, 2) +
      conv(32, 3, 'leaky', 1) + up(2) + conv(32, 3, 'leaky', 1, 2) + conv(32, 3, 'leaky', 1) + `[shortcut]\nfrom=-2\nactivation=linear\n` + conv(32, 3, 'leaky', 1),
    linked: [0],
  },
  {
    // a wide 3-channel first layer read in place (AVX-512), its fused pool's bits into a 16-channel consumer
    name: 'wide first layer, fused pool, 16-channel consumer',
    cfg: net(200, 10) + conv(16, 3, 'leaky', 0) + pool(2, 2) + conv(32, 3, 'leaky', 1) + conv(8, 1, 'linear', 0),
    linked: [1],
  },
];

function build(text: string, seed: number): Model {
  const spec = parseCfg(text, 'bit-paths.cfg');
  return prepareModel(spec, randomRawWeights(spec, seed), defaultClassNames(0));
}

describe.skipIf(unavailable !== '')(`native bit links through route / upsample / maxpool${skipNote}`, () => {
  for (const { isa, shape, threads } of backendConfigs())
    it(`${isa} ${shape} ${threads} thread(s): bit-identical to the all-float run (${cases.length} models x 3 seeds)`, async () => {
      const be = await create({ isa, shape, threads, precision: 'exact' });
      for (const c of cases)
        for (let seed = 1; seed <= 3; seed++) {
          const model = build(c.cfg, seed);
          const linked = new Network(model, be);
          const plain = new Network(model, be, { keepLayerOutputs: true });
          if (isa === 'avx512' || shape === 'filters') expect([...linked.bitLinkedTensors], `${c.name} (seed ${seed})`).toEqual(c.linked);
          for (const t of linked.bitLinkedTensors) expect(linked.outputs[t].length).toBe(0);
          const r = rng(seed * 31 + threads);
          for (let round = 0; round < 2; round++) {
            plain.input.set(randomFloats(plain.input.length, r, round === 0 ? 0.02 : 0.3));
            linked.input.set(plain.input);
            plain.forward();
            linked.forward();
            model.spec.layers.forEach((_, i) => {
              const got = linked.outputs[i];
              if (got.length === 0) return; // fused away or bits only
              const bad = firstBitDifference(got, plain.outputs[i]);
              expect(bad, `${c.name}, seed ${seed}, round ${round}: layer ${i} element ${bad}`).toBe(-1);
            });
          }
        }
    });

  it('describes the layers that run inside the links', async () => {
    const be = await create({ precision: 'exact' });
    const n = new Network(build(cases[0].cfg, 1), be);
    const names = n.describeLayers();
    if (isas[0] === 'avx512') {
      expect(names[3]).toMatch(/maxpool .*as bits/);
      expect(names[6]).toMatch(/upsample .*as bits/);
      expect(names[7]).toMatch(/route .*as bits/);
      expect(names[2]).toMatch(/->bits/);
    }
    const off = new Network(build(cases[0].cfg, 1), be, { bitLinks: false });
    expect(off.bitLinkedTensors.size).toBe(0);
  });

  it('linkBinaryInputVia: dry runs change nothing; slices, shapes and steps are checked', async () => {
    const be = await create({ precision: 'exact' });
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
