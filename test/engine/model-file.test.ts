import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCfgFile } from '../../src/engine/darknet/cfg.js';
import { encodeWeights } from '../../src/engine/darknet/weights.js';
import { loadDarknetModel } from '../../src/engine/load.js';
import { fromHalf, toHalf } from '../../src/engine/model-file/float16.js';
import { decodeModel, encodeModel, FORMAT_VERSION, readModelFile } from '../../src/engine/model-file/format.js';
import { randomModelFromCfg, randomRawWeights } from '../../src/engine/random-model.js';
import { fixtures, repoRoot, xnorcam } from './helpers.js';

const dirA = path.join(fixtures, 'darknet-xnor-a');
const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-model-file-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A copy of a model file in the temp folder with its JSON header (and payload) changed and the checksum and
 * lengths made right again, as a hand edit that re-signs the file would leave it.
 */
function resigned(bytes: Buffer, name: string, change: (h: Record<string, any>) => void, payloadChange: (p: Buffer) => Buffer = (p) => p): string {
  const jsonLength = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(56, 56 + jsonLength).toString('utf8')) as Record<string, any>;
  const payload = payloadChange(bytes.subarray(56 + jsonLength + ((8 - ((56 + jsonLength) % 8)) % 8)));
  change(header);
  const json = Buffer.from(JSON.stringify(header));
  const body = Buffer.concat([json, Buffer.alloc((8 - ((56 + json.length) % 8)) % 8), payload]);
  const fixed = Buffer.alloc(56);
  bytes.copy(fixed, 0, 0, 12);
  fixed.writeUInt32LE(json.length, 12);
  fixed.writeBigUInt64LE(BigInt(payload.length), 16);
  createHash('sha256').update(body).digest().copy(fixed, 24);
  const file = path.join(tmp, name);
  writeFileSync(file, Buffer.concat([fixed, body]));
  return file;
}

describe('.xnor model file', () => {
  const model = loadDarknetModel(path.join(dirA, 'yolov3-tiny_xnor_160_slim.cfg'), path.join(dirA, 'weights_a.weights'), path.join(dirA, 'classes.names'));
  const bytes = encodeModel(model);

  it('round-trips graph, names and every parameter exactly', () => {
    const back = decodeModel(bytes, 'a.xnor');
    expect(back.spec.net).toEqual(model.spec.net);
    expect(back.spec.layers).toEqual(model.spec.layers);
    expect(back.classNames).toEqual(['class0', 'class1', 'class2']);
    back.params.forEach((p, i) => {
      const q = model.params[i];
      if (!p || !q) return expect(p).toBe(q);
      expect(p.kind).toBe(q.kind);
      if (p.kind === 'binary' && q.kind === 'binary') {
        expect(Buffer.from(p.bits).equals(Buffer.from(q.bits))).toBe(true);
        expect(Array.from(p.scale)).toEqual(Array.from(q.scale));
      }
      if (p.kind === 'float' && q.kind === 'float') expect(Buffer.from(p.weights.buffer).equals(Buffer.from(q.weights.buffer))).toBe(true);
      expect(Array.from(p.bias)).toEqual(Array.from(q.bias));
    });
  });

  it('rejects corrupt, truncated, foreign and newer files with one line', () => {
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 10] ^= 0x01;
    expect(() => decodeModel(flipped, 'm.xnor')).toThrow('m.xnor: checksum mismatch: the model file is corrupt');
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 1), 'm.xnor')).toThrow(/^m\.xnor: truncated xnorcam model: \d+ bytes, the header says \d+$/);
    expect(() => decodeModel(Buffer.from('hello world, not a model at all, definitely not one'), 'm.xnor')).toThrow(/not an xnorcam model/);
    const newer = Buffer.from(bytes);
    newer.writeUInt32LE(FORMAT_VERSION + 1, 8);
    expect(() => decodeModel(newer, 'm.xnor')).toThrow(`m.xnor: model format ${FORMAT_VERSION + 1} is newer than this xnorcam supports (${FORMAT_VERSION}); upgrade xnorcam`);
  });

  it('refuses in one line a header that passes its checksum but does not describe a model (edited, re-signed)', () => {
    const noTensors = resigned(bytes, 'edited.xnor', (h) => delete h.tensors);
    expect(() => readModelFile(noTensors)).toThrow(`${noTensors}: corrupt model: the header lacks its layers, tensors or class names`);
    const r = xnorcam('detect', path.join(dirA, 'image_a.png'), '--model', resigned(bytes, 'edited.xnor', (h) => (h.net.width = h.net.height = 10 ** 6)));
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: .*edited\.xnor: corrupt model: \[net\]: .*width.*$/)]);
  });

  it('float16 conversion rounds to nearest even, including subnormals and overflow', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e6)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(1);
    expect(toHalf(2 ** -26)).toBe(0);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    for (let i = 0; i < 1000; i++) {
      const x = Math.fround((Math.random() - 0.5) * 4);
      const back = fromHalf(toHalf(x));
      expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
    }
  });
});

