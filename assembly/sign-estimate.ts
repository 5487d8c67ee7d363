// Fused sign estimate of a bit-linked float conv (src/engine/kernels/wasm/sign-estimate.ts; the
// network's first layer): the int16 GEMM's int32 sums stay in registers, are compared there with the
// loader's per-filter bounds (S > hi: certainly positive, S < lo: certainly not) and go straight out
// as packed sign bits; only the rare outputs in between are recomputed exactly, in darknet's float
// order. No int32 band is written or read back.
//
// The sums are those of the older fastGemm + signBits path, S = sum of int16 weight x int16
// activation products, exact in int32 whatever the pairing, so the bounds and the bits are the same.
// A tile is 4 filters x 8 pixels of one output row (8 int32 accumulators), 16 filters a word.
// An odd last channel is paired with itself: horizontal pairs (x, x + 1) of a row and, for the last
// column of an odd-sized kernel, vertical pairs (y, y + 1), so a 3x3 kernel on 3 channels takes 14
// int16 pairs, not 15.

/** round-to-nearest-even(x * inv) of 4 floats (|x * inv| <= 32767, finite: the loader checked). */
@inline function q4(p: usize, iv: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), iv)));
}

@inline function q1(p: usize, inv: f32): i32 {
  return <i32>nearest<f32>(load<f32>(p) * inv);
}

/**
 * One channel (H x W floats at src) quantised into a zero-bordered int16 plane q ([Hp + 1][Wq], the
 * image at (pad, pad); its border, the spare last row and columns >= Wp are never written, so stay
 * 0), then its pair planes of Hp rows of Wp int32: hp[y][x] = (q[y][x], q[y][x + 1]) and
 * vp[y][x] = (q[y][x], q[y + 1][x]), rows rowBytes apart. Wq >= Wp + 8 rounded up to 8; hp and vp
 * rows are written 8 entries at a time (up to Wp rounded up to 8), so past a row's Wp entries come
 * either the next row (written after it) or that many spare int32.
 */
