import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { UserError } from '../core/errors.js';
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
  const rules = o.rules ?? defaultLabelRules;
  const recipe = { generator: 'xnorcam synth dataset', seed: o.seed, width: o.width, height: o.height, format: o.format, quality: o.quality, rules };
  await checkSameRecipe(o.out, recipe);
  await mkdir(imgDir, { recursive: true });
  await mkdir(lblDir, { recursive: true });
  await writeFile(path.join(o.out, 'classes.txt'), CLASS_NAMES.join('\n') + '\n');
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
  // The manifest describes the folder, which an extension (--start) adds to: counted from its files.
  const names = (await readdir(lblDir)).filter((f) => /^\d+\.txt$/.test(f)).sort();
  const perClass = CLASS_NAMES.map(() => 0);
  let labels = 0;
  for (const f of names) {
    for (const line of (await readFile(path.join(lblDir, f), 'utf8')).split('\n')) {
      if (!line) continue;
      perClass[Number(line.slice(0, line.indexOf(' ')))]++;
      labels++;
    }
  }
  const manifest = {
    ...recipe,
    images: names.length,
    indices: indexRanges(names.map((f) => Number(f.slice(0, -4)))),
    classes: CLASS_NAMES,
    boxes: 'full extent of each object, clipped to the image; objects less than minVisibility visible are not labelled',
    labels,
    perClass: Object.fromEntries(CLASS_NAMES.map((n, i) => [n, perClass[i]])),
  };
  // Processes rendering index ranges into one folder each rewrite it: whole files only.
  const tmp = path.join(o.out, `.dataset.json.${process.pid}`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, path.join(o.out, 'dataset.json'));
  return stats;
}

/** Sorted image indices as inclusive [first, last] runs: [[0, 999]] for a dataset made in one go. */
function indexRanges(sorted: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i === last[1] + 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/**
 * Extending a folder (--start) with another seed, size, format or label rules would mix two datasets
 * under one manifest: refused, naming what differs.
 */
async function checkSameRecipe(out: string, recipe: Record<string, unknown>): Promise<void> {
  let text: string;
  try {
    text = await readFile(path.join(out, 'dataset.json'), 'utf8');
  } catch {
    return;
  }
  let old: Record<string, unknown>;
  try {
    old = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new UserError(`${path.join(out, 'dataset.json')}: not valid JSON; give a new --out folder`);
  }
  const differs = Object.keys(recipe).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(recipe[k]));
  if (differs.length) {
    const what = differs.map((k) => `${k} ${JSON.stringify(old[k])} there, ${JSON.stringify(recipe[k])} now`).join('; ');
    throw new UserError(`--out ${out}: holds a dataset made differently (${what}); extend it with the same options or give a new --out folder`, 2);
  }
}
