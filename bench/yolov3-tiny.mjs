// The yolov3-tiny layer list (darknet's public architecture: 13 convs, 6 maxpools, 2 yolo heads),
// generated here so the benchmark needs no fixture. `xnor: true` marks the same layers as darknet's
// yolov3-tiny_xnor.cfg: every conv binary except the first, the 3x3 before the first head and the
// two 1x1 heads; bin_output where the next consumer is another XNOR layer.

/** One entry per darknet layer, in order. */
export function yolov3TinyLayers({ xnor }) {
  const conv = (filters, size, extra = {}) => ({ type: 'convolutional', filters, size, stride: 1, pad: 1, activation: 'leaky', bn: true, ...extra });
  const x = (binOutput) => (xnor ? { xnor: true, binOutput } : {});
  const pool = (stride) => ({ type: 'maxpool', size: 2, stride });
  const head = { activation: 'linear', bn: false, filters: 255, size: 1 };
  const yolo = (mask) => ({ type: 'yolo', mask });
  return [
    conv(16, 3), pool(2), //  0, 1
    conv(32, 3, x(true)), pool(2), //  2, 3
    conv(64, 3, x(true)), pool(2), //  4, 5
    conv(128, 3, x(true)), pool(2), //  6, 7
    conv(256, 3, x(false)), pool(2), //  8, 9
    conv(512, 3, x(true)), pool(1), // 10, 11
    conv(1024, 3, x(true)), // 12
    conv(256, 1, x(false)), // 13
    conv(512, 3), // 14
    conv(255, 1, head), // 15
    yolo([3, 4, 5]), // 16
    { type: 'route', layers: [-4] }, // 17
    conv(128, 1, x(false)), // 18
    { type: 'upsample', stride: 2 }, // 19
    { type: 'route', layers: [-1, 8] }, // 20
    conv(256, 3, x(false)), // 21
    conv(255, 1, head), // 22
    yolo([0, 1, 2]), // 23
  ];
}

/** darknet .cfg text for the layer list at a square input size. */
export function yolov3TinyCfg({ size, xnor }) {
  const out = ['[net]', 'batch=1', 'subdivisions=1', `width=${size}`, `height=${size}`, 'channels=3', ''];
  for (const l of yolov3TinyLayers({ xnor })) {
    out.push(`[${l.type}]`);
    if (l.type === 'convolutional') {
      if (l.xnor) out.push('xnor=1');
      if (l.binOutput) out.push('bin_output=1');
      if (l.bn) out.push('batch_normalize=1');
      out.push(`filters=${l.filters}`, `size=${l.size}`, `stride=${l.stride}`, `pad=${l.pad}`, `activation=${l.activation}`);
    } else if (l.type === 'maxpool') {
      out.push(`size=${l.size}`, `stride=${l.stride}`);
    } else if (l.type === 'route') {
      out.push(`layers=${l.layers.join(',')}`);
    } else if (l.type === 'upsample') {
      out.push(`stride=${l.stride}`);
    } else if (l.type === 'yolo') {
      out.push(`mask=${l.mask.join(',')}`, 'anchors=10,14, 23,27, 37,58, 81,82, 135,169, 344,319', 'classes=80', 'num=6');
    }
    out.push('');
  }
  return out.join('\n');
}
