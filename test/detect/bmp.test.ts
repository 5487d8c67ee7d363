import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImageFile } from '../../src/detect/preprocess.js';

/** A BMP written by the format's rules (BITMAPINFOHEADER), independent of the decoder under test. */
function writeBmp(w: number, h: number, bpp: 8 | 16 | 24 | 32, opts: { topDown?: boolean; compression?: number; masks?: number[]; palette?: number[][]; pixel: (x: number, y: number) => number[] }): Uint8Array {
  const stride = Math.ceil((w * bpp) / 32) * 4;
  const masks = opts.masks ?? [];
  const palette = opts.palette ?? [];
  const offset = 14 + 40 + 4 * masks.length + 4 * palette.length;
  const buf = Buffer.alloc(offset + stride * h);
  buf.write('BM', 0, 'latin1');
  buf.writeUInt32LE(buf.length, 2);
  buf.writeUInt32LE(offset, 10);
  buf.writeUInt32LE(40, 14);
  buf.writeInt32LE(w, 18);
  buf.writeInt32LE(opts.topDown ? -h : h, 22);
  buf.writeUInt16LE(1, 26);
  buf.writeUInt16LE(bpp, 28);
  buf.writeUInt32LE(opts.compression ?? 0, 30);
  buf.writeUInt32LE(palette.length, 46);
  masks.forEach((m, k) => buf.writeUInt32LE(m >>> 0, 54 + 4 * k));
  palette.forEach(([r, g, b], k) => buf.set([b, g, r, 0], 54 + 4 * masks.length + 4 * k));
  for (let y = 0; y < h; y++) {
    const row = offset + (opts.topDown ? y : h - 1 - y) * stride;
    for (let x = 0; x < w; x++) {
      const v = opts.pixel(x, y);
      if (bpp === 8) buf[row + x] = v[0];
      else if (bpp === 24) buf.set([v[2], v[1], v[0]], row + 3 * x);
      else if (bpp === 32) buf.writeUInt32LE(v[0] >>> 0, row + 4 * x);
      else buf.writeUInt16LE(v[0], row + 2 * x);
    }
  }
  return buf;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'xnorcam-bmp-'));
const colour = (x: number, y: number) => [(x * 37 + y) % 256, (y * 53) % 256, (x * y * 7 + 11) % 256];

async function decodeWritten(name: string, bytes: Uint8Array) {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return decodeImageFile(file);
}

function expectPixels(img: { rgb: Uint8Array; width: number; height: number }, w: number, h: number, expected: (x: number, y: number) => number[]) {
  expect([img.width, img.height]).toEqual([w, h]);
  const want = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) want.set(expected(x, y), 3 * (y * w + x));
  expect(Buffer.from(img.rgb).equals(Buffer.from(want))).toBe(true);
}

