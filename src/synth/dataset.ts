import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { CLASS_NAMES } from './models.js';
import { Rng } from './rng.js';
import { type LabelRules, SampleRenderer, defaultLabelRules, yoloLines } from './sample.js';

export interface DatasetOptions {
  out: string;
  count: number;
  seed: number;
  width: number;
  height: number;
  format: 'jpg' | 'png';
  /** JPEG quality range; each image draws one (compression artefacts are part of the data). */
  quality: [number, number];
  /** First image index (to extend a dataset, or split one across processes). */
  start?: number;
  rules?: LabelRules;
  onProgress?: (done: number, stats: DatasetStats) => void;
}

export interface DatasetStats {
  images: number;
  labels: number;
  perClass: number[];
  seconds: number;
}

/**
 * Writes a YOLO-format dataset: images/NNNNNN.jpg, labels/NNNNNN.txt (`class cx cy w h`,
 * normalised), classes.txt and dataset.json (how it was made). Image i depends only on (seed, i).
 */
export async function writeDataset(o: DatasetOptions): Promise<DatasetStats> {
  const imgDir = path.join(o.out, 'images');
  const lblDir = path.join(o.out, 'labels');
  await mkdir(imgDir, { recursive: true });
  await mkdir(lblDir, { recursive: true });
  await writeFile(path.join(o.out, 'classes.txt'), CLASS_NAMES.join('\n') + '\n');
  const rules = o.rules ?? defaultLabelRules;
  const renderer = new SampleRenderer(o.width, o.height);
  const stats: DatasetStats = { images: 0, labels: 0, perClass: CLASS_NAMES.map(() => 0), seconds: 0 };
  const t0 = Date.now();
  const start = o.start ?? 0;
  // Encoding runs on libuv threads: keep a few in flight while the next image renders.
  const inflight: Promise<unknown>[] = [];
  for (let k = 0; k < o.count; k++) {
    const i = start + k;
    const s = renderer.render(o.seed, i, rules);
    const name = String(i).padStart(6, '0');
    const quality = Math.round(new Rng(o.seed, 1_000_000_000 + i).uniform(o.quality[0], o.quality[1]));
    const raw = Buffer.from(s.rgb);
    const img = sharp(raw, { raw: { width: s.width, height: s.height, channels: 3 } });
    const file = path.join(imgDir, `${name}.${o.format}`);
    inflight.push(o.format === 'png' ? img.png({ compressionLevel: 6 }).toFile(file) : img.jpeg({ quality, chromaSubsampling: '4:2:0' }).toFile(file));
    const lines = yoloLines(s.labels, s.width, s.height);
    inflight.push(writeFile(path.join(lblDir, `${name}.txt`), lines ? lines + '\n' : ''));
    stats.images++;
    stats.labels += s.labels.length;
    for (const l of s.labels) stats.perClass[l.classId]++;
    if (inflight.length >= 8) await Promise.all(inflight.splice(0, inflight.length));
    stats.seconds = (Date.now() - t0) / 1000;
    o.onProgress?.(stats.images, stats);
  }
  await Promise.all(inflight);
  stats.seconds = (Date.now() - t0) / 1000;
  const manifest = {
    generator: 'xnorcam synth dataset',
    seed: o.seed,
    start,
    count: o.count,
    width: o.width,
    height: o.height,
    format: o.format,
    quality: o.quality,
    rules,
    classes: CLASS_NAMES,
    boxes: 'full extent of each object, clipped to the image; objects less than minVisibility visible are not labelled',
    labels: stats.labels,
    perClass: Object.fromEntries(CLASS_NAMES.map((n, i) => [n, stats.perClass[i]])),
  };
  await writeFile(path.join(o.out, 'dataset.json'), JSON.stringify(manifest, null, 2) + '\n');
  return stats;
}
