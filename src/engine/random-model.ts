import { parseCfgFile } from './darknet/cfg.js';
import { prepareModel } from './darknet/prepare.js';
import type { RawConv } from './darknet/weights.js';
import { convWeightCount, defaultClassNames, modelClasses, type Model, type NetworkSpec } from './model.js';

/**
 * Deterministic random weights for a cfg, for benchmarks and size tests: the same distributions as
 * the darknet-xnor-a fixture (He-uniform weights, BN gamma in ±[0.5, 1.5], positive variances), so
 * XNOR layers see a realistic mix of signs. splitmix64 PRNG, 24-bit uniforms.
 */
export function randomRawWeights(spec: NetworkSpec, seed: number): (RawConv | null)[] {
  let state = BigInt.asUintN(64, BigInt(seed));
  const next = (): number => {
    state = BigInt.asUintN(64, state + 0x9e3779b97f4a7c15n);
    let z = state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z = z ^ (z >> 31n);
    return Number(z >> 40n) / 16777216;
  };
  // BigInt splitmix is slow for millions of values: seed a fast 32-bit generator from it instead.
  let a = Math.floor(next() * 2 ** 32) >>> 0;
  const fast = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 8) / 16777216;
  };
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * fast();
  return spec.layers.map((l, index) => {
    if (l.type !== 'convolutional') return null;
    const n = l.filters;
    const k = convWeightCount(l) / n;
    const limit = Math.sqrt(6 / k);
    const weights = new Float32Array(convWeightCount(l));
    for (let i = 0; i < weights.length; i++) weights[i] = uniform(-limit, limit);
    const biases = new Float32Array(n);
    if (!l.batchNormalize) {
      for (let i = 0; i < n; i++) biases[i] = uniform(-0.5, 0.5);
      // A detection head: low objectness bias, so a random net gives a moderate number of boxes.
      const head = spec.layers[index + 1];
      if (head?.type === 'yolo') for (let a = 0; a < head.mask.length; a++) biases[a * (head.classes + 5) + 4] = -3.5 + uniform(-0.25, 0.25);
      return { biases, weights };
    }
    const scales = new Float32Array(n);
    const mean = new Float32Array(n);
    const variance = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      biases[i] = uniform(-0.2, 0.2);
      scales[i] = uniform(0.5, 1.5) * (fast() < 0.1 ? -1 : 1);
      mean[i] = uniform(-0.5, 0.5);
      variance[i] = uniform(0.5, 2);
    }
    return { biases, bn: { scales, mean, variance }, weights };
  });
}

/** A prepared model for `cfgPath` with deterministic random weights. */
export function randomModelFromCfg(cfgPath: string, seed = 1): Model {
  const spec = parseCfgFile(cfgPath);
  return prepareModel(spec, randomRawWeights(spec, seed), defaultClassNames(modelClasses(spec)));
}
