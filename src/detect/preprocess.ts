import { open, readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { UserError } from '../core/errors.js';
import { decodeBmp, isBmp } from './bmp.js';
import { MAX_IMAGE_PIXELS, tooLarge } from './image-limits.js';

/**
 * darknet `detector test` preprocessing without OpenCV: RGB planar floats byte/255, then either
 * darknet's own two-pass bilinear resize_image or letterbox_image. Image files are decoded with
 * sharp (stb_image in darknet; identical for PNG, within JPEG decoder rounding for JPEG; embedded
 * colour profiles ignored, as stb_image does), BMP by bmp.ts (the libvips sharp bundles has no BMP
 * loader).
 */
const f = Math.fround;
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, i) => i / 255);

export interface RgbImage {
  /** Interleaved RGB bytes, row-major (HWC). */
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** A planar float image (CHW), as darknet's `image`. */
export interface FloatImage {
  data: Float32Array;
  w: number;
  h: number;
  c: number;
}

export async function decodeImageFile(file: string): Promise<RgbImage> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError(`${file}: not a file`);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: no such file`);
  }
  try {
    const head = await readHead(file);
    if (isBmp(head)) return decodeBmp(await readFile(file));
    // ignoreIcc: stb_image (darknet) takes the stored values; libvips would convert a picture with an embedded
    // colour profile (a phone's Display P3, a scanner's) to sRGB first, and the model would see other pixels.
    const { data, info } = await sharp(file, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS, ignoreIcc: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
      .catch(async (e: Error) => {
        // sharp refuses it before decoding; its size, for the message, only then (one read per image otherwise).
        if (!/pixel limit/i.test(e.message)) throw e;
        const meta = await sharp(file).metadata();
        throw new Error(tooLarge(meta.width ?? 0, meta.height ?? 0));
      });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0].replace(/^Input file /, '');
    throw new UserError(`${file}: cannot decode image (${reason})`);
  }
}

async function readHead(file: string): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(2);
    await fh.read(buf, 0, 2, 0);
    return buf;
  } finally {
    await fh.close();
  }
}

/** HWC bytes → planar float32 /255 into `out` (c*h*w floats). */
export function rgbToPlanar(rgb: Uint8Array, width: number, height: number, out: Float32Array): void {
  const plane = width * height;
  for (let i = 0; i < plane; i++) {
    out[i] = BYTE_TO_FLOAT[rgb[3 * i]];
    out[plane + i] = BYTE_TO_FLOAT[rgb[3 * i + 1]];
    out[2 * plane + i] = BYTE_TO_FLOAT[rgb[3 * i + 2]];
  }
}

/** darknet's resize_image: two-pass bilinear in float32 (an exact copy when the size matches). */
export function resizeImage(im: FloatImage, w: number, h: number, out: Float32Array = new Float32Array(w * h * im.c)): FloatImage {
  const { w: iw, h: ih, c } = im;
  const src = im.data;
  if (iw === w && ih === h) {
    out.set(src.subarray(0, w * h * c));
    return { data: out, w, h, c };
  }
  const part = new Float32Array(w * ih * c);
  // darknet divides by zero here for a 1-pixel target (and then reads garbage); use 0 instead.
  const wScale = w > 1 ? f((iw - 1) / (w - 1)) : 0;
  const hScale = h > 1 ? f((ih - 1) / (h - 1)) : 0;
  for (let k = 0; k < c; k++) {
    for (let r = 0; r < ih; r++) {
      const row = (k * ih + r) * iw;
      const prow = (k * ih + r) * w;
      for (let col = 0; col < w; col++) {
        if (col === w - 1 || iw === 1) {
          part[prow + col] = src[row + iw - 1];
        } else {
          const sx = f(col * wScale);
          const ix = Math.trunc(sx);
          const dx = f(sx - ix);
          part[prow + col] = f(f(f(1 - dx) * src[row + ix]) + f(dx * src[row + ix + 1]));
        }
      }
    }
  }
  for (let k = 0; k < c; k++) {
    for (let r = 0; r < h; r++) {
      const sy = f(r * hScale);
      const iy = Math.trunc(sy);
      const dy = f(sy - iy);
      const orow = (k * h + r) * w;
      const p0 = (k * ih + iy) * w;
      for (let col = 0; col < w; col++) out[orow + col] = f(f(1 - dy) * part[p0 + col]);
      if (r === h - 1 || ih === 1) continue;
      const p1 = p0 + w;
      for (let col = 0; col < w; col++) out[orow + col] = f(out[orow + col] + f(dy * part[p1 + col]));
    }
  }
  return { data: out, w, h, c };
}

/** darknet's letterbox_image: aspect-preserving resize, centred on grey (0.5). */
export function letterboxImage(im: FloatImage, w: number, h: number, out: Float32Array = new Float32Array(w * h * im.c)): FloatImage {
  let newW: number;
  let newH: number;
  if (f(w / im.w) < f(h / im.h)) {
    newW = w;
    newH = Math.trunc((im.h * w) / im.w);
  } else {
    newH = h;
    newW = Math.trunc((im.w * h) / im.h);
  }
  const resized = resizeImage(im, newW, newH);
  out.fill(0.5, 0, w * h * im.c);
  const dx = Math.trunc((w - newW) / 2);
  const dy = Math.trunc((h - newH) / 2);
  for (let k = 0; k < im.c; k++) {
    for (let y = 0; y < newH; y++) {
      const ty = dy + y;
      if (ty < 0 || ty >= h) continue;
      for (let x = 0; x < newW; x++) {
        const tx = dx + x;
        if (tx < 0 || tx >= w) continue;
        out[(k * h + ty) * w + tx] = resized.data[(k * newH + y) * newW + x];
      }
    }
  }
  return { data: out, w, h, c: im.c };
}

/** A decoded image → the network input tensor, as `detector test` does it. */
export function prepareNetworkInput(img: RgbImage, netW: number, netH: number, letterbox: boolean, out: Float32Array): void {
  if (!letterbox && img.width === netW && img.height === netH) {
    rgbToPlanar(img.rgb, img.width, img.height, out);
    return;
  }
  const planar = new Float32Array(img.width * img.height * 3);
  rgbToPlanar(img.rgb, img.width, img.height, planar);
  const im: FloatImage = { data: planar, w: img.width, h: img.height, c: 3 };
  if (letterbox) letterboxImage(im, netW, netH, out);
  else resizeImage(im, netW, netH, out);
}
