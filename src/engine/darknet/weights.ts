import { UserError } from '../../core/errors.js';
import { readInputFile } from '../../core/input-file.js';
import { convWeightCount, type ConvSpec, type NetworkSpec } from '../model.js';

/** The raw (unfolded) parameters of one conv layer as stored in a darknet .weights file. */
export interface RawConv {
  biases: Float32Array;
  /** Batch norm gamma, mean, variance; present when batch_normalize=1. */
  bn?: { scales: Float32Array; mean: Float32Array; variance: Float32Array };
  weights: Float32Array;
}

export interface WeightsHeader {
  major: number;
  minor: number;
  revision: number;
  seen: bigint;
  /** Header size in bytes (16 or 20: `seen` is 64-bit from version 0.2 on). */
  bytes: number;
}

/** Floats a conv layer stores: biases, [scales, rolling mean, rolling variance], weights. */
export function convFloatCount(l: ConvSpec): number {
  return l.filters * (l.batchNormalize ? 4 : 1) + convWeightCount(l);
}

export function readHeader(buf: Buffer, file: string): WeightsHeader {
  if (buf.length < 16) throw new UserError(`${file}: too short for a darknet weights file (${buf.length} bytes, the header alone needs 16)`);
  const major = buf.readInt32LE(0);
  const minor = buf.readInt32LE(4);
  const revision = buf.readInt32LE(8);
  if (major < 0 || minor < 0 || major > 1000 || minor > 1000) throw new UserError(`${file}: not a darknet weights file (header version ${major}.${minor})`);
  const wide = major * 10 + minor >= 2;
  if (wide && buf.length < 20) throw new UserError(`${file}: too short for a darknet weights file (${buf.length} bytes, the header needs 20)`);
  const seen = wide ? buf.readBigUInt64LE(12) : BigInt(buf.readUInt32LE(12));
  return { major, minor, revision, seen, bytes: wide ? 20 : 16 };
}

/**
 * Reads a darknet .weights file for the given graph. darknet itself silently accepts short files;
 * here any length other than exactly what the cfg needs is an error, since it means the cfg and the
 * weights do not belong together.
 */
export function readWeightsFile(file: string, spec: NetworkSpec): (RawConv | null)[] {
  const buf = readInputFile(file, 'a darknet .weights file');
  return parseWeights(buf, file, spec);
}

export function parseWeights(buf: Buffer, file: string, spec: NetworkSpec): (RawConv | null)[] {
  const header = readHeader(buf, file);
  let expected = 0;
  for (const l of spec.layers) if (l.type === 'convolutional') expected += convFloatCount(l);
  const payload = buf.length - header.bytes;
  const found = Math.floor(payload / 4);
  if (payload % 4 !== 0 || found !== expected) {
    throw new UserError(
      `${file}: wrong length for ${spec.source}: expected ${expected} floats after the ${header.bytes}-byte header, found ${payload % 4 ? `${payload} bytes (not a whole number of floats)` : found}`,
    );
  }
  // Copy into an aligned buffer so Float32Array views work regardless of the Buffer's offset.
  const floats = new Float32Array(expected);
  new Uint8Array(floats.buffer).set(buf.subarray(header.bytes, header.bytes + expected * 4));
  let at = 0;
  const take = (n: number) => {
    const v = floats.subarray(at, at + n);
    at += n;
    return v;
  };
  return spec.layers.map((l, i) => {
    if (l.type !== 'convolutional') return null;
    const start = at;
    const biases = take(l.filters);
    const bn = l.batchNormalize ? { scales: take(l.filters), mean: take(l.filters), variance: take(l.filters) } : undefined;
    const weights = take(convWeightCount(l));
    // A training that diverged exports NaN or infinite weights; such a network detects nothing, silently.
    if (!floats.subarray(start, at).every(Number.isFinite)) {
      throw new UserError(`${file}: weights that are not numbers (NaN or infinite) in layer ${i} (a training that diverged?)`);
    }
    return { biases, bn, weights };
  });
}

/** Serialises raw conv parameters as a darknet .weights file (header 0.2.5, seen = 0). */
export function encodeWeights(spec: NetworkSpec, raw: (RawConv | null)[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(20);
  header.writeInt32LE(0, 0);
  header.writeInt32LE(2, 4);
  header.writeInt32LE(5, 8);
  parts.push(header);
  const f32 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  spec.layers.forEach((l, i) => {
    const r = raw[i];
    if (l.type !== 'convolutional' || !r) return;
    parts.push(f32(r.biases));
    if (l.batchNormalize) {
      if (!r.bn) throw new Error(`layer ${i}: batch norm parameters missing`);
      parts.push(f32(r.bn.scales), f32(r.bn.mean), f32(r.bn.variance));
    }
    parts.push(f32(r.weights));
  });
  return Buffer.concat(parts);
}
