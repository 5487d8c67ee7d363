// xnorcam WebAssembly SIMD kernels (AssemblyScript, compiled by scripts/build-wasm.mjs).
//
// No AssemblyScript runtime objects are used: every function works on raw byte addresses in the
// imported (shared) linear memory, laid out by the TypeScript loader in
// src/engine/kernels/wasm/index.ts. The numerics are those of src/engine/kernels/backend.ts and
// must stay bit-identical to reference.ts:
//  - float sums run over k = (c, ky, kx) in order, starting from 0, one mul and one add per step
//    (no FMA); vectors span output pixels, never k;
//  - zero padding is materialised as 0.0 inputs, which adds +-0 to a sum that is never -0, so the
//    result equals the reference's "skip the tap" (weights are assumed finite);
//  - binary: mismatches = popcount(weightBits ^ inputBits), both zero-padded, so padding bits never
//    mismatch; spatial padding is an all-zero input byte (= -1 for every real channel).

const ACT_LEAKY: i32 = 1;
const ACT_RELU: i32 = 2;
// A typed constant: an untyped 0.1 literal in an f32 context would be read as fround(0.1).
const TENTH_F64: f64 = 0.1;

/** First byte the loader may use for tensors and weights (64-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

// ---------------------------------------------------------------------------------------------
// Activation and stores. `tail` is the byte address of the first element of darknet's scalar leaky
// tail (the last n % 8 || 8 elements of the whole output tensor); elements at or after it use
// fround(0.1 * (double)x) instead of x * fround(0.1).

@inline function actVec(v: v128, act: i32): v128 {
  if (act == ACT_LEAKY) {
    return v128.bitselect(v, f32x4.mul(v, f32x4.splat(<f32>0.1)), f32x4.gt(v, f32x4.splat(0)));
  }
  if (act == ACT_RELU) return v128.and(v, f32x4.gt(v, f32x4.splat(0)));
  return v;
}

@inline function actScalar(x: f32, addr: usize, tail: usize, act: i32): f32 {
  if (act == ACT_LEAKY) {
    if (x > 0) return x;
    return addr >= tail ? <f32>(TENTH_F64 * <f64>x) : x * <f32>0.1;
  }
  if (act == ACT_RELU) return x > 0 ? x : 0;
  return x;
}

/** Stores the first n (<= 4, may be <= 0) lanes of v at dst after the activation. */
@inline function storeOut(dst: usize, v: v128, n: i32, act: i32, tail: usize): void {
  if (n >= 4 && dst + 16 <= tail) {
    v128.store(dst, actVec(v, act));
    return;
  }
  if (n <= 0) return;
  store<f32>(dst, actScalar(f32x4.extract_lane(v, 0), dst, tail, act));
  if (n > 1) store<f32>(dst + 4, actScalar(f32x4.extract_lane(v, 1), dst + 4, tail, act));
  if (n > 2) store<f32>(dst + 8, actScalar(f32x4.extract_lane(v, 2), dst + 8, tail, act));
  if (n > 3) store<f32>(dst + 12, actScalar(f32x4.extract_lane(v, 3), dst + 12, tail, act));
}

// ---------------------------------------------------------------------------------------------
// Float convolution as an implicit GEMM.
//
// The source is either the raw input (1x1, stride 1, no padding), a zero-bordered copy of the input
// (stride 1: pixel (oy, ox) of tap k reads src + oy*srcRowStride + ox*4 + koff[k]) or an explicit
// im2col matrix [k][Ppad] (rows = 1). koff holds the byte offset of every k = (c, ky, kx) of a group.
// Weights are packed per group in blocks of 4 filters: [block][k][4] (missing filters are zero and
// never stored). Output rows are `rowLen` pixels wide; a filter's plane holds `plane` floats.

/** Copies a CHW tensor into the interior of a zero-bordered [C][Hp][Wp] buffer. */
export function padCopy(src: usize, C: i32, H: i32, W: i32, pad: i32, dst: usize, Hp: i32, Wp: i32): void {
  const rowBytes = <usize>W << 2;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      memory.copy(dst + ((<usize>(c * Hp + y + pad) * Wp + pad) << 2), src + (<usize>((c * H + y) * W) << 2), rowBytes);
    }
  }
}

/** Explicit float im2col: dst[k][Ppad], k = (c, ky, kx), zeros where a tap falls in the padding. */
export function im2colFloat(
  src: usize, C: i32, H: i32, W: i32, size: i32, stride: i32, pad: i32, outH: i32, outW: i32, dst: usize, Ppad: i32,
): void {
  let row = dst;
  for (let c = 0; c < C; c++) {
    const plane = src + (<usize>(c * H * W) << 2);
    for (let ky = 0; ky < size; ky++) {
      for (let kx = 0; kx < size; kx++) {
        let d = row;
        for (let oy = 0; oy < outH; oy++) {
          const iy = oy * stride + ky - pad;
          if (iy < 0 || iy >= H) {
            memory.fill(d, 0, <usize>outW << 2);
            d += <usize>outW << 2;
            continue;
          }
          const srow = plane + (<usize>(iy * W) << 2);
          if (stride == 1) {
            // the taps inside the row [x0, x1) are one contiguous span of the input row: copied 4
            // at a time (no read or write outside it), zeros on either side
            const x0 = max(0, pad - kx);
            const x1 = min(outW, W + pad - kx);
            const s0 = srow + (<usize>(kx - pad) << 2); // + ox * 4: the tap of output column ox
            let ox = 0;
            for (; ox < x0 && ox < outW; ox++) store<f32>(d + (<usize>ox << 2), 0);
            for (; ox + 4 <= x1; ox += 4) v128.store(d + (<usize>ox << 2), v128.load(s0 + (<usize>ox << 2)));
            for (; ox < x1; ox++) store<f32>(d + (<usize>ox << 2), load<f32>(s0 + (<usize>ox << 2)));
            for (; ox < outW; ox++) store<f32>(d + (<usize>ox << 2), 0);
            d += <usize>outW << 2;
            continue;
          }
          for (let ox = 0; ox < outW; ox++) {
            const ix = ox * stride + kx - pad;
            store<f32>(d, ix >= 0 && ix < W ? load<f32>(srow + (<usize>ix << 2)) : <f32>0);
            d += 4;
          }
        }
        row += <usize>Ppad << 2;
      }
    }
  }
}

/**
 * 4 filters x 8 pixels per tile; see the section comment for the operands. Output rows [r0, r1)
 * and filter blocks [b0, b1) of every group (a thread's share). The k range is taken in chunks of
 * kChunk, in order, so that a chunk's slice of the source stays in cache for every block: a chunk
 * that does not start at 0 resumes from the float32 partial sums left in dst (exactly the values
 * the registers held), and only the chunk that ends at K adds the bias and the activation.
 */
export function floatGemm(
  src: usize, groupSrcStride: usize, koff: usize, K: i32,
  wpk: usize, bias: usize, groups: i32, nF: i32,
  dst: usize, plane: i32, rowLen: i32, srcRowStride: usize,
  act: i32, tail: usize, kChunk: i32, r0: i32, r1: i32, b0: i32, b1: i32,
): void {
  const blocks = (nF + 3) >> 2;
  const bEnd = min(b1, blocks);
  const planeBytes = <usize>plane << 2;
  for (let k0 = 0; k0 < K; k0 += kChunk) {
    const k1 = min(K, k0 + kChunk);
    const kBegin = koff + (<usize>k0 << 2);
    const kEnd = koff + (<usize>k1 << 2);
    const mode = (k0 == 0 ? TILE_FIRST : 0) | (k1 == K ? TILE_LAST : 0);
    for (let g = 0; g < groups; g++) {
      const gSrc = src + <usize>g * groupSrcStride;
      const gDst = dst + <usize>(g * nF) * planeBytes;
      const gBias = bias + (<usize>(g * nF) << 2);
      const gW = wpk + <usize>(g * blocks) * (<usize>K << 4);
      // rows outside, filter blocks inside: a row's source taps stay in L1 for every block
      for (let r = r0; r < r1; r++) {
        const sRow = gSrc + <usize>r * srcRowStride;
        const dRow = gDst + (<usize>(r * rowLen) << 2);
        for (let b = b0; b < bEnd; b++) {
          const f0 = b << 2;
          const nvf = min(4, nF - f0);
          const wp = gW + <usize>b * (<usize>K << 4) + (<usize>k0 << 4);
          const bp = gBias + (<usize>f0 << 2);
          const d0 = dRow + <usize>f0 * planeBytes;
          for (let x = 0; x < rowLen; x += 8) {
            floatTile(sRow + (<usize>x << 2), kBegin, kEnd, wp, d0 + (<usize>x << 2), planeBytes, rowLen - x, nvf, mode, bp, act, tail);
          }
        }
      }
    }
  }
}

const TILE_FIRST: i32 = 1;
const TILE_LAST: i32 = 2;

/**
 * One 4 x 8 tile. Exported only so that binaryen keeps it a separate function: inlined into
 * floatGemm, V8 runs out of registers and reloads addresses inside the k loop.
 */
export function floatTile(
  s: usize, kBegin: usize, kEnd: usize, wp: usize, d: usize, planeBytes: usize, n: i32, nvf: i32, mode: i32,
  bp: usize, act: i32, tail: usize,
): void {
  gemmTile(s, kBegin, kEnd, wp, d, planeBytes, n, nvf, mode, bp, act, tail);
}

/** The 4 filters x 8 pixels tile of floatTile: f32 sums, k in order; weights at wp, 4 per k. */
@inline function gemmTile(
  s: usize, kBegin: usize, kEnd: usize, wp: usize, d: usize, planeBytes: usize, n: i32, nvf: i32, mode: i32,
  bp: usize, act: i32, tail: usize,
): void {
  // all-zero bits: 0.0f in every lane
  let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
  let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
  if (!(mode & TILE_FIRST)) {
    a00 = v128.load(d);
    a01 = v128.load(d, 16);
    a10 = v128.load(d + planeBytes);
    a11 = v128.load(d + planeBytes, 16);
    a20 = v128.load(d + 2 * planeBytes);
    a21 = v128.load(d + 2 * planeBytes, 16);
    a30 = v128.load(d + 3 * planeBytes);
    a31 = v128.load(d + 3 * planeBytes, 16);
  }
  for (let kp = kBegin; kp < kEnd; kp += 4) {
    const p = s + <usize>load<i32>(kp);
    const x0 = v128.load(p);
    const x1 = v128.load(p, 16);
    let w = v128.load32_splat(wp);
    a00 = tileMac(a00, w, x0);
    a01 = tileMac(a01, w, x1);
    w = v128.load32_splat(wp, 4);
    a10 = tileMac(a10, w, x0);
    a11 = tileMac(a11, w, x1);
    w = v128.load32_splat(wp, 8);
    a20 = tileMac(a20, w, x0);
    a21 = tileMac(a21, w, x1);
    w = v128.load32_splat(wp, 12);
    a30 = tileMac(a30, w, x0);
    a31 = tileMac(a31, w, x1);
    wp += 16;
  }
  if (!(mode & TILE_LAST)) {
    tileRows<TilePartial>(d, planeBytes, nvf, a00, a01, a10, a11, a20, a21, a30, a31, n, 0, bp, act, tail);
  } else {
    tileRows<TileBias>(d, planeBytes, nvf, a00, a01, a10, a11, a20, a21, a30, a31, n, 0, bp, act, tail);
  }
}

/** Stores the nvf filter rows of a 4 x 8 tile (planeBytes apart) the H way (see tileRow); floatTile and the int16 tiles. */
@inline function tileRows<H>(
  d: usize, planeBytes: usize, nvf: i32, a00: v128, a01: v128, a10: v128, a11: v128,
  a20: v128, a21: v128, a30: v128, a31: v128, n: i32, sp: usize, bp: usize, act: i32, tail: usize,
): void {
  tileRow<H>(d, a00, a01, n, sp, bp, act, tail);
  if (nvf > 1) tileRow<H>(d + planeBytes, a10, a11, n, sp + 4, bp + 4, act, tail);
  if (nvf > 2) tileRow<H>(d + 2 * planeBytes, a20, a21, n, sp + 8, bp + 8, act, tail);
  if (nvf > 3) tileRow<H>(d + 3 * planeBytes, a30, a31, n, sp + 12, bp + 12, act, tail);
}

/** One multiply-add step of gemmTile: a + w * x in f32 (no FMA). */
@inline function tileMac(a: v128, w: v128, x: v128): v128 {
  return f32x4.add(a, f32x4.mul(w, x));
}

// How a tile stores a filter's sums, as marker types: tileRow picks its path at compile time.
class TileRaw {}
class TilePartial {}
class TileBias {}
class TileScaled {}

/**
 * Stores one filter's 8 sums a0, a1 (lanes past n are not stored): TileRaw the int32 sums
 * (Winograd's M), TilePartial f32 partial sums (no bias or activation), TileBias act(a + bias),
 * TileScaled act(f32(a) * scale + bias); scale at sp, bias at bp.
 */
@inline function tileRow<H>(d: usize, a0: v128, a1: v128, n: i32, sp: usize, bp: usize, act: i32, tail: usize): void {
  if (idof<H>() == idof<TileRaw>()) {
    storeRaw(d, a0, n);
    storeRaw(d + 16, a1, n - 4);
  } else if (idof<H>() == idof<TilePartial>()) {
    storeOut(d, a0, n, 0, tail);
    storeOut(d + 16, a1, n - 4, 0, tail);
  } else if (idof<H>() == idof<TileBias>()) {
    const bv = v128.load32_splat(bp);
    storeOut(d, f32x4.add(a0, bv), n, act, tail);
    storeOut(d + 16, f32x4.add(a1, bv), n - 4, act, tail);
  } else {
    storeOut(d, fastOut(a0, sp, bp), n, act, tail);
    storeOut(d + 16, fastOut(a1, sp, bp), n - 4, act, tail);
  }
}

