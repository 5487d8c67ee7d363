import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FloatConvParams, KernelActivation, KernelBackend } from '../../src/engine/kernels/backend.js';
import { create, setWinograd } from '../../src/engine/kernels/wasm/index.js';
import { packWinogradWeights, winogradRanges } from '../../src/engine/kernels/wasm/winograd.js';
import { wasmApi } from '../../src/engine/kernels/wasm/wasm-api.js';
import { ensureWasmBuilt, repoRoot, rng } from '../kernels/helpers.js';

/**
 * The 'fast' int16 GEMM (assembly/kernels.ts fastGemmT) runs a row's last pixels in narrower tiles
 * than 8 (4 pixels as one vector, 1 or 2 with the filters as the vector). Its sums are exact int32,
 * so a pixel's output must not depend on which tile computed it: the same pixels at the end of a
 * short row and inside a long one give the same bits (equal max |x|, so equal quantisation).
 */
let backend: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  backend = await create({ precision: 'fast' });
});
afterAll(() => backend?.dispose?.());

function params(inC: number, inH: number, inW: number, outC: number, size: 1 | 3, activation: KernelActivation, seed: number): FloatConvParams {
  const r = rng(seed);
  const weights = Float32Array.from({ length: outC * inC * size * size }, () => (r() * 2 - 1) * 0.1);
  const bias = Float32Array.from({ length: outC }, () => r() * 2 - 1);
  const pad = size >> 1;
  return { inC, inH, inW, outC, outH: inH, outW: inW, size, stride: 1, pad, groups: 1, weights, bias, activation, fastOk: true };
}

/** Runs the conv p on the first `cols` columns of `full` ([inC][inH][fullW]), the rest of each row cut off. */
function runCols(p: FloatConvParams, full: Float32Array, fullW: number, cols: number, kind: string): Float32Array {
  const q = { ...p, inW: cols, outW: cols };
  const op = backend.prepareFloatConv(q);
  expect(op.constructor.name).toBe(kind);
  const input = backend.allocFloat32(p.inC * p.inH * cols);
  for (let c = 0; c < p.inC; c++)
    for (let y = 0; y < p.inH; y++) input.set(full.subarray((c * p.inH + y) * fullW, (c * p.inH + y) * fullW + cols), (c * p.inH + y) * cols);
  const out = backend.allocFloat32(p.outC * p.inH * cols);
  op.run(input, out);
  return Float32Array.from(out);
}

function expectSameColumns(a: Float32Array, aW: number, b: Float32Array, bW: number, rows: number, cols: number, what: string): void {
  const bits = (x: number): number => new Uint32Array(Float32Array.of(x).buffer)[0];
  for (let r = 0; r < rows; r++)
    for (let x = 0; x < cols; x++) {
      const u = a[r * aW + x];
      const v = b[r * bW + x];
      if (bits(u) !== bits(v)) expect.fail(`${what}: row ${r}, column ${x}: ${u} vs ${v}`);
    }
}

