import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../../core/errors.js';
import { parseCfg } from '../darknet/cfg.js';
import { convWeightCount, modelClasses, type ConvSpec, type LayerSpec, type NetInfo } from '../model.js';
import type { ConvTensors, Header, TensorRef } from './format.js';

/**
 * What is wrong with a .xnor header that passed its checksum (hand-edited, then re-signed), if anything.
 * The kernels trust every shape and tensor length they are given: a filter count, kernel size or
 * tensor length that disagrees with the rest is read past its end (a crash, or a wrong answer). So the
 * layer graph must be the one its own settings give (parsed again, as its cfg once was), and every
 * tensor exactly the size its layer needs, inside the payload, which nothing else may fill.
 */
export function headerProblem(header: Header, payloadLength: number): string | undefined {
  if (!Array.isArray(header.layers) || !Array.isArray(header.tensors) || !Array.isArray(header.classNames)) return 'the header lacks its layers, tensors or class names';
  const graph = graphProblem(header.net, header.layers);
  if (graph) return graph;
  const classes = modelClasses({ source: '', net: header.net, layers: header.layers });
  if (classes && header.classNames.length !== classes) return `${header.classNames.length} class names, but the network has ${classes} classes`;
  if (header.tensors.length !== header.layers.length) return `tensors for ${header.tensors.length} layers, but the network has ${header.layers.length}`;
  let end = 0;
  for (let i = 0; i < header.layers.length; i++) {
    const problem = layerTensorsProblem(header.layers[i], header.tensors[i], payloadLength);
    if (problem) return `layer ${i}: ${problem}`;
    for (const t of tensorRefs(header.tensors[i])) end = Math.max(end, t.offset + t.bytes + ((8 - ((t.offset + t.bytes) % 8)) % 8));
  }
  if (end !== payloadLength) return `the payload has ${payloadLength - end} bytes no layer uses`;
  return undefined;
}

/** The layers must be those their settings give: re-parsed as a cfg, every shape and setting the same. */
function graphProblem(net: NetInfo, layers: LayerSpec[]): string | undefined {
  const sections = [netSection(net), ...layers.map(layerSection)];
  const startLines: number[] = [];
  let line = 1;
  for (const s of sections) {
    startLines.push(line);
    line += s.split('\n').length;
  }
  let parsed: LayerSpec[];
  try {
    parsed = parseCfg(sections.join('\n'), '').layers;
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const m = /^:(\d+): (.*)$/s.exec(e.message);
    if (!m) return e.message.replace(/^: /, '');
    const at = startLines.findLastIndex((l) => l <= Number(m[1]));
    return `${at === 0 ? '[net]' : `layer ${at - 1}`}: ${m[2]}`;
  }
  if (parsed.length !== layers.length) return `${layers.length} layers, which read as ${parsed.length}`;
  for (let i = 0; i < layers.length; i++) {
    const own = layers[i] as unknown as Record<string, unknown>;
    const given = { ...parsed[i], line: layers[i].line } as unknown as Record<string, unknown>;
    const key = [...new Set([...Object.keys(own), ...Object.keys(given)])].find((k) => !isDeepStrictEqual(own[k], given[k]));
    if (key) return `layer ${i} [${layers[i].type}]: ${key} is ${JSON.stringify(own[key])}, but its other settings give ${JSON.stringify(given[key])}`;
  }
  return undefined;
}

function netSection(n: NetInfo): string {
  return `[net]\nwidth=${n.width}\nheight=${n.height}\nchannels=${n.channels}\nletter_box=${n.letterbox ? 1 : 0}`;
}

/** A layer as the cfg section it was parsed from (absolute layer indices; activation already final). */
function layerSection(l: LayerSpec): string {
  const keys: Record<string, unknown> = (() => {
    switch (l.type) {
      case 'convolutional':
        return { filters: l.filters, size: l.size, stride: l.stride, padding: l.pad, groups: l.groups, batch_normalize: +l.batchNormalize, xnor: +l.xnor, activation: l.activation };
      case 'maxpool':
        return { size: l.size, stride: l.stride, padding: l.padding };
      case 'route':
        return { layers: l.layers, groups: l.groups, group_id: l.groupId };
      case 'shortcut':
        return { from: l.from, activation: l.activation };
      case 'upsample':
        return { stride: l.stride, scale: l.scale };
      case 'yolo':
        return { classes: l.classes, num: l.anchors.length / 2, mask: l.mask, anchors: l.anchors, scale_x_y: l.scaleXY };
      case 'region':
        return { classes: l.classes, num: l.num, coords: l.coords, softmax: +l.softmax, anchors: l.anchors };
      default:
        return {};
    }
  })();
  const lines = Object.entries(keys).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return [`[${(l as { type: unknown }).type}]`, ...lines].join('\n');
}

/** A conv layer's tensors: the kind its layer is, each of the count, type and size it needs, in the payload. */
function layerTensorsProblem(l: LayerSpec, t: ConvTensors | null, payloadLength: number): string | undefined {
  if (l.type !== 'convolutional') return t ? `tensors on a ${l.type} layer` : undefined;
  const kind = l.xnor ? 'binary' : 'float';
  if (!t || t.kind !== kind) return `a ${l.xnor ? 'XNOR' : 'float'} convolution needs ${kind} tensors, the header gives ${t ? t.kind : 'none'}`;
  const need = (ref: TensorRef, name: string, count: number, dtypes: TensorRef['dtype'][]) => tensorProblem(ref, name, count, dtypes, payloadLength);
  const weights = convWeightCount(l as ConvSpec);
  const own =
    t.kind === 'binary'
      ? need(t.bits, 'weight bits', weights, ['bits']) ?? need(t.scale, 'scales', l.filters, ['f32'])
      : need(t.weights, 'weights', weights, ['f32', 'f16']);
  return own ?? need(t.bias, 'biases', l.filters, ['f32']);
}

const BYTES: Record<TensorRef['dtype'], (count: number) => number> = { f32: (n) => n * 4, f16: (n) => n * 2, bits: (n) => Math.ceil(n / 8) };

function tensorProblem(t: TensorRef, name: string, count: number, dtypes: TensorRef['dtype'][], payloadLength: number): string | undefined {
  if (!t || typeof t !== 'object') return `no ${name}`;
  if (t.count !== count) return `${t.count} ${name}, its shape needs ${count}`;
  if (!dtypes.includes(t.dtype)) return `${name} stored as ${String(t.dtype)}, not ${dtypes.join(' or ')}`;
  if (t.bytes !== BYTES[t.dtype](count)) return `${count} ${name} as ${t.dtype} take ${BYTES[t.dtype](count)} bytes, the header gives ${t.bytes}`;
  if (!Number.isSafeInteger(t.offset) || t.offset < 0 || t.offset % 8 !== 0) return `${name} at offset ${t.offset}, not an 8-byte boundary in the payload`;
  if (t.offset + t.bytes > payloadLength) return `${name} (bytes ${t.offset}-${t.offset + t.bytes}) lie outside the ${payloadLength}-byte payload`;
  return undefined;
}

function tensorRefs(t: ConvTensors | null): TensorRef[] {
  if (!t) return [];
  return t.kind === 'binary' ? [t.bits, t.scale, t.bias] : [t.weights, t.bias];
}
