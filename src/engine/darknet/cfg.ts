import { inputError, UserError } from '../../core/errors.js';
import { readInputFile } from '../../core/input-file.js';
import type { Activation, ConvSpec, LayerSpec, NetInfo, NetworkSpec, RegionSpec, Shape, YoloSpec } from '../model.js';

/**
 * AlexeyAB-darknet .cfg parser with darknet's shape inference. Keys that only matter for training
 * are accepted and ignored from an explicit list; anything else unknown is an error naming the file
 * and line, so a typo never silently changes the network.
 */

interface Entry {
  value: string;
  line: number;
}

interface Section {
  type: string;
  line: number;
  options: Map<string, Entry>;
}

const SECTION_ALIASES: Record<string, string> = {
  net: 'net',
  network: 'net',
  convolutional: 'convolutional',
  conv: 'convolutional',
  maxpool: 'maxpool',
  max: 'maxpool',
  route: 'route',
  shortcut: 'shortcut',
  upsample: 'upsample',
  yolo: 'yolo',
  region: 'region',
  dropout: 'dropout',
};

/** Layer types darknet has but xnorcam does not run: named as unsupported rather than unknown. */
const UNSUPPORTED_SECTIONS = new Set([
  'avgpool', 'avg', 'connected', 'conn', 'softmax', 'soft', 'reorg', 'reorg3d', 'local', 'crnn', 'rnn', 'gru', 'lstm',
  'conv_lstm', 'history', 'crop', 'cost', 'detection', 'normalization', 'batchnorm', 'scale_channels', 'sam',
  'gaussian_yolo', 'contrastive', 'implicit_add', 'implicit_mul', 'empty', 'silence', 'activation', 'deconvolutional', 'deconv',
]);

/** Keys read by the engine, per section type. */
export const USED_KEYS: Record<string, string[]> = {
  net: ['width', 'height', 'channels', 'letter_box', 'inputs'],
  convolutional: ['filters', 'size', 'stride', 'stride_x', 'stride_y', 'pad', 'padding', 'activation', 'batch_normalize', 'groups', 'xnor', 'bin_output', 'dilation', 'flipped'],
  maxpool: ['size', 'stride', 'stride_x', 'stride_y', 'padding'],
  route: ['layers', 'groups', 'group_id'],
  shortcut: ['from', 'activation', 'weights_type', 'weights_normalization'],
  upsample: ['stride', 'scale'],
  yolo: ['mask', 'anchors', 'classes', 'num', 'scale_x_y', 'new_coords', 'nms_kind', 'beta_nms'],
  region: ['anchors', 'classes', 'coords', 'num', 'softmax', 'tree', 'map'],
  dropout: [],
};