export function seQuantOdd(
  src: usize, H: i32, W: i32, pad: i32, inv: f32, q: usize, Wq: i32, hp: usize, vp: usize, Hp: i32, Wp: i32, rowBytes: usize,
): void {
  const iv = f32x4.splat(inv);
  const qRow = <usize>Wq << 1;
  for (let y = 0; y < H; y++) {
    const s = src + (<usize>(y * W) << 2);
    const d = q + <usize>(y + pad) * qRow + (<usize>pad << 1);
    let x = 0;
    for (; x + 8 <= W; x += 8) {
      const p = s + (<usize>x << 2);
      v128.store(d + (<usize>x << 1), i16x8.narrow_i32x4_s(q4(p, iv), q4(p + 16, iv)));
    }
    for (; x < W; x++) store<i16>(d + (<usize>x << 1), <i16>q1(s + (<usize>x << 2), inv));
  }
  for (let y = 0; y < Hp; y++) {
    const r0 = q + <usize>y * qRow;
    const r1 = r0 + qRow;
    const h = hp + <usize>y * rowBytes;
    const v = vp + <usize>y * rowBytes;
    for (let x = 0; x < Wp; x += 8) {
      const a = v128.load(r0 + (<usize>x << 1));
      const b = v128.load(r0 + (<usize>x << 1), 2);
      const c = v128.load(r1 + (<usize>x << 1));
      const o = <usize>x << 2;
      v128.store(h + o, i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(h + o, i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      v128.store(v + o, i16x8.shuffle(a, c, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(v + o, i16x8.shuffle(a, c, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    }
  }
}

// x * inv rounded to the nearest integer, ties to even, as f32x4.nearest does: adding 1.5 * 2^23
// rounds a float of magnitude < 2^22 to an integer (the float unit's own round-to-nearest-even),
// which then sits in the low bits of the sum's pattern (3 instructions; nearest + trunc_sat take ~8)
const MAGIC: f32 = 12582912.0;
const MAGIC_BITS: i32 = 0x4b400000;

@inline function qmv(x: v128, iv: v128): v128 {
  return i32x4.sub(f32x4.add(f32x4.mul(x, iv), f32x4.splat(MAGIC)), i32x4.splat(MAGIC_BITS));
}

/**
 * Rows [yp0, yp0 + n) of seSigns33's image (padded row numbers) from a 3-channel H x W input, at
 * img (its row 0 = padded row yp0): the three planes quantised as seQuantOdd does, interleaved row
 * by row ([channels 0, 1][channel 2 horizontal pairs][its vertical pairs], SE33_ROW int32 each);
 * rows outside the input are zeros, and so are the columns outside it (never written). The vertical
 * pairs of the last row are not written (they would need the row after). q: channel 2's int16 rows
 * scratch, n rows of Wq (>= Wp + 8 rounded up to 8) int16, borders never written.
 * Returns max |x| over the input rows read (their whole width, all three channels): +inf if one is
 * infinite, NaN if one is NaN (the caller then discards the quantised rows: they are garbage). The
 * max is taken on the bit patterns of |x| (sign cleared), whose integer order is the float order,
 * NaN patterns above +inf's: one and + one max per vector.
 */
export function se33Quant(src: usize, H: i32, W: i32, pad: i32, inv: f32, img: usize, q: usize, Wq: i32, yp0: i32, n: i32): f32 {
  const iv = f32x4.splat(inv);
  const absMask = i32x4.splat(0x7fffffff);
  let mv = i32x4.splat(0);
  let ms: i32 = 0;
  const plane = <usize>(H * W) << 2;
  const qRow = <usize>Wq << 1;
  const rowBytes = <usize>(3 * SE33_ROW) << 2;
  const Wp = W + 2 * pad;
  for (let i = 0; i < n; i++) {
    const y = yp0 + i - pad;
    const d = img + <usize>i * rowBytes + (<usize>pad << 2);
    const dq = q + <usize>i * qRow + (<usize>pad << 1);
    if (y < 0 || y >= H) {
      memory.fill(d, 0, <usize>W << 2);
      memory.fill(dq, 0, <usize>W << 1);
      continue;
    }
    const s0 = src + (<usize>(y * W) << 2);
    const s1 = s0 + plane;
    const s2 = s1 + plane;
    let x = 0;
    for (; x + 8 <= W; x += 8) {
      const o = <usize>x << 2;
      const x00 = v128.load(s0 + o), x01 = v128.load(s0 + o, 16);
      const x10 = v128.load(s1 + o), x11 = v128.load(s1 + o, 16);
      const x20 = v128.load(s2 + o), x21 = v128.load(s2 + o, 16);
      const m0 = i32x4.max_s(v128.and(x00, absMask), v128.and(x01, absMask));
      const m1 = i32x4.max_s(v128.and(x10, absMask), v128.and(x11, absMask));
      const m2 = i32x4.max_s(v128.and(x20, absMask), v128.and(x21, absMask));
      mv = i32x4.max_s(mv, i32x4.max_s(m0, i32x4.max_s(m1, m2)));
      const c0 = i16x8.narrow_i32x4_s(qmv(x00, iv), qmv(x01, iv));
      const c1 = i16x8.narrow_i32x4_s(qmv(x10, iv), qmv(x11, iv));
      v128.store(d + o, i16x8.shuffle(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(d + o, i16x8.shuffle(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      v128.store(dq + (<usize>x << 1), i16x8.narrow_i32x4_s(qmv(x20, iv), qmv(x21, iv)));
    }
    for (; x < W; x++) {
      const o = <usize>x << 2;
      ms = max(ms, max(load<i32>(s0 + o) & 0x7fffffff, max(load<i32>(s1 + o) & 0x7fffffff, load<i32>(s2 + o) & 0x7fffffff)));
      store<i32>(d + o, (q1(s0 + o, inv) & 0xffff) | (q1(s1 + o, inv) << 16));
      store<i16>(dq + (<usize>x << 1), <i16>q1(s2 + o, inv));
    }
  }
  // channel 2's pairs, over whole rows (border columns from the zero border of q)
  for (let i = 0; i < n; i++) {
    const r0 = q + <usize>i * qRow;
    const r1 = r0 + qRow;
    const h = img + <usize>i * rowBytes + (<usize>SE33_ROW << 2);
    const v = h + (<usize>SE33_ROW << 2);
    const vRow = i + 1 < n;
    for (let x = 0; x < Wp; x += 8) {
      const a = v128.load(r0 + (<usize>x << 1));
      const b = v128.load(r0 + (<usize>x << 1), 2);
      const o = <usize>x << 2;
      v128.store(h + o, i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(h + o, i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      if (vRow) {
        const c = v128.load(r1 + (<usize>x << 1));
        v128.store(v + o, i16x8.shuffle(a, c, 0, 8, 1, 9, 2, 10, 3, 11));
        v128.store(v + o, i16x8.shuffle(a, c, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      }
    }
  }
  mv = i32x4.max_s(mv, i32x4.shuffle(mv, mv, 2, 3, 0, 1));
  mv = i32x4.max_s(mv, i32x4.shuffle(mv, mv, 1, 0, 3, 2));
  return reinterpret<f32>(max(ms, i32x4.extract_lane(mv, 0)));
}

/** Exact output (f, oy, ox) of a stride-1 float conv from the unpadded input, as floatTile sums it (weights: floatGemm's blocks of 4). */
function seExact(inPtr: usize, C: i32, H: i32, W: i32, size: i32, pad: i32, wpk: usize, K: i32, bias: usize, f: i32, oy: i32, ox: i32): f32 {
  let wp = wpk + <usize>(f >> 2) * (<usize>K << 4) + (<usize>(f & 3) << 2);
  let acc: f32 = 0;
  const y0 = oy - pad;
  const x0 = ox - pad;
  if (y0 >= 0 && y0 + size <= H && x0 >= 0 && x0 + size <= W) {
    // inside the image (nearly always): the same products in the same order, without the border tests
    for (let c = 0; c < C; c++) {
      let row = inPtr + (<usize>((c * H + y0) * W + x0) << 2);
      for (let ky = 0; ky < size; ky++) {
        for (let kx = 0; kx < size; kx++) {
          acc = acc + load<f32>(wp) * load<f32>(row + (<usize>kx << 2));
          wp += 16;
        }
        row += <usize>W << 2;
      }
    }
    return acc + load<f32>(bias + (<usize>f << 2));
  }
  for (let c = 0; c < C; c++) {
    const plane = inPtr + (<usize>(c * H * W) << 2);
    for (let ky = 0; ky < size; ky++) {
      const iy = oy + ky - pad;
      for (let kx = 0; kx < size; kx++) {
        const ix = ox + kx - pad;
        const x: f32 = iy >= 0 && iy < H && ix >= 0 && ix < W ? load<f32>(plane + (<usize>(iy * W + ix) << 2)) : 0;
        acc = acc + load<f32>(wp) * x;
        wp += 16;
      }
    }
  }
  return acc + load<f32>(bias + (<usize>f << 2));
}

/**
 * Settles the undecided (pixel, filter) pairs of one 8-pixel word group: tmp holds the sign words
 * (i16 lane q = pixel x0 + q, bit j = filter f0 + j) and, 16 bytes on, the undecided bits; the
 * exact outputs' signs are ORed into the words in place.
 */
function seSettle(
  tmp: usize, f0: i32, oy: i32, x0: i32,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, wpk: usize, K: i32, bias: usize,
): void {
  for (let q = 0; q < 8; q++) {
    let u = <i32>load<u16>(tmp + 16 + (<usize>q << 1));
    if (!u) continue;
    let word = <i32>load<u16>(tmp + (<usize>q << 1));
    while (u) {
      const j = ctz(u);
      u &= u - 1;
      if (seExact(inPtr, C, H, inW, size, pad, wpk, K, bias, f0 + j, oy, x0 + q) > 0) word |= 1 << j;
    }
    store<u16>(tmp + (<usize>q << 1), <u16>word);
  }
}

/**
 * Sign bits of output rows [r0, r1) (W >= 8 pixels each) into dst + (y*W + x)*Cb bytes, bit f of
 * the pixel's bytes for filter f. img: the pair image (taps at img + y*rowBytes + x*4 + koff[kp]).
 * wpk: [block of 4 filters][kp][filter][4 copies] int16 pairs, filters past nF all 0 (each pair
 * stored 4 times: V8 folds a v128.load's offset into the address, not a load32_splat's). hi, lom1:
 * per filter, nF rounded up to 16 (the padding makes S > hi and S > lom1 false): S > hi means
 * positive, S <= lom1 (S < lo) not positive, the rest is recomputed (seSettle). bitTab: 16
 * vectors, i16x8.splat(1 << j). tmp: 64 bytes of scratch. The rest: seExact's arguments.
 */
export function seSigns(
  img: usize, rowBytes: usize, koff: usize, KP: i32, wpk: usize, nF: i32, r0: i32, r1: i32, W: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  signsIn<AnyTaps>(img, rowBytes, koff, KP, wpk, nF, r0, r1, W, hi, lom1, bitTab, dst, Cb, tmp, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
}

/**
 * seSigns for 3 channels and a 3x3 kernel, its 14 taps unrolled at fixed offsets: the image rows
 * interleave the three planes (channels 0 and 1, channel 2's horizontal pairs, its vertical pairs),
 * SE33_ROW int32 each, so a row is 3 * SE33_ROW int32 (rowBytes); koff and KP are not read.
 */
export function seSigns33(
  img: usize, rowBytes: usize, koff: usize, KP: i32, wpk: usize, nF: i32, r0: i32, r1: i32, W: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  signsIn<Taps33>(img, rowBytes, koff, KP, wpk, nF, r0, r1, W, hi, lom1, bitTab, dst, Cb, tmp, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
}

/**
 * seSigns33 with a 2x2 stride-2 maxpool fused in (pooledIn): output rows [r0, r1) (r0 even) as
 * pooled rows r0 / 2 .. into the consumer's zero-bordered bit image dst (Wp columns, border pad).
 * For rows too wide for sewSigns (the Winograd kernel below, which the loader prefers).
 */
export function seSigns33Pooled(
  img: usize, rowBytes: usize, koff: usize, KP: i32, wpk: usize, nF: i32, r0: i32, r1: i32, W: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize, Wp: i32, dpad: i32,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  pooledIn<Taps33>(img, rowBytes, koff, KP, wpk, nF, r0, r1, W, hi, lom1, bitTab, dst, Cb, tmp, Wp, dpad, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
}

/**
 * Int32 per plane row of seSigns33's image (so at most 1040 padded input columns). Not a multiple
 * of 1024: taps 4 KiB apart would share one L1 set and evict each other.
 */
export const SE33_ROW: i32 = 1040;
/** Bytes from one plane of seSigns33's image to the next in a row, and from one row to the next. */
const PLANE33: usize = SE33_ROW << 2;
const ROW33: usize = 3 * PLANE33;

// how signsIn finds its taps, as marker types: any koff table, or seSigns33's fixed 14
class AnyTaps {}
class Taps33 {}

@inline function mac(a: v128, x: v128, w: v128): v128 {
  return i32x4.add(a, i32x4.dot_i16x8_s(x, w));
}

/**
 * The sign words of 8 pixels (x0 .. x0 + 7 of output row y, taps from sx) for filters
 * 16g .. 16g + 15: i16 lane q = pixel x0 + q, bit j = filter 16g + j. The undecided bits are
 * settled here, or (`defer`, a constant) left 0 and their mask stored at undAt.
 */
@inline function wordAt<L>(
  sx: usize, koff: usize, kEnd: usize, wpk: usize, blockBytes: usize, nF: i32, g: i32,
  hi: usize, lom1: usize, bitTab: usize, tmp: usize, y: i32, x0: i32, defer: bool, undAt: usize,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): v128 {
  let word = i32x4.splat(0);
  let ge = i32x4.splat(0);
  const bEnd = min(4, (nF - (g << 4) + 3) >> 2);
  for (let b = 0; b < bEnd; b++) {
    const f0 = (g << 4) + (b << 2);
    let wp = wpk + <usize>(f0 >> 2) * blockBytes;
    let a00 = i32x4.splat(0), a01 = i32x4.splat(0), a10 = i32x4.splat(0), a11 = i32x4.splat(0);
    let a20 = i32x4.splat(0), a21 = i32x4.splat(0), a30 = i32x4.splat(0), a31 = i32x4.splat(0);
    if (idof<L>() == idof<Taps33>()) {
      let v0: v128, v1: v128, w: v128;
      let r = sx;
      for (let ky = 0; ky < 3; ky++) {
        // channels 0, 1 at (ky, 0), (ky, 1), (ky, 2); channel 2 at (ky, 0) + (ky, 1)
        v0 = v128.load(r, 0); v1 = v128.load(r, 16);
        w = v128.load(wp, 0); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
        w = v128.load(wp, 16); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
        w = v128.load(wp, 32); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
        w = v128.load(wp, 48); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
        v0 = v128.load(r, 4); v1 = v128.load(r, 20);
        w = v128.load(wp, 64); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
        w = v128.load(wp, 80); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
        w = v128.load(wp, 96); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
        w = v128.load(wp, 112); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
        v0 = v128.load(r, 8); v1 = v128.load(r, 24);
        w = v128.load(wp, 128); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
        w = v128.load(wp, 144); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
        w = v128.load(wp, 160); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
        w = v128.load(wp, 176); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
        v0 = v128.load(r, PLANE33); v1 = v128.load(r, PLANE33 + 16);
        w = v128.load(wp, 192); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
        w = v128.load(wp, 208); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
        w = v128.load(wp, 224); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
        w = v128.load(wp, 240); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
        r += ROW33;
        wp += 256;
      }
      // channel 2 at (0, 2) + (1, 2), then (2, 2) alone
      v0 = v128.load(sx, 2 * PLANE33 + 8); v1 = v128.load(sx, 2 * PLANE33 + 24);
      w = v128.load(wp, 0); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
      w = v128.load(wp, 16); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
      w = v128.load(wp, 32); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
      w = v128.load(wp, 48); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
      v0 = v128.load(sx, 2 * ROW33 + PLANE33 + 8); v1 = v128.load(sx, 2 * ROW33 + PLANE33 + 24);
      w = v128.load(wp, 64); a00 = mac(a00, v0, w); a01 = mac(a01, v1, w);
      w = v128.load(wp, 80); a10 = mac(a10, v0, w); a11 = mac(a11, v1, w);
      w = v128.load(wp, 96); a20 = mac(a20, v0, w); a21 = mac(a21, v1, w);
      w = v128.load(wp, 112); a30 = mac(a30, v0, w); a31 = mac(a31, v1, w);
    } else {
      for (let kp = koff; kp < kEnd; kp += 4) {
        const p = sx + <usize>load<i32>(kp);
        const v0 = v128.load(p);
        const v1 = v128.load(p, 16);
        let w = v128.load(wp);
        a00 = mac(a00, v0, w);
        a01 = mac(a01, v1, w);
        w = v128.load(wp, 16);
        a10 = mac(a10, v0, w);
        a11 = mac(a11, v1, w);
        w = v128.load(wp, 32);
        a20 = mac(a20, v0, w);
        a21 = mac(a21, v1, w);
        w = v128.load(wp, 48);
        a30 = mac(a30, v0, w);
        a31 = mac(a31, v1, w);
        wp += 64;
      }
    }
    // per filter: lanes S > hi (positive) and S > lo - 1 (not certainly negative), as i16 masks
    const fh = hi + (<usize>f0 << 2);
    const fl = lom1 + (<usize>f0 << 2);
    const bt = bitTab + (<usize>(b << 2) << 4);
    let h = v128.load32_splat(fh);
    let l = v128.load32_splat(fl);
    let bit = v128.load(bt);
    word = v128.or(word, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a00, h), i32x4.gt_s(a01, h))));
    ge = v128.or(ge, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a00, l), i32x4.gt_s(a01, l))));
    h = v128.load32_splat(fh, 4);
    l = v128.load32_splat(fl, 4);
    bit = v128.load(bt, 16);
    word = v128.or(word, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a10, h), i32x4.gt_s(a11, h))));
    ge = v128.or(ge, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a10, l), i32x4.gt_s(a11, l))));
    h = v128.load32_splat(fh, 8);
    l = v128.load32_splat(fl, 8);
    bit = v128.load(bt, 32);
    word = v128.or(word, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a20, h), i32x4.gt_s(a21, h))));
    ge = v128.or(ge, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a20, l), i32x4.gt_s(a21, l))));
    h = v128.load32_splat(fh, 12);
    l = v128.load32_splat(fl, 12);
    bit = v128.load(bt, 48);
    word = v128.or(word, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a30, h), i32x4.gt_s(a31, h))));
    ge = v128.or(ge, v128.and(bit, i16x8.narrow_i32x4_s(i32x4.gt_s(a30, l), i32x4.gt_s(a31, l))));
  }
  // undecided: lo <= S <= hi (rare): recomputed exactly
  const und = v128.andnot(ge, word);
  if (defer) {
    v128.store(undAt, und);
  } else if (v128.any_true(und)) {
    v128.store(tmp, word);
    v128.store(tmp, und, 16);
    seSettle(tmp, g << 4, y, x0, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
    word = v128.load(tmp);
  }
  return word;
}

