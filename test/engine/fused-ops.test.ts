import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/detector.js';
import { decodeImageFile } from '../../src/detect/preprocess.js';
import type { BinaryConvParams, ConvOp, FloatConvParams, KernelBackend, PoolSpec } from '../../src/engine/kernels/backend.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { availableBackends, createBackend } from '../../src/engine/kernels/select.js';
import { parseCfg } from '../../src/engine/darknet/cfg.js';
import { prepareModel } from '../../src/engine/darknet/prepare.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import { defaultClassNames, type MaxpoolSpec, type Model } from '../../src/engine/model.js';
import { randomRawWeights } from '../../src/engine/random-model.js';
import { maxpool } from '../../src/engine/runtime/layers.js';
import { Network } from '../../src/engine/runtime/network.js';
import { fixtures, readF32, xnorcam } from './helpers.js';

/**
 * The runner's use of the optional backend ops (conv+maxpool fusion, yolo, upsample, threads):
 * on the darknet-xnor-a fixture network, a fused run must give bit-identical outputs to the plain
 * TypeScript reference run for every layer it still exposes (the yolo heads included).
 */
const dir = path.join(fixtures, 'darknet-xnor-a');
const cfg = path.join(dir, 'yolov3-tiny_xnor_160_slim.cfg');
const weights = path.join(dir, 'weights_a.weights');
const image = path.join(dir, 'image_a.png');

/**
 * The reference kernels plus a fused conv+maxpool made of the reference conv and the TypeScript
 * maxpool, so the runner's fusion logic is exercised on every machine (the native addon may be missing).
 */
class FusingReference extends ReferenceBackend {
  fusedPrepared = 0;
  private pooled(conv: ConvOp, p: FloatConvParams | BinaryConvParams, pool: PoolSpec): ConvOp {
    this.fusedPrepared++;
    const full = this.allocFloat32(p.outC * p.outH * p.outW);
    const outH = Math.floor((p.outH + pool.padding - pool.size) / pool.stride) + 1;
    const outW = Math.floor((p.outW + pool.padding - pool.size) / pool.stride) + 1;
    const l: MaxpoolSpec = { type: 'maxpool', line: 0, input: { c: p.outC, h: p.outH, w: p.outW }, output: { c: p.outC, h: outH, w: outW }, ...pool };
    return {
      run(input, output) {
        conv.run(input, full);
        maxpool(l, full, output);
      },
    };
  }
  prepareFloatConvPool(p: FloatConvParams, pool: PoolSpec): ConvOp {
    return this.pooled(this.prepareFloatConv(p), p, pool);
  }
  prepareBinaryConvPool(p: BinaryConvParams, pool: PoolSpec): ConvOp {
    return this.pooled(this.prepareBinaryConv(p), p, pool);
  }
}

let model: Model;
let reference: Network;
beforeAll(() => {
  model = loadDarknetModel(cfg, weights);
  reference = new Network(model, new ReferenceBackend(), { keepLayerOutputs: true });
  reference.input.set(readF32(path.join(dir, 'input_tensor.f32')));
  reference.forward();
});

/** Layers whose outputs differ from the reference run's, bit for bit (Object.is: NaN = NaN, -0 ≠ 0). */
function differing(net: Network, skip: ReadonlySet<number>): string[] {
  const bad: string[] = [];
  model.spec.layers.forEach((l, i) => {
    if (skip.has(i)) return;
    const a = reference.outputs[i];
    const b = net.outputs[i];
    let diffs = a.length === b.length ? 0 : -1;
    for (let k = 0; k < a.length && diffs >= 0; k++) if (!Object.is(a[k], b[k])) diffs++;
    if (diffs) bad.push(`layer ${i} (${l.type}): ${diffs < 0 ? `length ${b.length} vs ${a.length}` : `${diffs} values differ`}`);
  });
  return bad;
}

const backends = await availableBackends();
// Convs followed by a maxpool whose output nothing else reads; layer 8 feeds the second head's route.
const FUSABLE = [0, 2, 4, 6, 10];
// Tensors read only by binary convs, written as bits by the AVX-512 kernels: the pooled outputs of
// 0, 2, 4, 6, 10, the output of 12, and the second head's input: 8 (via maxpool 9 into 10, and as
// route 20's second slice), 18 upsampled (19) as its first slice. 13 feeds a float conv too.
const BIT_LINKED = [1, 3, 5, 7, 8, 9, 11, 12, 18, 19, 20];

