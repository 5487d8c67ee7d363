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
  let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a30 = f32x4.splat(0), a31 = f32x4.splat(0);
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
    a00 = f32x4.add(a00, f32x4.mul(w, x0));
    a01 = f32x4.add(a01, f32x4.mul(w, x1));
    w = v128.load32_splat(wp, 4);
    a10 = f32x4.add(a10, f32x4.mul(w, x0));
    a11 = f32x4.add(a11, f32x4.mul(w, x1));
    w = v128.load32_splat(wp, 8);
    a20 = f32x4.add(a20, f32x4.mul(w, x0));
    a21 = f32x4.add(a21, f32x4.mul(w, x1));
    w = v128.load32_splat(wp, 12);
    a30 = f32x4.add(a30, f32x4.mul(w, x0));
    a31 = f32x4.add(a31, f32x4.mul(w, x1));
    wp += 16;
  }
  if (!(mode & TILE_LAST)) {
    // partial sums: no bias or activation (lanes past the row are not stored)
    storeOut(d, a00, n, 0, tail);
    storeOut(d + 16, a01, n - 4, 0, tail);
    if (nvf > 1) {
      storeOut(d + planeBytes, a10, n, 0, tail);
      storeOut(d + planeBytes + 16, a11, n - 4, 0, tail);
    }
    if (nvf > 2) {
      storeOut(d + 2 * planeBytes, a20, n, 0, tail);
      storeOut(d + 2 * planeBytes + 16, a21, n - 4, 0, tail);
    }
    if (nvf > 3) {
      storeOut(d + 3 * planeBytes, a30, n, 0, tail);
      storeOut(d + 3 * planeBytes + 16, a31, n - 4, 0, tail);
    }
    return;
  }
  let bv = v128.load32_splat(bp);
  storeOut(d, f32x4.add(a00, bv), n, act, tail);
  storeOut(d + 16, f32x4.add(a01, bv), n - 4, act, tail);
  if (nvf > 1) {
    bv = v128.load32_splat(bp, 4);
    storeOut(d + planeBytes, f32x4.add(a10, bv), n, act, tail);
    storeOut(d + planeBytes + 16, f32x4.add(a11, bv), n - 4, act, tail);
  }
  if (nvf > 2) {
    bv = v128.load32_splat(bp, 8);
    storeOut(d + 2 * planeBytes, f32x4.add(a20, bv), n, act, tail);
    storeOut(d + 2 * planeBytes + 16, f32x4.add(a21, bv), n - 4, act, tail);
  }
  if (nvf > 3) {
    bv = v128.load32_splat(bp, 12);
    storeOut(d + 3 * planeBytes, f32x4.add(a30, bv), n, act, tail);
    storeOut(d + 3 * planeBytes + 16, f32x4.add(a31, bv), n - 4, act, tail);
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
// 4. binGemm: mismatch counts, 2 filters x 2 pixels per tile (weights laid out and interleaved the
//    same way), scalar i64 xor + popcnt (V8 emits POPCNT; its i8x16.popcnt lowering is slower).
// 5. binFinish: out = fround(fround((K - 2m) * scale) + bias) and the activation, 4 pixels a vector.
// binConv drives 4 and 5 block by block for a range of filters (one thread's share).
// (Writing the floats straight from the popcount tile was tried: V8 then spills in the inner loop
// and it runs several times slower.)

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
      if (Cb == 1) {
        v128.store(d, acc);
      } else {
        v128.store8_lane(d, acc, 0);
        v128.store8_lane(d + cbStride, acc, 1);
        v128.store8_lane(d + 2 * cbStride, acc, 2);
        v128.store8_lane(d + 3 * cbStride, acc, 3);
        v128.store8_lane(d + 4 * cbStride, acc, 4);
        v128.store8_lane(d + 5 * cbStride, acc, 5);
        v128.store8_lane(d + 6 * cbStride, acc, 6);
        v128.store8_lane(d + 7 * cbStride, acc, 7);
        v128.store8_lane(d + 8 * cbStride, acc, 8);
        v128.store8_lane(d + 9 * cbStride, acc, 9);
        v128.store8_lane(d + 10 * cbStride, acc, 10);
        v128.store8_lane(d + 11 * cbStride, acc, 11);
        v128.store8_lane(d + 12 * cbStride, acc, 12);
        v128.store8_lane(d + 13 * cbStride, acc, 13);
        v128.store8_lane(d + 14 * cbStride, acc, 14);
        v128.store8_lane(d + 15 * cbStride, acc, 15);
      }
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
    const p1 = min(nP, p0 + block);
    if (Kw == 3) binGemm3(wpk, f0, f1, X, p0, p1, cnt, block);
    else binGemm(wpk, f0, f1, X, p0, p1, Kw, cnt, block);
    binFinish(cnt, block, f0, fOut, p0, min(P, p1) - p0, P, K, scale, bias, dst, act, tail);
  }
}

