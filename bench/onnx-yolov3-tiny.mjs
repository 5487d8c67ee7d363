// The float yolov3-tiny as an ONNX model with random weights (batch norm folded into the conv
// weights and biases, as onnxruntime would do anyway): Conv, LeakyRelu(0.1), MaxPool (incl. the
// size-2 stride-1 one, padded at the bottom/right like darknet), Resize (nearest), Concat, and a
// Sigmoid on each head standing in for the yolo layer's logistic.
import { OnnxGraph } from './onnx-writer.mjs';
import { yolov3TinyLayers } from './yolov3-tiny.mjs';

function randomFloats(n, scale, seed) {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** Serialized ModelProto for a size x size input named "input"; outputs "head13", "head26". */
export function yolov3TinyOnnx(size) {
  const g = new OnnxGraph('yolov3-tiny');
  let cur = g.input('input', [1, 3, size, size]);
  let c = 3;
  let hw = size;
  const outs = []; // per darknet layer: { name, c, hw }
  const heads = [];
  yolov3TinyLayers({ xnor: false }).forEach((l, i) => {
    if (l.type === 'convolutional') {
      const k = l.size;
      const pad = l.pad ? Math.floor(k / 2) : 0;
      const w = g.init(`w${i}`, [l.filters, c, k, k], randomFloats(l.filters * c * k * k, Math.sqrt(6 / (c * k * k)), i + 1));
      const b = g.init(`b${i}`, [l.filters], randomFloats(l.filters, 0.2, 100 + i));
      cur = g.node('Conv', [cur, w, b], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1], group: 1 });
      if (l.activation === 'leaky') cur = g.node('LeakyRelu', [cur], { alpha: { float: 0.1 } });
      c = l.filters;
    } else if (l.type === 'maxpool') {
      const pads = l.stride === 1 ? [0, 0, 1, 1] : [0, 0, 0, 0];
      cur = g.node('MaxPool', [cur], { kernel_shape: [2, 2], strides: [l.stride, l.stride], pads });
      hw = l.stride === 1 ? hw : hw / 2;
    } else if (l.type === 'yolo') {
      const name = `head${hw}`;
      g.node('Sigmoid', [cur], {}, name);
      g.output(name, [1, c, hw, hw]);
      heads.push(name);
    } else if (l.type === 'route') {
      const srcs = l.layers.map((r) => outs[r < 0 ? i + r : r]);
      cur = srcs.length === 1 ? srcs[0].name : g.node('Concat', srcs.map((s) => s.name), { axis: 1 });
      c = srcs.reduce((sum, s) => sum + s.c, 0);
      hw = srcs[0].hw;
    } else if (l.type === 'upsample') {
      const scales = g.init(`scales${i}`, [4], Float32Array.from([1, 1, l.stride, l.stride]));
      cur = g.node('Resize', [cur, '', scales], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      hw *= l.stride;
    }
    outs.push({ name: cur, c, hw });
  });
  return { bytes: g.build(), heads };
}
