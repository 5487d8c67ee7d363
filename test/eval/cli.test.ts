/** `xnorcam eval` end to end: the bundled model on a few freshly generated images. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../../src/synth/dataset.js';
import { py } from '../helpers/python.js';

const bin = fileURLToPath(new URL('../../bin/xnorcam.js', import.meta.url));
const xnorcam = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
type Truths = { perClass: Record<string, { truths: number }> };
const truthsPerClass = (o: Truths) => Object.values(o.perClass).map((c) => c.truths);
const totalTruths = (o: Truths) => truthsPerClass(o).reduce((n, t) => n + t, 0);

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'xnorcam-eval-'));
  // Seed 77777 is used by no training or evaluation run of the bundled model.
  await writeDataset({ out: path.join(dir, 'data'), count: 6, seed: 77777, width: 320, height: 192, format: 'jpg', quality: [60, 95] });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('xnorcam eval', () => {
  it('documents itself', () => {
    const r = xnorcam('eval', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: xnorcam eval --data <dir>/);
    expect(r.stdout).toMatch(/--thresh P .*default: 0\.001/);
  });

  it('needs --data and a YOLO dataset, in one line', () => {
    const a = xnorcam('eval');
    expect(a.status).toBe(2);
    expect(a.stderr).toBe('error: xnorcam eval: --data <dir> is required (a YOLO-format dataset)\n');
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const b = xnorcam('eval', '--data', empty);
    expect(b.status).toBe(1);
    expect(b.stderr).toBe(`error: ${path.join(empty, 'classes.txt')}: missing (a YOLO dataset needs classes.txt, images/ and labels/)\n`);
    const bad = path.join(dir, 'bad');
    mkdirSync(path.join(bad, 'images'), { recursive: true });
    mkdirSync(path.join(bad, 'labels'), { recursive: true });
    writeFileSync(path.join(bad, 'classes.txt'), 'car\n');
    spawnSync('cp', [path.join(dir, 'data', 'images', '000000.jpg'), path.join(bad, 'images', 'a.jpg')]);
    writeFileSync(path.join(bad, 'labels', 'a.txt'), '0 0.5 0.5 0.1\n');
    const c = xnorcam('eval', '--data', bad);
    expect(c.status).toBe(1);
    expect(c.stderr).toBe(`error: ${path.join(bad, 'labels', 'a.txt')}:1: expected "class cx cy w h" or "class cx cy w h score"\n`);
    // values outside the image are an error, not an object that no detection can match or a silently dropped line
    for (const [line, what] of [['0 1.5 0.5 0.1 0.1', 'cx 1.5'], ['0 0.5 0.5 -0.1 0.1', 'w -0.1']]) {
      writeFileSync(path.join(bad, 'labels', 'a.txt'), `0 0.5 0.5 0.1 0.1\n${line}\n`);
      const d = xnorcam('eval', '--data', bad);
      expect(d.status).toBe(1);
      expect(d.stderr).toBe(`error: ${path.join(bad, 'labels', 'a.txt')}:2: ${what} is not in [0, 1] (YOLO labels are relative to the image)\n`);
    }
    // no labels/ folder: every image would score as empty of objects
    rmSync(path.join(bad, 'labels'), { recursive: true });
    const e = xnorcam('eval', '--data', bad);
    expect(e.status).toBe(1);
    expect(e.stderr).toBe(`error: ${path.join(bad, 'labels')}: missing (a YOLO dataset needs images/ and labels/)\n`);
    // a packed model carries its class names: --names beside it would be silently unused
    const names = xnorcam('eval', '--data', path.join(dir, 'data'), '--model', path.join(repoRoot, 'models', 'xnorcam-traffic.xnor'), '--names', path.join(dir, 'data', 'classes.txt'));
    expect(names.status).toBe(2);
    expect(names.stderr).toMatch(/^error: .*--names only applies with --cfg\/--weights \(a \.xnor model carries its names\)\n$/);
    // an explicit --limit 0 is not "all images"
    const f = xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '0');
    expect(f.status).toBe(2);
    expect(f.stderr).toBe("error: xnorcam eval: --limit: '0' is not an integer of 1 or more (see xnorcam eval --help)\n");
  });

  it('counts images without a label file (images of no objects, as YOLO tools read them)', () => {
    const data = path.join(dir, 'data-unlabelled');
    cpSync(path.join(dir, 'data'), data, { recursive: true });
    rmSync(path.join(data, 'labels', '000001.txt'));
    const r = xnorcam('eval', '--data', data, '--limit', '2');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).imagesWithoutLabels).toBe(1);
    expect(JSON.parse(xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '2').stdout).imagesWithoutLabels).toBeUndefined();
  });

  it('prints mAP@0.5, mAP@0.5:0.95 and per-class AP of the bundled model as JSON', () => {
    const r = xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '4');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.images).toBe(4);
    expect(out.thresh).toBe(0.001);
    for (const k of ['mAP@0.5', 'mAP@0.75', 'mAP@0.5:0.95']) {
      expect(out[k]).toBeGreaterThanOrEqual(0);
      expect(out[k]).toBeLessThanOrEqual(1);
    }
    expect(out['mAP@0.5']).toBeGreaterThanOrEqual(out['mAP@0.5:0.95']);
    // The bundled model is weak (mAP@0.5 ≈ 0.58 on 500 held-out 640x384 scenes, models/README.md) but
    // far above the same network after 200 training steps (≈ 0.003 on such scenes).
    expect(out['mAP@0.5']).toBeGreaterThan(0.03);
    const classes = Object.keys(out.perClass);
    expect(classes.length).toBeGreaterThan(0);
    for (const c of classes) expect(['car', 'truck', 'bus', 'motorcycle', 'bicycle', 'person']).toContain(c);
    expect(out.perClass.car.truths).toBeGreaterThan(0);
  });

  it('reads the trainer\'s label extensions: class -1 ignore regions and a sixth (score) column', () => {
    const data = path.join(dir, 'data-ext');
    cpSync(path.join(dir, 'data'), data, { recursive: true });
    const file = path.join(data, 'labels', '000000.txt');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, [`${lines[0]} 0.5`, ...lines.slice(1), '-1 0.5 0.5 0.1 0.1'].join('\n') + '\n');
    const plain = JSON.parse(xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '2').stdout);
    const r = xnorcam('eval', '--data', data, '--limit', '2');
    expect(r.status, r.stderr).toBe(0);
    const ext = JSON.parse(r.stdout);
    expect(ext.ignoreRegions).toBe(1);
    expect(plain.ignoreRegions).toBeUndefined();
    // the region is no object of any class: the truth counts are the plain dataset's
    expect(truthsPerClass(ext)).toEqual(truthsPerClass(plain));
  });

  it('reads WebP images as training/recipes/webp.mjs writes them, and so does the trainer', () => {
    const webp = path.join(dir, 'data-webp');
    const recipe = path.join(repoRoot, 'training', 'recipes', 'webp.mjs');
    const conv = spawnSync(process.execPath, [recipe, path.join(dir, 'data'), webp, '4'], { encoding: 'utf8' });
    expect(conv.status, conv.stderr).toBe(0);
    expect(readdirSync(path.join(webp, 'images'))).toEqual(['000000.webp', '000001.webp', '000002.webp', '000003.webp']);
    const jpg = JSON.parse(xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '4').stdout);
    const r = xnorcam('eval', '--data', webp);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.images).toBe(4);
    expect(truthsPerClass(out)).toEqual(truthsPerClass(jpg));
    expect(out.classAgnostic['AP@0.5']).toBeGreaterThan(0.2); // decoded images the model finds vehicles in
    // The trainer decodes the same pixels, give or take the re-encoding (mean |difference| in 0-255 levels).
    const trainer = py('-c', 'import sys; from training.data import Dataset; '
      + 'w = Dataset(sys.argv[1], 320, 192); j = Dataset(sys.argv[2], 320, 192, limit=4); '
      + 'print(len(w), abs(w.images.astype(int) - j.images).mean(), w.images.std(), sum(len(l) for l in w.labels))',
    webp, path.join(dir, 'data'));
    expect(trainer.status, trainer.stderr).toBe(0);
    const [n, diff, spread, boxes] = trainer.stdout.trim().split(' ').map(Number);
    expect(n).toBe(4);
    expect(spread).toBeGreaterThan(10); // real pictures, not a blank buffer
    expect(diff).toBeLessThan(4);
    expect(boxes).toBe(totalTruths(jpg));
  });

  it('leaves ground truth under --min-height out, and scores classes as one in classAgnostic', () => {
    const all = JSON.parse(xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '4').stdout);
    const r = xnorcam('eval', '--data', path.join(dir, 'data'), '--limit', '4', '--min-height', '24');
    expect(r.status, r.stderr).toBe(0);
    const big = JSON.parse(r.stdout);
    expect(big.minHeight).toBe(24);
    expect(big.ignoredTruths).toBeGreaterThan(0);
    expect(totalTruths(big) + big.ignoredTruths).toBe(totalTruths(all));
    expect(all.ignoredTruths).toBeUndefined();
    for (const o of [all, big]) expect(o.classAgnostic['AP@0.5']).toBeGreaterThan(0);
    const bad = xnorcam('eval', '--data', path.join(dir, 'data'), '--min-height', '-3');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--min-height/);
  });
});
