import type { BinaryConvParams, ConvOp, FloatConvParams, KernelActivation, KernelBackend } from './backend.js';

/**
 * The reference backend: plain TypeScript, written for clarity and exactness, not speed. Every
 * other backend is tested bit-for-bit against it. See backend.ts for the numerics.
 */
const f = Math.fround;
const LEAKY = f(0.1);

export function applyActivation(out: Float32Array, n: number, act: KernelActivation): void {
  if (act === 'linear') return;
  if (act === 'relu') {
    for (let i = 0; i < n; i++) if (!(out[i] > 0)) out[i] = 0;
    return;
  }
  // leaky, with darknet's scalar tail: the last (n % 8 || 8) elements go through double math.
  const tailStart = n - (n % 8 || 8);
  for (let i = 0; i < n; i++) {
    const x = out[i];
    if (x > 0) continue;
    out[i] = i >= tailStart ? f(0.1 * x) : f(x * LEAKY);
  }
}

class ReferenceFloatConv implements ConvOp {
  constructor(private readonly p: FloatConvParams) {}
  run(input: Float32Array, output: Float32Array): void {
    const { inC, inH, inW, outC, outH, outW, size, stride, pad, groups, weights, bias } = this.p;
    const cPerGroup = inC / groups;
    const oPerGroup = outC / groups;
    for (let o = 0; o < outC; o++) {
      const g = Math.floor(o / oPerGroup);
      const wBase = o * cPerGroup * size * size;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let sum = 0;
          for (let c = 0; c < cPerGroup; c++) {
            const plane = (g * cPerGroup + c) * inH;
            for (let ky = 0; ky < size; ky++) {
              const iy = oy * stride + ky - pad;
              for (let kx = 0; kx < size; kx++) {
                const ix = ox * stride + kx - pad;
                if (iy < 0 || iy >= inH || ix < 0 || ix >= inW) continue; // zero padding adds nothing
                sum = f(sum + f(weights[wBase + (c * size + ky) * size + kx] * input[(plane + iy) * inW + ix]));
              }
            }
          }
          output[(o * outH + oy) * outW + ox] = f(sum + bias[o]);
        }
      }
    }
    applyActivation(output, outC * outH * outW, this.p.activation);
  }
}

class ReferenceBinaryConv implements ConvOp {
  private readonly signs: Uint8Array;
  constructor(private readonly p: BinaryConvParams) {
    this.signs = new Uint8Array(p.weights.length);
    for (let i = 0; i < p.weights.length; i++) this.signs[i] = p.weights[i] > 0 ? 1 : 0;
  }
  run(input: Float32Array, output: Float32Array): void {
    const { inC, inH, inW, outC, outH, outW, size, stride, pad, scale, bias } = this.p;
    const K = size * size * inC;
    for (let o = 0; o < outC; o++) {
      const wBase = o * K;
      for (let oy = 0; oy < outH; oy++) {
        for (let ox = 0; ox < outW; ox++) {
          let mismatches = 0;
          for (let c = 0; c < inC; c++) {
            for (let ky = 0; ky < size; ky++) {
              const iy = oy * stride + ky - pad;
              for (let kx = 0; kx < size; kx++) {
                const ix = ox * stride + kx - pad;
                const inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
                const xBit = inside && input[(c * inH + iy) * inW + ix] > 0 ? 1 : 0; // padding is -1
                if (xBit !== this.signs[wBase + (c * size + ky) * size + kx]) mismatches++;
              }
            }
          }
          output[(o * outH + oy) * outW + ox] = f(f((K - 2 * mismatches) * scale[o]) + bias[o]);
        }
      }
    }
    applyActivation(output, outC * outH * outW, this.p.activation);
  }
}

export class ReferenceBackend implements KernelBackend {
  readonly name = 'reference';
  allocFloat32(count: number): Float32Array {
    return new Float32Array(count);
  }
  prepareFloatConv(p: FloatConvParams): ConvOp {
    return new ReferenceFloatConv(p);
  }
  prepareBinaryConv(p: BinaryConvParams): ConvOp {
    return new ReferenceBinaryConv(p);
  }
}
