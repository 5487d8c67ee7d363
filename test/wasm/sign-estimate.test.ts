// The wasm int16 sign estimate of a bit-linked float conv (src/engine/kernels/wasm/sign-estimate.ts,
// kernels in assembly/sign-estimate.ts): the sign bits it writes into the binary consumer's input
// image must be exactly those of darknet's float32 conv (the TypeScript reference), maxpooled. Odd
// widths (the last 8-pixel group of a row overlaps the one before), 1 to 4 input channels (the
// 3-channel 3x3 kernel is its own unrolled kernel; odd channel counts pair a channel with itself),
// 1 to 5 bytes of bits per pixel, and inputs on a 1/255 grid times weights on a 1/8 grid: many
// outputs exactly 0 or a step from it, which only the exact recomputation gets right. Also the
// 2x2 maxpool ORed in registers straight into the consumer's image (SignEstimate.poolInto).
import { beforeAll, describe, expect, it } from 'vitest';
import type { ConvOp, FloatConvParams, KernelBackend, PoolSpec } from '../../src/engine/kernels/backend.js';
import { ReferenceBackend } from '../../src/engine/kernels/reference.js';
import { create } from '../../src/engine/kernels/wasm/index.js';
import type { WasmBinaryConv } from '../../src/engine/kernels/wasm/binary-conv.js';
import type { WasmHeap } from '../../src/engine/kernels/wasm/heap.js';
import type { Exports } from '../../src/engine/kernels/wasm/ops.js';
import { SignEstimate } from '../../src/engine/kernels/wasm/sign-estimate.js';
import { binaryParams, ensureWasmBuilt, floatParams, rng, type Shape } from '../kernels/helpers.js';

let single: KernelBackend;
let threaded: KernelBackend;
beforeAll(async () => {
  ensureWasmBuilt();
  single = await create();
  threaded = await create();
  threaded.setThreads!(2);
  return () => threaded.dispose?.();
});

const ref = new ReferenceBackend();
const POOL: PoolSpec = { size: 2, stride: 2, padding: 0 };
/** darknet's default maxpool padding (size - 1), as in yolov3-tiny */
const POOL1: PoolSpec = { size: 2, stride: 2, padding: 1 };

interface Case {
  inC: number;
  inH: number;
  inW: number;
  outC: number;
  size: number;
  /** default size / 2 */
  pad?: number;
  pool?: PoolSpec;
  /** weights and biases on a 1/8 grid (exact zeros and ties) or spread like trained ones */
  gridWeights: boolean;
}

function params(c: Case, seed: number): FloatConvParams {
  const r = rng(seed);
  const s: Shape = { inC: c.inC, inH: c.inH, inW: c.inW, outC: c.outC, size: c.size, stride: 1, pad: c.pad ?? c.size >> 1, groups: 1, activation: 'leaky' };
  const p = floatParams(s, r);
  const K = c.inC * c.size * c.size;
  const limit = Math.sqrt(6 / K);
  for (let i = 0; i < p.weights.length; i++) p.weights[i] = c.gridWeights ? Math.round((r() * 2 - 1) * 8) / 8 : (r() * 2 - 1) * limit;
  for (let f = 0; f < c.outC; f++) {
    // a few filters whose bias decides every output (their bounds pass the int32 range)
    if (f % 7 === 5) p.bias[f] = f % 14 === 5 ? 1e30 : -1e30;
    else p.bias[f] = c.gridWeights ? (f % 3 === 0 ? 0 : Math.round((r() * 2 - 1) * 8) / 8 / 255) : (r() * 2 - 1) * 0.2;
  }
  return p;
}

/** A camera frame: every value k / 255 (ties everywhere with grid weights); `signed`: also negative ones. */
function frame(n: number, seed: number, signed: boolean): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (Math.floor(r() * 256) - (signed ? 128 : 0)) / 255;
  return x;
}