describe('wasm fast precision: narrow GEMM tiles', () => {
  it('1x1 convs: pixels 1..17 of a row give the bits of the same pixels of a 24-pixel row (every tile width, 4 + 3 filters)', () => {
    for (const activation of ['linear', 'relu'] as const) {
      const p = params(37, 1, 24, 7, 1, activation, 3);
      const r = rng(4);
      const full = Float32Array.from({ length: 37 * 24 }, () => r() * 2 - 1);
      full[0] = 3; // the largest |x| lies in every cut, so every cut quantises alike
      setWinograd(true);
      const whole = runCols(p, full, 24, 24, 'WasmFastFloatConv');
      for (let cols = 1; cols <= 17; cols++) {
        const part = runCols(p, full, 24, cols, 'WasmFastFloatConv');
        expectSameColumns(part, cols, whole, 24, 7, cols, `${activation}, ${cols} pixels`);
      }
    }
  });

  it('Winograd: 1..7 tiles of a 2-row strip give the bits of the same tiles of an 8-tile strip (raw int32 sums of narrow tiles)', () => {
    for (const activation of ['linear', 'relu'] as const) {
      const p = params(24, 2, 16, 6, 3, activation, 5);
      const r = rng(6);
      const full = Float32Array.from({ length: 24 * 2 * 16 }, () => r() * 2 - 1);
      full[0] = -3;
      for (let tiles = 1; tiles <= 7; tiles++) {
        const cols = 2 * tiles;
        // the column after the cut is the short strip's zero padding: zero it in the long one too
        const padded = Float32Array.from(full);
        for (let c = 0; c < 24; c++)
          for (let y = 0; y < 2; y++) for (let x = cols; x < 16; x++) padded[(c * 2 + y) * 16 + x] = 0;
        const whole = runCols(p, padded, 16, 16, 'WasmWinogradConv');
        const part = runCols(p, padded, 16, cols, 'WasmWinogradConv');
        expectSameColumns(part, cols, whole, 16, 12, cols, `${activation}, ${tiles} tiles`);
      }
    }
  });

  it('Winograd, odd heights (the last tile row skips M[3][*]): rows of H give the bits of H + 1 rows whose last input row is 0', () => {
    for (const H of [1, 3, 5, 13]) {
      const W = 10;
      const p = params(20, H + 1, W, 9, 3, 'relu', 7 + H);
      const r = rng(8 + H);
      const full = Float32Array.from({ length: 20 * (H + 1) * W }, () => r() * 2 - 1);
      full[0] = 3;
      for (let c = 0; c < 20; c++) full.fill(0, (c * (H + 1) + H) * W, (c * (H + 1) + H + 1) * W);
      const tall = backend.prepareFloatConv(p);
      const short = backend.prepareFloatConv({ ...p, inH: H, outH: H });
      expect(short.constructor.name).toBe('WasmWinogradConv');
      const inTall = backend.allocFloat32(full.length);
      inTall.set(full);
      const inShort = backend.allocFloat32(20 * H * W);
      for (let c = 0; c < 20; c++) inShort.set(full.subarray(c * (H + 1) * W, (c * (H + 1) + H) * W), c * H * W);
      const outTall = backend.allocFloat32(9 * (H + 1) * W);
      const outShort = backend.allocFloat32(9 * H * W);
      tall.run(inTall, outTall);
      short.run(inShort, outShort);
      for (let f = 0; f < 9; f++)
        expectSameColumns(outShort.subarray(f * H * W), W, outTall.subarray(f * (H + 1) * W), W, H, W, `H ${H}, filter ${f}`);
    }
  });
});

