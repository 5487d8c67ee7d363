import { createHash } from 'node:crypto';
import { UserError } from '../../core/errors.js';
import { readInputFile } from '../../core/input-file.js';
import { convWeightCount, type ConvParams, type LayerSpec, type Model, type NetInfo } from '../model.js';
import { fromHalf, toHalf } from './float16.js';
import { headerProblem } from './header-check.js';

/**
 * The packed .xnor model file.
 *
 *   0  8 bytes  magic "XNORCAM" + 0x1a
 *   8  u32 LE   format version (FORMAT_VERSION)
 *  12  u32 LE   header length H (bytes of UTF-8 JSON)
 *  16  u64 LE   payload length P
 *  24  32 bytes SHA-256 of everything from byte 56 to the end (header, padding, payload)
 *  56  H bytes  header JSON: net info, class names, the layer graph, and per conv layer where its
 *               tensors live in the payload
 *      zero padding to a multiple of 8
 *      P bytes  payload: tensors, each 8-byte aligned. XNOR layers: sign bits of the folded weights
 *               (LSB first over [filter][c][ky][kx]), float32 per-filter scale, float32 folded bias.
 *               Float layers: folded weights as float32 (or float16 with --half), float32 bias.
 *
 * A reader refuses a newer format version instead of guessing.
 */
export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from([0x58, 0x4e, 0x4f, 0x52, 0x43, 0x41, 0x4d, 0x1a]); // "XNORCAM\x1a"
const FIXED = 56;

export interface TensorRef {
  offset: number;
  bytes: number;
  dtype: 'f32' | 'f16' | 'bits';
  count: number;
}

export type ConvTensors = { kind: 'float'; weights: TensorRef; bias: TensorRef } | { kind: 'binary'; bits: TensorRef; scale: TensorRef; bias: TensorRef };

export interface Header {
  format: number;
  producer: string;
  source: string;
  net: NetInfo;
  classNames: string[];
  layers: LayerSpec[];
  tensors: (ConvTensors | null)[];
  /** Optional model card (provenance); absent in files written before it existed. */
  card?: Record<string, unknown>;
}

export interface EncodeOptions {
  /** Store float-layer weights as float16 (smaller; outputs no longer bit-exact to darknet). */
  half?: boolean;
  producer?: string;
  /** Model card to store with the model (defaults to the model's own card, if any). */
  card?: Record<string, unknown>;
}

export function encodeModel(model: Model, opts: EncodeOptions = {}): Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  const add = (data: Buffer, dtype: TensorRef['dtype'], count: number): TensorRef => {
    const offset = size;
    chunks.push(data);
    size += data.length;
    const pad = (8 - (size % 8)) % 8;
    if (pad) {
      chunks.push(Buffer.alloc(pad));
      size += pad;
    }
    return { offset, bytes: data.length, dtype, count };
  };
  const f32 = (a: Float32Array) => add(Buffer.from(a.buffer, a.byteOffset, a.byteLength), 'f32', a.length);
  const f16 = (a: Float32Array) => {
    const b = Buffer.alloc(a.length * 2);
    for (let i = 0; i < a.length; i++) b.writeUInt16LE(toHalf(a[i]), i * 2);
    return add(b, 'f16', a.length);
  };
  const tensors = model.params.map((p, i): ConvTensors | null => {
    if (!p) return null;
    const l = model.spec.layers[i];
    if (l.type !== 'convolutional') throw new Error(`layer ${i}: parameters on a ${l.type} layer`);
    if (p.kind === 'binary') {
      const bits = add(Buffer.from(p.bits.buffer, p.bits.byteOffset, p.bits.byteLength), 'bits', convWeightCount(l));
      return { kind: 'binary', bits, scale: f32(p.scale), bias: f32(p.bias) };
    }
    return { kind: 'float', weights: opts.half ? f16(p.weights) : f32(p.weights), bias: f32(p.bias) };
  });
  const header: Header = {
    format: FORMAT_VERSION,
    producer: opts.producer ?? 'xnorcam',
    source: model.spec.source,
    net: model.spec.net,
    classNames: model.classNames,
    layers: model.spec.layers,
    tensors,
    ...(opts.card ?? model.card ? { card: opts.card ?? model.card } : {}),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const jsonPad = Buffer.alloc((8 - ((FIXED + json.length) % 8)) % 8);
  const body = Buffer.concat([json, jsonPad, ...chunks]);
  const fixed = Buffer.alloc(FIXED);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(FORMAT_VERSION, 8);
  fixed.writeUInt32LE(json.length, 12);
  fixed.writeBigUInt64LE(BigInt(size), 16);
  createHash('sha256').update(body).digest().copy(fixed, 24);
  return Buffer.concat([fixed, body]);
}