/** darknet's output signs, maxpooled as darknet pools: [y][x][c] bits of the (pooled) output. */
function expectedBits(p: FloatConvParams, pool: PoolSpec | undefined, x: Float32Array): { h: number; w: number; bit: (c: number, y: number, x: number) => boolean } {
  const out = new Float32Array(p.outC * p.outH * p.outW);
  ref.prepareFloatConv(p).run(x, out);
  const at = (c: number, y: number, xx: number) => out[(c * p.outH + y) * p.outW + xx];
  if (!pool) return { h: p.outH, w: p.outW, bit: (c, y, xx) => at(c, y, xx) > 0 };
  const ph = Math.floor((p.outH + pool.padding - pool.size) / pool.stride) + 1;
  const pw = Math.floor((p.outW + pool.padding - pool.size) / pool.stride) + 1;
  const off = -Math.trunc(pool.padding / 2);
  return {
    h: ph,
    w: pw,
    bit: (c, y, xx) => {
      let m = -Infinity;
      for (let dy = 0; dy < pool.size; dy++)
        for (let dx = 0; dx < pool.size; dx++) {
          const iy = y * pool.stride + off + dy;
          const ix = xx * pool.stride + off + dx;
          // darknet's running max: a value only when greater, so a NaN never wins
          if (iy >= 0 && iy < p.outH && ix >= 0 && ix < p.outW && at(c, iy, ix) > m) m = at(c, iy, ix);
        }
      return m > 0;
    },
  };
}

/** The producer linked into a binary consumer; returns the producer and the consumer (whose input bits we read). */
function linkedPair(be: KernelBackend, p: FloatConvParams, pool: PoolSpec | undefined, seed: number): { producer: ConvOp; consumer: WasmBinaryConv; h: number; w: number } {
  const producer = pool ? be.prepareFloatConvPool!(p, pool) : be.prepareFloatConv(p);
  const want = expectedBits(p, pool, new Float32Array(p.inC * p.inH * p.inW));
  const cs: Shape = { inC: p.outC, inH: want.h, inW: want.w, outC: 8, size: 3, stride: 1, pad: 1, groups: 1, activation: 'linear' };
  const consumer = be.prepareBinaryConv(binaryParams(cs, rng(seed))) as WasmBinaryConv;
  expect(be.linkBinaryInput!(producer, consumer)).toBe(true);
  return { producer, consumer, h: want.h, w: want.w };
}

/** The first (c, y, x) whose bit in the consumer's zero-bordered input image differs from darknet's, or null. */
function firstWrongBit(be: KernelBackend, consumer: WasmBinaryConv, want: ReturnType<typeof expectedBits>, C: number): string | null {
  const t = consumer.bitInput();
  // the heap's current buffer (it may have grown since the image was allocated)
  const mem = new Uint8Array(be.allocFloat32(1).buffer);
  let wrong = 0;
  let first: string | null = null;
  for (let y = 0; y < want.h; y++)
    for (let x = 0; x < want.w; x++) {
      const px = t.padded + ((y + t.pad) * t.Wp + x + t.pad) * t.Cb;
      for (let c = 0; c < C; c++) {
        const got = ((mem[px + (c >> 3)] >> (c & 7)) & 1) === 1;
        if (got !== want.bit(c, y, x)) {
          wrong++;
          first ??= `channel ${c} at (${y}, ${x}): got ${got}`;
        }
      }
    }
  return first && `${wrong} wrong bits, first ${first}`;
}

const cases: Case[] = [];
for (const inC of [1, 2, 3, 4])
  for (const [inH, inW, outC] of [[7, 37, 16], [6, 40, 12], [9, 33, 24], [5, 45, 40], [4, 35, 8]] as const)
    for (const pool of [undefined, POOL, POOL1])
      for (const gridWeights of [true, false]) cases.push({ inC, inH, inW, outC, size: 3, pool, gridWeights });
// other kernel sizes take the generic kernel (an odd channel's vertical pairs in a 5x5's last column)
for (const inC of [1, 3]) cases.push({ inC, inH: 8, inW: 39, outC: 16, size: 5, pool: POOL, gridWeights: true });
cases.push({ inC: 3, inH: 5, inW: 36, outC: 20, size: 2, gridWeights: true });
// unusual padding: none (a narrower output) and more than the kernel needs (an extra ring of outputs)
for (const pad of [0, 2]) for (const inC of [3, 4]) cases.push({ inC, inH: 9, inW: 35, outC: 16, size: 3, pad, pool: POOL, gridWeights: true });
// pooled rows wider than the Winograd image's (2 x 264 columns): the direct pooled kernel (seSigns33Pooled)
cases.push({ inC: 3, inH: 6, inW: 560, outC: 16, size: 3, pool: POOL1, gridWeights: true });

