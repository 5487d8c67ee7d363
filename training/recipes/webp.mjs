#!/usr/bin/env node
// Re-encodes the first COUNT images of a YOLO-format dataset as WebP (labels and classes.txt copied), about
// 0.6x the bytes of the generator's JPEGs at quality 80: how stage 3 of the bundled model's training data
// fitted a GPU machine's 64 MiB upload (models/README.md).
//
//   node training/recipes/webp.mjs SRC DST [COUNT] [QUALITY]      (defaults: every image, quality 80)
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

const [src, dst, countArg, qualityArg = '80'] = process.argv.slice(2);
if (!src || !dst || src === '--help' || src === '-h') {
  console.log('usage: node training/recipes/webp.mjs SRC DST [COUNT] [QUALITY]');
  process.exit(src === '--help' || src === '-h' ? 0 : 2);
}
const quality = Number(qualityArg);
if (!Number.isInteger(quality) || quality < 1 || quality > 100) fail(`QUALITY ${qualityArg}: expected an integer 1-100`);
if (!existsSync(path.join(src, 'classes.txt')) || !existsSync(path.join(src, 'images'))) {
  fail(`${src}: not a YOLO-format dataset (needs classes.txt and images/)`);
}
const all = readdirSync(path.join(src, 'images')).filter((f) => /\.(jpe?g|png|bmp|webp)$/i.test(f)).sort();
const count = countArg === undefined ? all.length : Number(countArg);
if (!Number.isInteger(count) || count < 1) fail(`COUNT ${countArg}: expected a positive integer`);
const files = all.slice(0, count);
mkdirSync(path.join(dst, 'images'), { recursive: true });
mkdirSync(path.join(dst, 'labels'), { recursive: true });
copyFileSync(path.join(src, 'classes.txt'), path.join(dst, 'classes.txt'));
let bytes = 0;
for (let i = 0; i < files.length; i += 8) {
  await Promise.all(files.slice(i, i + 8).map(async (file) => {
    const stem = path.parse(file).name;
    const webp = await sharp(path.join(src, 'images', file)).webp({ quality }).toBuffer();
    bytes += webp.length;
    writeFileSync(path.join(dst, 'images', `${stem}.webp`), webp);
    const label = path.join(src, 'labels', `${stem}.txt`);
    if (existsSync(label)) copyFileSync(label, path.join(dst, 'labels', `${stem}.txt`));
  }));
  if (process.stderr.isTTY) process.stderr.write(`\rwebp ${Math.min(i + 8, files.length)}/${files.length}`);
}
if (process.stderr.isTTY) process.stderr.write('\n');
console.log(`${dst}: ${files.length} images as WebP q${quality}, ${(bytes / 1048576).toFixed(1)} MiB`);

function fail(msg) {
  console.error(`error: ${msg}`);
  process.exit(1);
}