/** Keys that only affect training (or darknet's own bookkeeping): accepted, ignored. */
export const TRAINING_KEYS: Record<string, string[]> = {
  net: [
    'batch', 'subdivisions', 'momentum', 'decay', 'angle', 'saturation', 'exposure', 'hue', 'learning_rate', 'burn_in',
    'max_batches', 'policy', 'steps', 'scales', 'step', 'gamma', 'power', 'mosaic', 'mosaic_bound', 'mixup', 'cutmix',
    'blur', 'flip', 'gaussian_noise', 'aspect', 'jitter', 'max_chart_loss', 'min_crop', 'max_crop', 'track', 'time_steps',
    'augment_speed', 'sequential_subdivisions', 'try_fix_nan', 'loss_scale', 'dynamic_minibatch', 'optimized_memory',
    'workspace_size_limit_mb', 'adam', 'b1', 'b2', 'eps', 'contrastive', 'contrastive_jit_flip', 'contrastive_color',
    'unsupervised', 'label_smooth_eps', 'random', 'train_only_bn', 'adversarial_lr', 'attention', 'show_receptive_field',
    'cosine_min_lr', 'sgdr_cycle', 'sgdr_mult', 'seq_scales', 'num_boxes', 'use_cuda_graph', 'clip', 'ema_alpha',
    'burnin_update', 'rotate', 'max', 'center',
  ],
  convolutional: ['learning_rate', 'stopbackward', 'train_only_bn', 'dont_update', 'dot', 'angle', 'grad_centr', 'sway', 'stretch', 'stretch_sway', 'rotate'],
  maxpool: ['train_only_bn'],
  route: ['stopbackward', 'train_only_bn'],
  shortcut: ['stopbackward', 'train_only_bn'],
  upsample: ['train_only_bn'],
  yolo: [
    'jitter', 'ignore_thresh', 'truth_thresh', 'random', 'iou_thresh', 'cls_normalizer', 'iou_normalizer', 'obj_normalizer',
    'iou_loss', 'max_delta', 'counters_per_class', 'label_smooth_eps', 'resize', 'focal_loss', 'objectness_smooth', 'map',
    'max', 'track_history_size', 'sim_thresh', 'dets_for_track', 'dets_for_show', 'track_ciou_norm', 'embedding_layer',
    'uc_normalizer', 'delta_normalizer', 'show_details',
  ],
  region: [
    'bias_match', 'jitter', 'rescore', 'object_scale', 'noobject_scale', 'class_scale', 'coord_scale', 'absolute', 'thresh',
    'random', 'max', 'focal_loss', 'log', 'sqrt', 'max_delta', 'resize',
  ],
  dropout: ['probability', 'dropblock', 'dropblock_size_rel', 'dropblock_size_abs'],
};

const ACTIVATIONS: readonly Activation[] = ['linear', 'leaky', 'relu', 'logistic', 'mish', 'swish'];

/** Splits cfg text into sections the way darknet's read_cfg does (all whitespace stripped). */
export function splitSections(text: string, file: string): Section[] {
  const sections: Section[] = [];
  // CR alone too: old Mac editors end lines so, and the whole file would read as one [net] line.
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i].replace(/\s+/g, '');
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    if (line.startsWith('[')) {
      if (!line.endsWith(']')) throw inputError(file, lineNo, `malformed section header '${lines[i].trim()}'`);
      sections.push({ type: line.slice(1, -1).toLowerCase(), line: lineNo, options: new Map() });
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw inputError(file, lineNo, `expected 'key=value', got '${lines[i].trim()}'`);
    if (sections.length === 0) throw inputError(file, lineNo, `key '${line.slice(0, eq)}' before the first [section]`);
    const key = line.slice(0, eq).toLowerCase();
    const s = sections[sections.length - 1];
    if (s.options.has(key)) throw inputError(file, lineNo, `duplicate key '${key}' in [${s.type}] (first at line ${s.options.get(key)!.line})`);
    s.options.set(key, { value: line.slice(eq + 1), line: lineNo });
  }
  return sections;
}

/** Typed access to a section's options, with errors that name the line. */
class Options {
  constructor(
    private readonly file: string,
    private readonly s: Section,
  ) {}

  private fail(key: string, problem: string): UserError {
    const e = this.s.options.get(key);
    return inputError(this.file, e?.line ?? this.s.line, problem);
  }

  has(key: string): boolean {
    return this.s.options.has(key);
  }

  int(key: string, fallback: number, check?: (n: number) => boolean, what = 'a valid value'): number {
    const e = this.s.options.get(key);
    if (!e) return fallback;
    if (!/^[+-]?\d+$/.test(e.value)) throw this.fail(key, `'${key}' in [${this.s.type}] must be an integer, got '${e.value}'`);
    const n = Number(e.value);
    if (check && !check(n)) throw this.fail(key, `'${key}=${e.value}' in [${this.s.type}] is not ${what}`);
    return n;
  }

  float(key: string, fallback: number): number {
    const e = this.s.options.get(key);
    if (!e) return fallback;
    const n = Number(e.value);
    if (e.value === '' || !Number.isFinite(n)) throw this.fail(key, `'${key}' in [${this.s.type}] must be a number, got '${e.value}'`);
    return n;
  }

  str(key: string, fallback: string): string {
    return this.s.options.get(key)?.value ?? fallback;
  }