const describeCase = (c: Case) => `${c.inC}x${c.inH}x${c.inW} -> ${c.outC} ${c.size}x${c.size}${c.pad !== undefined ? ` pad ${c.pad}` : ''}${c.pool ? ` +pool 2/2/${c.pool.padding}` : ''}${c.gridWeights ? ' grid weights' : ''}`;


/**
 * Frames made from `base`: scaled(top, bottom) multiplies input rows < splitRow by `top` and the
 * rest by `bottom`; withValue(v, at) is base with element `at` set to v.
 */
function rowScaled(base: Float32Array, p: { inH: number; inW: number }, splitRow: number) {
  const scaled = (top: number, bottom: number): Float32Array =>
    Float32Array.from(base, (v, i) => v * ((i % (p.inH * p.inW)) / p.inW < splitRow ? top : bottom));
  const withValue = (v: number, at: number): Float32Array => {
    const x = scaled(1, 1);
    x[at] = v;
    return x;
  };
  return { scaled, withValue };
}

describe('wasm sign estimate (bit-linked float conv)', () => {
  for (const threads of [1, 2])
    it(`writes darknet's sign bits, ${cases.length} shapes x 3 frames, ${threads} thread${threads > 1 ? 's' : ''}`, () => {
      const be = threads === 1 ? single : threaded;
      cases.forEach((c, i) => {
        const p = params(c, 10 + i);
        const { producer, consumer } = linkedPair(be, p, c.pool, 500 + i);
        // one thread: the estimate is in use (otherwise this test would not test it), and the
        // pooled 3-channel 3x3 case in Winograd F(2, 3) (sewSigns)
        if (threads === 1) {
          const est = (producer as unknown as { estimate: { wino: unknown } | null }).estimate;
          expect(est, describeCase(c)).not.toBeNull();
          const winograd = c.inC === 3 && c.size === 3 && !!c.pool && (c.pool.padding === 0 || (p.outH % 2 === 0 && p.outW % 2 === 0)) && p.outW <= 2 * 264;
          expect(!!est!.wino, describeCase(c)).toBe(winograd);
        }
        for (let round = 0; round < 3; round++) {
          const x = frame(p.inC * p.inH * p.inW, 100 * i + round, round === 2);
          producer.run(x, new Float32Array(0));
          const bad = firstWrongBit(be, consumer, expectedBits(p, c.pool, x), p.outC);
          expect(bad, `${describeCase(c)}, frame ${round}`).toBeNull();
        }
      });
    });

  it('a full-width first layer (3 x 24 x 416 -> 16, pooled, Winograd) on a camera-like frame', () => {
    const c: Case = { inC: 3, inH: 24, inW: 416, outC: 16, size: 3, pool: POOL1, gridWeights: false };
    const p = params(c, 7);
    const { producer, consumer } = linkedPair(single, p, c.pool, 8);
    // smooth image content on the 1/255 grid: neighbouring pixels alike, as in a video frame
    const x = new Float32Array(p.inC * p.inH * p.inW);
    for (let ch = 0; ch < p.inC; ch++)
      for (let y = 0; y < p.inH; y++)
        for (let xx = 0; xx < p.inW; xx++) x[(ch * p.inH + y) * p.inW + xx] = Math.round(127.5 + 120 * Math.sin(xx / 17 + y / 5 + ch)) / 255;
    producer.run(x, new Float32Array(0));
    expect(firstWrongBit(single, consumer, expectedBits(p, c.pool, x), p.outC)).toBeNull();
  });

  it('pools 2x2 in registers straight into a consumer image (poolInto), band after band of a whole frame', () => {
    // SignEstimate on its own, as WasmFloatConv drives it (its private heap and kernels: test only)
    const { heap, k } = single as unknown as { heap: WasmHeap; k: Exports };
    for (const [i, [inH, inW, outC]] of ([[9, 37, 16], [12, 40, 24], [7, 41, 8], [10, 416, 16]] as const).entries()) {
      const c: Case = { inC: 3, inH, inW, outC, size: 3, pool: POOL, gridWeights: i % 2 === 0 };
      const p = params(c, 40 + i);
      const K = p.inC * 9;
      // floatGemm's weight blocks (the exact recomputation reads them) and the biases
      const blocks = Math.ceil(outC / 4);
      const wpk = heap.alloc(blocks * K * 16);
      const w = heap.f32(wpk, blocks * K * 4);
      for (let f = 0; f < outC; f++) for (let kk = 0; kk < K; kk++) w[(f >> 2) * K * 4 + kk * 4 + (f & 3)] = p.weights[f * K + kk];
      const bias = heap.alloc(outC * 4);
      heap.f32(bias, outC).set(p.bias);
      const est = SignEstimate.create(heap, k, p, wpk, bias)!;
      expect(est).not.toBeNull();
      // the consumer image: 1 column and row of border, the rest marked to see what gets written
      const Cb = Math.ceil(outC / 8);
      const ph = Math.floor(p.outH / 2);
      const pw = Math.floor(p.outW / 2);
      const t = { padded: heap.alloc((ph + 2) * (pw + 2) * Cb), Wp: pw + 2, pad: 1, Cb, c: outC, h: ph, w: pw };
      expect(est.poolInto(t, { size: 3, stride: 2, padding: 1 })).toBe(false);
      // darknet's default padding (size - 1): the same windows when the sizes are even, a last lone row or column when odd
      const pool = i % 2 ? POOL1 : POOL;
      const even = p.outH % 2 === 0 && p.outW % 2 === 0;
      expect(est.poolInto(t, POOL1)).toBe(even);
      if (!even) expect(est.poolInto(t, POOL)).toBe(true);
      const x = heap.f32(heap.alloc(p.inC * inH * inW * 4), p.inC * inH * inW);
      for (let round = 0; round < 2; round++) {
        x.set(frame(x.length, 77 + i * 2 + round, round === 1));
        const img = heap.u8(t.padded, (ph + 2) * (pw + 2) * Cb);
        img.fill(0xa5);
        expect(est.begin(x.byteOffset)).toBe(true);
        est.signs(0, null);
        const want = expectedBits(p, pool, x);
        const got = heap.u8(t.padded, (ph + 2) * (pw + 2) * Cb);
        let bad: string | null = null;
        for (let y = 0; y < ph + 2 && !bad; y++)
          for (let xx = 0; xx < pw + 2 && !bad; xx++)
            for (let b = 0; b < Cb && !bad; b++) {
              const v = got[(y * (pw + 2) + xx) * Cb + b];
              const inside = y >= 1 && y <= ph && xx >= 1 && xx <= pw;
              let e = 0xa5;
              if (inside) {
                e = 0;
                for (let j = 0; j < 8 && b * 8 + j < outC; j++) if (want.bit(b * 8 + j, y - 1, xx - 1)) e |= 1 << j;
              }
              if (v !== e) bad = `byte ${b} at (${y}, ${xx}) of the bordered image: ${v}, want ${e}`;
            }
        expect(bad, `${describeCase(c)}, frame ${round}`).toBeNull();
      }
    }
  });
});

