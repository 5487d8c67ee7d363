// The wasm binary conv picks its im2col layout and GEMM kernel by the row length in words (Kw) and
// the tap width (assembly/kernels.ts): the last tap apart (9..16 channels, 3x3), one masked word per
// kernel row (<= 8 channels, 3x3), dense 4-byte taps (25..32), registers-resident filters (Kw 3, 5,
// 9, 18), the flat loop (other Kw <= 12) and the 2x2 tile (longer rows); bit output keeps i16
// counts, and for last-tap layers and big im2col matrices does its im2col in blocks of rows
// (binConvBitsLastTapRows, binConvBitsRows). Each path, float and bit output, 1 and 2 threads,
// against the TypeScript reference, bit for bit; shapes with odd sizes, channels and filter
// counts, and more pixels than one GEMM block.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BinaryConvParams, KernelActivation } from '../../src/engine/kernels/backend.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { create, type WasmBackend } from '../../src/engine/kernels/wasm/index.js';
import { ROWS_MIN_COLS_BYTES } from '../../src/engine/kernels/wasm/binary-conv.js';
import { MIN_PARALLEL_MACS } from '../../src/engine/kernels/wasm/ops.js';
import { binaryParams, describe as describeShape, ensureWasmBuilt, fillRandom, firstBitDifference, outSize, rng, runConv, type Shape } from '../kernels/helpers.js';
import { runPlainAndLinked, spreadCountRanges } from '../helpers/bit-links.js';

const reference = new ReferenceBackend();
let one: WasmBackend;
let two: WasmBackend;

beforeAll(async () => {
  ensureWasmBuilt();
  one = (await create()) as WasmBackend;
  two = (await create()) as WasmBackend;
  two.setThreads(2);
});
afterAll(() => {
  one?.dispose();
  two?.dispose();
});

const ACTS: KernelActivation[] = ['leaky', 'linear', 'relu'];

/** [input channels, kernel size, what it exercises]. */
const PATHS: [number, number, string][] = [
  [1, 3, 'one word per kernel row, 1 byte taps'],
  [5, 3, 'one word per kernel row'],
  [8, 3, 'one word per kernel row, full bytes'],
  [9, 3, 'last tap apart'],
  [13, 3, 'last tap apart'],
  [16, 3, 'last tap apart, full taps'],
  [20, 3, 'flat loop (Kw 6)'],
  [27, 3, 'dense 4-byte taps, Kw 5 in registers'],
  [32, 3, 'dense 4-byte taps, Kw 5 in registers'],
  [44, 3, 'Kw 9 in registers'],
  [64, 3, 'Kw 9 in registers'],
  [100, 3, 'flat loop (Kw 15 > 12: 2x2 tile)'],
  [113, 3, 'Kw 18 in two passes'],
  [128, 3, 'Kw 18 in two passes'],
  [200, 3, '2x2 tile (Kw 30)'],
  [3, 1, '1x1, Kw 1 (flat)'],
  [70, 1, '1x1, Kw 2 (flat)'],
  [150, 1, '1x1, Kw 3 in registers'],
  [300, 1, '1x1, Kw 5 in registers'],
  [530, 1, '1x1, Kw 9 in registers'],
];