describe('a bundled model with a hand-edited, re-signed header', () => {
  const bytes = readFileSync(path.join(repoRoot, 'models', 'xnorcam-traffic-320.xnor'));
  const header = JSON.parse(bytes.subarray(56, 56 + bytes.readUInt32LE(12)).toString('utf8')) as { layers: { type: string; xnor?: boolean }[] };
  const conv = (xnor: boolean) => header.layers.findIndex((l) => l.type === 'convolutional' && l.xnor === xnor);
  const xnorLayer = conv(true);
  const floatLayer = conv(false);
  const image = path.join(dirA, 'image_a.png');

  it('still loads unedited (the checks pass every real model)', () => {
    expect(() => decodeModel(bytes, 'm.xnor')).not.toThrow();
    expect(() => readModelFile(path.join(repoRoot, 'models', 'xnorcam-traffic.xnor'))).not.toThrow();
  });

  // Each read past a tensor's end in the kernels, ran on zeros, or crashed with an internal error.
  const cases: [string, (h: Record<string, any>) => void, ((p: Buffer) => Buffer) | undefined, RegExp][] = [
    [
      'filters doubled, with its output and tensor counts to match',
      (h) => {
        const l = h.layers[xnorLayer];
        l.filters *= 2;
        l.output.c *= 2;
        for (const t of ['bits', 'scale', 'bias']) h.tensors[xnorLayer][t].count *= 2;
      },
      undefined,
      new RegExp(`layer ${xnorLayer + 1} \\[maxpool\\]: input is \\{"c":\\d+,.*\\}, but its other settings give`),
    ],
    [
      'a 3×3 XNOR kernel made 5×5 (its bit count too)',
      (h) => {
        Object.assign(h.layers[xnorLayer], { size: 5, pad: 2 });
        h.tensors[xnorLayer].bits.count = (h.tensors[xnorLayer].bits.count / 9) * 25;
      },
      undefined,
      new RegExp(`layer ${xnorLayer}: \\d+ weight bits as bits take \\d+ bytes, the header gives \\d+`),
    ],
    ['float weights said to be float16', (h) => (h.tensors[floatLayer].weights.dtype = 'f16'), undefined, new RegExp(`layer ${floatLayer}: \\d+ weights as f16 take \\d+ bytes`)],
    ['an input channel count edited', (h) => (h.layers[xnorLayer].input.c *= 2), undefined, new RegExp(`layer ${xnorLayer} \\[convolutional\\]: input is`)],
    ['the payload cut short', () => undefined, (p) => p.subarray(0, p.length - 4096), /weights \(bytes \d+-\d+\) lie outside the \d+-byte payload/],
    ['bytes added to the payload', () => undefined, (p) => Buffer.concat([p, Buffer.alloc(4096, 7)]), /the payload has 4096 bytes no layer uses/],
    ['a class name removed', (h) => h.classNames.pop(), undefined, /\d+ class names, but the network has \d+ classes/],
  ];
  it.each(cases)('%s: refused in one line naming the file', (_what, change, payloadChange, problem) => {
    const file = resigned(bytes, 'edited-320.xnor', change, payloadChange);
    const r = xnorcam('detect', image, '--model', file);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith(`error: ${file}: corrupt model: `)).toBe(true);
    expect(lines[0]).toMatch(problem);
  });
});

describe('full yolov3-tiny_xnor (80 classes, random weights of the right length)', () => {
  const cfg = path.join(fixtures, 'darknet-cfg', 'yolov3-tiny_xnor.cfg');
  let weightsFile: string;
  beforeAll(() => {
    const spec = parseCfgFile(cfg);
    weightsFile = path.join(tmp, 'yolov3-tiny_xnor.weights');
    writeFileSync(weightsFile, encodeWeights(spec, randomRawWeights(spec, 7)));
  });

  it('randomModelFromCfg is deterministic', () => {
    const a = encodeModel(randomModelFromCfg(cfg, 3));
    const b = encodeModel(randomModelFromCfg(cfg, 3));
    const c = encodeModel(randomModelFromCfg(cfg, 4));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('packs to at most 1/8 of the darknet weights with float16 float layers (convert --half)', () => {
    const darknetBytes = statSync(weightsFile).size;
    expect(darknetBytes).toBeGreaterThan(35e6);
    const out = path.join(tmp, 'half.xnor');
    const r = xnorcam('convert', cfg, weightsFile, '--half', '-o', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/24 layers \(13 conv, 9 XNOR\), 416x416, 80 classes/);
    const packed = statSync(out).size;
    expect(packed).toBeLessThanOrEqual(darknetBytes / 8);
    // The exact (float32) default: the four float layers alone are 1.38 M weights = 5.5 MB, so it
    // cannot reach 1/8; the XNOR layers shrink 32x either way.
    const exact = path.join(tmp, 'exact.xnor');
    expect(xnorcam('convert', cfg, weightsFile, '-o', exact).status).toBe(0);
    const exactBytes = statSync(exact).size;
    expect(exactBytes).toBeLessThan(darknetBytes / 5);
    const model = decodeModel(readFileSync(exact), exact);
    expect(model.params.filter((p) => p?.kind === 'binary')).toHaveLength(9);
  });
});