/** Mismatch counts cnt[f][p - p0] (rows of cntStride ints) for filters [f0, f1), pixels [p0, p1). */
export function binGemm(wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, Kw: i32, cnt: usize, cntStride: i32): void {
  const pairBytes = <usize>Kw << 4;
  const rowBytes = <usize>cntStride << 2;
  for (let f = f0; f < f1; f += 2) {
    const wRow = wpk + <usize>(f >> 1) * pairBytes;
    const c0 = cnt + <usize>f * rowBytes - (<usize>p0 << 2);
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
      const c = c0 + (<usize>p << 2);
      store<i32>(c, <i32>a00);
      store<i32>(c, <i32>a01, 4);
      store<i32>(c + rowBytes, <i32>a10);
      store<i32>(c + rowBytes, <i32>a11, 4);
    }
  }
}

/** out[f][p0 + i] = fround(fround((K - 2 cnt) * scale[f]) + bias[f]), activation; f in [f0, f1), i < n. */
export function binFinish(
  cnt: usize, cntStride: i32, f0: i32, f1: i32, p0: i32, n: i32, P: i32, K: i32, scale: usize, bias: usize, dst: usize,
  act: i32, tail: usize,
): void {
  const kv = i32x4.splat(K);
  for (let f = f0; f < f1; f++) {
    const s = f32x4.splat(load<f32>(scale + (<usize>f << 2)));
    const b = f32x4.splat(load<f32>(bias + (<usize>f << 2)));
    const c = cnt + (<usize>(f * cntStride) << 2);
    const d = dst + (<usize>(f * P + p0) << 2);
    for (let i = 0; i < n; i += 4) {
      const m = v128.load(c + (<usize>i << 2));
      const v = f32x4.convert_i32x4_s(i32x4.sub(kv, i32x4.shl(m, 1)));
      storeOut(d + (<usize>i << 2), f32x4.add(f32x4.mul(v, s), b), n - i, act, tail);
    }
  }
}

/**
 * binGemm for rows of exactly 3 words (3x3 layers with up to 16 input channels, e.g. yolov3-tiny's
 * first XNOR layer): the filter pair's 6 weight words stay in registers, the word loop is unrolled.
 */
