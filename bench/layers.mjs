// Times each convolution of yolov3-tiny_xnor alone on one kernel backend (a tool for kernel work):
//   node bench/layers.mjs [--backend wasm] [--size 416] [--reps 20] [--only 0,14]
// Prints one JSON document: per conv layer, median and minimum ms and the rate at the minimum
// (G MAC/s; the minimum is the steadier figure on a machine shared with other work).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { yolov3TinyLayers } from './yolov3-tiny.mjs';
import { helpIfAsked } from './help.mjs';

helpIfAsked(import.meta.url);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const backendName = opt('backend', 'wasm');
const size = Number(opt('size', '416'));
const reps = Number(opt('reps', '20'));
const only = opt('only', null)?.split(',').map(Number);

const { createBackend } = await import(pathToFileURL(path.join(root, 'dist/engine/kernels/select.js')).href);
const backend = await createBackend(backendName);

// shapes by walking the layer list
let c = 3, hw = size;
const outs = [];
const convs = [];
yolov3TinyLayers({ xnor: true }).forEach((l, i) => {
  if (l.type === 'convolutional') {
    const pad = l.pad ? l.size >> 1 : 0;
    convs.push({ index: i, binary: !!l.xnor, inC: c, inH: hw, inW: hw, outC: l.filters, outH: hw, outW: hw, size: l.size, stride: 1, pad,
      activation: l.binOutput ? 'linear' : l.activation });
    c = l.filters;
  } else if (l.type === 'maxpool') hw = l.stride === 1 ? hw : hw / 2;
  else if (l.type === 'route') {
    const srcs = l.layers.map((r) => outs[r < 0 ? i + r : r]);
    c = srcs.reduce((s, x) => s + x.c, 0);
    hw = srcs[0].hw;
  } else if (l.type === 'upsample') hw *= 2;
  outs.push({ c, hw });
});

const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const rows = [];
for (const g of convs) {
  if (only && !only.includes(g.index)) continue;
  const K = g.inC * g.size * g.size;
  const op = g.binary
    ? backend.prepareBinaryConv({ ...g, weights: rand(g.outC * K), scale: rand(g.outC), bias: rand(g.outC) })
    : backend.prepareFloatConv({ ...g, groups: 1, weights: rand(g.outC * K), bias: rand(g.outC) });
  const x = backend.allocFloat32(g.inC * g.inH * g.inW);
  x.set(rand(x.length));
  const y = backend.allocFloat32(g.outC * g.outH * g.outW);
  const times = [];
  for (let r = 0; r < reps + 5; r++) {
    const t0 = performance.now();
    op.run(x, y);
    if (r >= 5) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1];
  const min = times[0];
  const macs = g.outC * g.outH * g.outW * K;
  rows.push({ index: g.index, kind: g.binary ? 'xnor' : 'float', shape: `${g.inW}x${g.inH}x${g.inC} -> ${g.outC} k${g.size}`, ms: +ms.toFixed(3), minMs: +min.toFixed(3), gmacs: +(macs / min / 1e6).toFixed(1) });
}
const total = rows.reduce((s, r) => s + r.ms, 0);
const totalMin = rows.reduce((s, r) => s + r.minMs, 0);
console.log(JSON.stringify({ backend: backend.name, size, reps, totalMs: +total.toFixed(3), totalMinMs: +totalMin.toFixed(3), layers: rows }, null, 1));
