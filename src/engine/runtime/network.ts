import type { BinaryConvParams, BitLinkPath, BitLinkStep, ConvOp, FloatConvParams, KernelBackend } from '../kernels/backend.js';
import { convWeightCount, type ConvSpec, type LayerSpec, type MaxpoolSpec, type Model, type NetworkSpec, type RouteSpec } from '../model.js';
import { unpackSigns } from '../darknet/prepare.js';
import { applyActivationTs, applyExtraActivation, kernelActivation } from './activations.js';
import { maxpool, region, route, shortcut, upsample, yolo } from './layers.js';
import { GatedHead, gateable } from './gated-heads.js';

export interface NetworkOptions {
  /**
   * Keep every layer's output readable in `outputs` (for per-layer dumps and comparisons). Off by
   * default: a conv directly followed by a [maxpool] then runs as one fused backend op when the
   * backend offers it (`prepare*ConvPool`), and that conv's own output is never computed; and a
   * tensor read only by binary convs, directly or through [maxpool]/[upsample]/[route] layers, may
   * be passed as packed bits (`linkBinaryInput[Via]`, see `bitLinkedTensors`), never as floats.
   */
  keepLayerOutputs?: boolean;
  /** Pass tensors between convs as packed bits where the backend can (default true; false: floats, e.g. to measure the difference). */
  bitLinks?: boolean;
  /**
   * [yolo] layers activate box centres and objectness only and leave the class scores as raw
   * logits: a detector reads a cell's class scores only where its objectness passes the threshold,
   * and collectCandidates (src/detect/decode.ts) applies the same float32 logistic there, so the
   * detections are the same bits at a fraction of the work (26x26x255 logistics on yolov3-tiny's
   * second head: ~1 ms per frame on the WebAssembly backend). Off by default (the layer outputs
   * are darknet's); EngineDetector turns it on unless it keeps layer outputs.
   */
  lazyYoloClasses?: boolean;
}

/**
 * A model bound to a kernel backend: every tensor is allocated once here (through the backend, so
 * a WebAssembly backend reads them in place) and forward() only computes. Not reentrant: one
 * Network per thread.
 *
 * Optional backend ops (backend.ts) are used when present, each bit-identical to the TypeScript
 * layer it replaces: maxpool, yolo, upsample, and conv+maxpool fusion (see NetworkOptions).
 */
export class Network {
  readonly spec: NetworkSpec;
  readonly backend: KernelBackend;
  /** Network input, CHW float32 (channels × height × width of [net]). */
  readonly input: Float32Array;
  /**
   * Output tensor of every layer (a [dropout] shares its input's tensor). A conv fused with the
   * maxpool after it (see `fusedLayers`) has an empty array here: its output is never computed;
   * so has a tensor passed to the next conv as packed bits (see `bitLinkedTensors`). With
   * lazyYoloClasses a [yolo] may share its conv's tensor (that conv's entry then holds the yolo's
   * output). keepLayerOutputs gives every layer its own output, as darknet defines it.
   */
  readonly outputs: Float32Array[];
  /** Indices of the conv layers that run fused with their following maxpool (empty with keepLayerOutputs). */
  readonly fusedLayers: ReadonlySet<number>;
  /**
   * Layers whose output exists only as packed sign bits, written by the producing convs straight
   * into the binary convs that read them (KernelBackend.linkBinaryInput[Via]; see planBitLinks):
   * conv outputs, and the [maxpool]/[upsample]/[route]/[dropout] layers between such a conv and
   * its binary readers, which then do nothing. Their `outputs` entry is an empty array.
   * Empty with keepLayerOutputs or on backends without bit links.
   */
  readonly bitLinkedTensors: ReadonlySet<number>;
  /** Each conv step's op and tensors, by conv layer index (a bit link empties a tensor here). */
  private readonly convIo = new Map<number, { op: ConvOp; input: Float32Array; out: Float32Array }>();
  private readonly steps: (() => void)[];
  /** Non-conv layers of bitLinkedTensors (they run as part of the links). */
  private readonly bitPassThrough = new Set<number>();
  /** Layers that already hold their output without computing: routes whose parts were written in place. */
  private readonly inPlace: ReadonlySet<number>;
  /** Float convs a 'fast'-precision backend may run in reduced precision (see reducedPrecisionOk). */
  private readonly fastOk: ReadonlySet<number>;
  /** [yolo] outputs hold raw class scores (NetworkOptions.lazyYoloClasses). */
  readonly lazyYoloClasses: boolean;
  /** The [yolo] heads whose class scores are computed only where objectness passes (see GatedHead), by their conv's index. */
  readonly gatedHeads: ReadonlyMap<number, GatedHead>;
  private gate: number | undefined;