/** The n (8, or 4 pooled) pixel words of v (i16 lanes) at d, d + cb, ...: bytes 2g and 2g + 1 of each pixel's Cb. */
@inline function storeWords(d: usize, v: v128, n: i32, cb: usize, g: i32): void {
  if (cb == 2) {
    if (n == 8) v128.store(d, v);
    else v128.store64_lane(d, v, 0);
  } else if (<usize>((g << 1) + 1) < cb) {
    v128.store16_lane(d, v, 0);
    v128.store16_lane(d + cb, v, 1);
    v128.store16_lane(d + 2 * cb, v, 2);
    v128.store16_lane(d + 3 * cb, v, 3);
    if (n == 8) {
      v128.store16_lane(d + 4 * cb, v, 4);
      v128.store16_lane(d + 5 * cb, v, 5);
      v128.store16_lane(d + 6 * cb, v, 6);
      v128.store16_lane(d + 7 * cb, v, 7);
    }
  } else {
    v128.store8_lane(d, v, 0);
    v128.store8_lane(d + cb, v, 2);
    v128.store8_lane(d + 2 * cb, v, 4);
    v128.store8_lane(d + 3 * cb, v, 6);
    if (n == 8) {
      v128.store8_lane(d + 4 * cb, v, 8);
      v128.store8_lane(d + 5 * cb, v, 10);
      v128.store8_lane(d + 6 * cb, v, 12);
      v128.store8_lane(d + 7 * cb, v, 14);
    }
  }
}