  numbers(key: string, integer: boolean): number[] | undefined {
    const e = this.s.options.get(key);
    if (!e) return undefined;
    const parts = e.value.split(',').filter((p) => p !== '');
    return parts.map((p) => {
      const n = Number(p);
      if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
        throw this.fail(key, `'${key}' in [${this.s.type}] must be a comma-separated list of ${integer ? 'integers' : 'numbers'}, got '${e.value}'`);
      }
      return n;
    });
  }

  activation(key: string): Activation {
    const v = this.str(key, 'logistic').toLowerCase();
    if (!(ACTIVATIONS as readonly string[]).includes(v)) throw this.fail(key, `activation '${v}' is not supported (supported: ${ACTIVATIONS.join(', ')})`);
    return v as Activation;
  }

  /** A key xnorcam only supports at one value (e.g. dilation=1). */
  requireDefault(key: string, value: string): void {
    const e = this.s.options.get(key);
    if (e && e.value !== value) throw this.fail(key, `'${key}=${e.value}' in [${this.s.type}] is not supported (only ${value})`);
  }

  /** A key that changes what darknet computes at any value xnorcam could be given (e.g. a softmax tree). */
  refuse(key: string, what: string): void {
    const e = this.s.options.get(key);
    if (e) throw this.fail(key, `'${key}=${e.value}' in [${this.s.type}] is not supported (${what})`);
  }

  lineOf(key: string): number {
    return this.s.options.get(key)?.line ?? this.s.line;
  }
}

function checkKeys(file: string, type: string, s: Section): void {
  const used = USED_KEYS[type];
  const ignored = TRAINING_KEYS[type] ?? [];
  for (const [key, e] of s.options) {
    if (!used.includes(key) && !ignored.includes(key)) throw inputError(file, e.line, `unknown key '${key}' in [${s.type}]`);
  }
}

const positive = (n: number) => n > 0;
/** The largest input side the engine takes: 8192² RGB is 800 MB as floats, and no detector is trained larger. */
const MAX_INPUT_SIDE = 8192;
const inputSide = (n: number) => n > 0 && n <= MAX_INPUT_SIDE;
const flag = (n: number) => n === 0 || n === 1;

/** Parses a cfg file into a NetworkSpec with every layer's input and output shape. */
export function parseCfgFile(file: string): NetworkSpec {
  const text = readInputFile(file, 'a darknet .cfg file', 'utf8');
  return parseCfg(text, file);
}

export function parseCfg(text: string, file: string): NetworkSpec {
  const sections = splitSections(text, file);
  if (sections.length === 0) throw new UserError(`${file}: not a darknet cfg (no [net] section found)`);
  const first = sections[0];
  if (SECTION_ALIASES[first.type] !== 'net') throw inputError(file, first.line, `the first section must be [net], got [${first.type}]`);
  const netOpts = new Options(file, first);
  checkKeys(file, 'net', first);
  const net: NetInfo = {
    width: netOpts.int('width', 0, inputSide, `a size from 1 to ${MAX_INPUT_SIDE}`),
    height: netOpts.int('height', 0, inputSide, `a size from 1 to ${MAX_INPUT_SIDE}`),
    channels: netOpts.int('channels', 0, positive, 'a positive channel count'),
    letterbox: netOpts.int('letter_box', 0, flag, '0 or 1') === 1,
  };
  if (!net.width || !net.height || !net.channels) {
    throw inputError(file, first.line, `[net] needs width, height and channels (got width=${net.width || '?'} height=${net.height || '?'} channels=${net.channels || '?'})`);
  }

  const layers: LayerSpec[] = [];
  const graph: GraphMarks = { binOutput: new Set(), consumedAsFloat: new Set() };
  let shape: Shape = { c: net.channels, h: net.height, w: net.width };
  const bodies = sections.slice(1);
  for (let index = 0; index < bodies.length; index++) {
    const s = bodies[index];
    const type = SECTION_ALIASES[s.type];
    if (!type || type === 'net') {
      if (UNSUPPORTED_SECTIONS.has(s.type)) throw inputError(file, s.line, `layer [${s.type}] is not supported by xnorcam`);
      throw inputError(file, s.line, type === 'net' ? `[${s.type}] may only be the first section` : `unknown layer [${s.type}]`);
    }
    checkKeys(file, type, s);
    const o = new Options(file, s);
    const layer = buildLayer(type, o, s, index, shape, layers, file, graph);
    layers.push(layer);
    shape = layer.output;
  }
  if (layers.length === 0) throw new UserError(`${file}: no layers after [net]`);

  // darknet's parser clears bin_output on layers whose float output is consumed by a route or a
  // shortcut; calculate_binary_weights then makes the remaining bin_output XNOR layers linear.
  for (const i of graph.binOutput) {
    const l = layers[i];
    if (l.type === 'convolutional' && !graph.consumedAsFloat.has(i)) l.activation = 'linear';
  }
  return { source: file, net, layers };
}