/** One filter x 16 pixels per tile, for groups of one or two filters (depthwise). */
export function floatGemm1(
  src: usize, groupSrcStride: usize, koff: usize, K: i32,
  wpk: usize, bias: usize, groups: i32, nF: i32,
  dst: usize, plane: i32, rows: i32, rowLen: i32, srcRowStride: usize,
  act: i32, tail: usize,
): void {
  const planeBytes = <usize>plane << 2;
  const kEnd = koff + (<usize>K << 2);
  for (let g = 0; g < groups; g++) {
    const gSrc = src + <usize>g * groupSrcStride;
    for (let f = 0; f < nF; f++) {
      const fi = g * nF + f;
      const wb = wpk + (<usize>(fi * K) << 2);
      const bv = f32x4.splat(load<f32>(bias + (<usize>fi << 2)));
      const d0 = dst + <usize>fi * planeBytes;
      for (let r = 0; r < rows; r++) {
        const sRow = gSrc + <usize>r * srcRowStride;
        const dRow = d0 + (<usize>(r * rowLen) << 2);
        for (let x = 0; x < rowLen; x += 16) {
          const s = sRow + (<usize>x << 2);
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let wp = wb;
          for (let kp = koff; kp < kEnd; kp += 4) {
            const p = s + <usize>load<i32>(kp);
            const w = v128.load32_splat(wp);
            a0 = f32x4.add(a0, f32x4.mul(w, v128.load(p)));
            a1 = f32x4.add(a1, f32x4.mul(w, v128.load(p, 16)));
            a2 = f32x4.add(a2, f32x4.mul(w, v128.load(p, 32)));
            a3 = f32x4.add(a3, f32x4.mul(w, v128.load(p, 48)));
            wp += 4;
          }
          const n = rowLen - x;
          const d = dRow + (<usize>x << 2);
          storeOut(d, f32x4.add(a0, bv), n, act, tail);
          storeOut(d + 16, f32x4.add(a1, bv), n - 4, act, tail);
          storeOut(d + 32, f32x4.add(a2, bv), n - 8, act, tail);
          storeOut(d + 48, f32x4.add(a3, bv), n - 12, act, tail);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Binary convolution.
//
// 1. packSigns: CHW floats -> [H*W][Cb] bytes, bit j of byte b of a pixel = (x[8b + j] > 0).
// 2. padRows: into a zero-bordered [Hp][Wp][Cb] image (the border is never written, so it stays 0,
//    i.e. -1 for every real channel).
// 3. im2colBits: one row of Kw 64-bit words per output pixel. The taps of one kernel row (ky) are
//    size*Cb consecutive bytes of the padded image, copied as one chunk of `chunk` bytes (size*Cb
//    rounded up to 8, the excess zeroed), chunks in ky order. Rows of a pixel pair are interleaved
//    word by word: word w of pixel p at dst + ((p >> 1) * Kw + w) * 16 + (p & 1) * 8.
//    (Variants: im2colBitsDense for 4-byte taps, im2colBitsLastTap for 2-byte 3x3 taps.)
// 4. Mismatch counts, scalar i64 xor + popcnt (V8 emits POPCNT, one per cycle: the floor here; its
//    i8x16.popcnt lowering is slower), weights laid out and interleaved the same way. By row length:
//    Kw 3, 5, 9, 18 binGemmRegs (one filter's words in registers, pixel pairs streaming), other
//    Kw <= 12 binGemmFlat, longer rows binGemm (2 filters x 2 pixels per tile). Bit output keeps
//    i16 counts (binBits16), float output i32.
// 5. binFinish: out = fround(fround((K - 2m) * scale) + bias) and the activation, 4 pixels a vector.
// binConv drives 4 and 5 block by block for a range of filters (one thread's share). Bit output of
// large layers (binConvBitsRows, binConvBitsLastTapRows) runs 3 too block by block, for a range of
// output rows.
// (Writing the floats straight from the popcount tile was tried: V8 then spills in the inner loop
// and it runs several times slower. Fully unrolled 2x2 tiles spill too: V8 hoists all their loads.)
// (Moving part of binGemm's words to SIMD, so vector ports would work beside the one POPCNT port,
// was measured too: v128 xor + i8x16.popcnt + i8x16.add, or a Harley-Seal carry-save tree over 4
// words with one popcount per group. All SIMD, layers 12 and 21 ran 1.45x (popcount) and 1.2x
// (Harley-Seal) slower than scalar; the best mixes (1 + 1 words, 4 Harley-Seal + 2 scalar) tied or
// lost 2-8%: on x64 the 128-bit ALU ops share port 1 with POPCNT, SIMD needs >= 4 of them per
// 64-bit count where scalar needs 1 POPCNT + 2 integer ops, and V8 spills the mixed loop.)

export function packSigns(src: usize, C: i32, HW: i32, dst: usize, Cb: i32): void {
  const zero = f32x4.splat(0);
  const planeBytes = <usize>HW << 2;
  const cbStride = <usize>Cb;
  for (let cb = 0; cb < Cb; cb++) {
    const c0 = cb << 3;
    const nc = min(8, C - c0);
    const base = src + <usize>c0 * planeBytes;
    let p = 0;
    for (; p + 16 <= HW; p += 16) {
      let acc = i8x16.splat(0);
      let s = base + (<usize>p << 2);
      for (let j = 0; j < nc; j++) {
        const bitOf: i32 = 1 << j;
        const m01 = i16x8.narrow_i32x4_s(f32x4.gt(v128.load(s), zero), f32x4.gt(v128.load(s, 16), zero));
        const m23 = i16x8.narrow_i32x4_s(f32x4.gt(v128.load(s, 32), zero), f32x4.gt(v128.load(s, 48), zero));
        acc = v128.or(acc, v128.and(i8x16.narrow_i16x8_s(m01, m23), i8x16.splat(<i8>bitOf)));
        s += planeBytes;
      }
      const d = dst + <usize>p * cbStride + <usize>cb;
      if (Cb == 1) v128.store(d, acc);
      else storeBytes16(d, acc, cbStride);
    }
    for (; p < HW; p++) {
      let bits: u32 = 0;
      let s = base + (<usize>p << 2);
      for (let j = 0; j < nc; j++) {
        if (load<f32>(s) > 0) bits |= 1 << j;
        s += planeBytes;
      }
      store<u8>(dst + <usize>p * cbStride + <usize>cb, <u8>bits);
    }
  }
}

export function padRows(src: usize, Cb: i32, H: i32, W: i32, pad: i32, dst: usize, Wp: i32): void {
  const rowBytes = <usize>(W * Cb);
  for (let y = 0; y < H; y++) {
    memory.copy(dst + <usize>((y + pad) * Wp + pad) * <usize>Cb, src + <usize>y * rowBytes, rowBytes);
  }
}

export function im2colBits(
  src: usize, Cb: i32, Wp: i32, size: i32, stride: i32, outH: i32, outW: i32, dst: usize, Kw: i32, chunk: i32,
): void {
  const n = size * Cb; // bytes of one kernel row
  const full = n >> 3;
  const rest = n & 7;
  const mask: u64 = rest ? ((<u64>1 << (<u64>rest << 3)) - 1) : 0;
  if (size == 3 && full == 0) {
    im2colBitsRow3(src, Cb, Wp, stride, outH, outW, dst, mask);
    return;
  }
  const pairBytes = <usize>Kw << 4;
  const chunkWords = chunk >> 3;
  const rowStride = <usize>(Wp * Cb);
  let p = 0;
  for (let oy = 0; oy < outH; oy++) {
    const rowSrc = src + <usize>(oy * stride) * rowStride;
    for (let ox = 0; ox < outW; ox++, p++) {
      let d = dst + <usize>(p >> 1) * pairBytes + (<usize>(p & 1) << 3);
      let s0 = rowSrc + <usize>(ox * stride * Cb);
      for (let ky = 0; ky < size; ky++) {
        let s = s0;
        let e = d;
        for (let w = 0; w < full; w++) {
          store<u64>(e, load<u64>(s));
          s += 8;
          e += 16;
        }
        if (rest) store<u64>(e, load<u64>(s) & mask);
        s0 += rowStride;
        d += <usize>chunkWords << 4;
      }
    }
  }
}

/**
 * im2colBits without the per-row rounding to 8 bytes, for Cb a multiple of 4: the size*size taps of
 * a pixel are size*size*Cb consecutive bytes of its row (Kw words, the excess stays 0), copied 4
 * bytes at a time into the same pixel-pair interleaved words. 32-channel layers: 5 words instead of 6.
 */
export function im2colBitsDense(
  src: usize, Cb: i32, Wp: i32, size: i32, stride: i32, outH: i32, outW: i32, dst: usize, Kw: i32,
): void {
  if (size == 3 && Cb == 4) {
    im2colBitsDense3x4(src, Wp, stride, outH, outW, dst);
    return;
  }
  const pairBytes = <usize>Kw << 4;
  const rowStride = <usize>(Wp * Cb);
  const tapWords = Cb >> 2; // u32 per tap
  let p = 0;
  for (let oy = 0; oy < outH; oy++) {
    const rowSrc = src + <usize>(oy * stride) * rowStride;
    for (let ox = 0; ox < outW; ox++, p++) {
      const base = dst + <usize>(p >> 1) * pairBytes + (<usize>(p & 1) << 3);
      let s0 = rowSrc + <usize>(ox * stride * Cb);
      let b = 0; // byte offset in the pixel's row
      for (let ky = 0; ky < size; ky++) {
        let s = s0;
        const n = size * tapWords;
        for (let i = 0; i < n; i++) {
          store<u32>(base + (<usize>(b >> 3) << 4) + <usize>(b & 7), load<u32>(s));
          s += 4;
          b += 4;
        }
        s0 += rowStride;
      }
    }
  }
}

/**
 * im2colBits for 3x3 kernels whose kernel row fits one word (up to 8 channels; 2-byte taps take
 * im2colBitsLastTap): three masked words per pixel, no inner loops.
 */
function im2colBitsRow3(src: usize, Cb: i32, Wp: i32, stride: i32, outH: i32, outW: i32, dst: usize, mask: u64): void {
  const rowStride = <usize>(Wp * Cb);
  const step = <usize>(stride * Cb);
  let p = 0;
  for (let oy = 0; oy < outH; oy++) {
    let s = src + <usize>(oy * stride) * rowStride;
    for (let ox = 0; ox < outW; ox++, p++) {
      const e = dst + <usize>(p >> 1) * 48 + (<usize>(p & 1) << 3);
      store<u64>(e, load<u64>(s) & mask);
      store<u64>(e, load<u64>(s + rowStride) & mask, 16);
      store<u64>(e, load<u64>(s + (rowStride << 1)) & mask, 32);
      s += step;
    }
  }
}

/**
 * im2colBitsDense for 3x3 kernels over 4-byte taps (25..32 channels): a pixel's 36 bytes are three
 * 12-byte kernel rows, i.e. words r0[0:8], r0[8:12] r1[0:4], r1[4:12], r2[0:8], r2[8:12] (+ 4 zero bytes).
 */
function im2colBitsDense3x4(src: usize, Wp: i32, stride: i32, outH: i32, outW: i32, dst: usize): void {
  const rowStride = <usize>(Wp << 2);
  const step = <usize>(stride << 2);
  let p = 0;
  for (let oy = 0; oy < outH; oy++) {
    let s = src + <usize>(oy * stride) * rowStride;
    for (let ox = 0; ox < outW; ox++, p++) {
      const e = dst + <usize>(p >> 1) * 80 + (<usize>(p & 1) << 3);
      const s1 = s + rowStride;
      const s2 = s1 + rowStride;
      store<u64>(e, load<u64>(s));
      store<u64>(e, <u64>load<u32>(s, 8) | (<u64>load<u32>(s1) << 32), 16);
      store<u64>(e, load<u64>(s1, 4), 32);
      store<u64>(e, load<u64>(s2), 48);
      store<u64>(e, <u64>load<u32>(s2, 8), 64);
      s += step;
    }
  }
}

/**
 * The GEMM and output of a binary conv for filters [f0, f1) (f0 even; f1 even or the padded count),
 * output pixels in blocks of `block` (a multiple of 4): a block's im2col rows stay in L1 while every
 * filter of the range passes over them, and its counts are turned into floats while still cached.
 * Threads take disjoint filter ranges: they share cnt (rows by filter) without overlap.
 */
export function binConv(
  wpk: usize, f0: i32, f1: i32, X: usize, nP: i32, Kw: i32, cnt: usize, block: i32,
  outC: i32, P: i32, K: i32, scale: usize, bias: usize, dst: usize, act: i32, tail: usize,
): void {
  const fOut = min(f1, outC);
  for (let p0 = 0; p0 < P; p0 += block) {
    binBlockCounts<i32>(wpk, f0, f1, X, nP, Kw, cnt, block, p0);
    binFinish(cnt, block, f0, fOut, p0, min(P, min(nP, p0 + block)) - p0, P, K, scale, bias, dst, act, tail);
  }
}

/** Other rows of up to this many words take binGemmFlat: there binGemm's per-tile cost outweighs its loop. */
const FLAT_MAX_KW: i32 = 12;

/**
 * The mismatch counts of the pixel block [p0, min(nP, p0 + block)) for binConv and binConvBits, as
 * T (i32, or i16 where every count fits: binConvBits).
 */
@inline function binBlockCounts<T>(wpk: usize, f0: i32, f1: i32, X: usize, nP: i32, Kw: i32, cnt: usize, block: i32, p0: i32): void {
  const p1 = min(nP, p0 + block);
  if (Kw == 3 || Kw == 5 || Kw == 9 || Kw == 18) binGemmRegs<T>(wpk, f0, f1, X, p0, p1, Kw, cnt, block);
  else if (Kw <= FLAT_MAX_KW) binGemmFlat<T>(wpk, f0, f1, X, p0, p1, Kw, cnt, block);
  else binGemm<T>(wpk, f0, f1, X, p0, p1, Kw, cnt, block);
}

/** Mismatch counts cnt[f][p - p0] (rows of cntStride T) for filters [f0, f1), pixels [p0, p1). */
function binGemm<T>(wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, Kw: i32, cnt: usize, cntStride: i32): void {
  const sz = <usize>sizeof<T>();
  const pairBytes = <usize>Kw << 4;
  const rowBytes = <usize>cntStride * sz;
  for (let f = f0; f < f1; f += 2) {
    const wRow = wpk + <usize>(f >> 1) * pairBytes;
    const c0 = cnt + <usize>f * rowBytes - <usize>p0 * sz;
    for (let p = p0; p < p1; p += 2) {
      let w = wRow;
      let x = X + <usize>(p >> 1) * pairBytes;
      const xEnd = x + pairBytes;
      let a00: u64 = 0, a01: u64 = 0, a10: u64 = 0, a11: u64 = 0;
      while (x < xEnd) {
        const w0 = load<u64>(w), w1 = load<u64>(w, 8);
        const x0 = load<u64>(x), x1 = load<u64>(x, 8);
        a00 += popcnt<u64>(w0 ^ x0);
        a01 += popcnt<u64>(w0 ^ x1);
        a10 += popcnt<u64>(w1 ^ x0);
        a11 += popcnt<u64>(w1 ^ x1);
        w += 16;
        x += 16;
      }
      const c = c0 + <usize>p * sz;
      store<T>(c, <T>a00);
      store<T>(c + sz, <T>a01);
      store<T>(c + rowBytes, <T>a10);
      store<T>(c + rowBytes + sz, <T>a11);
    }
  }
}

/**
 * binGemm for short rows: one flat loop over the block's words per filter pair, the weight pointer
 * wrapping at the end of each row, so a pixel pair costs no loop entry and exit (15-25% faster than
 * binGemm for 4..12 words).
 */
function binGemmFlat<T>(wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, Kw: i32, cnt: usize, cntStride: i32): void {
  const sz = <usize>sizeof<T>();
  const pairBytes = <usize>Kw << 4;
  const rowBytes = <usize>cntStride * sz;
  const xStart = X + <usize>(p0 >> 1) * pairBytes;
  const xStop = xStart + <usize>((p1 - p0) >> 1) * pairBytes;
  for (let f = f0; f < f1; f += 2) {
    const wRow = wpk + <usize>(f >> 1) * pairBytes;
    const wEnd = wRow + pairBytes;
    let c = cnt + <usize>f * rowBytes;
    let w = wRow;
    let a00: u64 = 0, a01: u64 = 0, a10: u64 = 0, a11: u64 = 0;
    for (let x = xStart; x < xStop; x += 16) {
      const w0 = load<u64>(w), w1 = load<u64>(w, 8);
      const x0 = load<u64>(x), x1 = load<u64>(x, 8);
      a00 += popcnt<u64>(w0 ^ x0);
      a01 += popcnt<u64>(w0 ^ x1);
      a10 += popcnt<u64>(w1 ^ x0);
      a11 += popcnt<u64>(w1 ^ x1);
      w += 16;
      if (w == wEnd) {
        store<T>(c, <T>a00);
        store<T>(c + sz, <T>a01);
        store<T>(c + rowBytes, <T>a10);
        store<T>(c + rowBytes + sz, <T>a11);
        a00 = 0;
        a01 = 0;
        a10 = 0;
        a11 = 0;
        w = wRow;
        c += sz << 1;
      }
    }
  }
}

/** out[f][p0 + i] = fround(fround((K - 2 cnt) * scale[f]) + bias[f]), activation; f in [f0, f1), i < n. */
export function binFinish(
  cnt: usize, cntStride: i32, f0: i32, f1: i32, p0: i32, n: i32, P: i32, K: i32, scale: usize, bias: usize, dst: usize,
  act: i32, tail: usize,
): void {
  const kv = i32x4.splat(K);
  const zero = f32x4.splat(0);
  const tenth = f32x4.splat(<f32>0.1);
  for (let f = f0; f < f1; f++) {
    const s = f32x4.splat(load<f32>(scale + (<usize>f << 2)));
    const b = f32x4.splat(load<f32>(bias + (<usize>f << 2)));
    const c = cnt + (<usize>(f * cntStride) << 2);
    const d = dst + (<usize>(f * P + p0) << 2);
    // whole vectors that end before the leaky tail: the activation inline, no per-vector checks
    let whole = n & ~3;
    if (d + (<usize>whole << 2) > tail) whole = tail > d ? <i32>((tail - d) >> 4) << 2 : 0;
    let i = 0;
    if (act == ACT_LEAKY) {
      for (; i < whole; i += 4) {
        const v = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(kv, i32x4.shl(v128.load(c + (<usize>i << 2)), 1))), s), b);
        v128.store(d + (<usize>i << 2), v128.bitselect(v, f32x4.mul(v, tenth), f32x4.gt(v, zero)));
      }
    }
    for (; i < n; i += 4) {
      const m = v128.load(c + (<usize>i << 2));
      const v = f32x4.convert_i32x4_s(i32x4.sub(kv, i32x4.shl(m, 1)));
      storeOut(d + (<usize>i << 2), f32x4.add(f32x4.mul(v, s), b), n - i, act, tail);
    }
  }
}

/**
 * Mismatch counts one filter at a time, its weight words in registers, streaming the block's pixel
 * pairs (the interleaved im2col words of pixels p and p + 1 are 8 bytes apart): the fastest shape
 * for V8 (about one popcnt per cycle, as with long rows in binGemm), as the loop body holds no
 * accumulators across iterations. Rows of 3, 5 or 9 words in one pass; of 18 in two passes of 9,
 * the second adding to the counts the first stored (longer rows: binGemm is faster than more passes).
 */
function binGemmRegs<T>(wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, Kw: i32, cnt: usize, cntStride: i32): void {
  const sz = <usize>sizeof<T>();
  const pairBytes = <usize>Kw << 4;
  const rowBytes = <usize>cntStride * sz;
  const xStart = X + <usize>(p0 >> 1) * pairBytes;
  const xSpan = <usize>((p1 - p0) >> 1) * pairBytes;
  for (let f = f0; f < f1; f++) {
    const w = wpk + <usize>(f >> 1) * pairBytes + (<usize>(f & 1) << 3);
    const c = cnt + <usize>f * rowBytes;
    if (Kw == 3) regs3<T>(w, xStart, xStart + xSpan, c);
    else if (Kw == 5) regs5<T>(w, xStart, xStart + xSpan, c);
    else {
      regs9<T>(w, xStart, xStart + xSpan, pairBytes, c, false);
      for (let k: usize = 144; k < pairBytes; k += 144) regs9<T>(w + k, xStart + k, xStart + k + xSpan, pairBytes, c, true);
    }
  }
}

@inline function regs3<T>(w: usize, x: usize, xStop: usize, c: usize): void {
  const sz = <usize>sizeof<T>();
  const w0 = load<u64>(w), w1 = load<u64>(w, 16), w2 = load<u64>(w, 32);
  for (; x < xStop; x += 48) {
    store<T>(c, <T>(popcnt<u64>(w0 ^ load<u64>(x)) + popcnt<u64>(w1 ^ load<u64>(x, 16)) + popcnt<u64>(w2 ^ load<u64>(x, 32))));
    store<T>(c + sz, <T>(popcnt<u64>(w0 ^ load<u64>(x, 8)) + popcnt<u64>(w1 ^ load<u64>(x, 24)) + popcnt<u64>(w2 ^ load<u64>(x, 40))));
    c += sz << 1;
  }
}

@inline function regs5<T>(w: usize, x: usize, xStop: usize, c: usize): void {
  const sz = <usize>sizeof<T>();
  const w0 = load<u64>(w), w1 = load<u64>(w, 16), w2 = load<u64>(w, 32), w3 = load<u64>(w, 48), w4 = load<u64>(w, 64);
  for (; x < xStop; x += 80) {
    store<T>(c, <T>(popcnt<u64>(w0 ^ load<u64>(x)) + popcnt<u64>(w1 ^ load<u64>(x, 16)) + popcnt<u64>(w2 ^ load<u64>(x, 32))
      + popcnt<u64>(w3 ^ load<u64>(x, 48)) + popcnt<u64>(w4 ^ load<u64>(x, 64))));
    store<T>(c + sz, <T>(popcnt<u64>(w0 ^ load<u64>(x, 8)) + popcnt<u64>(w1 ^ load<u64>(x, 24)) + popcnt<u64>(w2 ^ load<u64>(x, 40))
      + popcnt<u64>(w3 ^ load<u64>(x, 56)) + popcnt<u64>(w4 ^ load<u64>(x, 72))));
    c += sz << 1;
  }
}

/** Words 0..8 of each pixel pair's row at x (rows pairBytes apart); adds to the stored counts if `add`. */
function regs9<T>(w: usize, x: usize, xStop: usize, pairBytes: usize, c: usize, add: bool): void {
  const sz = <usize>sizeof<T>();
  const w0 = load<u64>(w), w1 = load<u64>(w, 16), w2 = load<u64>(w, 32), w3 = load<u64>(w, 48), w4 = load<u64>(w, 64);
  const w5 = load<u64>(w, 80), w6 = load<u64>(w, 96), w7 = load<u64>(w, 112), w8 = load<u64>(w, 128);
  for (; x < xStop; x += pairBytes) {
    let a = popcnt<u64>(w0 ^ load<u64>(x)) + popcnt<u64>(w1 ^ load<u64>(x, 16)) + popcnt<u64>(w2 ^ load<u64>(x, 32))
      + popcnt<u64>(w3 ^ load<u64>(x, 48)) + popcnt<u64>(w4 ^ load<u64>(x, 64)) + popcnt<u64>(w5 ^ load<u64>(x, 80))
      + popcnt<u64>(w6 ^ load<u64>(x, 96)) + popcnt<u64>(w7 ^ load<u64>(x, 112)) + popcnt<u64>(w8 ^ load<u64>(x, 128));
    let b = popcnt<u64>(w0 ^ load<u64>(x, 8)) + popcnt<u64>(w1 ^ load<u64>(x, 24)) + popcnt<u64>(w2 ^ load<u64>(x, 40))
      + popcnt<u64>(w3 ^ load<u64>(x, 56)) + popcnt<u64>(w4 ^ load<u64>(x, 72)) + popcnt<u64>(w5 ^ load<u64>(x, 88))
      + popcnt<u64>(w6 ^ load<u64>(x, 104)) + popcnt<u64>(w7 ^ load<u64>(x, 120)) + popcnt<u64>(w8 ^ load<u64>(x, 136));
    if (add) {
      a += <u64>load<T>(c);
      b += <u64>load<T>(c + sz);
    }
    store<T>(c, <T>a);
    store<T>(c + sz, <T>b);
    c += sz << 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Maxpool, darknet's rules: the window of output (y, x) starts at (y*stride + off, x*stride + off),
// off = trunc(-padding / 2); taps outside the input are skipped; the maximum starts at -FLT_MAX and
// takes a tap only when tap > max (NaN never wins; the first of equal values stays). The vector
// paths keep that exact order of comparisons per lane.

const NEG_FLT_MAX: f32 = -3.4028234663852886e38;

@inline function takeMax(m: f32, v: f32): f32 {
  return v > m ? v : m;
}

export function maxpool(
  src: usize, C: i32, H: i32, W: i32, dst: usize, outH: i32, outW: i32, size: i32, stride: i32, padding: i32,
): void {
  const off = -(padding / 2);
  const low = f32x4.splat(NEG_FLT_MAX);
  for (let c = 0; c < C; c++) {
    const plane = src + (<usize>(c * H * W) << 2);
    const oplane = dst + (<usize>(c * outH * outW) << 2);
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * stride + off;
      const orow = oplane + (<usize>(oy * outW) << 2);
      let ox = 0;
      // Vector path: 2x2 windows with stride 2 and all taps inside, 4 outputs per step.
      if (size == 2 && stride == 2 && y0 >= 0 && y0 + 1 < H) {
        const r0 = plane + (<usize>(y0 * W) << 2);
        const r1 = r0 + (<usize>W << 2);
        // first output whose window starts inside, last whose 4-output group stays inside
        while (ox < outW && ox * 2 + off < 0) {
          store<f32>(orow + (<usize>ox << 2), windowMax(plane, H, W, y0, ox * 2 + off, 2));
          ox++;
        }
        for (; ox + 4 <= outW && (ox + 3) * 2 + off + 1 < W; ox += 4) {
          const x = <usize>(ox * 2 + off) << 2;
          const a0 = v128.load(r0 + x), b0 = v128.load(r0 + x, 16);
          const a1 = v128.load(r1 + x), b1 = v128.load(r1 + x, 16);
          const e0 = v128.shuffle<f32>(a0, b0, 0, 2, 4, 6);
          const o0 = v128.shuffle<f32>(a0, b0, 1, 3, 5, 7);
          const e1 = v128.shuffle<f32>(a1, b1, 0, 2, 4, 6);
          const o1 = v128.shuffle<f32>(a1, b1, 1, 3, 5, 7);
          // pmax(m, t) = m < t ? t : m: exactly "take t when t > m" (NaN never wins, ties keep m)
          let m = f32x4.pmax(low, e0);
          m = f32x4.pmax(m, o0);
          m = f32x4.pmax(m, e1);
          m = f32x4.pmax(m, o1);
          v128.store(orow + (<usize>ox << 2), m);
        }
      } else if (size == 2 && stride == 1 && y0 >= 0 && y0 + 1 < H) {
        // 2x2 windows with stride 1 (the 13x13 maxpool of yolov3-tiny), taps x and x+1
        const r0 = plane + (<usize>(y0 * W) << 2);
        const r1 = r0 + (<usize>W << 2);
        while (ox < outW && ox + off < 0) {
          store<f32>(orow + (<usize>ox << 2), windowMax(plane, H, W, y0, ox + off, 2));
          ox++;
        }
        for (; ox + 4 <= outW && ox + 3 + off + 1 < W; ox += 4) {
          const x = <usize>(ox + off) << 2;
          let m = f32x4.pmax(low, v128.load(r0 + x));
          m = f32x4.pmax(m, v128.load(r0 + x, 4));
          m = f32x4.pmax(m, v128.load(r1 + x));
          m = f32x4.pmax(m, v128.load(r1 + x, 4));
          v128.store(orow + (<usize>ox << 2), m);
        }
      }
      for (; ox < outW; ox++) {
        store<f32>(orow + (<usize>ox << 2), windowMax(plane, H, W, y0, ox * stride + off, size));
      }
    }
  }
}

@inline function windowMax(plane: usize, H: i32, W: i32, y0: i32, x0: i32, size: i32): f32 {
  let m = NEG_FLT_MAX;
  for (let n = 0; n < size; n++) {
    const y = y0 + n;
    if (y < 0 || y >= H) continue;
    const row = plane + (<usize>(y * W) << 2);
    for (let k = 0; k < size; k++) {
      const x = x0 + k;
      if (x < 0 || x >= W) continue;
      m = takeMax(m, load<f32>(row + (<usize>x << 2)));
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// Yolo layer: logistic(x) = f(1 / f(1 + f(exp(-x)))) with exp = V8's Math.exp, which is
// FreeBSD/fdlibm's __ieee754_exp: ported below operation for operation in f64, so the results are
// bit-identical to the runner's TypeScript yolo().

const EXP_HUGE: f64 = 1.0e300;
const EXP_O_THRESHOLD: f64 = 7.09782712893383973096e2;
const EXP_U_THRESHOLD: f64 = -7.45133219101941108420e2;
const EXP_LN2_HI: f64 = 6.93147180369123816490e-1;
const EXP_LN2_LO: f64 = 1.90821492927058770002e-10;
const EXP_INV_LN2: f64 = 1.44269504088896338700;
const EXP_P1: f64 = 1.66666666666666019037e-1;
const EXP_P2: f64 = -2.77777777770155933842e-3;
const EXP_P3: f64 = 6.61375632143793436117e-5;
const EXP_P4: f64 = -1.65339022054652515390e-6;
const EXP_P5: f64 = 4.13813679705723846039e-8;
const EXP_E: f64 = 2.718281828459045;
const EXP_TWOM1000: f64 = 9.33263618503218878990e-302;
const EXP_TWO1023: f64 = 8.988465674311579539e307;
const EXP_ROUND: f64 = 6755399441055744.0; // 1.5 * 2^52

/** Exported for the tests, which compare it with Math.exp bit for bit. */
export function fdlibmExp(x: f64): f64 {
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  const bits = reinterpret<u64>(x);
  let hx = <u32>(bits >> 32);
  const xsb = <i32>(hx >> 31);
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | <u32>bits) != 0) return x + x; // NaN
      return xsb == 0 ? x : 0.0; // exp(+-inf) = inf, 0
    }
    if (x > EXP_O_THRESHOLD) return EXP_HUGE * EXP_HUGE;
    if (x < EXP_U_THRESHOLD) return EXP_TWOM1000 * EXP_TWOM1000;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      if (x == 1.0) return EXP_E;
      hi = xsb ? x + EXP_LN2_HI : x - EXP_LN2_HI;
      lo = xsb ? -EXP_LN2_LO : EXP_LN2_LO;
      k = 1 - xsb - xsb;
    } else {
      k = <i32>(EXP_INV_LN2 * x + (xsb ? -0.5 : 0.5));
      const t = <f64>k;
      hi = x - t * EXP_LN2_HI;
      lo = t * EXP_LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (EXP_HUGE + x > 1.0) return 1.0 + x;
  } else {
    k = 0;
  }
  const t = x * x;
  const twopk = k >= -1021 ? reinterpret<f64>(<u64>(0x3ff + k) << 52) : reinterpret<f64>(<u64>(0x3ff + k + 1000) << 52);
  const c = x - t * (EXP_P1 + t * (EXP_P2 + t * (EXP_P3 + t * (EXP_P4 + t * EXP_P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * EXP_TWO1023;
    return y * twopk;
  }
  return y * twopk * EXP_TWOM1000;
}

@inline function logistic(x: f32): f32 {
  const e = <f32>fdlibmExp(-<f64>x);
  const s = <f32>(1.0 + <f64>e);
  return <f32>(1.0 / <f64>s);
}

/**
 * f(exp(-x)) of the two floats x in lanes 0 and 1 of v (as f64x2), the same operations as
 * fdlibmExp for the common arguments, falling back to the scalar port when a lane needs one
 * of exp's rare branches (|x| >= 704, |x| < 2^-28, x == 1, inf, NaN). Result in lanes 0 and 1.
 */
@inline function expNeg2(v: v128): v128 {
  const x = f64x2.neg(f64x2.promote_low_f32x4(v));
  const hx = v128.and(i64x2.shr_u(x, 32), i64x2.splat(0x7fffffff));
  const rare = v128.or(
    v128.or(i64x2.ge_s(hx, i64x2.splat(0x40860000)), i64x2.lt_s(hx, i64x2.splat(0x3e300000))),
    f64x2.eq(x, f64x2.splat(1.0)),
  );
  if (v128.any_true(rare)) {
    return f32x4.replace_lane(
      f32x4.splat(<f32>fdlibmExp(-<f64>f32x4.extract_lane(v, 0))), 1, <f32>fdlibmExp(-<f64>f32x4.extract_lane(v, 1)),
    );
  }
  // (these lanes are neither zero nor NaN, so "x < 0" is the sign; V8 has no one-instruction i64x2.shr_s)
  const neg = f64x2.lt(x, f64x2.splat(0)); // all ones for negative arguments
  const caseA = v128.and(i64x2.gt_s(hx, i64x2.splat(0x3fd62e42)), i64x2.lt_s(hx, i64x2.splat(0x3ff0a2b2)));
  const caseB = i64x2.ge_s(hx, i64x2.splat(0x3ff0a2b2));
  const half = v128.bitselect(f64x2.splat(-0.5), f64x2.splat(0.5), neg);
  // k as a double: case B truncates x/ln2 +- 1/2, case A is +-1, otherwise 0 (fdlibm's (double)k)
  const kB = f64x2.trunc(f64x2.add(f64x2.mul(x, f64x2.splat(EXP_INV_LN2)), half));
  const kA = v128.bitselect(f64x2.splat(-1.0), f64x2.splat(1.0), neg);
  const t = v128.bitselect(kA, v128.and(kB, caseB), caseA);
  // the integer k: |t| < 2^51, so adding 1.5 * 2^52 leaves it in the low mantissa bits
  const k = i64x2.sub(f64x2.add(t, f64x2.splat(EXP_ROUND)), f64x2.splat(EXP_ROUND));
  const hi = f64x2.sub(x, f64x2.mul(t, f64x2.splat(EXP_LN2_HI)));
  const lo = f64x2.mul(t, f64x2.splat(EXP_LN2_LO));
  const xr = f64x2.sub(hi, lo);
  const tt = f64x2.mul(xr, xr);
  let poly = f64x2.add(f64x2.splat(EXP_P4), f64x2.mul(tt, f64x2.splat(EXP_P5)));
  poly = f64x2.add(f64x2.splat(EXP_P3), f64x2.mul(tt, poly));
  poly = f64x2.add(f64x2.splat(EXP_P2), f64x2.mul(tt, poly));
  poly = f64x2.add(f64x2.splat(EXP_P1), f64x2.mul(tt, poly));
  const c = f64x2.sub(xr, f64x2.mul(tt, poly));
  const q = f64x2.div(f64x2.mul(xr, c), f64x2.sub(c, f64x2.splat(2.0))); // (x*c)/(2-c) is exactly -q
  const one = f64x2.splat(1.0);
  const r0 = f64x2.sub(one, f64x2.sub(q, xr));
  const y = f64x2.sub(one, f64x2.sub(f64x2.add(lo, q), hi));
  const twopk = i64x2.shl(i64x2.add(k, i64x2.splat(0x3ff)), 52);
  const e = v128.bitselect(r0, f64x2.mul(y, twopk), i64x2.eq(k, i64x2.splat(0)));
  return f32x4.demote_f64x2_zero(e);
}

/** logistic over [p, end), 4 floats per step (2 x f64x2), scalar tail. */
@inline function logisticRange(p: usize, end: usize, scaled: bool, alpha: f32, beta: f32): void {
  const av = f32x4.splat(alpha), bv = f32x4.splat(beta);
  for (; p + 16 <= end; p += 16) {
    const v = v128.load(p);
    const lo = expNeg2(v);
    const hi = expNeg2(i32x4.shuffle(v, v, 2, 3, 2, 3));
    // f(1 / f(1 + e)) in f32: binary32 + and / give the double-then-float results exactly
    // (rounding twice through binary64 is innocuous for them: 53 >= 2 * 24 + 2)
    const one = f32x4.splat(1);
    let r = f32x4.div(one, f32x4.add(one, i32x4.shuffle(lo, hi, 0, 1, 4, 5)));
    if (scaled) r = f32x4.add(f32x4.mul(r, av), bv);
    v128.store(p, r);
  }
  for (; p < end; p += 4) {
    const l = logistic(load<f32>(p));
    store<f32>(p, scaled ? l * alpha + beta : l);
  }
}

/**
 * forward_yolo_layer at inference, as src/engine/runtime/layers.ts: every value copied, then per
 * anchor tx, ty -> f(f(logistic * alpha) + beta), objectness and classes -> logistic; with
 * rawClasses != 0 the class scores stay as they are (the runner's lazy yolo).
 */
export function yolo(src: usize, dst: usize, C: i32, HW: i32, per: i32, anchors: i32, alpha: f32, beta: f32, rawClasses: i32): void {
  const planeBytes = <usize>HW << 2;
  if (dst != src) memory.copy(dst, src, <usize>C * planeBytes);
  for (let n = 0; n < anchors; n++) {
    const base = dst + <usize>(n * per) * planeBytes;
    logisticRange(base, base + 2 * planeBytes, true, alpha, beta);
    logisticRange(base + 4 * planeBytes, base + <usize>(rawClasses ? 5 : per) * planeBytes, false, alpha, beta);
  }
}

/** darknet upsample (nearest, times `scale`), as src/engine/runtime/layers.ts. */
export function upsample(src: usize, dst: usize, C: i32, H: i32, W: i32, stride: i32, scale: f32): void {
  const ow = W * stride;
  let d = dst;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H * stride; y++) {
      const row = src + (<usize>((c * H + y / stride) * W) << 2);
      if (scale == 1) {
        for (let x = 0; x < W; x++) {
          const v = load<f32>(row + (<usize>x << 2));
          for (let s = 0; s < stride; s++) {
            store<f32>(d, v);
            d += 4;
          }
        }
      } else {
        for (let x = 0; x < ow; x++) {
          store<f32>(d, scale * load<f32>(row + (<usize>(x / stride) << 2)));
          d += 4;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 'fast' precision float convolution (opt-in, src/engine/kernels/precision.ts; never bit-identical):
// int16 activations (one scale per tensor and frame) times int16 weights (one scale per filter),
// summed exactly in int32 with i32x4.dot_i16x8_s (8 multiply-adds per instruction, about twice the
// f32 mul + add rate). The loader picks the two int16 ranges so that no int32 sum can overflow.
// Integer sums do not depend on their order, so k runs as (channel pair, ky, kx): the source is
// laid out as int16 pairs of channels (2cp, 2cp + 1), one int32 per pixel, in rows [kp][Ppad].

/** max |x| over n floats, NaN if any is NaN (callers tell a finite maximum from a tensor with NaN or inf). */
export function maxAbs(src: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  let nan = i32x4.splat(0);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const p = src + (<usize>i << 2);
    const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
    // pmax never takes a NaN (one instruction, unlike f32x4.max), so NaNs are noted separately
    m = f32x4.pmax(f32x4.pmax(m, f32x4.abs(v0)), f32x4.pmax(f32x4.abs(v1), f32x4.pmax(f32x4.abs(v2), f32x4.abs(v3))));
    nan = v128.or(nan, v128.or(v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)), v128.or(f32x4.ne(v2, v2), f32x4.ne(v3, v3))));
  }
  let r = max<f32>(max<f32>(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max<f32>(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; i < n; i++) r = max<f32>(r, abs<f32>(load<f32>(src + (<usize>i << 2))));
  return v128.any_true(nan) ? NaN : r;
}

@inline function quant4(p: usize, iv: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), iv)));
}

@inline function quant1(p: usize, inv: f32): i32 {
  return <i32>nearest<f32>(load<f32>(p) * inv); // |x * inv| <= 32767 by the loader's choice of inv (NaN: 0)
}

/** 1.5 * 2^23: v + QUANT_MAGIC rounds v (|v| < 2^22) to an integer, ties to even, held in the low mantissa bits. */
const QUANT_MAGIC: f32 = 12582912.0;
const QUANT_MAGIC_BITS: i32 = 0x4b400000;

/**
 * quant4 for |x * inv| < 2^22 (finite): round(x * inv) by the magic-number add, the same integer as
 * f32x4.nearest, in two instructions instead of V8's ~8 for nearest + trunc_sat.
 */
@inline function quantMagic4(p: usize, iv: v128): v128 {
  const m = f32x4.splat(QUANT_MAGIC);
  return i32x4.sub(f32x4.add(f32x4.mul(v128.load(p), iv), m), i32x4.splat(QUANT_MAGIC_BITS));
}

/**
 * CHW floats -> int16 channel pairs: pixel (y, x) of pair cp at dst + (cp*planeInts + (y+pad)*Wp +
 * x + pad)*4 holds (q(x[2cp]), q(x[2cp + 1])), q = round-to-nearest(x * inv); an odd last channel
 * pairs with 0. The border of each plane is never written (stays 0). inv is 0 (every q = 0) or
 * qA / max|x| with qA <= 32767, as Int16Scales.frame gives it: every |x * inv| <= 32767.
 */
export function quantPairs(src: usize, C: i32, H: i32, W: i32, pad: i32, dst: usize, Wp: i32, planeInts: i32, inv: f32): void {
  if (inv != 0) quantPairsIn<QuantMagic>(src, C, H, W, pad, dst, Wp, planeInts, inv);
  else quantPairsIn<QuantSat>(src, C, H, W, pad, dst, Wp, planeInts, inv);
}

// quantPairsIn's vector rounding: QuantMagic for finite |x * inv| < 2^22, QuantSat for any x (NaN: 0).
class QuantMagic {}
class QuantSat {}

@inline function quantPairsIn<Q>(src: usize, C: i32, H: i32, W: i32, pad: i32, dst: usize, Wp: i32, planeInts: i32, inv: f32): void {
  const iv = f32x4.splat(inv);
  const planeBytes = <usize>(H * W) << 2;
  const pairs = (C + 1) >> 1;
  for (let cp = 0; cp < pairs; cp++) {
    const s0 = src + <usize>(2 * cp) * planeBytes;
    const has1 = 2 * cp + 1 < C;
    for (let y = 0; y < H; y++) {
      const r0 = s0 + (<usize>(y * W) << 2);
      const r1 = r0 + planeBytes;
      const d = dst + (<usize>(cp * planeInts + (y + pad) * Wp + pad) << 2);
      let x = 0;
      for (; x + 4 <= W; x += 4) {
        let a: v128, b: v128;
        if (idof<Q>() == idof<QuantMagic>()) {
          a = quantMagic4(r0 + (<usize>x << 2), iv);
          b = has1 ? quantMagic4(r1 + (<usize>x << 2), iv) : i32x4.splat(0);
        } else {
          a = quant4(r0 + (<usize>x << 2), iv);
          b = has1 ? quant4(r1 + (<usize>x << 2), iv) : i32x4.splat(0);
        }
        const n = i16x8.narrow_i32x4_s(a, b);
        v128.store(d + (<usize>x << 2), i8x16.shuffle(n, n, 0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15));
      }
      for (; x < W; x++) {
        const a = quant1(r0 + (<usize>x << 2), inv);
        const b = has1 ? quant1(r1 + (<usize>x << 2), inv) : 0;
        store<i32>(d + (<usize>x << 2), (a & 0xffff) | (b << 16));
      }
    }
  }
}

/**
 * im2col of a padded pair image [cp][Hp][Wp] (an int32 per pixel) into tile-major rows: the 8
 * pixels of tile t at kp = (cp, ky, kx) at dst + ((t * KP + kp) * 8) * 4, so a GEMM tile reads
 * one contiguous run. Pixels past outH*outW in the last tile are zero.
 */
export function im2colPairs(
  src: usize, pairs: i32, Hp: i32, Wp: i32, size: i32, stride: i32, outH: i32, outW: i32, dst: usize,
): void {
  const KP = pairs * size * size;
  const P = outH * outW;
  const tileBytes = <usize>KP << 5;
  const planeBytes = <usize>(Hp * Wp) << 2;
  for (let p = 0; p < P; p++) {
    const oy = p / outW;
    const ox = p - oy * outW;
    let d = dst + <usize>(p >> 3) * tileBytes + (<usize>(p & 7) << 2);
    const at = src + (<usize>(oy * stride * Wp + ox * stride) << 2);
    for (let cp = 0; cp < pairs; cp++) {
      const plane = at + <usize>cp * planeBytes;
      for (let ky = 0; ky < size; ky++) {
        const row = plane + (<usize>(ky * Wp) << 2);
        for (let kx = 0; kx < size; kx++) {
          store<i32>(d, load<i32>(row + (<usize>kx << 2)));
          d += 32;
        }
      }
    }
  }
}

/**
 * The int16 GEMM, laid out as floatGemm: source taps at src + r*srcRowStride + x*4 + koff[kp]
 * (int32 offsets, one per channel pair and tap), weights [block][kp][4 filters] of int16 pairs;
 * output rows [r0, r1) of rowLen pixels, filter blocks [b0, b1) of 4; out = act(f32(sum) *
 * scale[f] + bias[f]).
 */
export function fastGemm(
  src: usize, koff: usize, KP: i32, wpk: usize, scale: usize, bias: usize, nF: i32,
  dst: usize, plane: i32, rowLen: i32, srcRowStride: usize, act: i32, tail: usize, r0: i32, r1: i32, b0: i32, b1: i32,
): void {
  fastGemmT(src, koff, KP, wpk, scale, bias, nF, dst, plane, rowLen, srcRowStride, 32, act, tail, r0, r1, b0, b1);
}

/** fastGemm with 8-pixel tiles tileStride bytes apart (32: pixels in row order; KP*32: tile-major im2col). */
export function fastGemmT(
  src: usize, koff: usize, KP: i32, wpk: usize, scale: usize, bias: usize, nF: i32,
  dst: usize, plane: i32, rowLen: i32, srcRowStride: usize, tileStride: usize, act: i32, tail: usize, r0: i32, r1: i32, b0: i32, b1: i32,
): void {
  fastGemmTPre(src, koff, KP, wpk, scale, bias, nF, dst, plane, rowLen, srcRowStride, tileStride, act, tail, r0, r1, b0, b1, 0, 0);
}

/**
 * fastGemmT that, when preEnd is not 0, touches [pre, preEnd) spread evenly over its tiles instead
 * of each next filter block's weights (an empty range touches nothing): the int16 3x3 weights that
 * Winograd's next filter chunk transforms (winoWeights), read while this chunk's GEMMs run instead
 * of in a burst of misses after them (winoWeights on layer 14: ~0.34 -> ~0.15 ms a frame).
 */
export function fastGemmTPre(
  src: usize, koff: usize, KP: i32, wpk: usize, scale: usize, bias: usize, nF: i32,
  dst: usize, plane: i32, rowLen: i32, srcRowStride: usize, tileStride: usize, act: i32, tail: usize, r0: i32, r1: i32, b0: i32, b1: i32,
  pre: usize, preEnd: usize,
): void {
  if (rowLen <= 0) return;
  const planeBytes = <usize>plane << 2;
  const bEnd = min(b1, (nF + 3) >> 2);
  const kEnd = koff + (<usize>KP << 2);
  // bytes of the next block's weights to touch before each tile (whole cache lines)
  const tiles = <usize>((rowLen + 7) >> 3);
  const touchShare = ((((<usize>KP << 4) + tiles - 1) / tiles + 63) >> 6) << 6;
  const kStride = linearStride(koff, KP);
  // bytes of [pre, preEnd) per row and block, and per tile of those (whole cache lines)
  const calls = <usize>max(1, (r1 - r0) * (min(b1, (nF + 3) >> 2) - b0));
  const preShare = ((((preEnd - pre) + calls - 1) / calls + 63) >> 6) << 6;
  const preTile = (((preShare + tiles - 1) / tiles + 63) >> 6) << 6;
  for (let r = r0; r < r1; r++) {
    const sRow = src + <usize>r * srcRowStride;
    const dRow = dst + (<usize>(r * rowLen) << 2);
    for (let b = b0; b < bEnd; b++) {
      const f0 = b << 2;
      const nvf = min(4, nF - f0);
      const wp = wpk + <usize>b * (<usize>KP << 4);
      const d0 = dRow + <usize>f0 * planeBytes;
      // the next block's weights, a share of them before each tile (never past its end)
      let nextEnd = wp + (<usize>KP << 5);
      let next = b + 1 < bEnd ? wp + (<usize>KP << 4) : nextEnd;
      let share = touchShare;
      if (preEnd) {
        next = min(preEnd, pre);
        nextEnd = min(preEnd, pre + preShare);
        pre = nextEnd;
        share = preTile;
      }
      if (kStride) {
        fastRowS(sRow, tileStride, koff, kEnd, kStride, wp, d0, planeBytes, rowLen, nvf,
          scale + (<usize>f0 << 2), bias + (<usize>f0 << 2), act, tail, next, nextEnd, share);
      } else {
        fastRow(sRow, tileStride, koff, kEnd, wp, d0, planeBytes, rowLen, nvf, scale + (<usize>f0 << 2), bias + (<usize>f0 << 2), act, tail,
          next, nextEnd, share);
      }
    }
  }
}

/**
 * koff[kp] - koff[kp - 1] when that is one positive constant over the KP taps (channel pairs of a
 * 1x1 conv or of Winograd's V), else 0.
 */
function linearStride(koff: usize, KP: i32): usize {
  if (KP < 2) return 0;
  const k0 = load<i32>(koff);
  const step = load<i32>(koff, 4) - k0;
  if (step <= 0) return 0;
  for (let i = 2; i < KP; i++) if (load<i32>(koff + (<usize>i << 2)) != k0 + i * step) return 0;
  return <usize>step;
}

/**
 * One filter block's row of rowLen pixels: 8-pixel tiles inline (a call per tile cost ~5% on
 * yolov3-tiny's 1x1 head layers), the last 1..7 pixels through fastTile. Before each tile, the
 * next share of [next, nextEnd) is touched (see touchLines). With taps kStride bytes apart (koff
 * linear, fastRowS) the 8-pixel tiles step a pointer instead of reading the tap table: two scalar
 * instructions fewer per k step, which are what that loop is short of (V8's x64 code issues ~35
 * instructions a step; 6 a cycle at most). `strided` is a constant at both call sites, so the
 * inlined copies keep only their own branch.
 */
@inline function fastRowOf(
  strided: bool, sRow: usize, tileStride: usize, koff: usize, kEnd: usize, kStride: usize, wp: usize, d0: usize, planeBytes: usize,
  rowLen: i32, nvf: i32, sp: usize, bp: usize, act: i32, tail: usize, next: usize, nextEnd: usize, touchShare: usize,
): void {
  const s0 = strided ? sRow + <usize>load<i32>(koff) : sRow;
  let x = 0;
  for (; x + 8 <= rowLen; x += 8) {
    if (next < nextEnd) {
      const n = min(touchShare, nextEnd - next);
      touchSink ^= touchLines(next, n);
      next += n;
    }
    fastTile8(strided, s0 + <usize>(x >> 3) * tileStride, koff, kEnd, kStride, wp, d0 + (<usize>x << 2), planeBytes, 8, nvf, sp, bp, act, tail);
  }
  if (x < rowLen) {
    if (next < nextEnd) touchSink ^= touchLines(next, nextEnd - next);
    fastTile(sRow + <usize>(x >> 3) * tileStride, koff, kEnd, wp, d0 + (<usize>x << 2), planeBytes, rowLen - x, nvf, sp, bp, act, tail);
  }
}

/** fastRowOf with taps kStride bytes apart. Exported to stay a separate function. */
export function fastRowS(
  sRow: usize, tileStride: usize, koff: usize, kEnd: usize, kStride: usize, wp: usize, d0: usize, planeBytes: usize, rowLen: i32, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize, next: usize, nextEnd: usize, touchShare: usize,
): void {
  fastRowOf(true, sRow, tileStride, koff, kEnd, kStride, wp, d0, planeBytes, rowLen, nvf, sp, bp, act, tail, next, nextEnd, touchShare);
}

/** fastRowOf with the taps of the table [koff, kEnd). Exported to stay a separate function. */
export function fastRow(
  sRow: usize, tileStride: usize, koff: usize, kEnd: usize, wp: usize, d0: usize, planeBytes: usize, rowLen: i32, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize, next: usize, nextEnd: usize, touchShare: usize,
): void {
  fastRowOf(false, sRow, tileStride, koff, kEnd, 0, wp, d0, planeBytes, rowLen, nvf, sp, bp, act, tail, next, nextEnd, touchShare);
}

/**
 * Reads one word of every cache line in [p, p + bytes). fastGemmT touches the next block's
 * weights a share before each tile of this block: weights too large for L2 (Winograd's U, 4 MiB
 * on a 256 -> 512 layer, streamed from L3) otherwise arrive in a burst at the first tile's pace,
 * one latency-bound miss after another; an even stream of touches keeps the hardware prefetcher
 * ahead (layer 14 of yolov3-tiny @416: ~10% faster in the network). The words go to a global
 * nobody reads (a load whose value is unused would be optimised away).
 */
let touchSink: i32 = 0;
function touchLines(p: usize, bytes: usize): i32 {
  let a: i32 = 0;
  const end = p + bytes;
  for (; p < end; p += 64) a ^= load<i32>(p);
  return a;
}

@inline function storeRaw(d: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(d, v);
    return;
  }
  if (n > 0) v128.store32_lane(d, v, 0);
  if (n > 1) v128.store32_lane(d + 4, v, 1);
  if (n > 2) v128.store32_lane(d + 8, v, 2);
}

@inline function fastOut(a: v128, sp: usize, bp: usize): v128 {
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), v128.load32_splat(sp)), v128.load32_splat(bp));
}