@inline function signsIn<L>(
  img: usize, rowBytes: usize, koff: usize, KP: i32, wpk: usize, nF: i32, r0: i32, r1: i32, W: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  const kEnd = koff + (<usize>KP << 2);
  const blockBytes = <usize>KP << 6;
  const groups = (nF + 15) >> 4;
  const cb = <usize>Cb;
  for (let y = r0; y < r1; y++) {
    const sRow = img + <usize>y * rowBytes;
    for (let xs = 0; xs < W; xs += 8) {
      // the last 8 pixels of a row end at its last pixel (W >= 8): a few are done twice, alike
      const x0 = min(xs, W - 8);
      const sx = sRow + (<usize>x0 << 2);
      for (let g = 0; g < groups; g++) {
        const word = wordAt<L>(sx, koff, kEnd, wpk, blockBytes, nF, g, hi, lom1, bitTab, tmp, y, x0, false, 0, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
        storeWords(dst + <usize>(y * W + x0) * cb + (<usize>g << 1), word, 8, cb, g);
      }
    }
  }
}

/**
 * signsIn with darknet's 2x2 stride-2 maxpool (no padding) fused in: rows r0, r0 + 1 (r0 even), ...
 * of the conv output pooled by OR into the bits of pooled row y / 2, written into a consumer's
 * zero-bordered image dst ([Wp columns][Cb], its interior at (pad, pad)). A last odd row or column
 * is not pooled (darknet's window count), so not computed.
 */
@inline function pooledIn<L>(
  img: usize, rowBytes: usize, koff: usize, KP: i32, wpk: usize, nF: i32, r0: i32, r1: i32, W: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize, Wp: i32, dpad: i32,
  inPtr: usize, C: i32, H: i32, inW: i32, size: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  const kEnd = koff + (<usize>KP << 2);
  const blockBytes = <usize>KP << 6;
  const groups = (nF + 15) >> 4;
  const cb = <usize>Cb;
  for (let y = r0; y + 1 < r1; y += 2) {
    const sRow = img + <usize>y * rowBytes;
    const dRow = dst + <usize>((y >> 1) + dpad) * <usize>Wp * cb;
    for (let xs = 0; xs < W; xs += 8) {
      // as signsIn, the last 8 pixels end at the last pooled column (an even start: whole windows)
      const x0 = min(xs, (W - 8) & ~1);
      const sx = sRow + (<usize>x0 << 2);
      for (let g = 0; g < groups; g++) {
        let w0 = wordAt<L>(sx, koff, kEnd, wpk, blockBytes, nF, g, hi, lom1, bitTab, tmp, y, x0, true, tmp + 32, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
        let w1 = wordAt<L>(sx + rowBytes, koff, kEnd, wpk, blockBytes, nF, g, hi, lom1, bitTab, tmp, y + 1, x0, true, tmp + 48, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
        // undecided outputs matter only in windows without a certain positive (rare): settled then
        let v = v128.or(w0, w1);
        const win = v128.or(v, i8x16.shuffle(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
        const u0 = v128.andnot(v128.load(tmp, 32), win);
        const u1 = v128.andnot(v128.load(tmp, 48), win);
        if (v128.any_true(v128.or(u0, u1))) {
          v128.store(tmp, w0);
          v128.store(tmp, u0, 16);
          seSettle(tmp, g << 4, y, x0, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
          w0 = v128.load(tmp);
          v128.store(tmp, w1);
          v128.store(tmp, u1, 16);
          seSettle(tmp, g << 4, y + 1, x0, inPtr, C, H, inW, size, pad, exactWpk, K, bias);
          w1 = v128.load(tmp);
          v = v128.or(w0, w1);
        }
        // OR of pixel pairs (the two halves of each i32 lane), packed to 4 words
        v = v128.or(v, i32x4.shr_u(v, 16));
        v = i8x16.shuffle(v, v, 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13);
        storeWords(dRow + <usize>((x0 >> 1) + dpad) * cb + (<usize>g << 1), v, 4, cb, g);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The pooled first layer in Winograd F(2, 3) along rows, in integers (seSigns33's pooled case):
// an output pair (x, x + 1) = 2t, 2t + 1 (a maxpool window's columns) from the inputs d0..d3 at
// padded columns 2t .. 2t + 3 of each kernel row, per channel
//   U0 = d0 - d2, U1 = d1 + d2, U2 = d2 - d1, U3 = d1 - d3            (input transform, exact)
//   V0 = 2 g0, V1 = g0 + g1 + g2, V2 = g0 - g1 + g2, V3 = 2 g2          (2x the weight transform: integers)
//   m_j = sum over channels and kernel rows of U_j V_j
//   2 S(x) = m0 + m1 + m2, 2 S(x + 1) = m1 - m2 - m3                    (exactly: integer algebra)
// so the sums are twice seSigns33's S, bit for bit (the bounds are doubled), from 20 int16 pair dots
// per output pair instead of 28. Pairs: channels (0, 1) at each kernel row (3), channel 2's rows
// (0, 1) (1) and its row 2 alone (1), for each j. |U| <= 2 max|xq| and |V| <= 3 max|wq| must fit
// int16 (the loader halves the input range and checks the weights); the int32 sums may wrap on the
// way, the final 2 S fits (the same budget as S's).
//
// Image row (padded row): [A_0 .. A_3][V_0 .. V_3], SEW_T int32 each: A_j[t] = (U_j of channel 0,
// of channel 1) at tile t, V_j[t] = (U_j of channel 2 at this row, at the next row).

/** Tiles (int32) per plane row of the Winograd image: pooled widths up to 2 * 264. */
export const SEW_T: i32 = 272;
const WJ: usize = <usize>SEW_T << 2;
const WROW: usize = 8 * WJ;

@inline function evens(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
}
@inline function odds(a: v128, b: v128): v128 {
  return i16x8.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
}

/**
 * Rows [yp0, yp0 + n) of sewSigns's image (padded numbering; the image's row 0 = padded row yp0)
 * from a 3-channel H x W input: quantised (round(x * inv), as se33Quant; |x * inv| <= 16383 by the
 * caller's scale) into the three int16 planes q (qPlane bytes apart, rows of Wq int16, the image at
 * (pad, pad), borders never written: 0), then transformed for tiles 0 .. nT - 1 (a multiple of 8).
 * u2: channel 2's U rows ([row][j][SEW_T] int16, n + 1 rows, the last one only read against zero
 * weights). Returns max |x| of the input rows read, as se33Quant (NaN / inf: the rows are garbage).
 */
export function sewQuant(
  src: usize, H: i32, W: i32, pad: i32, inv: f32, img: usize, q: usize, Wq: i32, qPlane: usize, u2: usize, yp0: i32, n: i32, nT: i32,
): f32 {
  const iv = f32x4.splat(inv);
  const absMask = i32x4.splat(0x7fffffff);
  let mv = i32x4.splat(0);
  let ms: i32 = 0;
  const plane = <usize>(H * W) << 2;
  const qRow = <usize>Wq << 1;
  for (let i = 0; i < n; i++) {
    const y = yp0 + i - pad;
    const d0 = q + <usize>i * qRow + (<usize>pad << 1);
    const d1 = d0 + qPlane;
    const d2 = d1 + qPlane;
    if (y < 0 || y >= H) {
      memory.fill(d0, 0, <usize>W << 1);
      memory.fill(d1, 0, <usize>W << 1);
      memory.fill(d2, 0, <usize>W << 1);
      continue;
    }
    const s0 = src + (<usize>(y * W) << 2);
    const s1 = s0 + plane;
    const s2 = s1 + plane;
    let x = 0;
    for (; x + 8 <= W; x += 8) {
      const o = <usize>x << 2;
      const x00 = v128.load(s0 + o), x01 = v128.load(s0 + o, 16);
      const x10 = v128.load(s1 + o), x11 = v128.load(s1 + o, 16);
      const x20 = v128.load(s2 + o), x21 = v128.load(s2 + o, 16);
      const m0 = i32x4.max_s(v128.and(x00, absMask), v128.and(x01, absMask));
      const m1 = i32x4.max_s(v128.and(x10, absMask), v128.and(x11, absMask));
      const m2 = i32x4.max_s(v128.and(x20, absMask), v128.and(x21, absMask));
      mv = i32x4.max_s(mv, i32x4.max_s(m0, i32x4.max_s(m1, m2)));
      const h = <usize>x << 1;
      v128.store(d0 + h, i16x8.narrow_i32x4_s(qmv(x00, iv), qmv(x01, iv)));
      v128.store(d1 + h, i16x8.narrow_i32x4_s(qmv(x10, iv), qmv(x11, iv)));
      v128.store(d2 + h, i16x8.narrow_i32x4_s(qmv(x20, iv), qmv(x21, iv)));
    }
    for (; x < W; x++) {
      const o = <usize>x << 2;
      ms = max(ms, max(load<i32>(s0 + o) & 0x7fffffff, max(load<i32>(s1 + o) & 0x7fffffff, load<i32>(s2 + o) & 0x7fffffff)));
      const h = <usize>x << 1;
      store<i16>(d0 + h, <i16>q1(s0 + o, inv));
      store<i16>(d1 + h, <i16>q1(s1 + o, inv));
      store<i16>(d2 + h, <i16>q1(s2 + o, inv));
    }
  }
  const uRow = <usize>SEW_T << 3; // 4 planes of SEW_T int16
  for (let i = 0; i < n; i++) {
    const r0 = q + <usize>i * qRow;
    const r1 = r0 + qPlane;
    const r2 = r1 + qPlane;
    const a = img + <usize>i * WROW;
    const u = u2 + <usize>i * uRow;
    for (let t = 0; t < nT; t += 8) {
      const p = <usize>t << 2; // input column 2t, int16
      // channel 0
      let l0 = v128.load(r0 + p), l1 = v128.load(r0 + p, 16), l2 = v128.load(r0 + p, 4), l3 = v128.load(r0 + p, 20);
      let e = evens(l0, l1), o = odds(l0, l1), e2 = evens(l2, l3), o2 = odds(l2, l3);
      const a0 = i16x8.sub(e, e2), a1 = i16x8.add(o, e2), a2 = i16x8.sub(e2, o), a3 = i16x8.sub(o, o2);
      // channel 1
      l0 = v128.load(r1 + p); l1 = v128.load(r1 + p, 16); l2 = v128.load(r1 + p, 4); l3 = v128.load(r1 + p, 20);
      e = evens(l0, l1); o = odds(l0, l1); e2 = evens(l2, l3); o2 = odds(l2, l3);
      const b0 = i16x8.sub(e, e2), b1 = i16x8.add(o, e2), b2 = i16x8.sub(e2, o), b3 = i16x8.sub(o, o2);
      const at = a + p;
      v128.store(at, i16x8.shuffle(a0, b0, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(at, i16x8.shuffle(a0, b0, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      v128.store(at, i16x8.shuffle(a1, b1, 0, 8, 1, 9, 2, 10, 3, 11), WJ);
      v128.store(at, i16x8.shuffle(a1, b1, 4, 12, 5, 13, 6, 14, 7, 15), WJ + 16);
      v128.store(at, i16x8.shuffle(a2, b2, 0, 8, 1, 9, 2, 10, 3, 11), 2 * WJ);
      v128.store(at, i16x8.shuffle(a2, b2, 4, 12, 5, 13, 6, 14, 7, 15), 2 * WJ + 16);
      v128.store(at, i16x8.shuffle(a3, b3, 0, 8, 1, 9, 2, 10, 3, 11), 3 * WJ);
      v128.store(at, i16x8.shuffle(a3, b3, 4, 12, 5, 13, 6, 14, 7, 15), 3 * WJ + 16);
      // channel 2: its U rows, paired vertically below
      l0 = v128.load(r2 + p); l1 = v128.load(r2 + p, 16); l2 = v128.load(r2 + p, 4); l3 = v128.load(r2 + p, 20);
      e = evens(l0, l1); o = odds(l0, l1); e2 = evens(l2, l3); o2 = odds(l2, l3);
      const ut = u + (<usize>t << 1);
      v128.store(ut, i16x8.sub(e, e2));
      v128.store(ut, i16x8.add(o, e2), <usize>SEW_T << 1);
      v128.store(ut, i16x8.sub(e2, o), <usize>SEW_T << 2);
      v128.store(ut, i16x8.sub(o, o2), 3 * (<usize>SEW_T << 1));
    }
  }
  for (let i = 0; i < n; i++) {
    const u = u2 + <usize>i * uRow;
    const v = img + <usize>i * WROW + 4 * WJ;
    for (let j = 0; j < 4; j++) {
      const uj = u + (<usize>j * <usize>SEW_T << 1);
      const vj = v + <usize>j * WJ;
      for (let t = 0; t < nT; t += 8) {
        const c0 = v128.load(uj + (<usize>t << 1));
        const c1 = v128.load(uj + uRow + (<usize>t << 1));
        v128.store(vj + (<usize>t << 2), i16x8.shuffle(c0, c1, 0, 8, 1, 9, 2, 10, 3, 11));
        v128.store(vj + (<usize>t << 2), i16x8.shuffle(c0, c1, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      }
    }
  }
  mv = i32x4.max_s(mv, i32x4.shuffle(mv, mv, 2, 3, 0, 1));
  mv = i32x4.max_s(mv, i32x4.shuffle(mv, mv, 1, 0, 3, 2));
  return reinterpret<f32>(max(ms, i32x4.extract_lane(mv, 0)));
}

/**
 * Whether one of the 4 outputs of filter f at (y0 + pad, x0 + pad) .. (+1, +1) is > 0, each exactly
 * as seExact sums it (the same products and sums, in the same order, one f32 lane each: wasm's
 * f32x4 mul and add round as the scalar ones do), for a window whose inputs lie inside the image.
 */
function seExactWin(inPtr: usize, H: i32, W: i32, wpk: usize, K: i32, bias: usize, f: i32, y0: i32, x0: i32): bool {
  let wp = wpk + <usize>(f >> 2) * (<usize>K << 4) + (<usize>(f & 3) << 2);
  let acc = f32x4.splat(0);
  const rowBytes = <usize>W << 2;
  for (let c = 0; c < 3; c++) {
    let row = inPtr + (<usize>((c * H + y0) * W + x0) << 2);
    for (let ky = 0; ky < 3; ky++) {
      for (let kx = 0; kx < 3; kx++) {
        const p = row + (<usize>kx << 2);
        // lanes: (y, x), (y, x + 1), (y + 1, x), (y + 1, x + 1)
        const x = v128.load64_lane(p + rowBytes, v128.load64_zero(p), 1);
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(wp)), x));
        wp += 16;
      }
      row += rowBytes;
    }
  }
  acc = f32x4.add(acc, f32x4.splat(load<f32>(bias + (<usize>f << 2))));
  return v128.any_true(f32x4.gt(acc, f32x4.splat(0)));
}

/** Settles the undecided (window, filter) pairs of 4 windows (tmp: i32 lanes of words, 16 bytes on the undecided bits): a window is positive if one of its 4 exact outputs is. */
function sewSettle(
  tmp: usize, f0: i32, oy: i32, t0: i32,
  inPtr: usize, H: i32, inW: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  for (let q = 0; q < 4; q++) {
    let u = load<i32>(tmp + 16 + (<usize>q << 2)) & 0xffff;
    if (!u) continue;
    let word = load<i32>(tmp + (<usize>q << 2));
    const ox = (t0 + q) << 1;
    while (u) {
      const j = ctz(u);
      u &= u - 1;
      const f = f0 + j;
      const y0 = oy - pad;
      const x0 = ox - pad;
      if (y0 >= 0 && y0 + 4 <= H && x0 >= 0 && x0 + 4 <= inW) {
        if (seExactWin(inPtr, H, inW, exactWpk, K, bias, f, y0, x0)) word |= 1 << j;
      } else if (
        seExact(inPtr, 3, H, inW, 3, pad, exactWpk, K, bias, f, oy, ox) > 0 ||
        seExact(inPtr, 3, H, inW, 3, pad, exactWpk, K, bias, f, oy, ox + 1) > 0 ||
        seExact(inPtr, 3, H, inW, 3, pad, exactWpk, K, bias, f, oy + 1, ox) > 0 ||
        seExact(inPtr, 3, H, inW, 3, pad, exactWpk, K, bias, f, oy + 1, ox + 1) > 0
      ) word |= 1 << j;
    }
    store<i32>(tmp + (<usize>q << 2), word);
  }
}

/**
 * seSigns33Pooled from sewQuant's image (row y at img + y * WROW): output rows [r0, r1) (r0 even)
 * 2x2-maxpooled into pooled rows r0 / 2 .. of dst (Wp columns of Cb bytes, border dpad), nWin
 * (>= 4) windows a row. wpk: per filter, [j][pair] 20 int16 pairs stored 4 times (320 bytes).
 * hi, lom1: per filter, in units of 2 S. The window's max of the 4 sums is compared: > hi: a certain
 * positive (bit set), <= lom1: all certainly not positive, else its 4 outputs are computed exactly.
 */
export function sewSigns(
  img: usize, wpk: usize, nF: i32, r0: i32, r1: i32, nWin: i32,
  hi: usize, lom1: usize, bitTab: usize, dst: usize, Cb: i32, tmp: usize, Wp: i32, dpad: i32,
  inPtr: usize, H: i32, inW: i32, pad: i32, exactWpk: usize, K: i32, bias: usize,
): void {
  const groups = (nF + 15) >> 4;
  const cb = <usize>Cb;
  for (let y = r0; y + 1 < r1; y += 2) {
    const sRow = img + <usize>y * WROW;
    const dRow = dst + <usize>((y >> 1) + dpad) * <usize>Wp * cb;
    for (let ts = 0; ts < nWin; ts += 4) {
      const t0 = min(ts, nWin - 4);
      const sx0 = sRow + (<usize>t0 << 2);
      for (let g = 0; g < groups; g++) {
        let word = i32x4.splat(0);
        let ge = i32x4.splat(0);
        const fEnd = min(16, nF - (g << 4));
        for (let jf = 0; jf < fEnd; jf++) {
          const f = (g << 4) + jf;
          const wp = wpk + <usize>f * 320;
          // + 0, but not provably: the input loads stay in this loop (hoisted out of it, 40 vectors
          // would live across it in 15 registers: V8 spilled nearly all of them)
          const sx = sx0 + <usize>(f >> 31);
          let w: v128;
          let m: v128;
          let y0a: v128, y1a: v128, y0b: v128, y1b: v128;
          w = v128.load(wp, 0);
          m = i32x4.dot_i16x8_s(v128.load(sx, 0 * WJ), w);
          w = v128.load(wp, 16);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 0 * WJ), w));
          w = v128.load(wp, 32);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 0 * WJ), w));
          w = v128.load(wp, 48);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 4 * WJ), w));
          w = v128.load(wp, 64);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 4 * WJ), w));
          y0a = m;
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 0);
          m = i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 0 * WJ), w);
          w = v128.load(wp, 16);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 0 * WJ), w));
          w = v128.load(wp, 32);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 0 * WJ), w));
          w = v128.load(wp, 48);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 4 * WJ), w));
          w = v128.load(wp, 64);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 4 * WJ), w));
          y0b = m;
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 80);
          m = i32x4.dot_i16x8_s(v128.load(sx, 1 * WJ), w);
          w = v128.load(wp, 96);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 1 * WJ), w));
          w = v128.load(wp, 112);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 1 * WJ), w));
          w = v128.load(wp, 128);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 5 * WJ), w));
          w = v128.load(wp, 144);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 5 * WJ), w));
          y0a = i32x4.add(y0a, m);
          y1a = m;
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 80);
          m = i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 1 * WJ), w);
          w = v128.load(wp, 96);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 1 * WJ), w));
          w = v128.load(wp, 112);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 1 * WJ), w));
          w = v128.load(wp, 128);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 5 * WJ), w));
          w = v128.load(wp, 144);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 5 * WJ), w));
          y0b = i32x4.add(y0b, m);
          y1b = m;
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 160);
          m = i32x4.dot_i16x8_s(v128.load(sx, 2 * WJ), w);
          w = v128.load(wp, 176);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 2 * WJ), w));
          w = v128.load(wp, 192);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 2 * WJ), w));
          w = v128.load(wp, 208);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 6 * WJ), w));
          w = v128.load(wp, 224);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 6 * WJ), w));
          y0a = i32x4.add(y0a, m);
          y1a = i32x4.sub(y1a, m);
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 160);
          m = i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 2 * WJ), w);
          w = v128.load(wp, 176);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 2 * WJ), w));
          w = v128.load(wp, 192);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 2 * WJ), w));
          w = v128.load(wp, 208);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 6 * WJ), w));
          w = v128.load(wp, 224);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 6 * WJ), w));
          y0b = i32x4.add(y0b, m);
          y1b = i32x4.sub(y1b, m);
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 240);
          m = i32x4.dot_i16x8_s(v128.load(sx, 3 * WJ), w);
          w = v128.load(wp, 256);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 3 * WJ), w));
          w = v128.load(wp, 272);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 3 * WJ), w));
          w = v128.load(wp, 288);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 7 * WJ), w));
          w = v128.load(wp, 304);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 7 * WJ), w));
          y1a = i32x4.sub(y1a, m);
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          w = v128.load(wp, 240);
          m = i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 3 * WJ), w);
          w = v128.load(wp, 256);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 2 * WROW + 3 * WJ), w));
          w = v128.load(wp, 272);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 3 * WJ), w));
          w = v128.load(wp, 288);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 1 * WROW + 7 * WJ), w));
          w = v128.load(wp, 304);
          m = i32x4.add(m, i32x4.dot_i16x8_s(v128.load(sx, 3 * WROW + 7 * WJ), w));
          y1b = i32x4.sub(y1b, m);
          v128.store(tmp, m, 64); // a fence: V8 keeps loads after it, so not all 40 hoisted to the top (and spilled)
          const mx = i32x4.max_s(i32x4.max_s(y0a, y1a), i32x4.max_s(y0b, y1b));
          const bit = v128.load(bitTab + (<usize>jf << 4));
          word = v128.or(word, v128.and(bit, i32x4.gt_s(mx, v128.load32_splat(hi + (<usize>f << 2)))));
          ge = v128.or(ge, v128.and(bit, i32x4.gt_s(mx, v128.load32_splat(lom1 + (<usize>f << 2)))));
        }
        // undecided windows (rare): their 4 outputs exactly
        const und = v128.andnot(ge, word);
        if (v128.any_true(und)) {
          v128.store(tmp, word);
          v128.store(tmp, und, 16);
          sewSettle(tmp, g << 4, y, t0, inPtr, H, inW, pad, exactWpk, K, bias);
          word = v128.load(tmp);
        }
        // the low 16 bits of each lane: the 4 windows' words
        const v = i8x16.shuffle(word, word, 0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13);
        storeWords(dRow + <usize>(t0 + dpad) * cb + (<usize>g << 1), v, 4, cb, g);
      }
    }
  }
}