const isHead = (l: LayerSpec): l is YoloSpec | RegionSpec => l.type === 'yolo' || l.type === 'region';

/**
 * Refuses a network that cannot be the detector it looks like: no head, heads that decode different
 * class counts (only the last one's would be named and decoded), or a layer whose output nothing reads
 * (a cfg cut before its last [yolo] runs that head's conv and drops what it found). Not part of
 * parseCfg: the engine runs any layer graph, and kernel tests build headless ones.
 */
export function checkDetectorGraph(spec: NetworkSpec): void {
  const file = spec.source;
  const heads = spec.layers.filter(isHead);
  if (heads.length === 0) throw new UserError(`${file}: no [yolo] or [region] layer: this network cannot detect`);
  const first = heads[0];
  const other = heads.find((h) => h.classes !== first.classes);
  if (other) {
    throw inputError(file, other.line, `[${other.type}] has classes=${other.classes} but the [${first.type}] at line ${first.line} has classes=${first.classes}: every head must detect the same classes`);
  }
  const read = layersRead(spec.layers);
  const unread = spec.layers.findIndex((l, i) => !isHead(l) && !read.has(i));
  if (unread >= 0) {
    const l = spec.layers[unread];
    throw inputError(file, l.line, `the output of [${l.type}] (layer ${unread}) is read by no later layer and it is not a [yolo] or [region] head: is the cfg cut before its last head?`);
  }
}

/** The layers whose output a later layer reads (a [route] reads only its layers=, not the layer before it). */
function layersRead(layers: LayerSpec[]): Set<number> {
  const read = new Set<number>();
  layers.forEach((l, i) => {
    if (l.type === 'route') for (const r of l.layers) read.add(r);
    else if (i > 0) read.add(i - 1);
    if (l.type === 'shortcut') read.add(l.from);
  });
  return read;
}

/** bin_output flags, kept aside until the whole graph is known. */
interface GraphMarks {
  /** XNOR layers with bin_output=1. */
  binOutput: Set<number>;
  /** Layers read by a route or shortcut (darknet clears their bin_output). */
  consumedAsFloat: Set<number>;
}

function relIndex(n: number, index: number): number {
  return n < 0 ? index + n : n;
}