/**
 * One int16 tile of 4 filters x n (<= 8) pixels (exported to stay a separate function; see
 * floatTile): 8 pixels as two vectors, 3 or 4 as one, 1 or 2 with the filters as the vector
 * (padding a short last tile to 8 would waste up to 7/8 of its dot products).
 */
export function fastTile(
  s: usize, kBegin: usize, kEnd: usize, wp: usize, d: usize, planeBytes: usize, n: i32, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize,
): void {
  if (n > 4) fastTile8(false, s, kBegin, kEnd, 0, wp, d, planeBytes, n, nvf, sp, bp, act, tail);
  else if (n > 2) fastTile4(s, kBegin, kEnd, wp, d, planeBytes, n, nvf, sp, bp, act, tail);
  else if (n == 2) fastTileCols(s, kBegin, kEnd, wp, d, planeBytes, true, nvf, sp, bp, act, tail);
  else fastTileCols(s, kBegin, kEnd, wp, d, planeBytes, false, nvf, sp, bp, act, tail);
}

/** a + the int16 pair dot products of x and w, in int32. */
@inline function dotAdd(a: v128, x: v128, w: v128): v128 {
  return i32x4.add(a, i32x4.dot_i16x8_s(x, w));
}

// The int16 tiles are bound by the dot products: one i32x4.dot_i16x8_s and one i32x4.add per 4
// pair products, on x64's three vector ports (~0.67 cycles each; the 4 x 8 tile runs at ~0.74
// with its loop overhead). V8 issues a round's loads before its arithmetic, so every loaded vector
// and every accumulator needs a register at once: 4 x 8 (8 accumulators, 6 loads) is the largest
// tile that fits 15 registers; 5 x 8 or a k loop unrolled twice spill and run slower.