// ---- The per-band orchestration (seBands, seBandsClaim): one call runs many bands, so threads can share them.
//
// Each band of SE_BAND output rows is quantised with its scale hint, re-quantised where the hint
// does not fit, given its own bounds and then its signs, as the loader's quantBand + band did one
// JS call at a time. Bands share nothing but read-only weights and their own scale hint slot, so
// threads run disjoint bands, each thread with its own scratch (image, int16 rows, bounds, tmp)
// named by its context block. The bounds are computed here in f64 with the same
// operations, in the same order, as the loader's former setBounds (IEEE doubles, no contraction),
// so they are the same integers whichever thread or call computes them.

/** Output rows per band (the loader's SE33_BAND). */
export const SE_BAND: i32 = 12;

// seBands' context block: int32 slots (addresses are byte addresses)
const C_MODE = 0; // 0: sewQuant + sewSigns (pooled Winograd), 1: se33Quant + seSigns33Pooled, 2: se33Quant + seSigns33
const C_H = 1;
const C_W = 2;
const C_PAD = 3;
const C_OUTH = 4;
const C_OUTW = 5;
const C_NF = 6;
const C_QA = 7;
const C_K = 8;
const C_IMG = 9; // this thread's image (sewSigns's or seSigns33's)
const C_Q = 10; // this thread's int16 rows
const C_WQ = 11;
const C_QPLANE = 12;
const C_U2 = 13; // this thread's channel-2 U rows (mode 0)
const C_NT = 14;
const C_WPK = 15;
const C_NWIN = 16;
const C_HI = 17; // this thread's bounds (padded to 16 filters with I32_MAX)
const C_LOM1 = 18;
const C_BITTAB = 19;
const C_DST = 20;
const C_CB = 21;
const C_TMP = 22; // this thread's 128 bytes of scratch
const C_DWP = 23;
const C_DPAD = 24;
const C_EXACT = 25;
const C_BIAS = 26;
const C_KOFF = 27;
const C_KP = 28;
const C_ROWBYTES = 29;
const C_W1 = 30; // f64 per filter: sum |w| (rounded up)
const C_EW = 31; // f64 per filter: the weights' quantisation error
const C_BIASF = 32; // f64 per filter
const C_WSCALE = 33; // f64 per filter
const C_BANDINV = 34; // f64 per band: the scale hints (shared; each band is run by one thread)
const C_IMGBYTES = 35; // bytes of the image a non-finite band zeroes
/** Int32 slots of a context block. */
export const SE_CTX_INTS: i32 = 36;