  constructor(model: Model, backend: KernelBackend, opts: NetworkOptions = {}) {
    this.spec = model.spec;
    this.backend = backend;
    this.lazyYoloClasses = opts.lazyYoloClasses ?? false;
    const { net, layers } = model.spec;
    this.input = backend.allocFloat32(net.channels * net.height * net.width);
    const fused = opts.keepLayerOutputs ? new Set<number>() : fusableConvs(model, backend);
    this.fastOk = reducedPrecisionOk(model);
    this.fusedLayers = fused;
    const plan = planInPlace(model, fused);
    this.inPlace = plan.inPlace;
    this.outputs = [];
    const hosts = new Map<number, Float32Array>();
    // a lazy [yolo] activates a few planes of its conv's tensor in place when nothing else reads it
    // (no copy of the raw class scores)
    const readers = layerReaders(layers);
    const yoloInPlace = (l: (typeof layers)[number], i: number) =>
      l.type === 'yolo' && this.lazyYoloClasses && !opts.keepLayerOutputs && i > 0 && readers[i - 1].length === 1 && !fused.has(i - 1);
    this.gatedHeads = this.planGatedHeads(model, (i) => yoloInPlace(layers[i], i));
    for (const j of plan.hosts) hosts.set(j, backend.allocFloat32(layers[j].output.c * layers[j].output.h * layers[j].output.w));
    layers.forEach((l, i) => {
      const input = i === 0 ? this.input : this.outputs[i - 1];
      const n = l.output.c * l.output.h * l.output.w;
      const placed = plan.placed.get(i);
      const alias = plan.alias.get(i);
      let out: Float32Array;
      if (l.type === 'dropout' || yoloInPlace(l, i)) out = input;
      else if (alias !== undefined) out = this.outputs[alias];
      else if (placed) out = hosts.get(placed.route)!.subarray(placed.offset, placed.offset + n);
      else if (hosts.has(i)) out = hosts.get(i)!;
      else out = fused.has(i) ? new Float32Array(0) : backend.allocFloat32(n);
      this.outputs.push(out);
    });
    this.steps = layers.map((l, i) => {
      const input = i === 0 ? this.input : this.outputs[i - 1];
      if (fused.has(i)) return this.makeFusedConvPool(model, i, input, this.outputs[i + 1]);
      if (fused.has(i - 1)) return () => {}; // this maxpool ran inside the conv before it
      return this.makeStep(model, l, i, input, this.outputs[i]);
    });
    this.bitLinkedTensors = !opts.keepLayerOutputs && opts.bitLinks !== false ? this.linkBits(model, fused) : new Set<number>();
  }

  /**
   * Makes the bit links of planBitLinks and empties the tensors they replace. With
   * linkBinaryInputVia every link of a plan is dry-run first; a consumer whose link the backend
   * refuses reads floats, and the plan is redone without it (the tensors feeding it keep floats).
   * With only linkBinaryInput: direct conv-to-conv links, each kept or dropped on its own.
   */
  private linkBits(model: Model, fused: ReadonlySet<number>): Set<number> {
    const be = this.backend;
    const via = be.linkBinaryInputVia?.bind(be);
    if (!via && !be.linkBinaryInput) return new Set();
    const op = (i: number) => this.convIo.get(i)?.op;
    const refused = new Set<number>();
    let plan = planBitLinks(model, fused, refused, !!via);
    if (via) {
      for (;;) {
        const bad = plan.links.find((l) => !op(l.producer) || !op(l.consumer) || !via(op(l.producer)!, op(l.consumer)!, l.path, true));
        if (!bad) break;
        refused.add(bad.consumer);
        plan = planBitLinks(model, fused, refused, true);
      }
      for (const l of plan.links)
        if (!via(op(l.producer)!, op(l.consumer)!, l.path)) throw new Error(`layer ${l.consumer}: bit link from layer ${l.producer} failed after its dry run`);
    } else {
      // direct links only (no pass-through layers planned): a refused one keeps its tensor
      for (const l of plan.links)
        if (!op(l.producer) || !op(l.consumer) || !be.linkBinaryInput!(op(l.producer)!, op(l.consumer)!)) plan.tensors.delete(l.consumer - 1);
      plan.links = plan.links.filter((l) => plan.tensors.has(l.consumer - 1));
    }
    const empty = new Float32Array(0);
    for (const l of plan.links) {
      this.convIo.get(l.producer)!.out = empty;
      this.convIo.get(l.consumer)!.input = empty;
    }
    for (const t of plan.tensors) {
      this.outputs[t] = empty;
      if (model.spec.layers[t].type !== 'convolutional' && !this.fusedLayers.has(t - 1)) {
        this.bitPassThrough.add(t);
        this.steps[t] = () => {};
      }
    }
    return plan.tensors;
  }