/**
 * 4 filters x 8 pixels (two pixel vectors, weights broadcast): 8 accumulators. The taps are the
 * table [kBegin, kEnd) of offsets from s, or (strided, a constant at every call site) kStride
 * bytes apart from s, as many as the table has.
 */
@inline function fastTile8(
  strided: bool, s: usize, kBegin: usize, kEnd: usize, kStride: usize, wp: usize, d: usize, planeBytes: usize, n: i32, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize,
): void {
  let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
  let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
  const wEnd = wp + ((kEnd - kBegin) << 2);
  let kp = kBegin;
  for (; wp < wEnd; wp += 16) {
    let p = s;
    if (strided) s += kStride;
    else {
      p = s + <usize>load<i32>(kp);
      kp += 4;
    }
    const x0 = v128.load(p), x1 = v128.load(p, 16);
    let w = v128.load32_splat(wp);
    a00 = dotAdd(a00, x0, w);
    a01 = dotAdd(a01, x1, w);
    w = v128.load32_splat(wp, 4);
    a10 = dotAdd(a10, x0, w);
    a11 = dotAdd(a11, x1, w);
    w = v128.load32_splat(wp, 8);
    a20 = dotAdd(a20, x0, w);
    a21 = dotAdd(a21, x1, w);
    w = v128.load32_splat(wp, 12);
    a30 = dotAdd(a30, x0, w);
    a31 = dotAdd(a31, x1, w);
  }
  if (act < 0) tileRows<TileRaw>(d, planeBytes, nvf, a00, a01, a10, a11, a20, a21, a30, a31, n, sp, bp, act, tail);
  else tileRows<TileScaled>(d, planeBytes, nvf, a00, a01, a10, a11, a20, a21, a30, a31, n, sp, bp, act, tail);
}

