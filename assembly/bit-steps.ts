// The steps of a bit link through non-conv layers (src/engine/kernels/wasm/ops.ts, BitDest): a
// producer's packed sign bits carried through darknet's maxpool and upsample, and placed at a byte
// offset of a consumer's zero-bordered bit image (a [route] slice). Images are pixels of `n` bytes
// (channel c at bit c & 7 of byte c >> 3), `pix` bytes from pixel to pixel and `row` bytes from row
// to row, so a step reads a tight [H][W][n] image and writes either another or n bytes of each
// pixel of a wider consumer image, leaving its other bytes (other producers' slices) alone.
// Everything is moved in the widest unit that divides n (unaligned loads are fine in wasm).

/**
 * darknet's maxpool on sign bits (see maxpool in kernels.ts): the window of output (oy, ox) starts
 * at (oy * stride + offset, ox * stride + offset), offset = trunc(-padding / 2), and its taps
 * outside the H x W input are skipped. Its max is > 0 exactly when some tap is, so the pooled bit is
 * the OR of the taps' bits; a window without taps keeps -FLT_MAX, bit 0.
 */
export function bitMaxpool(
  src: usize, n: i32, sPix: i32, sRow: i32, H: i32, W: i32, size: i32, stride: i32, offset: i32, outH: i32, outW: i32,
  dst: usize, dPix: i32, dRow: i32,
): void {
  if ((n & 7) == 0) maxpoolIn<u64>(src, n, sPix, sRow, H, W, size, stride, offset, outH, outW, dst, dPix, dRow);
  else if ((n & 3) == 0) maxpoolIn<u32>(src, n, sPix, sRow, H, W, size, stride, offset, outH, outW, dst, dPix, dRow);
  else if ((n & 1) == 0) maxpoolIn<u16>(src, n, sPix, sRow, H, W, size, stride, offset, outH, outW, dst, dPix, dRow);
  else maxpoolIn<u8>(src, n, sPix, sRow, H, W, size, stride, offset, outH, outW, dst, dPix, dRow);
}

@inline function maxpoolIn<T>(
  src: usize, n: i32, sPix: i32, sRow: i32, H: i32, W: i32, size: i32, stride: i32, offset: i32, outH: i32, outW: i32,
  dst: usize, dPix: i32, dRow: i32,
): void {
  const bytes = <usize>n;
  const unit = <usize>sizeof<T>();
  const sp = <usize>sPix, sr = <usize>sRow, dp = <usize>dPix;
  if (size == 1 && stride == 1 && offset == 0 && outH <= H && outW <= W) {
    // a copy (no pool: the bits go straight to a route slice)
    for (let oy = 0; oy < outH; oy++) {
      let s = src + <usize>oy * sr;
      let d = dst + <usize>oy * <usize>dRow;
      for (let ox = 0; ox < outW; ox++) {
        for (let b: usize = 0; b < bytes; b += unit) store<T>(d + b, load<T>(s + b));
        s += sp;
        d += dp;
      }
    }
    return;
  }
  if (size == 2 && offset == 0 && (outH - 1) * stride + 2 <= H && (outW - 1) * stride + 2 <= W) {
    // every window a full 2x2 one (yolov3-tiny's maxpools): no bounds
    const step = <usize>stride * sp;
    for (let oy = 0; oy < outH; oy++) {
      let s = src + <usize>(oy * stride) * sr;
      let d = dst + <usize>oy * <usize>dRow;
      for (let ox = 0; ox < outW; ox++) {
        for (let b: usize = 0; b < bytes; b += unit) {
          store<T>(d + b, load<T>(s + b) | load<T>(s + sp + b) | load<T>(s + sr + b) | load<T>(s + sr + sp + b));
        }
        s += step;
        d += dp;
      }
    }
    return;
  }
  for (let oy = 0; oy < outH; oy++) {
    const y0 = max(0, oy * stride + offset);
    const y1 = min(H, oy * stride + offset + size);
    const d0 = dst + <usize>oy * <usize>dRow;
    for (let ox = 0; ox < outW; ox++) {
      const x0 = max(0, ox * stride + offset);
      const x1 = min(W, ox * stride + offset + size);
      const d = d0 + <usize>ox * dp;
      for (let b: usize = 0; b < bytes; b += unit) {
        let v: T = 0;
        // an empty window (y0 >= y1 or x0 >= x1) reads nothing: 0
        for (let y = y0; y < y1; y++) {
          let at = src + <usize>y * sr + <usize>x0 * sp + b;
          for (let x = x0; x < x1; x++) {
            v |= load<T>(at);
            at += sp;
          }
        }
        store<T>(d + b, v);
      }
    }
  }
}

/** darknet's upsample on sign bits (nearest neighbour; the runner links only scale >= 1, which keeps every sign): output (y, x) = input (y / stride, x / stride). */
export function bitUpsample(src: usize, n: i32, sPix: i32, sRow: i32, H: i32, W: i32, stride: i32, dst: usize, dPix: i32, dRow: i32): void {
  if ((n & 7) == 0) upsampleIn<u64>(src, n, sPix, sRow, H, W, stride, dst, dPix, dRow);
  else if ((n & 3) == 0) upsampleIn<u32>(src, n, sPix, sRow, H, W, stride, dst, dPix, dRow);
  else if ((n & 1) == 0) upsampleIn<u16>(src, n, sPix, sRow, H, W, stride, dst, dPix, dRow);
  else upsampleIn<u8>(src, n, sPix, sRow, H, W, stride, dst, dPix, dRow);
}

@inline function upsampleIn<T>(src: usize, n: i32, sPix: i32, sRow: i32, H: i32, W: i32, stride: i32, dst: usize, dPix: i32, dRow: i32): void {
  const bytes = <usize>n;
  const unit = <usize>sizeof<T>();
  const sp = <usize>sPix, dp = <usize>dPix;
  const outH = H * stride;
  for (let y = 0; y < outH; y++) {
    let s = src + <usize>(y / stride) * <usize>sRow;
    let d = dst + <usize>y * <usize>dRow;
    for (let x = 0; x < W; x++) {
      // one input pixel into `stride` output pixels
      for (let k = 0; k < stride; k++) {
        for (let b: usize = 0; b < bytes; b += unit) store<T>(d + b, load<T>(s + b));
        d += dp;
      }
      s += sp;
    }
  }
}

/**
 * padRows (kernels.ts) for a consumer whose input is only partly bit-linked: copies the packed
 * [H][W][Cb] image into the interior of the zero-bordered [Hp][Wp][Cb] one at (pad, pad), only the
 * bytes b with mask[b] != 0 (the others are the linked producers' slices, already written).
 */
export function padRowsMasked(src: usize, Cb: i32, H: i32, W: i32, pad: i32, dst: usize, Wp: i32, mask: usize): void {
  const cb = <usize>Cb;
  for (let y = 0; y < H; y++) {
    let s = src + <usize>(y * W) * cb;
    let d = dst + <usize>((y + pad) * Wp + pad) * cb;
    for (let x = 0; x < W; x++) {
      for (let b: usize = 0; b < cb; b++) {
        if (load<u8>(mask + b)) store<u8>(d + b, load<u8>(s + b));
      }
      s += cb;
      d += cb;
    }
  }
}