  /**
   * The head convs a GatedHead can split: a float 1x1 conv with a kernel activation under a [yolo]
   * that runs in place on its tensor (yoloInPlace: lazy class scores, the conv read by that [yolo] only).
   */
  private planGatedHeads(model: Model, yoloInPlace: (i: number) => boolean): Map<number, GatedHead> {
    const heads = new Map<number, GatedHead>();
    model.spec.layers.forEach((l, i) => {
      const conv = model.spec.layers[i - 1];
      if (l.type !== 'yolo' || conv?.type !== 'convolutional' || !yoloInPlace(i)) return;
      if (kernelActivation(conv.activation) !== conv.activation) return;
      const p = convParams(model, conv, i - 1, this.fastOk.has(i - 1)).float;
      if (p && gateable(p, l)) heads.set(i - 1, new GatedHead(this.backend, p, l));
    });
    return heads;
  }

  /**
   * Class scores in the [yolo] outputs are valid where objectness > classGate (undefined: everywhere),
   * as the last forward() computed them.
   */
  get classGate(): number | undefined {
    return this.gatedHeads.size > 0 ? this.gate : undefined;
  }

  /** Conv layer i and the maxpool i+1 as one backend op writing the pooled tensor. */
  private makeFusedConvPool(model: Model, i: number, input: Float32Array, pooled: Float32Array): () => void {
    const l = model.spec.layers[i] as ConvSpec;
    const pool = model.spec.layers[i + 1] as MaxpoolSpec;
    const spec = { size: pool.size, stride: pool.stride, padding: pool.padding };
    const p = convParams(model, l, i, this.fastOk.has(i));
    const op = p.binary ? this.backend.prepareBinaryConvPool!(p.binary, spec) : this.backend.prepareFloatConvPool!(p.float!, spec);
    const io = { op, input, out: pooled };
    this.convIo.set(i, io);
    return () => op.run(io.input, io.out);
  }

