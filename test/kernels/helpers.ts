import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BinaryConvParams, ConvGeometry, FloatConvParams, KernelActivation, KernelBackend } from '../../src/engine/kernels/backend.js';
import { rng } from '../helpers/random.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The wasm kernels are a build output; build them if this checkout has not yet. */
export function ensureWasmBuilt(): void {
  if (existsSync(path.join(repoRoot, 'build', 'xnorcam-kernels.wasm'))) return;
  const r = spawnSync(process.execPath, ['scripts/build-wasm.mjs'], { cwd: repoRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/build-wasm.mjs failed: ${r.stderr}`);
}

export { rng };

/** Values in (-1, 1) with exact zeros, negative zeros and a spread of magnitudes. */
export function fillRandom(a: Float32Array, r: () => number): void {
  for (let i = 0; i < a.length; i++) {
    const u = r();
    if (u < 0.05) a[i] = 0;
    else if (u < 0.07) a[i] = -0;
    else a[i] = (r() * 2 - 1) * (u < 0.5 ? 1 : u < 0.9 ? 0.01 : 100);
  }
}

export const outSize = (n: number, size: number, stride: number, pad: number): number => Math.floor((n + 2 * pad - size) / stride) + 1;

/** A conv layer as these tests draw it: the backend's geometry without the output size (outSize gives it). */
export type Shape = Omit<ConvGeometry, 'outH' | 'outW'> & { groups: number; activation: KernelActivation };

export function floatParams(s: Shape, r: () => number): FloatConvParams {
  const outH = outSize(s.inH, s.size, s.stride, s.pad);
  const outW = outSize(s.inW, s.size, s.stride, s.pad);
  const weights = new Float32Array((s.outC * s.inC * s.size * s.size) / s.groups);
  const bias = new Float32Array(s.outC);
  fillRandom(weights, r);
  fillRandom(bias, r);
  return { ...s, outH, outW, weights, bias };
}

export function binaryParams(s: Shape, r: () => number): BinaryConvParams {
  const outH = outSize(s.inH, s.size, s.stride, s.pad);
  const outW = outSize(s.inW, s.size, s.stride, s.pad);
  const weights = new Float32Array(s.outC * s.inC * s.size * s.size);
  const scale = new Float32Array(s.outC);
  const bias = new Float32Array(s.outC);
  fillRandom(weights, r);
  for (let i = 0; i < s.outC; i++) scale[i] = 0.01 + r();
  fillRandom(bias, r);
  return { inC: s.inC, inH: s.inH, inW: s.inW, outC: s.outC, outH, outW, size: s.size, stride: s.stride, pad: s.pad, weights, scale, bias, activation: s.activation };
}

/** Runs one conv on a backend with a tensor from its own allocator; returns a copy of the output. */
export function runConv(b: KernelBackend, kind: 'float' | 'binary', p: FloatConvParams | BinaryConvParams, input: Float32Array): Float32Array {
  const op = kind === 'float' ? b.prepareFloatConv(p as FloatConvParams) : b.prepareBinaryConv(p as BinaryConvParams);
  const x = b.allocFloat32(input.length);
  x.set(input);
  const y = b.allocFloat32(p.outC * p.outH * p.outW);
  y.fill(12345); // stale values must be overwritten
  op.run(x, y);
  return Float32Array.from(y);
}

/** Index of the first element whose float32 bit pattern differs, or -1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

export function describe(s: Shape): string {
  return `${s.inC}x${s.inH}x${s.inW} -> ${s.outC} k${s.size} s${s.stride} p${s.pad} g${s.groups} ${s.activation}`;
}