/** 4 filters x 3..4 pixels (one pixel vector): 4 accumulators. */
@inline function fastTile4(
  s: usize, kBegin: usize, kEnd: usize, wp: usize, d: usize, planeBytes: usize, n: i32, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize,
): void {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  for (let kp = kBegin; kp < kEnd; kp += 4) {
    const x = v128.load(s + <usize>load<i32>(kp));
    a0 = dotAdd(a0, x, v128.load32_splat(wp));
    a1 = dotAdd(a1, x, v128.load32_splat(wp, 4));
    a2 = dotAdd(a2, x, v128.load32_splat(wp, 8));
    a3 = dotAdd(a3, x, v128.load32_splat(wp, 12));
    wp += 16;
  }
  // n <= 4: tileRow stores nothing of the second vector
  if (act < 0) tileRows<TileRaw>(d, planeBytes, nvf, a0, a0, a1, a1, a2, a2, a3, a3, n, sp, bp, act, tail);
  else tileRows<TileScaled>(d, planeBytes, nvf, a0, a0, a1, a1, a2, a2, a3, a3, n, sp, bp, act, tail);
}

/**
 * 4 filters x 1 or 2 pixels with the 4 filters' weights as the vector (the [kp][4 filters] pairs
 * are one load) and each pixel's pair broadcast: two accumulators per pixel (even and odd k).
 */