describe('BMP images (datasets the trainer reads; libvips in sharp has no BMP loader)', () => {
  it('decodes 24-bit bottom-up rows with padding (odd width) and 24-bit top-down', async () => {
    for (const topDown of [false, true]) {
      const img = await decodeWritten(`rgb24-${topDown}.bmp`, writeBmp(7, 5, 24, { topDown, pixel: colour }));
      expectPixels(img, 7, 5, colour);
    }
  });

  it('decodes 32-bit (BI_RGB and bit fields), 16-bit 5-6-5 bit fields and 8-bit paletted images', async () => {
    const bgrx = (x: number, y: number) => { const [r, g, b] = colour(x, y); return [((r << 16) | (g << 8) | b | (0x80 << 24)) >>> 0]; };
    expectPixels(await decodeWritten('rgb32.bmp', writeBmp(6, 4, 32, { pixel: bgrx })), 6, 4, colour);
    // RGBA byte order in the masks: R in the low byte
    const rgba = (x: number, y: number) => { const [r, g, b] = colour(x, y); return [(r | (g << 8) | (b << 16) | (0xff << 24)) >>> 0]; };
    expectPixels(await decodeWritten('rgba32.bmp', writeBmp(6, 4, 32, { compression: 3, masks: [0xff, 0xff00, 0xff0000], pixel: rgba })), 6, 4, colour);
    const r565 = (x: number, y: number) => [((x & 31) << 11) | ((y * 9) % 64 << 5) | ((x + y) & 31)];
    const expect565 = (x: number, y: number) => [Math.round(((x & 31) * 255) / 31), Math.round((((y * 9) % 64) * 255) / 63), Math.round((((x + y) & 31) * 255) / 31)];
    // without bit fields a 16-bit image is 5-5-5 (what most writers produce)
    const r555 = (x: number, y: number) => [((x & 31) << 10) | (((y * 9) & 31) << 5) | ((x + y) & 31)];
    const expect555 = (x: number, y: number) => [x & 31, (y * 9) & 31, (x + y) & 31].map((v) => Math.round((v * 255) / 31));
    expectPixels(await decodeWritten('rgb555.bmp', writeBmp(5, 3, 16, { pixel: r555 })), 5, 3, expect555);
    expectPixels(await decodeWritten('rgb565.bmp', writeBmp(5, 3, 16, { compression: 3, masks: [0xf800, 0x07e0, 0x001f], pixel: r565 })), 5, 3, expect565);
    const palette = [[0, 0, 0], [255, 0, 0], [10, 200, 30], [255, 255, 255]];
    const index = (x: number, y: number) => [(x + 2 * y) % 4];
    expectPixels(await decodeWritten('pal8.bmp', writeBmp(9, 3, 8, { palette, pixel: index })), 9, 3, (x, y) => palette[index(x, y)[0]]);
  });

  it('refuses compressed, truncated and unsupported bitmaps in one line naming the file', async () => {
    const rle = writeBmp(4, 4, 8, { compression: 1, palette: [[0, 0, 0]], pixel: () => [0] });
    await expect(decodeWritten('rle.bmp', rle)).rejects.toThrow(/rle\.bmp: cannot decode image \(RLE8 BMP is not supported/);
    const whole = writeBmp(8, 8, 24, { pixel: colour });
    await expect(decodeWritten('cut.bmp', whole.subarray(0, whole.length - 10))).rejects.toThrow(/cut\.bmp: cannot decode image \(truncated BMP/);
    const mono = writeBmp(8, 2, 24, { pixel: colour });
    Buffer.from(mono.buffer, mono.byteOffset).writeUInt16LE(1, 28);
    await expect(decodeWritten('mono.bmp', mono)).rejects.toThrow(/mono\.bmp: cannot decode image \(1-bit BMP is not supported/);
    // bit fields promised, file ended: a clear reason, not a DataView range error
    const fields = writeBmp(2, 2, 32, { compression: 3, masks: [0xff, 0xff00, 0xff0000], pixel: () => [0] });
    await expect(decodeWritten('short.bmp', fields.subarray(0, 60))).rejects.toThrow(/short\.bmp: cannot decode image \(truncated BMP header \(bit fields\)\)/);
    // Pixels said to start inside the header: header bytes would be read as pixels.
    const inside = writeBmp(4, 4, 24, { pixel: colour });
    Buffer.from(inside.buffer, inside.byteOffset).writeUInt32LE(0, 10);
    await expect(decodeWritten('inside.bmp', inside)).rejects.toThrow(/inside\.bmp: cannot decode image \(BMP pixel data at byte 0, inside its 54-byte header\)/);
  });

  it('refuses pictures past 50 megapixels before decoding them (a small file can promise gigabytes)', async () => {
    const huge = writeBmp(4, 4, 24, { pixel: colour });
    Buffer.from(huge.buffer, huge.byteOffset).writeInt32LE(20000, 18);
    Buffer.from(huge.buffer, huge.byteOffset).writeInt32LE(20000, 22);
    await expect(decodeWritten('huge.bmp', huge)).rejects.toThrow(/huge\.bmp: cannot decode image \(20000x20000 pixels is more than xnorcam decodes \(50 megapixels\)\)/);
    // A PNG of 7100x7100 grey pixels: 83 KB on disk, 150 MB decoded, 600 MB as floats.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xnorcam-bmp-'));
    const png = path.join(dir, 'bomb.png');
    const W = 7100;
    const row = Buffer.alloc(1 + 3 * W, 0x80);
    row[0] = 0;
    const idat = zlib.deflateSync(Buffer.concat(Array.from({ length: W }, () => row)), { level: 9 });
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
      return Buffer.concat([len, Buffer.from(type), data, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(W, 0);
    ihdr.writeUInt32BE(W, 4);
    ihdr.set([8, 2, 0, 0, 0], 8);
    writeFileSync(png, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]));
    await expect(decodeImageFile(png)).rejects.toThrow(/bomb\.png: cannot decode image \(7100x7100 pixels is more than xnorcam decodes \(50 megapixels\)\)/);
  });
});

/** PNG's CRC-32 (zlib.crc32 needs Node 20.15). */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