describe('wasm sign estimate: the per-band scale hint (no max |x| pass)', () => {
  // Each band of 12 output rows is quantised with last frame's scale for it, re-quantised only when
  // its max |x| passes that scale's range or falls below a quarter of it; a band with a NaN or an
  // infinity is computed exactly. Frames whose max moves up and down, per band too, must still give
  // darknet's bits, and the scales must follow the frames.
  const c: Case = { inC: 3, inH: 30, inW: 44, outC: 16, size: 3, pool: POOL1, gridWeights: false };
  const p = params(c, 91);
  const unpooled: Case = { ...c, pool: undefined };
  const n = p.inC * p.inH * p.inW;
  const base = frame(n, 5, true);
  // input rows < 14 scaled apart from the rest (bands 0 and 1 overlap in rows 11-13)
  const { scaled, withValue } = rowScaled(base, p, 14);
  const frames: [string, Float32Array][] = [
    ['first frame', scaled(1, 1)],
    ['same max', scaled(1, 1)],
    ['10x brighter (past the hint: would clamp)', scaled(10, 10)],
    ['back to 1x (below a quarter)', scaled(1, 1)],
    ['half (inside the range: the hint kept)', scaled(0.5, 0.5)],
    ['top bright, bottom dark', scaled(1000, 0.001)],
    ['top dark, bottom bright', scaled(0.001, 1000)],
    ['all zeros', new Float32Array(n)],
    ['zeros on top', scaled(0, 1)],
    ['subnormal', scaled(1e-40, 1e-40)],
    ['a NaN in band 1', withValue(NaN, 20 * p.inW + 7)],
    ['+inf in band 0', withValue(Infinity, p.inH * p.inW + 3 * p.inW + 40)],
    ['-inf and NaN', (() => { const x = withValue(-Infinity, 2 * p.inH * p.inW + 29 * p.inW + 43); x[0] = NaN; return x; })()],
    ['finite again', scaled(2, 2)],
  ];

  for (const cc of [c, unpooled]) {
    it(`gives darknet bits on every frame, in the network and with the estimate in use (${cc.pool ? 'pooled, Winograd' : 'not pooled'})`, () => {
      const { producer, consumer } = linkedPair(single, p, cc.pool, 92);
      const est = (producer as unknown as { estimate: SignEstimate | null }).estimate;
      expect(est).not.toBeNull();
      const bandInv = (est as unknown as { bandInv: Float64Array }).bandInv;
      expect(bandInv.length).toBe(3);
      let before = Float64Array.from(bandInv);
      for (const [name, x] of frames) {
        producer.run(x, new Float32Array(0));
        expect(firstWrongBit(single, consumer, expectedBits(p, cc.pool, x), p.outC), name).toBeNull();
        // the scales follow the frames: up 10x -> a 10x smaller scale; a kept hint -> the same
        if (name.startsWith('10x')) for (let b = 0; b < 3; b++) expect(bandInv[b]).toBeCloseTo(before[b] / 10, 0);
        if (name.startsWith('half')) expect(Array.from(bandInv)).toEqual(Array.from(before));
        if (name.startsWith('top bright')) expect(bandInv[2] / bandInv[0]).toBeGreaterThan(1e5);
        before = Float64Array.from(bandInv);
      }
    });
  }
});

