import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/detector.js';
import { decodeImageFile, letterboxImage, resizeImage } from '../../src/detect/preprocess.js';
import { fixtures } from '../engine/helpers.js';

describe('darknet preprocessing', () => {
  it('resize_image: columns then rows, corners aligned, last column/row copied', () => {
    const row = { data: Float32Array.from([0, 1, 0.5]), w: 3, h: 1, c: 1 };
    expect(Array.from(resizeImage(row, 5, 1).data)).toEqual([0, 0.5, 1, 0.75, 0.5]);
    const col = { data: Float32Array.from([0.25, 0.75]), w: 1, h: 2, c: 1 };
    expect(Array.from(resizeImage(col, 1, 3).data)).toEqual([0.25, 0.5, 0.75]);
    const same = { data: Float32Array.from([1, 2, 3, 4]), w: 2, h: 2, c: 1 };
    expect(Array.from(resizeImage(same, 2, 2).data)).toEqual([1, 2, 3, 4]);
  });

  it('reads the stored pixel values of a picture with an embedded colour profile, as darknet (stb_image) does', async () => {
    // A PNG in Display P3 with its profile: libvips would convert it to sRGB on reading.
    const width = 4;
    const pixels = Buffer.from([200, 30, 40, 20, 180, 60, 30, 60, 220, 128, 128, 128].flatMap((v, i) => [v, (v + 3 * i) % 256]).slice(0, width * 3));
    const dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-icc-'));
    try {
      const file = path.join(dir, 'p3.png');
      await sharp(pixels, { raw: { width, height: 1, channels: 3 } }).withIccProfile('p3').png({ adaptiveFiltering: false, compressionLevel: 0 }).toFile(file);
      // The values stored in the file: its image data inflated (filter byte 0, then the row).
      const png = readFileSync(file);
      const idat: Buffer[] = [];
      for (let at = 8; at < png.length; ) {
        const len = png.readUInt32BE(at);
        if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
        at += 12 + len;
      }
      const stored = inflateSync(Buffer.concat(idat));
      expect(stored[0]).toBe(0);
      expect(png.includes(Buffer.from('iCCP'))).toBe(true);
      const img = await decodeImageFile(file);
      expect(Array.from(img.rgb)).toEqual(Array.from(stored.subarray(1, 1 + width * 3)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('letterbox_image: keeps the aspect ratio and pads with 0.5', () => {
    const im = { data: Float32Array.from([0, 1, 0, 1, 1, 0, 1, 0]), w: 4, h: 2, c: 1 };
    const out = letterboxImage(im, 4, 4).data;
    expect(Array.from(out)).toEqual([0.5, 0.5, 0.5, 0.5, 0, 1, 0, 1, 1, 0, 1, 0, 0.5, 0.5, 0.5, 0.5]);
  });

  it('detectRgb on a network-size frame equals detectImage on the same picture', async () => {
    const dir = path.join(fixtures, 'darknet-xnor-a');
    const det = await loadDetector({ cfg: path.join(dir, 'yolov3-tiny_xnor_160_slim.cfg'), weights: path.join(dir, 'weights_a.weights') });
    const img = await decodeImageFile(path.join(dir, 'image_a.png'));
    const a = det.detectImage(img);
    // the same frame reported in a 4x larger source: boxes scale with it
    const b = det.detectRgb(img.rgb, 640, 640);
    expect(b.length).toBe(a.length);
    b.forEach((d, i) => {
      expect(d.classId).toBe(a[i].classId);
      expect(d.score).toBe(a[i].score);
      d.box.forEach((v, k) => expect(v).toBeCloseTo(a[i].box[k] * 4, 6));
    });
    det.dispose();
  });
});