  private makeStep(model: Model, l: LayerSpec, i: number, input: Float32Array, out: Float32Array): () => void {
    switch (l.type) {
      case 'convolutional': {
        const head = this.gatedHeads.get(i);
        if (head) {
          // its op lives in the GatedHead, which runs it whole or in parts
          const io = { op: head.wholeConv, input, out };
          this.convIo.set(i, io);
          return () => head.runConv(io.input, io.out, this.gate);
        }
        const p = convParams(model, l, i, this.fastOk.has(i));
        const op: ConvOp = p.binary ? this.backend.prepareBinaryConv(p.binary) : this.backend.prepareFloatConv(p.float!);
        const n = out.length;
        const extra = l.activation;
        const io = { op, input, out };
        this.convIo.set(i, io);
        return () => {
          op.run(io.input, io.out);
          applyExtraActivation(io.out, n, extra);
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
        if (this.inPlace.has(i)) return () => {}; // its inputs wrote straight into it (planInPlace)
        const ins = l.layers.map((r) => this.outputs[r]);
        const shapes = l.layers.map((r) => this.spec.layers[r].output);
        // parts whose layer already writes into this route's tensor are not copied again
        const skip = l.layers.map((_, k) => ins[k].buffer === out.buffer && ins[k].byteOffset === out.byteOffset + 4 * partOffset(l, shapes, k) && l.groups === 1);
        return () => route(l, ins, shapes, out, skip);
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
      case 'upsample': {
        const op = this.backend.prepareUpsample?.({ c: l.input.c, h: l.input.h, w: l.input.w, stride: l.stride, scale: l.scale });
        return op ? () => op.run(input, out) : () => upsample(l, input, out);
      }
      case 'dropout':
        return () => {};
      case 'yolo': {
        // lazy: tx, ty and objectness only (rawClasses), the class scores where the decoder reads them
        const lazy = this.lazyYoloClasses;
        const op = this.backend.prepareYolo?.({ c: l.input.c, h: l.input.h, w: l.input.w, classes: l.classes, anchors: l.mask.length, scaleXY: l.scaleXY, rawClasses: lazy });
        const activate = op ? () => op.run(input, out) : () => yolo(l, input, out, !lazy);
        const head = this.gatedHeads.get(i - 1);
        if (head) {
          const conv = this.convIo.get(i - 1)!;
          return () => {
            activate();
            head.runClasses(conv.input, out, this.gate);
          };
        }
        return activate;
      }
      case 'region':
        return () => region(l, input, out);
    }
  }

  /**
   * Runs the network on `this.input`. With `timings`, adds each layer's milliseconds to it (a fused
   * conv+maxpool counts under the conv; its maxpool gets ~0; a gated head's class scores count
   * under its [yolo]). With `classGate` (lazy class scores only), the [yolo] heads compute class
   * scores only for the cells where some anchor's objectness is above it: decode at a threshold of
   * at least classGate (a detector passes its threshold).
   */
  forward(timings?: Float64Array, classGate?: number): void {
    this.gate = classGate;
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
    return this.spec.layers.map((l, i) => {
      const io = `${l.input.w}x${l.input.h}x${l.input.c} -> ${l.output.w}x${l.output.h}x${l.output.c}`;
      if (l.type === 'convolutional')
        return `conv ${l.size}x${l.size}/${l.stride}${l.groups > 1 ? ` g${l.groups}` : ''} ${l.xnor ? 'xnor' : 'float'} ${io}${this.fusedLayers.has(i) ? ' +maxpool' : ''}${this.bitLinkedTensors.has(this.fusedLayers.has(i) ? i + 1 : i) ? ' ->bits' : ''}`;
      if (this.fusedLayers.has(i - 1)) return `${l.type} ${io} (fused into layer ${i - 1})`;
      return `${l.type} ${io}${this.bitPassThrough.has(i) ? ' (as bits, inside the links)' : ''}`;
    });
  }
}

/** For each layer, the layers that read its output: the next layer, except [route] (its `layers`) and [shortcut] (also `from`). */
function layerReaders(layers: Model['spec']['layers']): number[][] {
  const readers: number[][] = layers.map(() => []);
  layers.forEach((l, j) => {
    if (l.type === 'route') l.layers.forEach((r) => readers[r].push(j));
    else if (j > 0) readers[j - 1].push(j);
    if (l.type === 'shortcut') readers[l.from].push(j);
  });
  return readers;
}

/** One bit link: conv `producer`'s output, along `path`, is (part of) binary conv `consumer`'s input. */
interface BitLink {
  producer: number;
  consumer: number;
  path: BitLinkPath;
}

/**
 * Tensors that can travel as packed sign bits, and the links that carry them. A conv output (or
 * the maxpool fused into the conv) qualifies when the conv's activation is one the kernel applies
 * (leaky, relu, linear: value > 0 iff the pre-activation value > 0, so the bits need no float) and
 * every layer reading it takes bits: a binary conv (not in `refused`), or, with `via` (the backend
 * links through layers), a [maxpool], an [upsample] with scale >= 1 (sign kept), a [route]
 * (groups 1, every part starting at a multiple of 32 channels) or a [dropout] whose own output
 * qualifies and whose inputs all do. Anything else reading a tensor (a shortcut, a yolo head, a
 * float conv, a route with a float part) keeps it, and what feeds it, float. The greatest such set
 * is found by dropping tensors that break the rule until none does. Each binary conv reading a
 * bit tensor gets one link per conv feeding it, with the layers in between as steps (any darknet
 * cfg: route slices, upsampled and pooled branches, one conv feeding several consumers).
 */
function planBitLinks(model: Model, fused: ReadonlySet<number>, refused: ReadonlySet<number>, via: boolean): { tensors: Set<number>; links: BitLink[] } {
  const layers = model.spec.layers;
  const readers = layerReaders(layers);
  const okAct = (a: string) => a === 'leaky' || a === 'relu' || a === 'linear';
  // the conv whose op writes tensor t (the conv itself, or the conv a maxpool is fused into); -1: none
  const producerOf = (t: number): number => {
    const l = layers[t];
    if (l?.type === 'convolutional' && !fused.has(t)) return okAct(l.activation) ? t : -1;
    if (l?.type === 'maxpool' && fused.has(t - 1)) return okAct((layers[t - 1] as ConvSpec).activation) ? t - 1 : -1;
    return -1;
  };
  const passThrough = (t: number): boolean => {
    const l = layers[t];
    if (!via || !l || fused.has(t - 1)) return false;
    if (l.type === 'maxpool' || l.type === 'dropout') return true;
    if (l.type === 'upsample') return Number.isInteger(l.stride) && l.stride >= 1 && l.scale >= 1;
    if (l.type !== 'route' || l.groups !== 1) return false;
    let at = 0;
    for (const r of l.layers) {
      if (at % 32 !== 0) return false;
      at += layers[r].output.c;
    }
    return true;
  };
  const inputsOf = (t: number): number[] => {
    const l = layers[t];
    return l.type === 'route' ? l.layers : [t - 1];
  };
  const takesBits = (r: number) => layers[r].type === 'convolutional' && model.params[r]?.kind === 'binary' && !refused.has(r);
  const tensors = new Set<number>();
  layers.forEach((_, t) => {
    if (producerOf(t) >= 0 || passThrough(t)) tensors.add(t);
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (const t of tensors) {
      let ok = readers[t].length > 0 && readers[t].every((r) => (takesBits(r) && r - 1 === t) || (tensors.has(r) && passThrough(r)));
      if (ok && producerOf(t) < 0) ok = inputsOf(t).every((i) => tensors.has(i));
      if (!ok) {
        tensors.delete(t);
        changed = true;
      }
    }
  }
  // the convs feeding tensor t, with the layers between them and t
  const sources = (t: number, channelOffset: number, steps: BitLinkStep[]): { producer: number; path: BitLinkPath }[] => {
    const producer = producerOf(t);
    if (producer >= 0) return [{ producer, path: { steps, channelOffset } }];
    const l = layers[t];
    if (l.type === 'maxpool')
      return sources(t - 1, channelOffset, [{ kind: 'maxpool', size: l.size, stride: l.stride, padding: l.padding, outH: l.output.h, outW: l.output.w }, ...steps]);
    if (l.type === 'upsample') return sources(t - 1, channelOffset, [{ kind: 'upsample', stride: l.stride }, ...steps]);
    if (l.type === 'route') {
      let at = channelOffset;
      return l.layers.flatMap((r) => {
        const part = sources(r, at, steps);
        at += layers[r].output.c;
        return part;
      });
    }
    return sources(t - 1, channelOffset, steps); // dropout
  };
  const links: BitLink[] = [];
  layers.forEach((_, c) => {
    if (c > 0 && takesBits(c) && tensors.has(c - 1)) for (const s of sources(c - 1, 0, [])) links.push({ consumer: c, ...s });
  });
  return { tensors, links };
}

/** A conv layer's kernel parameters: exactly one of binary / float is set. */
function convParams(model: Model, l: ConvSpec, i: number, fastOk = false): { binary?: BinaryConvParams; float?: FloatConvParams } {
  const p = model.params[i];
  if (!p) throw new Error(`layer ${i}: convolutional layer without parameters`);
  const geometry = {
    inC: l.input.c, inH: l.input.h, inW: l.input.w, outC: l.output.c, outH: l.output.h, outW: l.output.w,
    size: l.size, stride: l.stride, pad: l.pad,
  };
  const activation = kernelActivation(l.activation);
  if (p.kind === 'binary') return { binary: { ...geometry, weights: unpackSigns(p.bits, convWeightCount(l)), scale: p.scale, bias: p.bias, activation } };
  return { float: { ...geometry, groups: l.groups, weights: p.weights, bias: p.bias, activation, fastOk } };
}

/** Element offset of part k in a [route]'s output. */
function partOffset(l: RouteSpec, shapes: { c: number; h: number; w: number }[], k: number): number {
  let at = 0;
  for (let i = 0; i < k; i++) at += (shapes[i].c * shapes[i].h * shapes[i].w) / l.groups;
  return at;
}

/**
 * Copies the network can skip by laying tensors out in place:
 *  - a [route] of one whole layer (groups 1) is that layer's tensor (alias);
 *  - a [route] of several whole layers (groups 1) owns one tensor (a host) and each input layer
 *    that is computed into a tensor of its own writes straight into its part of it (placed), so
 *    the route copies nothing (inPlace) or only the parts that could not be placed;
 * Every layer's output keeps its values (a [yolo] is not run in place on its conv's tensor: callers
 * compare conv outputs); only where they are stored changes.
 */
function planInPlace(model: Model, fused: ReadonlySet<number>) {
  const layers = model.spec.layers;
  const alias = new Map<number, number>();
  const placed = new Map<number, { route: number; offset: number }>();
  const hosts = new Set<number>();
  const inPlace = new Set<number>();
  // a layer whose tensor is its own allocation (not an alias, not fused away, not a host)
  const ownsTensor = (r: number) => r >= 0 && layers[r].type !== 'dropout' && !alias.has(r) && !fused.has(r) && !placed.has(r) && !hosts.has(r);
  layers.forEach((l, j) => {
    if (l.type !== 'route' || l.groups !== 1) return;
    if (l.layers.length === 1) {
      alias.set(j, l.layers[0]);
      return;
    }
    const shapes = l.layers.map((r) => layers[r].output);
    let all = true;
    const parts: [number, number][] = [];
    l.layers.forEach((r, k) => {
      // an input used twice in the same route, or one that is some other tensor's view, is copied
      if (ownsTensor(r) && l.layers.indexOf(r) === k) parts.push([r, partOffset(l, shapes, k)]);
      else all = false;
    });
    if (parts.length === 0) return;
    hosts.add(j);
    for (const [r, offset] of parts) placed.set(r, { route: j, offset });
    if (all) inPlace.add(j);
  });
  return { alias, placed, hosts, inPlace };
}

/** How many convs deep, counted back from the network outputs, 'fast' precision may go. */
export const FAST_PRECISION_DEPTH = 2;

/**
 * The float convs that a 'fast'-precision backend may run in reduced precision:
 *  - no binary (XNOR) conv reads their output, directly or through later layers: a binary conv
 *    takes the sign of its input, so any rounding difference near zero flips a bit and everything
 *    downstream moves (measured on darknet-xnor-a: int8 in layer 0 lost most detections);
 *  - at most FAST_PRECISION_DEPTH convs (this one included) on any path to an output, so the
 *    quantisation error of consecutive reduced-precision layers does not compound (measured on
 *    yolo-fastest: int8 in every 1x1 conv moved a box to IoU 0.70 of the exact one).
 */
export function reducedPrecisionOk(model: Model): Set<number> {
  const layers = model.spec.layers;
  const readers = layerReaders(layers);
  const feedsBinary = new Array<boolean>(layers.length).fill(false);
  const depth = new Array<number>(layers.length).fill(0);
  for (let i = layers.length - 1; i >= 0; i--) {
    for (const j of readers[i]) {
      if ((layers[j].type === 'convolutional' && model.params[j]?.kind === 'binary') || feedsBinary[j]) feedsBinary[i] = true;
      depth[i] = Math.max(depth[i], depth[j]);
    }
    if (layers[i].type === 'convolutional') depth[i]++;
  }
  const ok = new Set<number>();
  layers.forEach((l, i) => {
    if (l.type === 'convolutional' && model.params[i]?.kind === 'float' && !feedsBinary[i] && depth[i] <= FAST_PRECISION_DEPTH) ok.add(i);
  });
  return ok;
}

/**
 * Conv layers that can run fused with the [maxpool] right after them: the backend has the fused
 * op for that conv kind, the activation is one the kernel applies itself (no TypeScript pass over
 * the full-size output), nothing but the maxpool reads the conv output (no [route]/[shortcut] to
 * it), and the pool's output size is the one the fused op writes.
 */
function fusableConvs(model: Model, backend: KernelBackend): Set<number> {
  const spec = model.spec;
  const readByOthers = new Set<number>();
  for (const l of spec.layers) {
    if (l.type === 'route') l.layers.forEach((r) => readByOthers.add(r));
    else if (l.type === 'shortcut') readByOthers.add(l.from);
  }
  const fused = new Set<number>();
  spec.layers.forEach((l, i) => {
    const next = spec.layers[i + 1];
    if (l.type !== 'convolutional' || next?.type !== 'maxpool' || readByOthers.has(i)) return;
    if (!(l.activation === 'leaky' || l.activation === 'linear' || l.activation === 'relu')) return;
    if (!(model.params[i]?.kind === 'binary' ? backend.prepareBinaryConvPool : backend.prepareFloatConvPool)) return;
    const poolH = Math.floor((l.output.h + next.padding - next.size) / next.stride) + 1;
    const poolW = Math.floor((l.output.w + next.padding - next.size) / next.stride) + 1;
    if (poolH !== next.output.h || poolW !== next.output.w || next.output.c !== l.output.c) return;
    fused.add(i);
  });
  return fused;
}