describe.each([...backends, 'reference+fusion'])('fixture network on %s', (name) => {
  let backend: KernelBackend;
  beforeAll(async () => {
    backend = name === 'reference+fusion' ? new FusingReference() : await createBackend(name);
  });

  it('fuses exactly the eligible conv+maxpool pairs and matches the unfused TypeScript reference bit for bit', () => {
    const net = new Network(model, backend);
    const canFuse = !!(backend.prepareFloatConvPool && backend.prepareBinaryConvPool);
    expect([...net.fusedLayers]).toEqual(canFuse ? FUSABLE : []);
    for (const i of net.fusedLayers) expect(net.outputs[i].length, `fused layer ${i} has no output of its own`).toBe(0);
    if (backend instanceof FusingReference) expect(backend.fusedPrepared).toBe(FUSABLE.length);
    // Bit links (native): the tensors passed as packed bits have no float copy; everything else matches.
    const linked = [...net.bitLinkedTensors];
    if (backend.name === 'native-avx512') expect(linked).toEqual(BIT_LINKED);
    if (!backend.linkBinaryInput) expect(linked).toEqual([]);
    for (const i of linked) expect(net.outputs[i].length, `bit-linked tensor ${i} has no floats`).toBe(0);
    net.input.set(reference.input);
    for (let run = 0; run < 2; run++) {
      net.forward();
      expect(differing(net, new Set([...net.fusedLayers, ...linked])), `run ${run + 1}`).toEqual([]);
    }
    const heads = model.spec.layers.flatMap((l, i) => (l.type === 'yolo' ? [i] : []));
    expect(heads).toEqual([16, 23]);
  });

  it('keepLayerOutputs turns fusion and bit links off and every layer matches', () => {
    const net = new Network(model, backend, { keepLayerOutputs: true });
    expect(net.fusedLayers.size).toBe(0);
    expect(net.bitLinkedTensors.size).toBe(0);
    net.input.set(reference.input);
    net.forward();
    expect(differing(net, new Set())).toEqual([]);
  });
});

describe('fusion eligibility', () => {
  const head = `[net]\nwidth=16\nheight=16\nchannels=3\n`;
  const conv = (act: string, xnor = 0) => `[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nxnor=${xnor}\nactivation=${act}\n`;
  const pool = `[maxpool]\nsize=2\nstride=2\n`;
  const build = (text: string) => {
    const spec = parseCfg(text, 'test.cfg');
    return prepareModel(spec, randomRawWeights(spec, 3), defaultClassNames(0));
  };

  it('skips convs with a TypeScript-side activation, convs a route reads, and convs not followed by a maxpool', () => {
    const m = build(head + conv('mish') + pool + conv('leaky', 1) + pool + conv('relu') + pool + `[route]\nlayers=-2\n` + conv('linear') + conv('leaky') + pool);
    const backend = new FusingReference();
    const net = new Network(m, backend);
    // 0: mish; 2: leaky xnor (fused); 4: read by the route; 7: followed by a conv; 8: fused.
    expect([...net.fusedLayers]).toEqual([2, 8]);
    const plain = new Network(m, new ReferenceBackend());
    for (let i = 0; i < plain.input.length; i++) plain.input[i] = Math.sin(i * 0.37);
    net.input.set(plain.input);
    plain.forward();
    net.forward();
    expect(Array.from(net.outputs[m.spec.layers.length - 1])).toEqual(Array.from(plain.outputs[m.spec.layers.length - 1]));
    expect(net.describeLayers()[3]).toMatch(/fused into layer 2/);
  });
});

describe('intra-frame threads through loadDetector and detect --threads', () => {
  it('sets the backend threads and gives the same detections; rejects a bad count', async () => {
    const img = await decodeImageFile(image);
    const one = await loadDetector({ cfg, weights });
    const want = one.detectImage(img);
    one.dispose();
    const name = backends.includes('native') ? 'native' : backends[0];
    const two = await loadDetector({ cfg, weights }, { backend: name, threads: 2 });
    if (name === 'native') expect((two.network.backend as unknown as { threads: number }).threads).toBe(2);
    expect(two.detectImage(img)).toEqual(want);
    two.dispose();
    await expect(loadDetector({ cfg, weights }, { threads: 0 })).rejects.toThrow(/threads: expected a whole number from 1 to 256, got 0/);
  });

  it('xnorcam detect --threads 2 prints what the default does; --threads x is an error', () => {
    const base = xnorcam('detect', image, '--cfg', cfg, '--weights', weights, '--json');
    expect(base.status, base.stderr).toBe(0);
    const threaded = xnorcam('detect', image, '--cfg', cfg, '--weights', weights, '--json', '--threads', '2');
    expect(threaded.status, threaded.stderr).toBe(0);
    expect(threaded.stdout).toBe(base.stdout);
    expect(JSON.parse(base.stdout).detections.length).toBeGreaterThan(0);
    const bad = xnorcam('detect', image, '--cfg', cfg, '--weights', weights, '--threads', 'x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error: xnorcam detect: --threads: 'x' is not an integer from 1 to 256 (see xnorcam detect --help)\n");
  });
});