export function binGemm3(wpk: usize, f0: i32, f1: i32, X: usize, p0: i32, p1: i32, cnt: usize, cntStride: i32): void {
  const rowBytes = <usize>cntStride << 2;
  for (let f = f0; f < f1; f += 2) {
    const w = wpk + <usize>(f >> 1) * 48;
    const wa0 = load<u64>(w), wb0 = load<u64>(w, 8);
    const wa1 = load<u64>(w, 16), wb1 = load<u64>(w, 24);
    const wa2 = load<u64>(w, 32), wb2 = load<u64>(w, 40);
    const c0 = cnt + <usize>f * rowBytes - (<usize>p0 << 2);
    let x = X + <usize>(p0 >> 1) * 48;
    for (let p = p0; p < p1; p += 2) {
      const x00 = load<u64>(x), x01 = load<u64>(x, 8);
      const x10 = load<u64>(x, 16), x11 = load<u64>(x, 24);
      const x20 = load<u64>(x, 32), x21 = load<u64>(x, 40);
      const c = c0 + (<usize>p << 2);
      store<i32>(c, <i32>(popcnt<u64>(wa0 ^ x00) + popcnt<u64>(wa1 ^ x10) + popcnt<u64>(wa2 ^ x20)));
      store<i32>(c, <i32>(popcnt<u64>(wa0 ^ x01) + popcnt<u64>(wa1 ^ x11) + popcnt<u64>(wa2 ^ x21)), 4);
      store<i32>(c + rowBytes, <i32>(popcnt<u64>(wb0 ^ x00) + popcnt<u64>(wb1 ^ x10) + popcnt<u64>(wb2 ^ x20)));
      store<i32>(c + rowBytes, <i32>(popcnt<u64>(wb0 ^ x01) + popcnt<u64>(wb1 ^ x11) + popcnt<u64>(wb2 ^ x21)), 4);
      x += 48;
    }
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
 * logistic of the two floats in lanes 0 and 1 of v (as f64x2), the same operations as
 * fdlibmExp for the common arguments, falling back to the scalar path when a lane needs one
 * of exp's rare branches (|x| >= 704, |x| < 2^-28, x == 1, inf, NaN). Result in lanes 0 and 1.
 */
@inline function logistic2(v: v128): v128 {
  const x = f64x2.neg(f64x2.promote_low_f32x4(v));
  const hx = v128.and(i64x2.shr_u(x, 32), i64x2.splat(0x7fffffff));
  const rare = v128.or(
    v128.or(i64x2.ge_s(hx, i64x2.splat(0x40860000)), i64x2.lt_s(hx, i64x2.splat(0x3e300000))),
    f64x2.eq(x, f64x2.splat(1.0)),
  );
  if (v128.any_true(rare)) {
    return f32x4.replace_lane(
      f32x4.splat(logistic(f32x4.extract_lane(v, 0))), 1, logistic(f32x4.extract_lane(v, 1)),
    );
  }
  const neg = i64x2.shr_s(x, 63); // -1 for negative arguments
  const caseA = v128.and(i64x2.gt_s(hx, i64x2.splat(0x3fd62e42)), i64x2.lt_s(hx, i64x2.splat(0x3ff0a2b2)));
  const caseB = i64x2.ge_s(hx, i64x2.splat(0x3ff0a2b2));
  const half = v128.bitselect(f64x2.splat(-0.5), f64x2.splat(0.5), neg);
  // k as i64 lanes: case B truncates x/ln2 +- 1/2, case A is +-1, otherwise 0
  const kB = i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(f64x2.add(f64x2.mul(x, f64x2.splat(EXP_INV_LN2)), half)));
  const kA = i64x2.add(i64x2.splat(1), i64x2.add(neg, neg));
  const k = v128.bitselect(kA, v128.and(kB, caseB), caseA);
  // with t = k = +-1 these equal case A's x -+ ln2HI and +-ln2LO; with k = 0 they leave x as is
  const t = f64x2.convert_low_i32x4_s(i32x4.shuffle(k, k, 0, 2, 0, 2));
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
  const ef = f32x4.demote_f64x2_zero(e);
  const sf = f32x4.demote_f64x2_zero(f64x2.add(one, f64x2.promote_low_f32x4(ef)));
  return f32x4.demote_f64x2_zero(f64x2.div(one, f64x2.promote_low_f32x4(sf)));
}

/** logistic over [p, end), 4 floats per step (2 x f64x2), scalar tail. */
@inline function logisticRange(p: usize, end: usize, scaled: bool, alpha: f32, beta: f32): void {
  const av = f32x4.splat(alpha), bv = f32x4.splat(beta);
  for (; p + 16 <= end; p += 16) {
    const v = v128.load(p);
    const lo = logistic2(v);
    const hi = logistic2(i32x4.shuffle(v, v, 2, 3, 2, 3));
    let r = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
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
 * anchor tx, ty -> f(f(logistic * alpha) + beta), objectness and classes -> logistic.
 */
export function yolo(src: usize, dst: usize, C: i32, HW: i32, per: i32, anchors: i32, alpha: f32, beta: f32): void {
  const planeBytes = <usize>HW << 2;
  if (dst != src) memory.copy(dst, src, <usize>C * planeBytes);
  for (let n = 0; n < anchors; n++) {
    const base = dst + <usize>(n * per) * planeBytes;
    logisticRange(base, base + 2 * planeBytes, true, alpha, beta);
    logisticRange(base + 4 * planeBytes, base + <usize>per * planeBytes, false, alpha, beta);
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
