import { describe, expect, it } from 'vitest';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import type { ConvOp, KernelBackend } from '../../src/engine/kernels/backend.js';
import { create } from '../../src/engine/kernels/native/index.js';
import { createBackend } from '../../src/engine/kernels/select.js';
import { isas, kernelShapes, skipNote, unavailable } from './addon.js';
import { binaryLayer, binaryShapes, floatLayer, floatShapes, randomFloats, rng, type Shape } from './layers.js';

/** Bitwise equality (NaN payloads and signed zeros included); reports the first difference. */
function firstDifference(a: Float32Array, b: Float32Array): string | null {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return `element ${i}: ${a[i]} vs reference ${b[i]}`;
  return null;
}

const label = (s: Shape) =>
  `${s.inC}x${s.inH}x${s.inW} -> ${s.outC} k${s.size} s${s.stride} p${s.pad}${s.groups ? ` g${s.groups}` : ''} ${s.activation}`;

// Reference outputs are computed once per layer and reused for every ISA and kernel shape.
const expected = new Map<string, { p: ReturnType<typeof floatLayer> | ReturnType<typeof binaryLayer>; inputs: Float32Array[]; wants: Float32Array[] }>();

function reference(ref: KernelBackend, kind: 'float' | 'binary', s: Shape, seed: number) {
  const key = `${kind} ${seed}`;
  let e = expected.get(key);
  if (!e) {
    const p = kind === 'float' ? floatLayer(s, seed) : binaryLayer(s, seed);
    const op = kind === 'float' ? ref.prepareFloatConv(p as ReturnType<typeof floatLayer>) : ref.prepareBinaryConv(p as ReturnType<typeof binaryLayer>);
    const r = rng(seed + 1);
    const inputs: Float32Array[] = [];
    const wants: Float32Array[] = [];
    // Two different inputs through the same op: scratch buffers must not leak state between runs.
    for (let round = 0; round < 2; round++) {
      const input = randomFloats(s.inC * s.inH * s.inW, r, round === 0 ? 0.05 : 0.3);
      const want = new Float32Array(s.outC * p.outH * p.outW);
      op.run(input, want);
      inputs.push(input);
      wants.push(want);
    }
    e = { p, inputs, wants };
    expected.set(key, e);
  }
  return e;
}

function check(backend: KernelBackend, ref: KernelBackend, kind: 'float' | 'binary', s: Shape, seed: number): void {
  const { p, inputs, wants } = reference(ref, kind, s, seed);
  const op: ConvOp =
    kind === 'float' ? backend.prepareFloatConv(p as ReturnType<typeof floatLayer>) : backend.prepareBinaryConv(p as ReturnType<typeof binaryLayer>);
  for (let round = 0; round < 2; round++) {
    const input = backend.allocFloat32(inputs[round].length);
    input.set(inputs[round]);
    const got = backend.allocFloat32(wants[round].length);
    got.fill(Number.NaN);
    op.run(input, got);
    const diff = firstDifference(got, wants[round]);
    expect(diff, `${backend.name} ${kind} ${label(s)} round ${round}`).toBeNull();
  }
}

describe.skipIf(unavailable !== '')(`native kernels bit-exact vs reference${skipNote}`, () => {
  const ref = new ReferenceBackend();
  it('the registry picks native first, and XNORCAM_NATIVE_ISA forces a lower ISA', async () => {
    expect((await createBackend('auto')).name).toBe(`native-${isas[0]}`);
    const lowest = isas[isas.length - 1];
    process.env.XNORCAM_NATIVE_ISA = lowest;
    try {
      expect((await createBackend('native')).name).toBe(`native-${lowest}`);
    } finally {
      delete process.env.XNORCAM_NATIVE_ISA;
    }
  });

  for (const isa of isas) {
    for (const shape of kernelShapes) {
      it(`${isa}, ${shape} kernel shape: float convolutions`, async () => {
        const b = await create({ isa, shape });
        expect(b.name).toBe(`native-${isa}`);
        floatShapes.forEach((s, i) => check(b, ref, 'float', s, 100 + i));
      });
      it(`${isa}, ${shape} kernel shape: binary convolutions`, async () => {
        const b = await create({ isa, shape });
        binaryShapes.forEach((s, i) => check(b, ref, 'binary', s, 200 + i));
      });
    }
    it(`${isa}: the largest binary convolution accepted, every input a mismatch (AVX2/SSE count halves at their limit)`, async () => {
      const s: Shape = { inC: 455 * 32, inH: 3, inW: 3, outC: 2, size: 3, stride: 1, pad: 0, activation: 'linear' };
      const p = binaryLayer(s, 7);
      p.weights.fill(1);
      const input = new Float32Array(s.inC * 9).fill(-1);
      const want = new Float32Array(2);
      ref.prepareBinaryConv(p).run(input, want);
      for (const shape of kernelShapes) {
        const b = await create({ isa, shape });
        const got = b.allocFloat32(2);
        b.prepareBinaryConv(p).run(input, got);
        expect(firstDifference(got, want), `${shape}`).toBeNull();
      }
      // K - 2 * mismatches = -131040, scaled and biased
      expect(want[0]).toBeCloseTo(-131040 * p.scale[0] + p.bias[0], 0);
    });
  }
});