describe('wasm fast precision: Winograd weights built per chunk', () => {
  it("winoWeights, a chunk of filter blocks at a time, gives the loader's transformed weights U bit for bit", async () => {
    const bytes = readFileSync(path.join(repoRoot, 'build', 'xnorcam-kernels.wasm'));
    const memory = new wasmApi.Memory({ initial: 64, maximum: 65536, shared: true });
    const instance = await wasmApi.instantiate(await wasmApi.compile(bytes), { env: { memory, abort: () => {} } });
    const k = instance.exports as unknown as {
      heapBase(): number;
      winoWeights(g: number, pairs: number, b0: number, b1: number, dst: number, xiStride: number): void;
    };
    // odd channels (a zero second channel in the last pair), filters not a multiple of 4, and the
    // largest weights (|U| up to 32767) that the loader lets through
    for (const [outC, inC, scale] of [[7, 5, 1], [22, 33, 0.1], [9, 64, 1000]]) {
      const r = rng(outC * 100 + inC);
      const w = Float32Array.from({ length: outC * inC * 9 }, () => (r() * 2 - 1) * scale);
      const { U, g } = winogradRanges(w, outC, inC);
      const pairs = Math.ceil(inC / 2);
      const blocks = Math.ceil(outC / 4);
      const gPtr = Math.ceil(k.heapBase() / 64) * 64;
      packWinogradWeights(new Int16Array(memory.buffer, gPtr, blocks * pairs * 72), g, outC, inC);
      for (const chunk of [1, 2, blocks]) {
        const stride = chunk * pairs * 16 + 320;
        const dst = gPtr + blocks * pairs * 144 + 64;
        for (let b0 = 0; b0 < blocks; b0 += chunk) {
          const b1 = Math.min(blocks, b0 + chunk);
          k.winoWeights(gPtr, pairs, b0, b1, dst, stride);
          const got = new Int16Array(memory.buffer, dst, (16 * stride) / 2);
          for (let xi = 0; xi < 16; xi++)
            for (let f = b0 * 4; f < Math.min(outC, b1 * 4); f++)
              for (let c = 0; c < 2 * pairs; c++) {
                const v = got[(xi * stride) / 2 + ((((f >> 2) - b0) * pairs + (c >> 1)) * 4 + (f & 3)) * 2 + (c & 1)];
                const want = c < inC ? U[(xi * outC + f) * inC + c] : 0;
                if (v !== want) expect.fail(`${outC}x${inC}, chunk ${chunk}: U[${xi}][${f}][${c}] = ${v}, want ${want}`);
              }
        }
      }
    }
  });

  // Threads run ranges of filter blocks chunk by chunk (winoChunks: U per chunk, 16 GEMMs, output
  // transform), each with its own U chunk and sums: chunked and not (fewer than 40 tiles), whole
  // chunks split 1 + 2 and 4 + 5, fewer chunks than threads (block ranges cut inside the chunk),
  // odd heights and widths, several frames in a row (scratch reused).
  const threadCases: [inC: number, H: number, W: number, outC: number, chunked: boolean, chunks: number][] = [
    [63, 16, 16, 70, true, 3],
    [63, 15, 17, 70, true, 3],
    [256, 9, 9, 70, false, 1],
    [256, 16, 15, 20, true, 1],
    [64, 13, 13, 260, true, 9],
  ];
  for (const [inC, H, W, outC, chunked, chunks] of threadCases)
    it(`${inC}x${H}x${W} -> ${outC}: one thread and two threads (${chunks} chunk${chunks > 1 ? 's' : ''}${chunked ? ', U per chunk' : ', all of U'}) give the same bits`, async () => {
      const p = params(inC, H, W, outC, 3, 'leaky', 11 + outC + H);
      const r = rng(12 + W);
      const b = await create({ precision: 'fast' });
      const b2 = await create({ precision: 'fast' });
      try {
        setWinograd(true);
        b2.setThreads?.(2);
        const op = b.prepareFloatConv(p);
        const op2 = b2.prepareFloatConv(p);
        expect(op2.constructor.name).toBe('WasmWinogradConv');
        const shape = op2 as unknown as { chunked: boolean; chunks: number; sharesThreads: number; shares: number[][] };
        expect([shape.chunked, shape.chunks]).toEqual([chunked, chunks]);
        for (let frame = 0; frame < 3; frame++) {
          const x = Float32Array.from({ length: inC * H * W }, () => (r() * 2 - 1) * (frame + 1));
          const input = b.allocFloat32(x.length);
          input.set(x);
          const input2 = b2.allocFloat32(x.length);
          input2.set(x);
          const one = b.allocFloat32(outC * H * W);
          op.run(input, one);
          const two = b2.allocFloat32(outC * H * W);
          op2.run(input2, two);
          expectSameColumns(two, W, one, W, outC * H, W, `frame ${frame}, two threads vs one`);
          expect(one.some((v) => v !== 0)).toBe(true);
        }
        // the threaded path ran (not the one-thread fallback for small layers)
        expect(shape.sharesThreads).toBe(2);
        expect(shape.shares.length).toBe(2);
      } finally {
        b.dispose?.();
        b2.dispose?.();
      }
    });
});