@inline function fastTileCols(
  s: usize, kBegin: usize, kEnd: usize, wp: usize, d: usize, planeBytes: usize, two: bool, nvf: i32,
  sp: usize, bp: usize, act: i32, tail: usize,
): void {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), b0 = i32x4.splat(0), b1 = i32x4.splat(0);
  let kp = kBegin;
  for (; kp + 4 < kEnd; kp += 8) {
    const p = s + <usize>load<i32>(kp);
    const q = s + <usize>load<i32>(kp, 4);
    const w = v128.load(wp), v = v128.load(wp, 16);
    a0 = dotAdd(a0, v128.load32_splat(p), w);
    a1 = dotAdd(a1, v128.load32_splat(q), v);
    if (two) {
      b0 = dotAdd(b0, v128.load32_splat(p, 4), w);
      b1 = dotAdd(b1, v128.load32_splat(q, 4), v);
    }
    wp += 32;
  }
  if (kp < kEnd) {
    const p = s + <usize>load<i32>(kp);
    const w = v128.load(wp);
    a0 = dotAdd(a0, v128.load32_splat(p), w);
    if (two) b0 = dotAdd(b0, v128.load32_splat(p, 4), w);
  }
  colStore(d, planeBytes, i32x4.add(a0, a1), nvf, sp, bp, act, tail);
  if (two) colStore(d + 4, planeBytes, i32x4.add(b0, b1), nvf, sp, bp, act, tail);
}

/** Stores one pixel's sums of the filters in a's lanes (the first nvf), planeBytes apart: raw (act < 0) or act(f32(a) * scale + bias). */
@inline function colStore(d: usize, planeBytes: usize, a: v128, nvf: i32, sp: usize, bp: usize, act: i32, tail: usize): void {
  if (act < 0) {
    v128.store32_lane(d, a, 0);
    if (nvf > 1) v128.store32_lane(d + planeBytes, a, 1);
    if (nvf > 2) v128.store32_lane(d + 2 * planeBytes, a, 2);
    if (nvf > 3) v128.store32_lane(d + 3 * planeBytes, a, 3);
    return;
  }
  // lanes past nvf read the scales and biases of the next filters (or heap slack): never stored
  const y = f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(a), v128.load(sp)), v128.load(bp));
  store<f32>(d, actScalar(f32x4.extract_lane(y, 0), d, tail, act));
  if (nvf > 1) store<f32>(d + planeBytes, actScalar(f32x4.extract_lane(y, 1), d + planeBytes, tail, act));
  if (nvf > 2) store<f32>(d + 2 * planeBytes, actScalar(f32x4.extract_lane(y, 2), d + 2 * planeBytes, tail, act));
  if (nvf > 3) store<f32>(d + 3 * planeBytes, actScalar(f32x4.extract_lane(y, 3), d + 3 * planeBytes, tail, act));
}

// ---------------------------------------------------------------------------------------------
// Bit links (KernelBackend.linkBinaryInput): a conv whose output (maybe max-pooled) is read by one
// binary conv alone writes that consumer's packed input bits, bit = value > 0, so no float tensor
// is written in between. bit(maxpool(x)) = OR of bit(x) over the window's in-bounds taps (the
// maximum is > 0 exactly when some tap is; NaN taps are neither), so pooling runs on bits.

/**
 * Stores bit bytes of n (<= 16) consecutive pixels, s bytes apart: the whole vector when n = 16 and
 * s = 1, else byte by byte (no scratch: threads share the memory).
 */
@inline function storePixelBytes(d: usize, v: v128, n: i32, s: usize): void {
  if (n < 16) storeBytesTail(d, v, n, s);
  else if (s == 1) v128.store(d, v);
  else storeBytes16(d, v, s);
}

/** The first n (< 16) bytes of v at d, d + s, ...: once per band and filter group, so a loop. */
function storeBytesTail(d: usize, v: v128, n: i32, s: usize): void {
  let lo = i64x2.extract_lane(v, 0);
  let hi = i64x2.extract_lane(v, 1);
  for (let k = 0; k < n; k++) {
    store<u8>(d, <u8>lo);
    lo = (lo >>> 8) | (hi << 56);
    hi >>>= 8;
    d += s;
  }
}

/**
 * Sign bits of a binary conv's outputs from the mismatch counts: output (f, p) > 0 exactly when
 * lo[f] <= cnt < hi[f] (the loader derives the interval from the float formula, once per filter;
 * lo = 0 (null) when every lo[f] is 0).
 * Filters [f0, f1) (f0 a multiple of 8), pixels p0 .. p0 + n; bits at dst + p*Cb + (f >> 3).
 */
export function binBits(cnt: usize, cntStride: i32, f0: i32, f1: i32, p0: i32, n: i32, lo: usize, hi: usize, dst: usize, Cb: i32): void {
  const cbStride = <usize>Cb;
  for (let f = f0; f < f1; f += 8) {
    const nc = min(8, f1 - f);
    const d0 = dst + <usize>p0 * cbStride + <usize>(f >> 3);
    for (let i = 0; i < n; i += 16) {
      let acc = i8x16.splat(0);
      for (let j = 0; j < nc; j++) {
        const c = cnt + (<usize>((f + j) * cntStride + i) << 2);
        const bit: i32 = 1 << j;
        const h = i32x4.splat(load<i32>(hi + (<usize>(f + j) << 2)));
        const c0 = v128.load(c), c1 = v128.load(c, 16), c2 = v128.load(c, 32), c3 = v128.load(c, 48);
        let m01 = i16x8.narrow_i32x4_s(i32x4.gt_s(h, c0), i32x4.gt_s(h, c1));
        let m23 = i16x8.narrow_i32x4_s(i32x4.gt_s(h, c2), i32x4.gt_s(h, c3));
        if (lo) {
          // lo = 0 for every filter (lo == null) is the common case: counts are never negative
          const l = i32x4.splat(load<i32>(lo + (<usize>(f + j) << 2)) - 1);
          m01 = v128.and(m01, i16x8.narrow_i32x4_s(i32x4.gt_s(c0, l), i32x4.gt_s(c1, l)));
          m23 = v128.and(m23, i16x8.narrow_i32x4_s(i32x4.gt_s(c2, l), i32x4.gt_s(c3, l)));
        }
        acc = v128.or(acc, v128.and(i8x16.narrow_i16x8_s(m01, m23), i8x16.splat(<i8>bit)));
      }
      storePixelBytes(d0 + <usize>i * cbStride, acc, n - i, cbStride);
    }
  }
}

@inline function storeBytes16(d: usize, acc: v128, s: usize): void {
  v128.store8_lane(d, acc, 0);
  v128.store8_lane(d + s, acc, 1);
  v128.store8_lane(d + 2 * s, acc, 2);
  v128.store8_lane(d + 3 * s, acc, 3);
  v128.store8_lane(d + 4 * s, acc, 4);
  v128.store8_lane(d + 5 * s, acc, 5);
  v128.store8_lane(d + 6 * s, acc, 6);
  v128.store8_lane(d + 7 * s, acc, 7);
  v128.store8_lane(d + 8 * s, acc, 8);
  v128.store8_lane(d + 9 * s, acc, 9);
  v128.store8_lane(d + 10 * s, acc, 10);
  v128.store8_lane(d + 11 * s, acc, 11);
  v128.store8_lane(d + 12 * s, acc, 12);
  v128.store8_lane(d + 13 * s, acc, 13);
  v128.store8_lane(d + 14 * s, acc, 14);
  v128.store8_lane(d + 15 * s, acc, 15);
}

/** binConvBits keeps counts as i16 (binBits16) for rows of up to this many words: no count exceeds 64 * 511. */
const I16_MAX_KW: i32 = 511;

/**
 * binConv with bit output: GEMM blocks as binConv, then binBits16 (or binBits) into the [P][Cb] bit
 * image. (Layers with large im2col matrices take binConvBitsRows, which does the im2col block by block.)
 */
export function binConvBits(
  wpk: usize, f0: i32, f1: i32, X: usize, nP: i32, Kw: i32, cnt: usize, block: i32,
  outC: i32, P: i32, lo: usize, hi: usize, dst: usize, Cb: i32,
): void {
  const fOut = min(f1, outC);
  for (let p0 = 0; p0 < P; p0 += block) {
    const n = min(P, min(nP, p0 + block)) - p0;
    if (Kw <= I16_MAX_KW) {
      binBlockCounts<i16>(wpk, f0, f1, X, nP, Kw, cnt, block, p0);
      binBits16(cnt, block, f0, fOut, p0, n, lo, hi, dst, Cb);
    } else {
      binBlockCounts<i32>(wpk, f0, f1, X, nP, Kw, cnt, block, p0);
      binBits(cnt, block, f0, fOut, p0, n, lo, hi, dst, Cb);
    }
  }
}

/**
 * binConvBits with its im2col done block by block (see binConvBitsLastTapRows): output rows [y0, y1)
 * `rows` at a time (rows * outW <= block, `block` a multiple of 4), im2colBitsDense (dense != 0) or
 * im2colBits into cols, then binConvBits's counts and bits for filters [0, nF). Scratch per share:
 * cols (block / 2 pixel pairs of Kw words), cnt (nF rows of block i32).
 */
export function binConvBitsRows(
  wpk: usize, nF: i32, src: usize, Cb: i32, Wp: i32, size: i32, stride: i32, outW: i32, y0: i32, y1: i32, rows: i32,
  cols: usize, cnt: usize, block: i32, Kw: i32, chunk: i32, dense: i32, outC: i32, lo: usize, hi: usize, dst: usize, CbOut: i32,
): void {
  const rowStride = <usize>(Wp * Cb) * <usize>stride;
  for (let y = y0; y < y1; y += rows) {
    const r = min(rows, y1 - y);
    const n = r * outW;
    const s = src + <usize>y * rowStride;
    if (dense) im2colBitsDense(s, Cb, Wp, size, stride, r, outW, cols, Kw);
    else im2colBits(s, Cb, Wp, size, stride, r, outW, cols, Kw, chunk);
    // an odd n counts its last pixel's pair partner too (stale words, never stored)
    const nP = (n + 1) & ~1;
    const d = dst + <usize>(y * outW) * <usize>CbOut;
    if (Kw <= I16_MAX_KW) {
      binBlockCounts<i16>(wpk, 0, nF, cols, nP, Kw, cnt, block, 0);
      binBits16(cnt, block, 0, outC, 0, n, lo, hi, d, CbOut);
    } else {
      binBlockCounts<i32>(wpk, 0, nF, cols, nP, Kw, cnt, block, 0);
      binBits(cnt, block, 0, outC, 0, n, lo, hi, d, CbOut);
    }
  }
}

/**
 * binBits for i16 counts (rows of cntStride i16): 16 pixels a vector pair, and the 8 filters of a
 * byte folded in from the highest bit down (acc = 2 acc + bit), so no per-filter bit constants.
 * Four filter bytes (32 filters) at a time are transposed to pixel order by shuffles and stored
 * 4 bytes a pixel (a whole vector for 4 pixels when Cb is 4) rather than byte by byte; then pairs
 * of bytes 2 a pixel; the rest, and the last pixels (n % 16), byte by byte.
 */
export function binBits16(cnt: usize, cntStride: i32, f0: i32, f1: i32, p0: i32, n: i32, lo: usize, hi: usize, dst: usize, Cb: i32): void {
  bits16(cnt, cntStride, f0, f1, p0, n, lo, hi, dst, Cb, 0, 0);
}

/**
 * binBits16 for last-tap layers whose counts lack the last tap (binLastTapCounts without its pass):
 * the last taps' mismatches (taps[i], u16 per pixel) added to the counts in registers, 16 pixels a
 * vector pair, instead of a pass that loads and stores every count.
 */
function binBits16Taps(cnt: usize, cntStride: i32, f1: i32, n: i32, lo: usize, hi: usize, dst: usize, Cb: i32, taps: usize, wLast: usize): void {
  bits16(cnt, cntStride, 0, f1, 0, n, lo, hi, dst, Cb, taps, wLast);
}