const SE_U: f64 = 5.9604644775390625e-8; // 2^-24, float32 unit roundoff
const SE_TINY: f64 = 1.401298464324817e-45; // 2^-149
const SE_MAX_INV: f64 = 1.2676506002282294e30; // 2^100
const I32_MAX_F: f64 = 2147483647;
const I32_MIN_F: f64 = -2147483648;

@inline function ci(ctx: usize, slot: i32): i32 {
  return load<i32>(ctx + (<usize>slot << 2));
}
@inline function cp(ctx: usize, slot: i32): usize {
  return <usize>load<u32>(ctx + (<usize>slot << 2));
}

/**
 * The largest float32 <= inv with amax * inv <= qA (the input scale of a quantisation that clamps
 * nothing); the loader's whole-input path (SignEstimate.begin) calls it too.
 */
export function seScaleFor(qA: f64, amax: f64): f64 {
  let inv = min(<f64><f32>(qA / amax), SE_MAX_INV);
  while (amax * inv > qA) inv = <f64>reinterpret<f32>(reinterpret<i32>(<f32>inv) - 1);
  return inv;
}

@inline function seWiden(x: f64, dir: f64): f64 {
  return x + dir * (abs(x) * 1e-12 + 1e-9);
}

@inline function seClampI32(x: f64): i32 {
  if (x != x) return 0; // never (finite operands), but a trap-free conversion either way
  return <i32>(x > I32_MAX_F ? I32_MAX_F : x < I32_MIN_F ? I32_MIN_F : x);
}