/** A few geometries per path: odd images, both strides, pad 0 and 1, and one image of more than one GEMM block. */
function shapes(): { s: Shape; what: string }[] {
  const out: { s: Shape; what: string }[] = [];
  const r = rng(5);
  for (const [inC, size, what] of PATHS) {
    // 3x3 over <= 16 channels: > 2048 pixels (the last-tap block); others > 816, 452 or 224 (Kw 5, 9, 18)
    const big: [number, number] = inC <= 16 || size === 1 ? [46, 53] : inC <= 64 ? [31, 37] : [17, 19];
    for (const [inH, inW, stride] of [[7, 9, 1], [11, 6, 2], [big[0], big[1], 1]]) {
      const pad = size === 3 ? (out.length % 4 === 3 ? 0 : 1) : 0;
      // the big image with 37 filters: enough MACs for the 2-thread backend to split the filters
      const outC = inH === big[0] ? 37 : [1, 7, 13, 24][Math.floor(r() * 4)];
      out.push({ s: { inC, inH, inW, outC, size, stride, pad, groups: 1, activation: ACTS[out.length % 3] }, what });
    }
  }
  // the last-tap bit output's row blocks (binConvBitsLastTapRows, 2048 pixels: 41 rows of 49, an odd
  // count) over several blocks per thread, 1 and 2 threads, stride 1 and 2; 32 and 16 filters: bit
  // bytes stored 4 and 2 a pixel as whole vectors (binBits16; 37 filters above: lane by lane)
  const rowBlocks = 'last tap apart, im2col in row blocks';
  out.push({ s: { inC: 16, inH: 191, inW: 97, outC: 32, size: 3, stride: 2, pad: 1, groups: 1, activation: 'leaky' }, what: rowBlocks });
  out.push({ s: { inC: 11, inH: 90, inW: 49, outC: 16, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' }, what: rowBlocks });
  // other layers' bit output takes row blocks past ROWS_MIN_COLS_BYTES of im2col words (binConvBitsRows):
  // dense 4-byte taps (Kw 5, blocks of 13 rows of 59: odd), Kw 9 in registers, the flat loop at stride 2
  const big = 'im2col in row blocks';
  out.push({ s: { inC: 32, inH: 61, inW: 59, outC: 37, size: 3, stride: 1, pad: 1, groups: 1, activation: 'relu' }, what: `${big}, Kw 5` });
  out.push({ s: { inC: 64, inH: 45, inW: 43, outC: 24, size: 3, stride: 1, pad: 1, groups: 1, activation: 'leaky' }, what: `${big}, Kw 9` });
  out.push({ s: { inC: 20, inH: 111, inW: 105, outC: 13, size: 3, stride: 2, pad: 1, groups: 1, activation: 'linear' }, what: `${big}, Kw 6` });
  return out;
}

function params(s: Shape, seed: number): { p: BinaryConvParams; x: Float32Array } {
  const r = rng(seed);
  const p = binaryParams(s, r);
  const x = new Float32Array(s.inC * s.inH * s.inW);
  fillRandom(x, r);
  return { p, x };
}

describe('wasm binary conv paths', () => {
  const list = shapes();

  it('takes each bit-output kernel: row blocks for the big im2col shapes, filter ranges for the others', () => {
    // im2col bytes as WasmBinaryConv lays them out (3x3: rows of 8-byte chunks, or dense 4-byte taps)
    const colsBytes = (s: Shape): number => {
      const Cb = Math.ceil(s.inC / 8);
      const dense = Cb % 4 === 0 && (s.size * Cb) % 8 !== 0;
      const chunk = dense ? s.size * Cb : Math.ceil((s.size * Cb) / 8) * 8;
      const P = outSize(s.inH, s.size, s.stride, s.pad) * outSize(s.inW, s.size, s.stride, s.pad);
      return Math.ceil(P / 2) * Math.ceil((s.size * chunk) / 8) * 16;
    };
    const rows = list.filter(({ what }) => what.startsWith('im2col in row blocks'));
    expect(rows.length).toBe(3);
    for (const { s } of rows) expect(colsBytes(s)).toBeGreaterThan(ROWS_MIN_COLS_BYTES);
    expect(list.filter(({ s, what }) => !what.startsWith('last tap') && colsBytes(s) <= ROWS_MIN_COLS_BYTES).length).toBeGreaterThan(30);
  });

  it('splits most big shapes over 2 threads', () => {
    // the op's own choice (binaryParallel: enough MACs and enough popcount words)
    const split = list.filter(({ s }) => (two.prepareBinaryConv(binaryParams(s, rng(1))) as unknown as { parallel: boolean }).parallel);
    expect(split.length).toBeGreaterThanOrEqual(PATHS.length - 2);
    for (const { s } of split) {
      const macs = s.outC * s.size * s.size * s.inC * outSize(s.inH, s.size, s.stride, s.pad) * outSize(s.inW, s.size, s.stride, s.pad);
      expect(macs).toBeGreaterThanOrEqual(MIN_PARALLEL_MACS);
    }
  });

  it(`float output, ${list.length} shapes, 1 and 2 threads`, () => {
    list.forEach(({ s, what }, i) => {
      const { p, x } = params(s, 300 + i);
      const want = runConv(reference, 'binary', p, x);
      for (const [threads, be] of [[1, one], [2, two]] as const) {
        const got = runConv(be, 'binary', p, x);
        const bad = firstBitDifference(want, got);
        expect(bad, `${what}: ${describeShape(s)}, ${threads} thread(s): element ${bad} is ${got[bad]}, reference ${want[bad]}`).toBe(-1);
      }
    });
  });

  it(`bit output (i16 counts, every count range), ${list.length} shapes, 1 and 2 threads`, () => {
    list.forEach(({ s, what }, i) => {
      const { p, x } = params(s, 700 + i);
      spreadCountRanges(p); // negative and zero scales: count intervals with lo > 0, empty and full ones
      // the consumer: a 3x3 binary conv reading the producer's output as its packed input bits
      const cs: Shape = { inC: p.outC, inH: p.outH, inW: p.outW, outC: 5, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' };
      const cp = binaryParams(cs, rng(900 + i));
      const mid = p.outC * p.outH * p.outW;
      const outLen = cp.outC * cp.outH * cp.outW;
      // plain: the reference producer's floats into the reference consumer
      const floats = runConv(reference, 'binary', p, x);
      const want = runConv(reference, 'binary', cp, floats);
      for (const [threads, be] of [[1, one], [2, two]] as const) {
        const linked = [be.prepareBinaryConv(p), be.prepareBinaryConv(cp)];
        expect(be.linkBinaryInput(linked[0], linked[1]), `${what}: ${describeShape(s)} links`).toBe(true);
        const plain = [be.prepareBinaryConv(p), be.prepareBinaryConv(cp)];
        const { want: plainWasm, got } = runPlainAndLinked(plain, linked, true, x, mid, outLen, new Float32Array(0));
        for (const [label, v] of [['linked', got], ['plain', plainWasm]] as const) {
          const bad = firstBitDifference(want, v);
          expect(bad, `${what}: ${describeShape(s)}, ${threads} thread(s), ${label}: consumer element ${bad} is ${v[bad]}, reference ${want[bad]}`).toBe(-1);
        }
      }
    });
  });
});