export function readModelFile(file: string): Model {
  const buf = readInputFile(file, 'a .xnor model');
  try {
    return decodeModel(buf, file);
  } catch (e) {
    if (e instanceof UserError) throw e;
    // A header that passed the checksum yet does not describe a model: written by something else.
    throw new UserError(`${file}: corrupt model header (${(e as Error).message})`);
  }
}

export function isModelFile(buf: Buffer): boolean {
  return buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC);
}

/** Bytes that identify a model file: magic and format version (what `xnorcam check` reads). */
export const MODEL_ID_BYTES = 12;

/** What is wrong with the start of a model file, if anything: its magic, its length (`needed` bytes), its format version. */
export function modelHeaderProblem(buf: Buffer, needed: number = MODEL_ID_BYTES): string | undefined {
  if (!isModelFile(buf)) return 'not an xnorcam model (bad magic; convert darknet files with `xnorcam convert`)';
  if (buf.length < needed) return 'truncated xnorcam model (header incomplete)';
  const version = buf.readUInt32LE(8);
  if (version > FORMAT_VERSION) return `model format ${version} is newer than this xnorcam supports (${FORMAT_VERSION}); upgrade xnorcam`;
  if (version !== FORMAT_VERSION) return `unsupported model format ${version}`;
  return undefined;
}

export function decodeModel(buf: Buffer, file: string): Model {
  const bad = (problem: string) => new UserError(`${file}: ${problem}`);
  const problem = modelHeaderProblem(buf, FIXED);
  if (problem) throw bad(problem);
  const jsonLength = buf.readUInt32LE(12);
  const payloadLength = Number(buf.readBigUInt64LE(16));
  const jsonEnd = FIXED + jsonLength;
  const payloadStart = jsonEnd + ((8 - (jsonEnd % 8)) % 8);
  const expected = payloadStart + payloadLength;
  if (buf.length !== expected) throw bad(`${buf.length < expected ? 'truncated' : 'oversized'} xnorcam model: ${buf.length} bytes, the header says ${expected}`);
  const digest = createHash('sha256').update(buf.subarray(FIXED)).digest();
  if (!digest.equals(buf.subarray(24, FIXED))) throw bad('checksum mismatch: the model file is corrupt');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(FIXED, jsonEnd).toString('utf8')) as Header;
  } catch {
    throw bad('corrupt model header');
  }
  const wrong = headerProblem(header, payloadLength);
  if (wrong) throw bad(`corrupt model: ${wrong}`);
  const payload = buf.subarray(payloadStart);
  const tensor = (t: TensorRef): Float32Array => {
    const data = payload.subarray(t.offset, t.offset + t.bytes);
    const out = new Float32Array(t.count);
    if (t.dtype === 'f16') for (let i = 0; i < t.count; i++) out[i] = fromHalf(data.readUInt16LE(i * 2));
    else new Uint8Array(out.buffer).set(data);
    return out;
  };
  const params = header.tensors.map((t): ConvParams | null => {
    if (!t) return null;
    if (t.kind === 'binary') {
      const bits = new Uint8Array(payload.subarray(t.bits.offset, t.bits.offset + t.bits.bytes));
      return { kind: 'binary', bits, scale: tensor(t.scale), bias: tensor(t.bias) };
    }
    return { kind: 'float', weights: tensor(t.weights), bias: tensor(t.bias) };
  });
  return { spec: { source: file, net: header.net, layers: header.layers }, params, classNames: header.classNames, ...(header.card ? { card: header.card } : {}) };
}
