import type { ConvOp, KernelBackend } from '../kernels/backend.js';
import { convWeightCount, type LayerSpec, type Model, type NetworkSpec } from '../model.js';
import { unpackSigns } from '../darknet/prepare.js';
import { applyActivationTs, applyExtraActivation, kernelActivation } from './activations.js';
import { maxpool, region, route, shortcut, upsample, yolo } from './layers.js';

/**
 * A model bound to a kernel backend: every tensor is allocated once here (through the backend, so
 * a WebAssembly backend reads them in place) and forward() only computes. Not reentrant: one
 * Network per thread.
 */
export class Network {
  readonly spec: NetworkSpec;
  readonly backend: KernelBackend;
  /** Network input, CHW float32 (channels × height × width of [net]). */
  readonly input: Float32Array;
  /** Output tensor of every layer (a [dropout] shares its input's tensor). */
  readonly outputs: Float32Array[];
  private readonly steps: (() => void)[];

  constructor(model: Model, backend: KernelBackend) {
    this.spec = model.spec;
    this.backend = backend;
    const { net, layers } = model.spec;
    this.input = backend.allocFloat32(net.channels * net.height * net.width);
    this.outputs = [];
    this.steps = [];
    layers.forEach((l, i) => {
      const input = i === 0 ? this.input : this.outputs[i - 1];
      const out = l.type === 'dropout' ? input : backend.allocFloat32(l.output.c * l.output.h * l.output.w);
      this.outputs.push(out);
      this.steps.push(this.makeStep(model, l, i, input, out));
    });
  }

  private makeStep(model: Model, l: LayerSpec, i: number, input: Float32Array, out: Float32Array): () => void {
    switch (l.type) {
      case 'convolutional': {
        const p = model.params[i];
        if (!p) throw new Error(`layer ${i}: convolutional layer without parameters`);
        const geometry = {
          inC: l.input.c, inH: l.input.h, inW: l.input.w, outC: l.output.c, outH: l.output.h, outW: l.output.w,
          size: l.size, stride: l.stride, pad: l.pad,
        };
        const activation = kernelActivation(l.activation);
        let op: ConvOp;
        if (p.kind === 'binary') {
          op = this.backend.prepareBinaryConv({ ...geometry, weights: unpackSigns(p.bits, convWeightCount(l)), scale: p.scale, bias: p.bias, activation });
        } else {
          op = this.backend.prepareFloatConv({ ...geometry, groups: l.groups, weights: p.weights, bias: p.bias, activation });
        }
        const n = out.length;
        const extra = l.activation;
        return () => {
          op.run(input, out);
          applyExtraActivation(out, n, extra);
        };
      }
      case 'maxpool': {
        // A backend may bring its own (bit-identical) maxpool; the TypeScript one is the fallback.
        const op = this.backend.prepareMaxPool?.({
          c: l.input.c, inH: l.input.h, inW: l.input.w, outH: l.output.h, outW: l.output.w, size: l.size, stride: l.stride, padding: l.padding,
        });
        return op ? () => op.run(input, out) : () => maxpool(l, input, out);
      }
      case 'route': {
        const ins = l.layers.map((r) => this.outputs[r]);
        const shapes = l.layers.map((r) => this.spec.layers[r].output);
        return () => route(l, ins, shapes, out);
      }
      case 'shortcut': {
        const from = this.outputs[l.from];
        const fromShape = this.spec.layers[l.from].output;
        const n = out.length;
        return () => {
          shortcut(input, l.input, from, fromShape, out);
          applyActivationTs(out, n, l.activation);
        };
      }
      case 'upsample':
        return () => upsample(l, input, out);
      case 'dropout':
        return () => {};
      case 'yolo':
        return () => yolo(l, input, out);
      case 'region':
        return () => region(l, input, out);
    }
  }

  /** Runs the network on `this.input`. With `timings`, adds each layer's milliseconds to it. */
  forward(timings?: Float64Array): void {
    const steps = this.steps;
    if (!timings) {
      for (let i = 0; i < steps.length; i++) steps[i]();
      return;
    }
    for (let i = 0; i < steps.length; i++) {
      const t0 = performance.now();
      steps[i]();
      timings[i] += performance.now() - t0;
    }
  }

  /** A short description of each layer (for per-layer timing reports). */
  describeLayers(): string[] {
    return this.spec.layers.map((l) => {
      const io = `${l.input.w}x${l.input.h}x${l.input.c} -> ${l.output.w}x${l.output.h}x${l.output.c}`;
      if (l.type === 'convolutional') return `conv ${l.size}x${l.size}/${l.stride}${l.groups > 1 ? ` g${l.groups}` : ''} ${l.xnor ? 'xnor' : 'float'} ${io}`;
      return `${l.type} ${io}`;
    });
  }
}
