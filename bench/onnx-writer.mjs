// A minimal ONNX (protobuf) writer: just the messages and fields needed to describe a float
// yolov3-tiny for onnxruntime. Protobuf wire format: each field is a varint key (number << 3 | wire
// type) followed by a varint (type 0), 4 bytes (type 5) or a length-prefixed payload (type 2).

class Pb {
  constructor() {
    this.parts = [];
    this.length = 0;
  }
  push(bytes) {
    this.parts.push(bytes);
    this.length += bytes.length;
    return this;
  }
  varintRaw(v) {
    let n = BigInt.asUintN(64, BigInt(v));
    const b = [];
    do {
      let byte = Number(n & 0x7fn);
      n >>= 7n;
      if (n) byte |= 0x80;
      b.push(byte);
    } while (n);
    return this.push(Uint8Array.from(b));
  }
  key(field, wire) {
    return this.varintRaw((field << 3) | wire);
  }
  int(field, v) {
    return this.key(field, 0).varintRaw(v);
  }
  float(field, v) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return this.key(field, 5).push(b);
  }
  bytes(field, data) {
    return this.key(field, 2).varintRaw(data.length).push(data);
  }
  string(field, s) {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field, pb) {
    return this.bytes(field, pb.finish());
  }
  finish() {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const FLOAT = 1;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 };

function attribute(name, value) {
  const a = new Pb().string(1, name);
  if (typeof value === 'string') return a.string(4, value).int(20, ATTR.STRING);
  if (Array.isArray(value)) {
    for (const v of value) a.int(8, v);
    return a.int(20, ATTR.INTS);
  }
  if (typeof value === 'object') return a.float(2, value.float).int(20, ATTR.FLOAT);
  return a.int(3, value).int(20, ATTR.INT);
}

function valueInfo(name, dims) {
  const shape = new Pb();
  for (const d of dims) shape.message(1, new Pb().int(1, d));
  const tensorType = new Pb().int(1, FLOAT).message(2, shape);
  return new Pb().string(1, name).message(2, new Pb().message(1, tensorType));
}

function tensor(name, dims, data) {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, data instanceof BigInt64Array ? INT64 : FLOAT).string(8, name);
  return t.bytes(9, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** Collects nodes and initializers; `build()` returns the serialized ModelProto. */
export class OnnxGraph {
  constructor(name) {
    this.name = name;
    this.nodes = [];
    this.inits = [];
    this.inputs = [];
    this.outputs = [];
    this.count = 0;
  }
  input(name, dims) {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }
  output(name, dims) {
    this.outputs.push(valueInfo(name, dims));
  }
  init(name, dims, data) {
    this.inits.push(tensor(name, dims, data));
    return name;
  }
  /** Adds a node; attr values: integer, { float }, string or integer array. Returns its output name. */
  node(op, inputs, attrs = {}, out = `${op.toLowerCase()}_${this.count++}`) {
    const n = new Pb();
    for (const i of inputs) n.string(1, i);
    n.string(2, out).string(3, out).string(4, op);
    for (const [k, v] of Object.entries(attrs)) n.message(5, attribute(k, v));
    this.nodes.push(n);
    return out;
  }
  build(opset = 13) {
    const g = new Pb();
    for (const n of this.nodes) g.message(1, n);
    g.string(2, this.name);
    for (const t of this.inits) g.message(5, t);
    for (const i of this.inputs) g.message(11, i);
    for (const o of this.outputs) g.message(12, o);
    return new Pb()
      .int(1, 8) // ir_version
      .string(2, 'xnorcam-bench')
      .message(7, g)
      .message(8, new Pb().string(1, '').int(2, opset))
      .finish();
  }
}
