import { describe, expect, it } from 'vitest';
import { parseCfg } from '../../src/engine/darknet/cfg.js';
import { prepareModel } from '../../src/engine/darknet/prepare.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import type { MaxpoolSpec, RouteSpec, UpsampleSpec } from '../../src/engine/model.js';
import { applyExtraActivation } from '../../src/engine/runtime/activations.js';
import { maxpool, route, shortcut, upsample } from '../../src/engine/runtime/layers.js';
import { Network } from '../../src/engine/runtime/network.js';
import { randomRawWeights } from '../../src/engine/random-model.js';

const f = Math.fround;
const shape = (c: number, h: number, w: number) => ({ c, h, w });

describe('runtime layers (darknet CPU semantics)', () => {
  it('maxpool size 2 stride 1 keeps the size and looks right/down only; size 3 stride 1 centres the window', () => {
    const input = Float32Array.from([1, 5, 2, 3, 4, 0, 7, 6, 8]); // 3x3
    const out = new Float32Array(9);
    const l2: MaxpoolSpec = { type: 'maxpool', line: 1, input: shape(1, 3, 3), output: shape(1, 3, 3), size: 2, stride: 1, padding: 1 };
    maxpool(l2, input, out);
    expect(Array.from(out)).toEqual([5, 5, 2, 7, 8, 8, 7, 8, 8]);
    const l3: MaxpoolSpec = { ...l2, size: 3, padding: 2 };
    maxpool(l3, input, out);
    expect(Array.from(out)).toEqual([5, 5, 5, 7, 8, 8, 7, 8, 8]);
  });

  it('maxpool 2x2/2 fast path matches the plain darknet loop on odd sizes', () => {
    for (const [h, w] of [[5, 5], [7, 4], [4, 9], [1, 3]]) {
      const oh = Math.floor((h + 1 - 2) / 2) + 1;
      const ow = Math.floor((w + 1 - 2) / 2) + 1;
      const input = Float32Array.from({ length: 2 * h * w }, (_, i) => Math.sin(i * 1.7));
      const out = new Float32Array(2 * oh * ow);
      maxpool({ type: 'maxpool', line: 1, input: shape(2, h, w), output: shape(2, oh, ow), size: 2, stride: 2, padding: 1 }, input, out);
      const want: number[] = [];
      for (let k = 0; k < 2; k++)
        for (let i = 0; i < oh; i++)
          for (let j = 0; j < ow; j++) {
            let m = -3.4028234663852886e38;
            for (let y = 2 * i; y < 2 * i + 2; y++) for (let x = 2 * j; x < 2 * j + 2; x++) if (y < h && x < w && input[(k * h + y) * w + x] > m) m = input[(k * h + y) * w + x];
            want.push(m);
          }
      expect(Array.from(out), `${h}x${w}`).toEqual(want);
    }
  });

  it('route takes the group_id-th channel group of each input; upsample is nearest x stride', () => {
    const a = Float32Array.from([1, 2, 3, 4]); // 4 channels of 1x1
    const b = Float32Array.from([5, 6]);
    const out = new Float32Array(3);
    const r: RouteSpec = { type: 'route', line: 1, input: shape(4, 1, 1), output: shape(3, 1, 1), layers: [0, 1], groups: 2, groupId: 1 };
    route(r, [a, b], [shape(4, 1, 1), shape(2, 1, 1)], out);
    expect(Array.from(out)).toEqual([3, 4, 6]);
    const u: UpsampleSpec = { type: 'upsample', line: 1, input: shape(1, 1, 2), output: shape(1, 2, 4), stride: 2, scale: 1 };
    const up = new Float32Array(8);
    upsample(u, Float32Array.from([1, 2]), up);
    expect(Array.from(up)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it('shortcut adds over the common channels and keeps the rest of the input', () => {
    const out = new Float32Array(4);
    shortcut(Float32Array.from([1, 2, 3, 4]), shape(2, 1, 2), Float32Array.from([10, 20]), shape(1, 1, 2), out);
    expect(Array.from(out)).toEqual([11, 22, 3, 4]);
  });

  it('logistic, swish and mish follow darknet formulas in float32', () => {
    const xs = [-30, -10, -1, 0, 0.5, 3, 25];
    const run = (a: 'logistic' | 'swish' | 'mish') => {
      const v = Float32Array.from(xs);
      applyExtraActivation(v, v.length, a);
      return Array.from(v);
    };
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    run('logistic').forEach((y, i) => expect(y).toBeCloseTo(sig(xs[i]), 6));
    run('swish').forEach((y, i) => expect(y).toBeCloseTo(xs[i] * sig(xs[i]), 5));
    run('mish').forEach((y, i) => expect(y).toBeCloseTo(xs[i] * Math.tanh(Math.log1p(Math.exp(xs[i]))), 5));
  });

  it('a network with mish/swish/logistic convs, shortcut, route and yolo runs and allocates nothing per frame', () => {
    const cfg = `[net]\nwidth=16\nheight=16\nchannels=3\n
[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=mish\n
[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\ngroups=8\nactivation=swish\n
[shortcut]\nfrom=-2\nactivation=linear\n
[convolutional]\nxnor=1\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=logistic\n
[route]\nlayers=-1,-2\n
[convolutional]\nfilters=14\nsize=1\nstride=1\npad=1\nactivation=linear\n
[yolo]\nmask=0,1\nanchors=4,4,8,8\nclasses=2\nnum=2\nscale_x_y=1.05\n`;
    const spec = parseCfg(cfg, 'tiny.cfg');
    const model = prepareModel(spec, randomRawWeights(spec, 5), ['a', 'b']);
    const net = new Network(model, new ReferenceBackend());
    for (let i = 0; i < net.input.length; i++) net.input[i] = (i % 13) / 13;
    const tensors = [...net.outputs];
    net.forward();
    const first = net.outputs.map((o) => Float32Array.from(o));
    net.forward();
    net.outputs.forEach((o, i) => {
      expect(o).toBe(tensors[i]);
      expect(Array.from(o)).toEqual(Array.from(first[i]));
    });
    // logistic conv output is in (0, 1); shortcut = mish conv + swish conv
    expect(Array.from(net.outputs[3]).every((v) => v > 0 && v < 1)).toBe(true);
    net.outputs[2].forEach((v, i) => expect(v).toBe(f(net.outputs[0][i] + net.outputs[1][i])));
    // yolo: x, y scaled by scale_x_y around the cell
    const yolo = net.outputs[6];
    const tx = net.outputs[5][0];
    expect(yolo[0]).toBe(f(f(f(1 / f(1 + f(Math.exp(-tx)))) * f(1.05)) + f(-0.5 * 0.05)));
  });
});