/**
 * The bounds hi, lo - 1 per filter (into this thread's hi, lom1) for a band quantised as
 * round(x * inv) without clamping (amax * inv <= qA) whose largest |x| is amax; the error bound is
 * documented in src/engine/kernels/wasm/sign-estimate.ts. twice: the sums are 2 S (Winograd).
 */
function seBounds(ctx: usize, inv: f64, amax: f64, twice: bool): void {
  seBoundsOf(cp(ctx, C_W1), cp(ctx, C_EW), cp(ctx, C_BIASF), cp(ctx, C_WSCALE), ci(ctx, C_NF), ci(ctx, C_K), cp(ctx, C_HI), cp(ctx, C_LOM1), inv, amax, twice);
}

/**
 * seBounds with its inputs named one by one (f64 per filter: sum |w|, the weights' quantisation
 * error, bias, weight scale; i32 bounds out): the one place the bounds are computed, for the banded
 * kernels and for the loader's other shapes (SignEstimate.setBounds) alike.
 */
export function seBoundsOf(
  w1p: usize, ewp: usize, bp: usize, sp: usize, nF: i32, Ki: i32, hi: usize, lom1: usize, inv: f64, amax: f64, twice: bool,
): void {
  const K = <f64>Ki;
  const sigma = 1 / inv;
  const gamma = ((K + 1) * SE_U) / (1 - (K + 1) * SE_U);
  const ex = sigma / 2 + SE_U * amax;
  for (let f = 0; f < nF; f++) {
    const o = <usize>f << 3;
    const w1 = load<f64>(w1p + o);
    const ew = load<f64>(ewp + o);
    const b = load<f64>(bp + o);
    const darknet = gamma * (w1 * amax + abs(b)) + (2 * K + 2) * SE_TINY;
    const quant = w1 * ex + (amax + ex) * ew;
    const e = 1.01 * (darknet + quant) + 1e-30;
    const step = sigma * load<f64>(sp + o); // value of one unit of S
    let h: f64;
    let l: f64;
    if (!(step > 0)) {
      // an all-zero filter: v = b exactly (and every sum is 0)
      h = b > 0 ? I32_MIN_F : I32_MAX_F;
      l = h;
    } else {
      h = Math.ceil(seWiden((e - b) / step, 1));
      l = Math.floor(seWiden((-e - b) / step, -1));
    }
    // Winograd's sums are 2 S: 2 S > 2 hi, 2 S > 2 lo - 1 (clamped alike: |2 S| < 2^31 too)
    store<i32>(hi + (<usize>f << 2), seClampI32(twice ? 2 * h : h));
    store<i32>(lom1 + (<usize>f << 2), seClampI32(twice ? 2 * l - 1 : l - 1));
  }
}

