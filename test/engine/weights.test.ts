import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCfgFile } from '../../src/engine/darknet/cfg.js';
import { encodeWeights, readWeightsFile } from '../../src/engine/darknet/weights.js';
import { fixtures } from './helpers.js';

const dir = path.join(fixtures, 'darknet-xnor-a');
const spec = parseCfgFile(path.join(dir, 'yolov3-tiny_xnor_160_slim.cfg'));
const weightsFile = path.join(dir, 'weights_a.weights');
const original = readFileSync(weightsFile);
const tmp = mkdtempSync(path.join(tmpdir(), 'xnorcam-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('darknet weights reader', () => {
  it('reads every conv layer (biases, BN, weights) and writes the same bytes back', () => {
    const raw = readWeightsFile(weightsFile, spec);
    expect(raw.filter(Boolean)).toHaveLength(13);
    expect(raw[0]!.bn).toBeDefined();
    expect(raw[15]!.bn).toBeUndefined();
    expect(raw[14]!.weights.length).toBe(64 * 64 * 9);
    expect(encodeWeights(spec, raw).equals(original)).toBe(true);
  });

  it('accepts the old 16-byte header (version < 0.2: 32-bit seen)', () => {
    const old = Buffer.concat([Buffer.from(new Int32Array([0, 1, 0, 0]).buffer), original.subarray(20)]);
    const file = path.join(tmp, 'old.weights');
    writeFileSync(file, old);
    const a = readWeightsFile(file, spec);
    const b = readWeightsFile(weightsFile, spec);
    expect(Array.from(a[21]!.weights)).toEqual(Array.from(b[21]!.weights));
  });

  it('rejects a truncated or oversized file, naming the file and the float counts', () => {
    const total = (original.length - 20) / 4;
    const short = path.join(tmp, 'short.weights');
    writeFileSync(short, original.subarray(0, original.length - 400));
    expect(() => readWeightsFile(short, spec)).toThrow(`${short}: wrong length for ${spec.source}: expected ${total} floats after the 20-byte header, found ${total - 100}`);
    const long = path.join(tmp, 'long.weights');
    writeFileSync(long, Buffer.concat([original, Buffer.alloc(6)]));
    expect(() => readWeightsFile(long, spec)).toThrow(/found \d+ bytes \(not a whole number of floats\)/);
    const tiny = path.join(tmp, 'tiny.weights');
    writeFileSync(tiny, Buffer.alloc(7));
    expect(() => readWeightsFile(tiny, spec)).toThrow(`${tiny}: too short for a darknet weights file (7 bytes, the header alone needs 16)`);
    expect(() => readWeightsFile(path.join(tmp, 'missing.weights'), spec)).toThrow(/missing\.weights: no such file$/);
  });

  it('refuses weights that are not numbers (a diverged training), naming the layer', () => {
    const nan = Buffer.from(original);
    // A float of layer 2 (layer 0: 16 filters of 3x3x3 with batch norm, 496 floats; layer 1 a maxpool).
    nan.writeFloatLE(Number.NaN, 20 + 4 * 600);
    const file = path.join(tmp, 'nan.weights');
    writeFileSync(file, nan);
    expect(() => readWeightsFile(file, spec)).toThrow(`${file}: weights that are not numbers (NaN or infinite) in layer 2 (a training that diverged?)`);
  });

  it('refuses a device or a pipe instead of reading it forever', () => {
    expect(() => readWeightsFile('/dev/zero', spec)).toThrow('/dev/zero: a device, not a file; expected a darknet .weights file');
    const fifo = path.join(tmp, 'pipe.weights');
    execFileSync('mkfifo', [fifo]);
    expect(() => readWeightsFile(fifo, spec)).toThrow(`${fifo}: a pipe, not a file; expected a darknet .weights file`);
  });
});
