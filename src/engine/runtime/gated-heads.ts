import type { ConvOp, FloatConvParams, KernelBackend } from '../kernels/backend.js';
import type { YoloSpec } from '../model.js';

/** The smallest pixel count a class-score op is prepared for; each larger one is 4x the last, up to the whole map. */
const FIRST_BUCKET = 16;

/**
 * A head whose last frame had more than this share of its cells passing runs whole on the next:
 * gathering most of the map costs more than the class scores it saves (WebAssembly fast, yolov3-tiny
 * @416: 57 % of the cells gated 19.5 ms a frame against 18.6 whole; 7 % 17.5).
 */
const DENSE_SHARE = 0.25;

interface ClassOp {
  /** Cells (pixels) the op computes in one run. */
  n: number;
  op: ConvOp;
  input: Float32Array;
  out: Float32Array;
}

/**
 * A [yolo] head's 1x1 conv in two parts, so that class scores cost only where a detection can come
 * from. A detector reads a cell's class scores only where one of its anchors' objectness passes the
 * threshold (darknet's get_yolo_detections; collectCandidates), and on a traffic camera that is a
 * few percent of the cells at most, while the class channels are most of the head (240 of
 * yolov3-tiny's 255 filters, ~1.8 ms of a WebAssembly frame). So the box and objectness filters run
 * over the whole map, and the class filters only over the cells that pass: their input columns are
 * gathered into a narrow map, one conv op per size bucket (16, 64, 256, ... cells, then the whole
 * map) runs on it, and its outputs are scattered back to the cells' places in the head's tensor.
 *
 * Every output is the backend's own conv of the same weights over the same input values, so on
 * 'exact' precision each class score is the same float as the whole conv gives (a 1x1 conv's output
 * at a pixel does not depend on the others); 'fast' precision quantises the gathered cells with
 * their own scale (docs/kernels.md). Class scores of the cells that do not pass are left as they
 * were: the head's tensor is only valid where objectness passes (Network.classGate). Where most
 * cells pass (a low threshold, as in mAP evaluation), the whole conv runs instead (DENSE_SHARE).
 */
export class GatedHead {
  private readonly anchors: number;
  private readonly classes: number;
  private readonly per: number;
  private readonly hw: number;
  private readonly inC: number;
  private readonly boxOp: ConvOp;
  private readonly boxOut: Float32Array;
  private readonly classOps: ClassOp[] = [];
  private readonly cells: Int32Array;
  /** Cells where some anchor's objectness passed the gate on the last gated run. */
  private passed = 0;
  private ranWhole = true;
  /** Cells whose class scores the last run computed (all of them when it ran whole). */
  computedCells = 0;
  /** The head conv itself, for frames without a gate or with most cells passing. */
  readonly wholeConv: ConvOp;

  constructor(backend: KernelBackend, p: FloatConvParams, yolo: YoloSpec) {
    this.anchors = yolo.mask.length;
    this.classes = yolo.classes;
    this.per = yolo.classes + 5;
    this.hw = p.outH * p.outW;
    this.inC = p.inC;
    if (!gateable(p, yolo)) throw new Error(`gated head: a ${p.size}x${p.size} conv of ${p.outC} filters is not a [yolo] head's 1x1 conv`);
    this.wholeConv = backend.prepareFloatConv(p);
    const boxFilters: number[] = [];
    const classFilters: number[] = [];
    for (let a = 0; a < this.anchors; a++)
      for (let k = 0; k < this.per; k++) (k < 5 ? boxFilters : classFilters).push(a * this.per + k);
    this.boxOp = backend.prepareFloatConv(filtersOf(p, boxFilters, p.outH, p.outW));
    this.boxOut = backend.allocFloat32(boxFilters.length * this.hw);
    for (let n = FIRST_BUCKET; ; n *= 4) {
      const cells = Math.min(n, this.hw);
      this.classOps.push({
        n: cells,
        op: backend.prepareFloatConv(filtersOf(p, classFilters, 1, cells)),
        input: backend.allocFloat32(this.inC * cells),
        out: backend.allocFloat32(classFilters.length * cells),
      });
      if (cells === this.hw) break;
    }
    this.cells = new Int32Array(this.hw);
  }

  /**
   * The head conv into `out`: whole without a gate or where the last frame had most cells passing,
   * else its box and objectness channels only (runClasses adds the class scores).
   */
  runConv(input: Float32Array, out: Float32Array, gate: number | undefined): void {
    this.ranWhole = gate === undefined || this.passed > DENSE_SHARE * this.hw;
    if (this.ranWhole) {
      this.wholeConv.run(input, out);
      this.computedCells = this.hw;
      return;
    }
    this.boxOp.run(input, this.boxOut);
    const hw = this.hw;
    for (let a = 0; a < this.anchors; a++)
      for (let k = 0; k < 5; k++) {
        const from = (a * 5 + k) * hw;
        out.set(this.boxOut.subarray(from, from + hw), (a * this.per + k) * hw);
      }
  }

  /**
   * After the [yolo] activation of `out`: the raw class scores of every cell where some anchor's
   * objectness is above `gate` (the comparison collectCandidates makes), from the conv's `input`.
   */
  runClasses(input: Float32Array, out: Float32Array, gate: number | undefined): void {
    if (gate === undefined) return;
    const { hw, per, anchors, cells } = this;
    let n = 0;
    for (let p = 0; p < hw; p++) {
      for (let a = 0; a < anchors; a++)
        if (out[(a * per + 4) * hw + p] > gate) {
          cells[n++] = p;
          break;
        }
    }
    this.passed = n;
    if (this.ranWhole) return;
    this.computedCells = n;
    if (n === 0) return;
    // the smallest op that takes n cells (the last one takes the whole map); no closure per frame
    let c = this.classOps[0];
    for (let i = 1; c.n < n; i++) c = this.classOps[i];
    const cols = c.n;
    // unused columns repeat the first cell: no value outside the gathered ones enters a quantisation range
    for (let k = 0; k < this.inC; k++) {
      const row = k * hw;
      const dst = k * cols;
      for (let j = 0; j < n; j++) c.input[dst + j] = input[row + cells[j]];
      const first = input[row + cells[0]];
      for (let j = n; j < cols; j++) c.input[dst + j] = first;
    }
    c.op.run(c.input, c.out);
    for (let a = 0; a < anchors; a++)
      for (let k = 0; k < this.classes; k++) {
        const src = (a * this.classes + k) * cols;
        const dst = (a * per + 5 + k) * hw;
        for (let j = 0; j < n; j++) out[dst + cells[j]] = c.out[src + j];
      }
  }
}

/** Whether a conv's parameters are a plain 1x1 head (no padding, groups or extra activation) of a [yolo] with classes. */
export function gateable(p: FloatConvParams, yolo: YoloSpec): boolean {
  return (
    p.size === 1 && p.stride === 1 && p.pad === 0 && p.groups === 1 && p.outH === p.inH && p.outW === p.inW &&
    yolo.classes > 0 && p.outC === yolo.mask.length * (yolo.classes + 5)
  );
}

/** The parameters of a conv of the given filters only, over an outH x outW map (1x1: same input size). */
function filtersOf(p: FloatConvParams, filters: readonly number[], h: number, w: number): FloatConvParams {
  const k = p.inC;
  const weights = new Float32Array(filters.length * k);
  const bias = new Float32Array(filters.length);
  filters.forEach((f, i) => {
    weights.set(p.weights.subarray(f * k, (f + 1) * k), i * k);
    bias[i] = p.bias[f];
  });
  return { ...p, inH: h, inW: w, outH: h, outW: w, outC: filters.length, weights, bias };
}
