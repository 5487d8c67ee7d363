import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KernelBackend } from '../../src/engine/kernels/backend.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { createBackend } from '../../src/engine/kernels/select.js';
import { binaryParams, describe, ensureWasmBuilt, fillRandom, firstBitDifference, floatParams, rng, runConv, type Shape } from './helpers.js';

let single: KernelBackend;
let threaded: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  single = await createBackend('wasm');
  threaded = await createBackend('wasm');
  threaded.setThreads!(2);
});
afterAll(() => {
  threaded?.dispose?.();
  single?.dispose?.();
});

// Big enough to be split (>= 4M MACs): rows (wide images), filter blocks with k chunks (13x13),
// filter pairs (binary, 3-word rows and long rows), odd filter counts.
const shapes: [kind: 'float' | 'binary', s: Shape][] = [
  ['float', { inC: 3, inH: 96, inW: 104, outC: 16, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }],
  ['float', { inC: 256, inH: 13, inW: 13, outC: 70, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }],
  ['float', { inC: 64, inH: 20, inW: 20, outC: 33, size: 3, stride: 2, pad: 1, groups: 1, activation: 'relu' }],
  ['binary', { inC: 16, inH: 52, inW: 52, outC: 33, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }],
  ['binary', { inC: 512, inH: 13, inW: 13, outC: 130, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' }],
];

it('2 threads give the same bits as the reference', () => {
  const reference = new ReferenceBackend();
  for (const [kind, s] of [shapes[0], shapes[3]]) {
    const r = rng(77);
    const p = kind === 'float' ? floatParams(s, r) : binaryParams(s, r);
    const input = new Float32Array(s.inC * s.inH * s.inW);
    fillRandom(input, r);
    const i = firstBitDifference(runConv(reference, kind, p, input), runConv(threaded, kind, p, input));
    expect(i, `${kind} ${describe(s)}`).toBe(-1);
  }
});

it('2 threads give the same bits as 1 thread on larger layers', () => {
  shapes.forEach(([kind, s], n) => {
    const r = rng(300 + n);
    const p = kind === 'float' ? floatParams(s, r) : binaryParams(s, r);
    const input = new Float32Array(s.inC * s.inH * s.inW);
    fillRandom(input, r);
    const i = firstBitDifference(runConv(single, kind, p, input), runConv(threaded, kind, p, input));
    expect(i, `${kind} ${describe(s)}`).toBe(-1);
  });
});

it('switching threads on and off keeps prepared ops working', async () => {
  const b = await createBackend('wasm');
  try {
    const [kind, s] = shapes[1];
    const p = floatParams(s, rng(5));
    const op = b.prepareFloatConv(p as never);
    const x = b.allocFloat32(s.inC * s.inH * s.inW);
    fillRandom(x, rng(6));
    const outs = [1, 2, 1].map((t) => {
      b.setThreads!(t);
      const y = b.allocFloat32(s.outC * 13 * 13);
      op.run(x, y);
      return Float32Array.from(y);
    });
    expect(kind).toBe('float');
    expect(firstBitDifference(outs[0], outs[1])).toBe(-1);
    expect(firstBitDifference(outs[0], outs[2])).toBe(-1);
  } finally {
    b.dispose?.();
  }
});
