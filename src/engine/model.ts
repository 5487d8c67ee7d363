/**
 * The in-memory model every loader produces and the runtime consumes: the layer graph with shapes
 * already inferred, and the conv parameters already prepared the way darknet prepares them for
 * inference (batch norm folded in, XNOR weights reduced to sign bits + per-filter scale). Loading a
 * darknet cfg+weights pair and loading a packed .xnor file both end in this structure, which is why
 * the two give identical outputs.
 */
export type Activation = 'linear' | 'leaky' | 'relu' | 'logistic' | 'mish' | 'swish';

export interface Shape {
  c: number;
  h: number;
  w: number;
}

export interface NetInfo {
  width: number;
  height: number;
  channels: number;
  /** darknet [net] letter_box=1: keep the aspect ratio when resizing, pad with grey. */
  letterbox: boolean;
}

interface LayerBase {
  /** Line of the section header in the source cfg (for messages). */
  line: number;
  input: Shape;
  output: Shape;
}

export interface ConvSpec extends LayerBase {
  type: 'convolutional';
  filters: number;
  size: number;
  stride: number;
  pad: number;
  groups: number;
  batchNormalize: boolean;
  xnor: boolean;
  /** The activation applied at inference (bin_output already turned into linear, as darknet does). */
  activation: Activation;
}

export interface MaxpoolSpec extends LayerBase {
  type: 'maxpool';
  size: number;
  stride: number;
  /** darknet's `padding` (default size-1); the window starts at -padding/2 (C division). */
  padding: number;
}

export interface RouteSpec extends LayerBase {
  type: 'route';
  /** Absolute layer indices. */
  layers: number[];
  groups: number;
  groupId: number;
}

export interface ShortcutSpec extends LayerBase {
  type: 'shortcut';
  /** Absolute index of the layer added to the previous layer's output. */
  from: number;
  activation: Activation;
}

export interface UpsampleSpec extends LayerBase {
  type: 'upsample';
  stride: number;
  scale: number;
}

export interface DropoutSpec extends LayerBase {
  type: 'dropout';
}

export interface YoloSpec extends LayerBase {
  type: 'yolo';
  classes: number;
  /** Indices into anchors (pairs). */
  mask: number[];
  /** All anchors as [w0, h0, w1, h1, ...] in network-input pixels. */
  anchors: number[];
  scaleXY: number;
}

export interface RegionSpec extends LayerBase {
  type: 'region';
  classes: number;
  num: number;
  coords: number;
  softmax: boolean;
  /** Anchors in grid cells, [w0, h0, ...]. */
  anchors: number[];
}

export type LayerSpec = ConvSpec | MaxpoolSpec | RouteSpec | ShortcutSpec | UpsampleSpec | DropoutSpec | YoloSpec | RegionSpec;

export interface NetworkSpec {
  /** Where the graph came from (a cfg path), for messages. */
  source: string;
  net: NetInfo;
  layers: LayerSpec[];
}

/** Prepared parameters of one conv layer. */
export type ConvParams =
  | {
      kind: 'float';
      /** [filters][inC/groups][size][size], batch norm folded in. */
      weights: Float32Array;
      bias: Float32Array;
    }
  | {
      kind: 'binary';
      /** Sign bits of the folded weights, bit = w > 0, [filters][inC][size][size] flattened, LSB first. */
      bits: Uint8Array;
      /** darknet's mean_arr: mean |w| per filter after folding. */
      scale: Float32Array;
      bias: Float32Array;
    };

export interface Model {
  spec: NetworkSpec;
  /** Indexed like spec.layers; null for layers without parameters. */
  params: (ConvParams | null)[];
  classNames: string[];
  /** Free-form provenance stored in .xnor files (e.g. how a specialised model was made). */
  card?: Record<string, unknown>;
}

/** Number of weights of a conv layer (darknet's nweights). */
export function convWeightCount(l: ConvSpec): number {
  return (l.input.c / l.groups) * l.filters * l.size * l.size;
}

/** Class count of the network's detection heads (they must agree). */
export function modelClasses(spec: NetworkSpec): number {
  const heads = spec.layers.filter((l): l is YoloSpec | RegionSpec => l.type === 'yolo' || l.type === 'region');
  return heads.length ? heads[heads.length - 1].classes : 0;
}

export function defaultClassNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class${i}`);
}