/** binBits16, and binBits16Taps where wLast != 0 (a constant 0 drops that code). */
@inline function bits16(
  cnt: usize, cntStride: i32, f0: i32, f1: i32, p0: i32, n: i32, lo: usize, hi: usize, dst: usize, Cb: i32, taps: usize, wLast: usize,
): void {
  const cbStride = <usize>Cb;
  const rowBytes = <usize>cntStride << 1;
  const whole = n & ~15;
  let f = f0;
  for (; f + 32 <= f1; f += 32) {
    const d0 = dst + <usize>p0 * cbStride + <usize>(f >> 3);
    for (let i = 0; i < whole; i += 16) {
      const c = cnt + (<usize>i << 1);
      const t = taps + (<usize>i << 1);
      const a0 = bitByte16(c, rowBytes, f, 8, lo, hi, t, wLast);
      const a1 = bitByte16(c, rowBytes, f + 8, 8, lo, hi, t, wLast);
      const a2 = bitByte16(c, rowBytes, f + 16, 8, lo, hi, t, wLast);
      const a3 = bitByte16(c, rowBytes, f + 24, 8, lo, hi, t, wLast);
      // bytes (a0, a1) and (a2, a3) of pixels 0..7 and 8..15, then 4 bytes a pixel
      const l01 = i8x16.shuffle(a0, a1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const h01 = i8x16.shuffle(a0, a1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const l23 = i8x16.shuffle(a2, a3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      const h23 = i8x16.shuffle(a2, a3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const d = d0 + <usize>i * cbStride;
      storePixels4(d, i8x16.shuffle(l01, l23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), cbStride);
      storePixels4(d + (cbStride << 2), i8x16.shuffle(l01, l23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), cbStride);
      storePixels4(d + (cbStride << 3), i8x16.shuffle(h01, h23, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23), cbStride);
      storePixels4(d + cbStride * 12, i8x16.shuffle(h01, h23, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31), cbStride);
    }
    for (let g = 0; g < 32 && whole < n; g += 8) bitBytesTail16(cnt, rowBytes, f + g, 8, p0, whole, n, lo, hi, dst, cbStride, taps, wLast);
  }
  for (; f + 16 <= f1; f += 16) {
    const d0 = dst + <usize>p0 * cbStride + <usize>(f >> 3);
    for (let i = 0; i < whole; i += 16) {
      const c = cnt + (<usize>i << 1);
      const t = taps + (<usize>i << 1);
      const a0 = bitByte16(c, rowBytes, f, 8, lo, hi, t, wLast);
      const a1 = bitByte16(c, rowBytes, f + 8, 8, lo, hi, t, wLast);
      const d = d0 + <usize>i * cbStride;
      storePixels2(d, i8x16.shuffle(a0, a1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), cbStride);
      storePixels2(d + (cbStride << 3), i8x16.shuffle(a0, a1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), cbStride);
    }
    for (let g = 0; g < 16 && whole < n; g += 8) bitBytesTail16(cnt, rowBytes, f + g, 8, p0, whole, n, lo, hi, dst, cbStride, taps, wLast);
  }
  for (; f < f1; f += 8) {
    const nc = min(8, f1 - f);
    const d0 = dst + <usize>p0 * cbStride + <usize>(f >> 3);
    for (let i = 0; i < whole; i += 16) {
      storePixelBytes(d0 + <usize>i * cbStride, bitByte16(cnt + (<usize>i << 1), rowBytes, f, nc, lo, hi, taps + (<usize>i << 1), wLast), 16, cbStride);
    }
    if (whole < n) bitBytesTail16(cnt, rowBytes, f, nc, p0, whole, n, lo, hi, dst, cbStride, taps, wLast);
  }
}

/**
 * The bit bytes of filters [f, f + nc) (nc <= 8) for the 16 pixels whose counts start at c (row f
 * at c + f * rowBytes); wLast != 0: plus the mismatches of their last taps at t with wLast[f].
 */
@inline function bitByte16(c: usize, rowBytes: usize, f: i32, nc: i32, lo: usize, hi: usize, t: usize, wLast: usize): v128 {
  let acc = i8x16.splat(0);
  let r = c + <usize>(f + nc - 1) * rowBytes;
  const t0 = wLast ? v128.load(t) : i8x16.splat(0);
  const t1 = wLast ? v128.load(t, 16) : i8x16.splat(0);
  for (let j = nc - 1; j >= 0; j--) {
    // hi[f] and lo[f] are i32 in 0..32767: their low halves, splat straight from memory
    const h = v128.load16_splat(hi + (<usize>(f + j) << 2));
    let c0 = v128.load(r), c1 = v128.load(r, 16);
    if (wLast) {
      const w = v128.load16_splat(wLast + (<usize>(f + j) << 1));
      c0 = i16x8.add(c0, i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(v128.xor(t0, w))));
      c1 = i16x8.add(c1, i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(v128.xor(t1, w))));
    }
    let m = i8x16.narrow_i16x8_s(i16x8.gt_s(h, c0), i16x8.gt_s(h, c1));
    if (lo) {
      const l = v128.load16_splat(lo + (<usize>(f + j) << 2));
      m = v128.and(m, i8x16.narrow_i16x8_s(i16x8.ge_s(c0, l), i16x8.ge_s(c1, l)));
    }
    acc = i8x16.sub(i8x16.add(acc, acc), m); // m is -1 where the bit is set
    r -= rowBytes;
  }
  return acc;
}

/** Pixels [whole, n) (fewer than 16) of filters [f, f + nc): their byte f >> 3, one by one. */
function bitBytesTail16(
  cnt: usize, rowBytes: usize, f: i32, nc: i32, p0: i32, whole: i32, n: i32, lo: usize, hi: usize, dst: usize, cbStride: usize, taps: usize, wLast: usize,
): void {
  const acc = bitByte16(cnt + (<usize>whole << 1), rowBytes, f, nc, lo, hi, taps + (<usize>whole << 1), wLast);
  storeBytesTail(dst + <usize>(p0 + whole) * cbStride + <usize>(f >> 3), acc, n - whole, cbStride);
}

/** 4 pixels' 4 bytes each (v's 4 lanes) at d, d + s, d + 2s, d + 3s. */
@inline function storePixels4(d: usize, v: v128, s: usize): void {
  if (s == 4) {
    v128.store(d, v);
    return;
  }
  v128.store32_lane(d, v, 0);
  v128.store32_lane(d + s, v, 1);
  v128.store32_lane(d + 2 * s, v, 2);
  v128.store32_lane(d + 3 * s, v, 3);
}

/** 8 pixels' 2 bytes each (v's 8 lanes) at d, d + s, ..., d + 7s. */
@inline function storePixels2(d: usize, v: v128, s: usize): void {
  if (s == 2) {
    v128.store(d, v);
    return;
  }
  v128.store16_lane(d, v, 0);
  v128.store16_lane(d + s, v, 1);
  v128.store16_lane(d + 2 * s, v, 2);
  v128.store16_lane(d + 3 * s, v, 3);
  v128.store16_lane(d + 4 * s, v, 4);
  v128.store16_lane(d + 5 * s, v, 5);
  v128.store16_lane(d + 6 * s, v, 6);
  v128.store16_lane(d + 7 * s, v, 7);
}

// ---------------------------------------------------------------------------------------------
// Binary 3x3 convolutions over 2-byte taps (9..16 input channels, yolov3-tiny's first XNOR layer):
// a pixel's 144 bits would take 3 words (3 popcnts) per filter; instead its first 16 tap bytes go
// to two words (Kw = 2, same interleaved layout) and its last tap (16 bits) to lastTaps[p], whose
// mismatches are counted 8 pixels a vector (i8x16.popcnt) in a second pass over the filter's row.

/**
 * im2col for those layers: the 18 tap bytes of a pixel are kernel rows r0, r1, r2 of 6 bytes each:
 * word 0 = r0 r1[0:2], word 1 = r1[2:6] r2[0:4], lastTaps[p] = r2[4:6].
 */
export function im2colBitsLastTap(src: usize, Wp: i32, stride: i32, outH: i32, outW: i32, dst: usize, lastTaps: usize): void {
  const rowStride = <usize>(Wp << 1);
  const step = <usize>(stride << 1);
  const low48: u64 = 0xffffffffffff;
  let p = 0;
  for (let oy = 0; oy < outH; oy++) {
    let s = src + <usize>(oy * stride) * rowStride;
    for (let ox = 0; ox < outW; ox++, p++) {
      const r0 = load<u64>(s);
      const r1 = load<u64>(s + rowStride);
      const r2 = load<u64>(s + (rowStride << 1));
      const e = dst + (<usize>(p >> 1) << 5) + (<usize>(p & 1) << 3);
      store<u64>(e, (r0 & low48) | (r1 << 48));
      store<u64>(e, ((r1 >> 16) & 0xffffffff) | (r2 << 32), 16);
      store<u16>(lastTaps + (<usize>p << 1), <u16>(r2 >> 32));
      s += step;
    }
  }
}

/**
 * Mismatch counts (T: i32 or i16) of filters [f0, f1) for pixels [p0, p1) of a last-tap layer:
 * 2 words per filter and pixel in registers as binGemmRegs, then (lastPass) the last taps added 8
 * pixels a vector (up to p0 + roundUp(p1 - p0, 8): the caller's rows hold a multiple of 8 counts);
 * without lastPass the counts lack the last taps (binBits16Taps adds them).
 */
function binLastTapCounts<T>(
  wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, cnt: usize, cntStride: i32, lastTaps: usize, wLast: usize, lastPass: bool,
): void {
  const sz = <usize>sizeof<T>();
  const rowBytes = <usize>cntStride * sz;
  const xStart = X + (<usize>(p0 >> 1) << 5);
  const xStop = xStart + (<usize>((p1 - p0) >> 1) << 5);
  const tp = lastTaps + (<usize>p0 << 1);
  const n = p1 - p0;
  for (let f = f0; f < f1; f++) {
    const w = wpk + (<usize>(f >> 1) << 5) + (<usize>(f & 1) << 3);
    const w0 = load<u64>(w), w1 = load<u64>(w, 16);
    const row = cnt + <usize>f * rowBytes;
    let c = row;
    for (let x = xStart; x < xStop; x += 32) {
      store<T>(c, <T>(popcnt<u64>(w0 ^ load<u64>(x)) + popcnt<u64>(w1 ^ load<u64>(x, 16))));
      store<T>(c + sz, <T>(popcnt<u64>(w0 ^ load<u64>(x, 8)) + popcnt<u64>(w1 ^ load<u64>(x, 24))));
      c += sz << 1;
    }
    if (!lastPass) continue;
    const wt = i16x8.splat(load<i16>(wLast + (<usize>f << 1)));
    for (let i = 0; i < n; i += 8) {
      const m = i16x8.extadd_pairwise_i8x16_u(i8x16.popcnt(v128.xor(v128.load(tp + (<usize>i << 1)), wt)));
      const ci = row + <usize>i * sz;
      if (sizeof<T>() == 2) {
        v128.store(ci, i16x8.add(v128.load(ci), m));
      } else {
        v128.store(ci, i32x4.add(v128.load(ci), i32x4.extend_low_i16x8_u(m)));
        v128.store(ci, i32x4.add(v128.load(ci, 16), i32x4.extend_high_i16x8_u(m)), 16);
      }
    }
  }
}

/** binConv for last-tap layers (im2colBitsLastTap input; `block` a multiple of 8). */
export function binConvLastTap(
  wpk: usize, f0: i32, f1: i32, X: usize, nP: i32, cnt: usize, block: i32,
  outC: i32, P: i32, K: i32, scale: usize, bias: usize, dst: usize, act: i32, tail: usize, lastTaps: usize, wLast: usize,
): void {
  const fOut = min(f1, outC);
  for (let p0 = 0; p0 < P; p0 += block) {
    const p1 = min(nP, p0 + block);
    binLastTapCounts<i32>(wpk, f0, f1, X, p0, p1, cnt, block, lastTaps, wLast, true);
    binFinish(cnt, block, f0, fOut, p0, min(P, p1) - p0, P, K, scale, bias, dst, act, tail);
  }
}

/**
 * Bit output of a last-tap layer, its im2col done block by block: output rows [y0, y1), `rows` at a
 * time (rows * outW <= block, `block` a multiple of 8), so the block's im2col words (cols, lastTaps)
 * stay in L1 from im2colBitsLastTap to the counts instead of a whole layer's going out to memory
 * and back; the last taps are counted in the bit epilogue (binBits16Taps). Filters [0, nF), all of
 * them: threads take row ranges, each with scratch of its own (cols: block / 2 pixel pairs,
 * lastTaps: block u16, cnt: nF rows of block i16).
 */
export function binConvBitsLastTapRows(
  wpk: usize, nF: i32, src: usize, Wp: i32, stride: i32, outW: i32, y0: i32, y1: i32, rows: i32,
  cols: usize, lastTaps: usize, cnt: usize, block: i32, outC: i32, lo: usize, hi: usize, dst: usize, Cb: i32, wLast: usize,
): void {
  const rowStride = <usize>(Wp << 1) * <usize>stride;
  for (let y = y0; y < y1; y += rows) {
    const r = min(rows, y1 - y);
    const n = r * outW;
    im2colBitsLastTap(src + <usize>y * rowStride, Wp, stride, r, outW, cols, lastTaps);
    // an odd n counts its last pixel's pair partner too (stale words, never stored)
    binLastTapCounts<i16>(wpk, 0, nF, cols, 0, (n + 1) & ~1, cnt, block, lastTaps, wLast, false);
    binBits16Taps(cnt, block, outC, n, lo, hi, dst + <usize>(y * outW) * <usize>Cb, Cb, lastTaps, wLast);
  }
}

// ---------------------------------------------------------------------------------------------
// 'fast' 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) in int16: Y = A^T [U . V] A with the
// input transform V = B^T d B and the weight transform U = G' g G'^T (G' = 2G: integers, so
// Y = 4 * the int16 convolution, exactly). 16 products per 2x2 outputs instead of 36; the
// element-wise products over channels are 16 int16 GEMMs (fastGemmT, raw int32 sums).

/**
 * Input transform of every 4x4 tile (stride 2) of a padded pair image [cp][Hp][Wp] (int32 = two
 * int16 channels; the conv's pad is the image's border): V[xi][tile group][cp][tile & 7] as int16
 * pairs, xi = 4i + j, groups tileStride bytes apart, xi planes xiStride bytes apart. B^T d B only
 * adds and subtracts 4 inputs per value, so |V| <= 4 max|d| (the loader keeps that within int16).
 */
export function winoInput(src: usize, pairs: i32, Hp: i32, Wp: i32, TH: i32, TW: i32, dst: usize, tileStride: usize, xiStride: usize): void {
  const planeBytes = <usize>(Hp * Wp) << 2;
  const rowBytes = <usize>Wp << 2;
  const lane1 = i32x4(0, -1, 0, 0);
  for (let cp = 0; cp < pairs; cp++) {
    const plane = src + <usize>cp * planeBytes;
    const dcp = dst + (<usize>cp << 5);
    for (let ty = 0; ty < TH; ty++) {
      for (let tx = 0; tx < TW; tx++) {
        const t = ty * TW + tx;
        const p = plane + <usize>(2 * ty) * rowBytes + (<usize>(2 * tx) << 2);
        const r0 = v128.load(p), r1 = v128.load(p + rowBytes), r2 = v128.load(p + 2 * rowBytes), r3 = v128.load(p + 3 * rowBytes);
        const d = dcp + <usize>(t >> 3) * tileStride + (<usize>(t & 7) << 2);
        winoRow(i16x8.sub(r0, r2), d, xiStride, lane1);
        winoRow(i16x8.add(r1, r2), d + 4 * xiStride, xiStride, lane1);
        winoRow(i16x8.sub(r2, r1), d + 8 * xiStride, xiStride, lane1);
        winoRow(i16x8.sub(r1, r3), d + 12 * xiStride, xiStride, lane1);
      }
    }
  }
}

/**
 * Weight transform U = G' g G'^T (G' = 2G, integer) of filter blocks [b0, b1) from the int16 3x3
 * weights g [block][cp][tap = 3ky + kx][4 filters][2 channels] (144 bytes per block and pair) into
 * U[xi][b - b0][cp][4 filters][2 channels], xi planes xiStride bytes apart: the [block][pair]
 * layout fastGemmT reads. The loader proves every |U| <= 32767, so the wrapping i16x8 arithmetic
 * gives the exact values (only intermediates may wrap, and they are exact mod 2^16).
 */
export function winoWeights(g: usize, pairs: i32, b0: i32, b1: i32, dst: usize, xiStride: usize): void {
  let s = g + <usize>b0 * <usize>pairs * 144;
  const end = g + <usize>b1 * <usize>pairs * 144;
  let d = dst;
  for (; s < end; s += 144) {
    // G' g: rows (2 g0, g0 + g1 + g2, g0 - g1 + g2, 2 g2) per column kx
    const g00 = v128.load(s), g01 = v128.load(s, 16), g02 = v128.load(s, 32);
    const g10 = v128.load(s, 48), g11 = v128.load(s, 64), g12 = v128.load(s, 80);
    const g20 = v128.load(s, 96), g21 = v128.load(s, 112), g22 = v128.load(s, 128);
    const e0 = i16x8.add(g00, g20), e1 = i16x8.add(g01, g21), e2 = i16x8.add(g02, g22);
    winoWeightRow(i16x8.add(g00, g00), i16x8.add(g01, g01), i16x8.add(g02, g02), d, xiStride);
    winoWeightRow(i16x8.add(e0, g10), i16x8.add(e1, g11), i16x8.add(e2, g12), d + 4 * xiStride, xiStride);
    winoWeightRow(i16x8.sub(e0, g10), i16x8.sub(e1, g11), i16x8.sub(e2, g12), d + 8 * xiStride, xiStride);
    winoWeightRow(i16x8.add(g20, g20), i16x8.add(g21, g21), i16x8.add(g22, g22), d + 12 * xiStride, xiStride);
    d += 16;
  }
}

/** One row i of (G' g) G'^T: U[i][0..3] = (2 t0, t0 + t1 + t2, t0 - t1 + t2, 2 t2) to 4 xi planes. */
@inline function winoWeightRow(t0: v128, t1: v128, t2: v128, d: usize, xiStride: usize): void {
  const e = i16x8.add(t0, t2);
  v128.store(d, i16x8.add(t0, t0));
  v128.store(d + xiStride, i16x8.add(e, t1));
  v128.store(d + 2 * xiStride, i16x8.sub(e, t1));
  v128.store(d + 3 * xiStride, i16x8.add(t2, t2));
}

/** The column half of B^T d B for one row t (4 columns): (c0 - c2, c1 + c2, c2 - c1, c1 - c3), stored to 4 xi planes. */
@inline function winoRow(t: v128, d: usize, xiStride: usize, lane1: v128): void {
  const x = i32x4.shuffle(t, t, 0, 1, 2, 1);
  const y = i32x4.shuffle(t, t, 2, 2, 1, 3);
  const v = v128.bitselect(i16x8.add(x, y), i16x8.sub(x, y), lane1);
  v128.store32_lane(d, v, 0);
  v128.store32_lane(d + xiStride, v, 1);
  v128.store32_lane(d + 2 * xiStride, v, 2);
  v128.store32_lane(d + 3 * xiStride, v, 3);
}

/**
 * Output transform: M[xi][f][Tpad] int32 sums -> out[f][2ty + a][2tx + b] = act(f32(A^T M A) *
 * scale[f] + bias[f]), in f32 (each product sum is exact in int32; the transform adds 9 of them).
 * tileOff[t]: output offset (floats) of tile t; tileEdge[t]: bit 0 = column 2tx + 1 exists, bit 1 =
 * row 2ty + 1 exists. Filters [f0, f1).
 */
export function winoOutput(
  M: usize, nF: i32, T: i32, Tpad: i32, tileOff: usize, tileEdge: usize, outPlane: i32, outW: i32,
  scale: usize, bias: usize, act: i32, dst: usize, f0: i32, f1: i32,
): void {
  const xiStride = <usize>(nF * Tpad) << 2;
  const rowBytes = <usize>outW << 2;
  for (let f = f0; f < f1; f++) {
    const sv = v128.load32_splat(scale + (<usize>f << 2));
    const bv = v128.load32_splat(bias + (<usize>f << 2));
    const m0 = M + (<usize>(f * Tpad) << 2);
    const d0 = dst + (<usize>(f * outPlane) << 2);
    // 4 tiles a step (M rows are Tpad >= T + 3 long)
    for (let t = 0; t < T; t += 4) {
      const m = m0 + (<usize>t << 2);
      const q00 = winoLoad(m, 0, xiStride), q01 = winoLoad(m, 1, xiStride), q02 = winoLoad(m, 2, xiStride), q03 = winoLoad(m, 3, xiStride);
      const q10 = winoLoad(m, 4, xiStride), q11 = winoLoad(m, 5, xiStride), q12 = winoLoad(m, 6, xiStride), q13 = winoLoad(m, 7, xiStride);
      const q20 = winoLoad(m, 8, xiStride), q21 = winoLoad(m, 9, xiStride), q22 = winoLoad(m, 10, xiStride), q23 = winoLoad(m, 11, xiStride);
      const q30 = winoLoad(m, 12, xiStride), q31 = winoLoad(m, 13, xiStride), q32 = winoLoad(m, 14, xiStride), q33 = winoLoad(m, 15, xiStride);
      // A^T M A: rows (0..3 -> 2), then columns
      const a0 = f32x4.add(f32x4.add(q00, q10), q20), a1 = f32x4.add(f32x4.add(q01, q11), q21);
      const a2 = f32x4.add(f32x4.add(q02, q12), q22), a3 = f32x4.add(f32x4.add(q03, q13), q23);
      const b0 = f32x4.sub(f32x4.sub(q10, q20), q30), b1 = f32x4.sub(f32x4.sub(q11, q21), q31);
      const b2 = f32x4.sub(f32x4.sub(q12, q22), q32), b3 = f32x4.sub(f32x4.sub(q13, q23), q33);
      const y00 = winoFinish(f32x4.add(f32x4.add(a0, a1), a2), sv, bv, act);
      const y01 = winoFinish(f32x4.sub(f32x4.sub(a1, a2), a3), sv, bv, act);
      const y10 = winoFinish(f32x4.add(f32x4.add(b0, b1), b2), sv, bv, act);
      const y11 = winoFinish(f32x4.sub(f32x4.sub(b1, b2), b3), sv, bv, act);
      const n = T - t;
      // one tile per lane; the lane's four outputs as raw bits
      if (0 < n) winoTile(d0, tileOff, tileEdge, t, rowBytes, i32x4.extract_lane(y00, 0), i32x4.extract_lane(y01, 0), i32x4.extract_lane(y10, 0), i32x4.extract_lane(y11, 0));
      if (1 < n) winoTile(d0, tileOff, tileEdge, t + 1, rowBytes, i32x4.extract_lane(y00, 1), i32x4.extract_lane(y01, 1), i32x4.extract_lane(y10, 1), i32x4.extract_lane(y11, 1));
      if (2 < n) winoTile(d0, tileOff, tileEdge, t + 2, rowBytes, i32x4.extract_lane(y00, 2), i32x4.extract_lane(y01, 2), i32x4.extract_lane(y10, 2), i32x4.extract_lane(y11, 2));
      if (3 < n) winoTile(d0, tileOff, tileEdge, t + 3, rowBytes, i32x4.extract_lane(y00, 3), i32x4.extract_lane(y01, 3), i32x4.extract_lane(y10, 3), i32x4.extract_lane(y11, 3));
    }
  }
}

/** Stores tile t's 2x2 outputs (float bits) at d0 + tileOff[t], the right column and bottom row only where tileEdge[t] says they exist. */
@inline function winoTile(d0: usize, tileOff: usize, tileEdge: usize, t: i32, rowBytes: usize, y00: i32, y01: i32, y10: i32, y11: i32): void {
  const d = d0 + (<usize>load<i32>(tileOff + (<usize>t << 2)) << 2);
  const edge = load<i32>(tileEdge + (<usize>t << 2));
  store<i32>(d, y00);
  if (edge & 1) store<i32>(d + 4, y01);
  if (edge & 2) {
    store<i32>(d + rowBytes, y10);
    if (edge & 1) store<i32>(d + rowBytes + 4, y11);
  }
}

@inline function winoLoad(m: usize, xi: i32, xiStride: usize): v128 {
  return f32x4.convert_i32x4_s(v128.load(m + <usize>xi * xiStride));
}

@inline function winoFinish(y: v128, s: v128, b: v128, act: i32): v128 {
  return actVec(f32x4.add(f32x4.mul(y, s), b), act);
}


// ---- Winograd's filter chunks (winoChunks): one call runs a range of chunks, so threads can split them.

// winoChunks' context block: int32 slots (addresses are byte addresses)
const WC_V = 0; // the input transform V[xi] (shared, read only)
const WC_XISTRIDE = 1;
const WC_KOFF = 2;
const WC_PAIRS = 3;
const WC_G = 4; // int16 3x3 weights, winoWeights' input
const WC_NF = 5;
const WC_TPAD = 6;
const WC_T = 7;
const WC_TROW3 = 8;
const WC_U = 9; // chunked: this thread's chunk of U; else all of U (shared)
const WC_USTRIDE = 10;
const WC_CHUNKED = 11;
const WC_CHUNK_BLOCKS = 12;
const WC_M = 13; // this thread's sums of one chunk
const WC_TILEOFF = 14;
const WC_TILEEDGE = 15;
const WC_OUTPLANE = 16;
const WC_OUTW = 17;
const WC_SCALE = 18;
const WC_BIAS = 19;
const WC_ACT = 20;
/** Int32 slots of winoChunks' context block. */
export const WC_CTX_INTS: i32 = 21;

@inline function wc(ctx: usize, slot: i32): i32 {
  return load<i32>(ctx + (<usize>slot << 2));
}

/** fastGemmT's `act` for "store the raw int32 sums", and its `tail` for "no leaky tail". */
const RAW_SUMS: i32 = -1;
const NO_TAIL: usize = 0xffffffff;
/** Bytes of winoWeights' int16 3x3 weights per filter block and channel pair (the loader's G_BYTES). */
const WINO_G_BYTES: usize = 144;

/**
 * Filter blocks [b0, b1) of a Winograd conv (src/engine/kernels/wasm/winograd.ts) into dst: per
 * chunk of (at most) chunkBlocks filter blocks from b0, (chunked) winoWeights builds its U into the context's uChunk,
 * the 16 int16 GEMMs write its sums into the context's M (each GEMM touching a 16th of the next
 * chunk's int16 weights, in this range: a thread's next chunk is its own), and winoOutput
 * transforms them while they are still in L2. Not chunked: the GEMMs read all of U. Chunks write
 * disjoint filters of dst and each thread's context names its own U chunk and M, so threads run
 * disjoint ranges in one call each; the sums are exact integers, the same whoever computes them.
 */
export function winoChunks(ctx: usize, dst: usize, bFrom: i32, bTo: i32): void {
  const V = <usize>wc(ctx, WC_V), xiStride = <usize>wc(ctx, WC_XISTRIDE), koff = <usize>wc(ctx, WC_KOFF), pairs = wc(ctx, WC_PAIRS);
  const g = <usize>wc(ctx, WC_G), nF = wc(ctx, WC_NF), Tpad = wc(ctx, WC_TPAD), T = wc(ctx, WC_T), Trow3 = wc(ctx, WC_TROW3);
  const U = <usize>wc(ctx, WC_U), uStride = <usize>wc(ctx, WC_USTRIDE), chunked = wc(ctx, WC_CHUNKED) != 0;
  const chunkBlocks = wc(ctx, WC_CHUNK_BLOCKS), M = <usize>wc(ctx, WC_M);
  const tileOff = <usize>wc(ctx, WC_TILEOFF), tileEdge = <usize>wc(ctx, WC_TILEEDGE), outPlane = wc(ctx, WC_OUTPLANE), outW = wc(ctx, WC_OUTW);
  const scale = <usize>wc(ctx, WC_SCALE), bias = <usize>wc(ctx, WC_BIAS), act = wc(ctx, WC_ACT);
  const mRow = <usize>Tpad << 2;
  const gBlock = <usize>pairs * WINO_G_BYTES;
  const fn = chunkBlocks << 2;
  const tileStride = <usize>pairs << 5;
  for (let b0 = bFrom; b0 < bTo; b0 += chunkBlocks) {
    const b1 = min(bTo, b0 + chunkBlocks);
    const f0 = b0 << 2;
    const m = M - <usize>f0 * mRow; // filter f's row of plane xi at m + xi * fn * mRow + f * mRow
    if (chunked) {
      winoWeights(g, pairs, b0, b1, U, uStride);
      const u = U - <usize>b0 * <usize>pairs * 16; // block b's U of plane xi at u + xi * uStride + b * pairs * 16
      // the next chunk's g (none after this range's last chunk: an empty, non-zero range touches nothing)
      const g0 = g + <usize>b1 * gBlock;
      const gn = g + <usize>min(bTo, b1 + chunkBlocks) * gBlock;
      const share = ((gn - g0 + 1023) >> 10) << 6;
      for (let xi = 0; xi < 16; xi++) {
        const pre = min(gn, g0 + <usize>xi * share);
        fastGemmTPre(V + <usize>xi * xiStride, koff, pairs, u + <usize>xi * uStride, 0, 0, nF, m + <usize>(xi * fn) * mRow,
          Tpad, xi >= 12 ? Trow3 : T, 0, tileStride, RAW_SUMS, NO_TAIL, 0, 1, b0, b1, pre, min(gn, pre + share));
      }
    } else {
      for (let xi = 0; xi < 16; xi++) {
        fastGemmT(V + <usize>xi * xiStride, koff, pairs, U + <usize>xi * uStride, 0, 0, nF, m + <usize>(xi * fn) * mRow,
          Tpad, xi >= 12 ? Trow3 : T, 0, tileStride, RAW_SUMS, NO_TAIL, 0, 1, b0, b1);
      }
    }
    winoOutput(m, fn, T, Tpad, tileOff, tileEdge, outPlane, outW, scale, bias, act, dst, f0, min(nF, b1 << 2));
  }
}

// The fused sign estimate of a bit-linked float conv (src/engine/kernels/wasm/sign-estimate.ts).
export * from './sign-estimate';
export * from './bit-steps';