/** The band's quantisation (mode 0: sewQuant, else se33Quant) with scale inv into this thread's scratch; returns its max |x|. */
function seQuant(ctx: usize, inPtr: usize, inv: f64, y0: i32, n: i32): f64 {
  const H = ci(ctx, C_H), W = ci(ctx, C_W), pad = ci(ctx, C_PAD);
  if (ci(ctx, C_MODE) == 0) {
    return <f64>sewQuant(inPtr, H, W, pad, <f32>inv, cp(ctx, C_IMG), cp(ctx, C_Q), ci(ctx, C_WQ), cp(ctx, C_QPLANE), cp(ctx, C_U2), y0, n + 2,
      ci(ctx, C_NT));
  }
  return <f64>se33Quant(inPtr, H, W, pad, <f32>inv, cp(ctx, C_IMG), cp(ctx, C_Q), ci(ctx, C_WQ), y0, n + 2);
}

/**
 * Quantises band bi (output rows y0 .. y0 + n, image rows y0 .. y0 + n + 1) and sets its bounds:
 * the scale hint is kept unless the band's max m would clamp (m * inv > qA) or leave a coarse
 * step (m * inv < qA / 4); a band of zeros keeps its scale; a NaN or an infinity gives a zero image
 * and bounds that decide nothing (every output exact). See the loader's SignEstimate for why.
 */
function seQuantBand(ctx: usize, inPtr: usize, bi: i32, y0: i32, n: i32): void {
  const qA = <f64>ci(ctx, C_QA);
  const hint = cp(ctx, C_BANDINV) + (<usize>bi << 3);
  let inv = load<f64>(hint);
  let m = seQuant(ctx, inPtr, inv, y0, n);
  if (!isFinite(m)) {
    memory.fill(cp(ctx, C_IMG), 0, cp(ctx, C_IMGBYTES));
    const nF = ci(ctx, C_NF);
    const hi = cp(ctx, C_HI), lom1 = cp(ctx, C_LOM1);
    for (let f = 0; f < nF; f++) {
      store<i32>(hi + (<usize>f << 2), i32.MAX_VALUE);
      store<i32>(lom1 + (<usize>f << 2), i32.MIN_VALUE);
    }
    return;
  }
  if (m > 0 && !(m * inv <= qA && m * inv >= qA / 4)) {
    inv = seScaleFor(qA, m);
    m = seQuant(ctx, inPtr, inv, y0, n);
  } else if (!(inv > 0)) {
    inv = qA; // zeros, no hint yet: the scale of |x| <= 1
  }
  store<f64>(hint, inv);
  seBounds(ctx, inv, m, ci(ctx, C_MODE) == 0);
}

/**
 * Bands [b0, b1) of a 3-channel 3x3 sign estimate (each SE_BAND output rows, the last one shorter):
 * quantised, bounded and signed in turn with the context's scratch. The bands write disjoint rows
 * of the destination (pooled: row pairs, SE_BAND is even), so threads may run disjoint bands.
 */
export function seBands(ctx: usize, inPtr: usize, b0: i32, b1: i32): void {
  for (let bi = b0; bi < b1; bi++) seBand(ctx, inPtr, bi);
}

/**
 * seBands with the bands claimed one at a time from a shared counter (int32 at `next`, 0 at the
 * start of a frame) until nBands are claimed: each thread runs whichever bands are left when it
 * gets to them, so a worker that wakes late, or a thread slowed by other load, takes fewer bands
 * instead of holding the others up. Which thread runs a band changes nothing in its bits.
 */
export function seBandsClaim(ctx: usize, inPtr: usize, next: usize, nBands: i32): void {
  for (let bi = atomic.add<i32>(next, 1); bi < nBands; bi = atomic.add<i32>(next, 1)) seBand(ctx, inPtr, bi);
}

/** Band bi: quantised, bounded and signed with the context's scratch. */
function seBand(ctx: usize, inPtr: usize, bi: i32): void {
  const mode = ci(ctx, C_MODE);
  const outH = ci(ctx, C_OUTH), nF = ci(ctx, C_NF);
  const H = ci(ctx, C_H), W = ci(ctx, C_W), pad = ci(ctx, C_PAD), K = ci(ctx, C_K);
  const img = cp(ctx, C_IMG), wpk = cp(ctx, C_WPK), hi = cp(ctx, C_HI), lom1 = cp(ctx, C_LOM1), bitTab = cp(ctx, C_BITTAB);
  const dst = cp(ctx, C_DST), Cb = ci(ctx, C_CB), tmp = cp(ctx, C_TMP), dWp = ci(ctx, C_DWP), dpad = ci(ctx, C_DPAD);
  const exact = cp(ctx, C_EXACT), bias = cp(ctx, C_BIAS), koff = cp(ctx, C_KOFF), KP = ci(ctx, C_KP), rowBytes = cp(ctx, C_ROWBYTES);
  const outW = ci(ctx, C_OUTW);
  const y0 = bi * SE_BAND;
  const n = min(SE_BAND, outH - y0);
  if (n <= 0) return;
  seQuantBand(ctx, inPtr, bi, y0, n);
  if (mode == 0) {
    sewSigns(img - <usize>y0 * WROW, wpk, nF, y0, y0 + n, ci(ctx, C_NWIN), hi, lom1, bitTab, dst, Cb, tmp, dWp, dpad, inPtr, H, W, pad, exact, K, bias);
  } else if (mode == 1) {
    seSigns33Pooled(img - <usize>y0 * rowBytes, rowBytes, koff, KP, wpk, nF, y0, y0 + n, outW, hi, lom1, bitTab, dst, Cb, tmp, dWp, dpad,
      inPtr, 3, H, W, 3, pad, exact, K, bias);
  } else {
    seSigns33(img - <usize>y0 * rowBytes, rowBytes, koff, KP, wpk, nF, y0, y0 + n, outW, hi, lom1, bitTab, dst, Cb, tmp,
      inPtr, 3, H, W, 3, pad, exact, K, bias);
  }
}