describe('wasm sign estimate on threads (seBandsClaim: bands shared out over the pool)', () => {
  // Layers of >= 4M MACs share their bands of 12 rows out over the threads (each takes the next
  // band left), each thread quantising, bounding and signing its bands with its own scratch (the
  // scale hints shared per band). The
  // consumer's input image must be darknet's bits and byte for byte the one-thread image: the three
  // kernels (Winograd pooled, direct pooled for wide rows, unpooled), odd heights and widths, a
  // last band of fewer rows, 1 to 3 bytes of bits per pixel.
  const big: Case[] = [
    { inC: 3, inH: 119, inW: 99, outC: 16, size: 3, pool: POOL, gridWeights: true },
    { inC: 3, inH: 96, inW: 104, outC: 24, size: 3, pool: POOL1, gridWeights: false },
    { inC: 3, inH: 97, inW: 101, outC: 16, size: 3, gridWeights: true },
    { inC: 3, inH: 161, inW: 150, outC: 8, size: 3, pool: POOL, gridWeights: false },
    { inC: 3, inH: 40, inW: 560, outC: 16, size: 3, pool: POOL1, gridWeights: true },
  ];

  /** The consumer's whole zero-bordered input image, as bytes. */
  const imageOf = (be: KernelBackend, consumer: WasmBinaryConv): Uint8Array => {
    const t = consumer.bitInput();
    const mem = new Uint8Array(be.allocFloat32(1).buffer);
    return mem.slice(t.padded, t.padded + (t.h + 2 * t.pad) * t.Wp * t.Cb);
  };
  const estimateOf = (producer: ConvOp) =>
    (producer as unknown as { estimate: { wino: unknown; sharesThreads: number; shares: number[][]; bandInv: Float64Array } | null }).estimate!;

  /** Runs frames through one- and two-thread producers; checks darknet's bits and equal images, returns the hints after each frame. */
  function runBoth(c: Case, p: FloatConvParams, frames: [string, Float32Array][], seed: number): { one: number[][]; two: number[][] } {
    const a = linkedPair(single, p, c.pool, seed);
    const b = linkedPair(threaded, p, c.pool, seed);
    const hints = { one: [] as number[][], two: [] as number[][] };
    for (const [name, x] of frames) {
      a.producer.run(x, new Float32Array(0));
      b.producer.run(x, new Float32Array(0));
      const what = `${describeCase(c)}, ${name}`;
      expect(firstWrongBit(threaded, b.consumer, expectedBits(p, c.pool, x), p.outC), what).toBeNull();
      const ia = imageOf(single, a.consumer);
      const ib = imageOf(threaded, b.consumer);
      const at = ia.findIndex((v, i) => v !== ib[i]);
      expect(at, `${what}: first differing byte of the images`).toBe(-1);
      hints.one.push(Array.from(estimateOf(a.producer).bandInv));
      hints.two.push(Array.from(estimateOf(b.producer).bandInv));
    }
    // the bands did run on both threads
    const est = estimateOf(b.producer);
    expect(est.sharesThreads, describeCase(c)).toBe(2);
    expect(est.shares.length, describeCase(c)).toBe(2);
    return hints;
  }

  it(`writes darknet's bits, the same as one thread, ${big.length} shapes x 3 frames`, () => {
    big.forEach((c, i) => {
      const p = params(c, 200 + i);
      // the pooled kernel: Winograd F(2, 3) up to 2 x 264 columns, the direct one beyond
      const probe = linkedPair(threaded, p, c.pool, 1);
      expect(!!estimateOf(probe.producer).wino, describeCase(c)).toBe(!!c.pool && c.inW <= 2 * 264);
      const frames: [string, Float32Array][] = [0, 1, 2].map((round) => [`frame ${round}`, frame(p.inC * p.inH * p.inW, 300 + 10 * i + round, round === 2)]);
      runBoth(c, p, frames, 600 + i);
    });
  });

  for (const pool of [POOL, undefined]) {
    it(`re-quantises a band whose scale hint is off, on either thread (${pool ? 'pooled, Winograd' : 'not pooled'})`, () => {
      // 111 output rows: 10 bands, shared out over the threads as they come; rows < 60 (bands 0-4) and the rest scaled apart
      const c: Case = { inC: 3, inH: 111, inW: 101, outC: 16, size: 3, pool, gridWeights: false };
      const p = params(c, 93);
      const n = p.inC * p.inH * p.inW;
      const base = frame(n, 6, true);
      const { scaled, withValue } = rowScaled(base, p, 60);
      const frames: [string, Float32Array][] = [
        ['first frame', scaled(1, 1)],
        ['10x brighter (every hint would clamp)', scaled(10, 10)],
        ['top 10x brighter again, bottom back (re-quantised both ways)', scaled(100, 1)],
        ['half (hints kept)', scaled(50, 0.5)],
        ['top dark, bottom bright', scaled(0.001, 1000)],
        ['zeros on top', scaled(0, 1)],
        ['a NaN in a bottom band', withValue(NaN, p.inH * p.inW + 90 * p.inW + 7)],
        ['+inf in a top band', withValue(Infinity, 20 * p.inW + 3)],
        ['finite again', scaled(2, 2)],
      ];
      const { one, two } = runBoth(c, p, frames, 94);
      // the same hints on one thread and two, frame by frame (each band's own re-quantisation)
      expect(two).toEqual(one);
      const bands = one[0].length;
      expect(bands).toBe(10);
      // 10x brighter: every band's scale 10x smaller; then the top 10x smaller again, the bottom back
      for (let b = 0; b < bands; b++) expect(one[1][b]).toBeCloseTo(one[0][b] / 10, 0);
      for (let b = 0; b < 4; b++) expect(one[2][b] / one[1][b]).toBeCloseTo(0.1, 1);
      for (let b = 6; b < bands; b++) expect(one[2][b] / one[1][b]).toBeCloseTo(10, 0);
      expect(one[3]).toEqual(one[2]);
      expect(one[4][0] / one[4][bands - 1]).toBeGreaterThan(1e5);
    });
  }
});