function buildLayer(type: string, o: Options, s: Section, index: number, input: Shape, layers: LayerSpec[], file: string, graph: GraphMarks): LayerSpec {
  const line = s.line;
  const err = (problem: string, at = line) => inputError(file, at, problem);
  switch (type) {
    case 'convolutional': {
      o.requireDefault('dilation', '1');
      // darknet transposes the weights of a flipped layer as it loads them: read as stored, they are other weights.
      o.requireDefault('flipped', '0');
      const filters = o.int('filters', 1, positive, 'a positive count');
      const size = o.int('size', 1, positive, 'a positive size');
      const strideDefault = o.int('stride', 1, positive, 'a positive stride');
      const strideX = o.int('stride_x', strideDefault, positive, 'a positive stride');
      const strideY = o.int('stride_y', strideDefault, positive, 'a positive stride');
      if (strideX !== strideY) throw err(`stride_x=${strideX} and stride_y=${strideY} differ; only square strides are supported`);
      const padFlag = o.int('pad', 0, flag, '0 or 1');
      let pad = o.int('padding', 0, (n) => n >= 0, 'a non-negative padding');
      if (padFlag) pad = Math.floor(size / 2);
      const xnor = o.int('xnor', 0, flag, '0 or 1') === 1;
      // darknet forces groups=1 on XNOR layers.
      const groups = xnor ? 1 : o.int('groups', 1, positive, 'a positive group count');
      const batchNormalize = o.int('batch_normalize', 0, flag, '0 or 1') === 1;
      const bin = o.int('bin_output', 0, flag, '0 or 1') === 1;
      const activation = o.activation('activation');
      if (input.c % groups !== 0) throw err(`groups=${groups} does not divide the ${input.c} input channels`, o.lineOf('groups'));
      if (filters % groups !== 0) throw err(`groups=${groups} does not divide filters=${filters}`, o.lineOf('groups'));
      const outH = Math.floor((input.h + 2 * pad - size) / strideY) + 1;
      const outW = Math.floor((input.w + 2 * pad - size) / strideX) + 1;
      if (outH <= 0 || outW <= 0) throw err(`[convolutional] with size=${size} pad=${pad} stride=${strideX} gives an empty output for a ${input.w}x${input.h} input`);
      const l: ConvSpec = {
        type: 'convolutional', line, input, output: { c: filters, h: outH, w: outW },
        filters, size, stride: strideX, pad, groups, batchNormalize, xnor, activation,
      };
      if (xnor && bin) graph.binOutput.add(index);
      return l;
    }
    case 'maxpool': {
      const size = o.int('size', 1, positive, 'a positive size');
      const strideDefault = o.int('stride', 1, positive, 'a positive stride');
      const strideX = o.int('stride_x', strideDefault, positive, 'a positive stride');
      const strideY = o.int('stride_y', strideDefault, positive, 'a positive stride');
      if (strideX !== strideY) throw err(`stride_x=${strideX} and stride_y=${strideY} differ; only square strides are supported`);
      const padding = o.int('padding', size - 1, (n) => n >= 0, 'a non-negative padding');
      const outH = Math.floor((input.h + padding - size) / strideY) + 1;
      const outW = Math.floor((input.w + padding - size) / strideX) + 1;
      if (outH <= 0 || outW <= 0) throw err(`[maxpool] size=${size} stride=${strideX} gives an empty output for a ${input.w}x${input.h} input`);
      return { type: 'maxpool', line, input, output: { c: input.c, h: outH, w: outW }, size, stride: strideX, padding };
    }
    case 'route': {
      const raw = o.numbers('layers', true);
      if (!raw || raw.length === 0) throw err(`[route] needs 'layers'`);
      const refs = raw.map((n) => relIndex(n, index));
      for (let k = 0; k < refs.length; k++) {
        if (refs[k] < 0 || refs[k] >= index) throw err(`[route] layers=${raw[k]} refers to layer ${refs[k]}, which is not an earlier layer (this is layer ${index})`, o.lineOf('layers'));
      }
      const groups = o.int('groups', 1, positive, 'a positive group count');
      const groupId = o.int('group_id', 0, (n) => n >= 0 && n < groups, `in 0..${groups - 1}`);
      const first = layers[refs[0]].output;
      let c = 0;
      for (const r of refs) {
        const sh = layers[r].output;
        if (sh.w !== first.w || sh.h !== first.h) {
          throw err(`[route] joins layer ${refs[0]} (${first.w}x${first.h}) and layer ${r} (${sh.w}x${sh.h}): spatial sizes differ`, o.lineOf('layers'));
        }
        if (sh.c % groups !== 0) throw err(`[route] groups=${groups} does not divide the ${sh.c} channels of layer ${r}`, o.lineOf('groups'));
        c += sh.c / groups;
        graph.consumedAsFloat.add(r);
      }
      return { type: 'route', line, input, output: { c, h: first.h, w: first.w }, layers: refs, groups, groupId };
    }
    case 'shortcut': {
      const raw = o.numbers('from', true);
      if (!raw || raw.length !== 1) throw err(`[shortcut] needs exactly one 'from' layer`, o.lineOf('from'));
      const from = relIndex(raw[0], index);
      if (from < 0 || from >= index) throw err(`[shortcut] from=${raw[0]} refers to layer ${from}, which is not an earlier layer`, o.lineOf('from'));
      o.requireDefault('weights_type', 'none');
      o.requireDefault('weights_normalization', 'none');
      const other = layers[from].output;
      if (other.w !== input.w || other.h !== input.h) {
        throw err(`[shortcut] adds layer ${from} (${other.w}x${other.h}) to a ${input.w}x${input.h} input: spatial sizes differ`, o.lineOf('from'));
      }
      graph.consumedAsFloat.add(from);
      graph.consumedAsFloat.add(index - 1);
      return { type: 'shortcut', line, input, output: { ...input }, from, activation: o.has('activation') ? o.activation('activation') : 'linear' };
    }
    case 'upsample': {
      const stride = o.int('stride', 2, positive, 'a positive stride (downsampling is not supported)');
      const scale = o.float('scale', 1);
      return { type: 'upsample', line, input, output: { c: input.c, h: input.h * stride, w: input.w * stride }, stride, scale };
    }
    case 'dropout':
      return { type: 'dropout', line, input, output: { ...input } };
    case 'yolo': {
      const classes = o.int('classes', 20, positive, 'a positive class count');
      const num = o.int('num', 1, positive, 'a positive anchor count');
      const mask = o.numbers('mask', true) ?? Array.from({ length: num }, (_, i) => i);
      const anchors = o.numbers('anchors', false) ?? [];
      o.requireDefault('new_coords', '0');
      const nmsKind = o.str('nms_kind', 'default').toLowerCase();
      if (!['default', 'greedynms'].includes(nmsKind)) throw err(`nms_kind=${nmsKind} is not supported (default, greedynms)`, o.lineOf('nms_kind'));
      if (anchors.length < 2 * num) throw err(`[yolo] num=${num} needs ${2 * num} anchor values, got ${anchors.length}`, o.lineOf('anchors'));
      for (const m of mask) if (m < 0 || m >= num) throw err(`[yolo] mask value ${m} is outside 0..${num - 1}`, o.lineOf('mask'));
      const expect = mask.length * (classes + 5);
      if (input.c !== expect) {
        throw err(`[yolo] with classes=${classes} and ${mask.length} masked anchors needs ${expect} input channels, but the layer before outputs ${input.c} (set filters=${expect})`);
      }
      return { type: 'yolo', line, input, output: { ...input }, classes, mask, anchors: anchors.slice(0, 2 * num), scaleXY: o.float('scale_x_y', 1) };
    }
    case 'region': {
      const classes = o.int('classes', 20, positive, 'a positive class count');
      const num = o.int('num', 1, positive, 'a positive anchor count');
      const coords = o.int('coords', 4, (n) => n === 4, '4 (the only supported value)');
      const softmax = o.int('softmax', 0, flag, '0 or 1') === 1;
      o.refuse('tree', 'a hierarchical softmax over a class tree');
      o.refuse('map', 'a class index map');
      const anchors = o.numbers('anchors', false) ?? [];
      if (anchors.length < 2 * num) throw err(`[region] num=${num} needs ${2 * num} anchor values, got ${anchors.length}`, o.lineOf('anchors'));
      const expect = num * (classes + coords + 1);
      if (input.c !== expect) throw err(`[region] with classes=${classes} and num=${num} needs ${expect} input channels, but the layer before outputs ${input.c}`);
      return { type: 'region', line, input, output: { ...input }, classes, num, coords, softmax, anchors: anchors.slice(0, 2 * num) };
    }
  }
  throw err(`unknown layer [${s.type}]`);
}
