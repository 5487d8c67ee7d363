import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelPath } from '../../src/detect/default-model.js';
import { fixtures, repoRoot, xnorcam } from '../engine/helpers.js';

/** The real CLI (bin/xnorcam.js → dist/), as a user runs it: `npm test` builds dist/ first. */
const dirA = path.join(fixtures, 'darknet-xnor-a');
const cfgA = path.join(dirA, 'yolov3-tiny_xnor_160_slim.cfg');
const weightsA = path.join(dirA, 'weights_a.weights');
const imageA = path.join(dirA, 'image_a.png');
const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-cli-'));
const modelA = path.join(tmp, 'a.xnor');

beforeAll(() => {
  if (!existsSync(path.join(repoRoot, 'dist', 'cli', 'detect.js'))) throw new Error('dist/ is not built: run `npx tsc -p tsconfig.json` (npm test does)');
  const r = xnorcam('convert', cfgA, weightsA, '--names', path.join(dirA, 'classes.names'), '-o', modelA);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI expecting a failure: one `error:` line on stderr, no stack, the given exit code. */
function fails(args: string[], pattern: RegExp, code = 1): void {
  const r = xnorcam(...args);
  expect(r.status, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('xnorcam detect / convert', () => {
  it('prints one JSON object per image with boxes in source pixels', () => {
    const r = xnorcam('detect', imageA, imageA, '--model', modelA, '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const o = JSON.parse(lines[0]) as { image: string; width: number; height: number; detections: { classId: number; className: string; score: number; box: number[] }[] };
    expect(Object.keys(o)).toEqual(['image', 'width', 'height', 'detections']);
    expect([o.image, o.width, o.height]).toEqual([imageA, 160, 160]);
    const want = JSON.parse(readFileSync(path.join(dirA, 'detections.json'), 'utf8')) as { detections: { class: number; prob: number }[] };
    expect(o.detections).toHaveLength(want.detections.length);
    expect(Object.keys(o.detections[0])).toEqual(['classId', 'className', 'score', 'box']);
    expect(o.detections[0].className).toBe(`class${o.detections[0].classId}`);
    const scores = o.detections.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(Math.max(...want.detections.map((d) => d.prob))).toBeCloseTo(scores[0], 5);
  });

  it("uses a specialised model's operating threshold from its card when --thresh is not given", async () => {
    const { readModelFile, encodeModel } = await import('../../src/engine/model-file/format.js');
    const carded = path.join(tmp, 'carded.xnor');
    writeFileSync(carded, encodeModel(readModelFile(modelA), { producer: 'test', card: { kind: 'specialised', student: { thresh: 0.5 } } }));
    const want = (JSON.parse(readFileSync(path.join(dirA, 'detections.json'), 'utf8')) as { detections: { prob: number }[] }).detections;
    const above = want.filter((d) => d.prob >= 0.5).length;
    expect(above).toBeGreaterThan(0);
    expect(above).toBeLessThan(want.length);
    const r = xnorcam('detect', imageA, '--model', carded, '--json');
    expect(r.status, r.stderr).toBe(0);
    const dets = (JSON.parse(r.stdout) as { detections: { score: number }[] }).detections;
    expect(dets).toHaveLength(above);
    const explicit = xnorcam('detect', imageA, '--model', carded, '--json', '--thresh', '0.25');
    expect((JSON.parse(explicit.stdout) as { detections: unknown[] }).detections).toHaveLength(want.length);
  });

  it('gives the same result from cfg + weights as from the packed model, and a text listing', () => {
    const a = xnorcam('detect', imageA, '--model', modelA, '--json', '--thresh', '0.3');
    const b = xnorcam('detect', imageA, '--cfg', cfgA, '--weights', weightsA, '--names', path.join(dirA, 'classes.names'), '--json', '--thresh', '0.3');
    expect(a.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    const text = xnorcam('detect', imageA, '--model', modelA);
    expect(text.stdout).toMatch(/^.*image_a\.png \(160x160\): 27 detections\n {2}class\d +\d+% {2}\[\d+, \d+, \d+, \d+\]\n/);
  });

  it('rejects truncated weights', () => {
    const short = path.join(tmp, 'short.weights');
    writeFileSync(short, readFileSync(weightsA).subarray(0, 5000));
    fails(['detect', imageA, '--cfg', cfgA, '--weights', short], /short\.weights: wrong length for .*: expected 250528 floats after the 20-byte header, found 1245$/);
    fails(['convert', cfgA, short, '-o', path.join(tmp, 'x.xnor')], /wrong length/);
  });

  it('rejects an unknown layer and an unknown key, naming file and line', () => {
    const text = readFileSync(cfgA, 'utf8');
    const badLayer = path.join(tmp, 'bad-layer.cfg');
    writeFileSync(badLayer, text.replace('[upsample]', '[upsample2]'));
    fails(['convert', badLayer, weightsA, '-o', path.join(tmp, 'x.xnor')], /bad-layer\.cfg:\d+: unknown layer \[upsample2\]$/);
    const badKey = path.join(tmp, 'bad-key.cfg');
    writeFileSync(badKey, text.replace('xnor=1\nbin_output=1', 'xnor=1\nbin_outptu=1'));
    fails(['detect', imageA, '--cfg', badKey, '--weights', weightsA], /bad-key\.cfg:39: unknown key 'bin_outptu' in \[convolutional\]$/);
  });

  it('rejects a non-image file and a missing file', () => {
    fails(['detect', path.join(dirA, 'README.md'), '--model', modelA], /README\.md: cannot decode image/);
    fails(['detect', path.join(tmp, 'nope.jpg'), '--model', modelA], /nope\.jpg: no such file$/);
    fails(['detect', imageA, '--model', path.join(tmp, 'nope.xnor')], /nope\.xnor: no such file$/);
    fails(['convert', path.join(tmp, 'nope.cfg'), weightsA, '-o', path.join(tmp, 'x.xnor')], /nope\.cfg: no such file$/);
    // the .weights given as the .cfg: named as binary, not quoted back byte by byte in a parse error
    fails(['convert', weightsA, weightsA, '-o', path.join(tmp, 'x.xnor')], /weights_a\.weights: a binary file, expected a darknet \.cfg file$/);
    fails(['detect', imageA, '--cfg', weightsA, '--weights', weightsA], /weights_a\.weights: a binary file, expected a darknet \.cfg file$/);
  });

  it('refuses -o naming one of its inputs (it replaced the weights or the cfg with the model), through a link too', () => {
    const weights = path.join(tmp, 'own.weights');
    const cfg = path.join(tmp, 'own.cfg');
    copyFileSync(weightsA, weights);
    copyFileSync(cfgA, cfg);
    const link = path.join(tmp, 'link.weights');
    symlinkSync(weights, link);
    fails(['convert', cfg, weights, '-o', weights], /^error: -o .*own\.weights: is the input file .*own\.weights; writing it would destroy it$/);
    fails(['convert', cfg, weights, '-o', cfg], /^error: -o .*own\.cfg: is the input file .*own\.cfg; writing it would destroy it$/);
    fails(['convert', cfg, weights, '-o', link], /^error: -o .*link\.weights: is the input file .*own\.weights; writing it would destroy it$/);
    expect(readFileSync(weights).equals(readFileSync(weightsA))).toBe(true);
    expect(readFileSync(cfg, 'utf8')).toBe(readFileSync(cfgA, 'utf8'));
  });

  it('rejects a corrupt or foreign .xnor', () => {
    const corrupt = path.join(tmp, 'corrupt.xnor');
    const bytes = readFileSync(modelA);
    bytes[bytes.length - 100] ^= 0x40;
    writeFileSync(corrupt, bytes);
    fails(['detect', imageA, '--model', corrupt], /corrupt\.xnor: checksum mismatch: the model file is corrupt$/);
    fails(['detect', imageA, '--model', weightsA], /weights_a\.weights: not an xnorcam model/);
  });

  it('rejects inconsistent flags with exit code 2', () => {
    fails(['detect', imageA, '--cfg', cfgA], /--cfg needs --weights too/, 2);
    fails(['detect', imageA, '--model', modelA, '--cfg', cfgA, '--weights', weightsA], /either --model or --cfg/, 2);
    fails(['detect', imageA, '--model', modelA, '--thresh', 'high'], /--thresh: 'high' is not a number from 0 to 1/, 2);
    // a negative number is the value it follows, judged as any other (node's parser took it for an option)
    fails(['detect', imageA, '--model', modelA, '--thresh', '-0.5'], /--thresh: '-0.5' is not a number from 0 to 1/, 2);
    fails(['convert', cfgA, weightsA], /missing -o/, 2);
    fails(['detect', imageA, '--model', modelA, '--backend', 'quantum'], /^error: xnorcam detect: --backend: 'quantum' is not a kernel backend \(auto, native, wasm, reference\)/, 2);
  });

  it('uses the bundled model when no model flag is given, or says it is missing', () => {
    const r = xnorcam('detect', imageA);
    if (existsSync(defaultModelPath())) expect(r.status).toBe(0);
    else fails(['detect', imageA], /no model given and the bundled model .*xnorcam-traffic\.xnor does not exist yet/);
  });
});
