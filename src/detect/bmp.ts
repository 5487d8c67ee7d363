/**
 * Windows bitmaps (.bmp), which YOLO datasets sometimes hold and sharp's bundled libvips does not read:
 * uncompressed 8-bit paletted, 16-bit (5-5-5, or any bit fields), 24-bit and 32-bit images, bottom-up
 * or top-down. RLE and other compressions are refused by name.
 */
import type { RgbImage } from './preprocess.js';
import { MAX_IMAGE_PIXELS, tooLarge } from './image-limits.js';

export function isBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;
const COMPRESSION_NAMES: Record<number, string> = { 1: 'RLE8', 2: 'RLE4', 4: 'JPEG', 5: 'PNG' };

/** Decodes a BMP to RGB bytes; throws an Error whose message says what is wrong with the file. */
export function decodeBmp(bytes: Uint8Array): RgbImage {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 54) throw new Error('truncated BMP header');
  const pixelOffset = view.getUint32(10, true);
  const headerSize = view.getUint32(14, true);
  if (headerSize < 40) throw new Error(`BMP header of ${headerSize} bytes (OS/2 bitmaps) is not supported`);
  const width = view.getInt32(18, true);
  const rawHeight = view.getInt32(22, true);
  const bpp = view.getUint16(28, true);
  const compression = view.getUint32(30, true);
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height === 0) throw new Error(`BMP of ${width}x${rawHeight} pixels`);
  if (width * height > MAX_IMAGE_PIXELS) throw new Error(tooLarge(width, height));
  // The pixels come after the headers (and the palette): an offset inside them would read header bytes as pixels.
  if (pixelOffset < 14 + headerSize) throw new Error(`BMP pixel data at byte ${pixelOffset}, inside its ${14 + headerSize}-byte header`);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new Error(`${COMPRESSION_NAMES[compression] ?? `compression ${compression}`} BMP is not supported (uncompressed only)`);
  }
  if (![8, 16, 24, 32].includes(bpp)) throw new Error(`${bpp}-bit BMP is not supported (8, 16, 24 or 32 bits per pixel)`);
  if ((bpp === 8 || bpp === 24) && compression !== BI_RGB) throw new Error(`${bpp}-bit BMP with bit fields is not valid`);

  // Bit fields: the masks follow a 40-byte header, or sit inside a larger (V4/V5) one. Without them a
  // 16-bit image is 5-5-5.
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f] : [0x00ff0000, 0x0000ff00, 0x000000ff];
  if (compression !== BI_RGB) {
    if (bytes.length < 66) throw new Error('truncated BMP header (bit fields)');
    masks = [0, 1, 2].map((k) => view.getUint32(54 + 4 * k, true));
  }
  const fields = masks.map((m) => {
    if (m === 0) throw new Error('BMP bit field mask of 0');
    const low = 31 - Math.clz32(m & -m);
    return { low, max: 2 ** (32 - Math.clz32(m >>> low)) - 1 };
  });

  let palette: Uint8Array | null = null;
  if (bpp === 8) {
    const colours = view.getUint32(46, true) || 256;
    const start = 14 + headerSize;
    if (start + 4 * colours > bytes.length) throw new Error('truncated BMP palette');
    palette = bytes.subarray(start, start + 4 * colours);
  }

  const stride = Math.ceil((width * bpp) / 32) * 4;
  if (pixelOffset + stride * height > bytes.length) throw new Error(`truncated BMP: ${bytes.length} bytes, ${pixelOffset + stride * height} needed`);
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      if (palette) {
        const p = 4 * bytes[row + x];
        if (p + 2 >= palette.length) throw new Error(`BMP pixel refers to colour ${p / 4} of a ${palette.length / 4}-colour palette`);
        rgb[o] = palette[p + 2];
        rgb[o + 1] = palette[p + 1];
        rgb[o + 2] = palette[p];
      } else if (bpp === 24) {
        const p = row + 3 * x;
        rgb[o] = bytes[p + 2];
        rgb[o + 1] = bytes[p + 1];
        rgb[o + 2] = bytes[p];
      } else {
        const v = bpp === 32 ? view.getUint32(row + 4 * x, true) : view.getUint16(row + 2 * x, true);
        for (let c = 0; c < 3; c++) {
          const { low, max } = fields[c];
          rgb[o + c] = Math.round((((v >>> low) & max) * 255) / max);
        }
      }
    }
  }
  return { rgb, width, height };
}
