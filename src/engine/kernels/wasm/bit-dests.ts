import type { BitLinkPath, PoolSpec } from '../backend.js';
import type { WasmHeap } from './heap.js';
import type { BitTarget, Exports } from './ops.js';

/**
 * Where a bit-linked producer's sign bits go (KernelBackend.linkBinaryInputVia on the wasm
 * backend). The producer's kernels write its conv output's bits once, as a tight
 * [outH][outW][ceil(outC / 8)] image (PoolableConv.bitImg); each destination then carries them
 * through its steps (the producer's fused maxpool, then the path's maxpools and upsamples; a plain
 * copy when there are none) into the zero-bordered bit image of one consumer, at the byte of its
 * pixels where the producer's channels start (a [route] slice). Intermediate results live in
 * tight images of their own, allocated at link time. Kernels: assembly/bit-steps.ts.
 */

/** One step, with the map size it reads (h x w) and writes (outH x outW). */
interface PlannedStep {
  kind: 'maxpool' | 'upsample';
  size: number;
  stride: number;
  /** maxpool: darknet's window offset, trunc(-padding / 2). */
  offset: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
}

/** A destination as planned (nothing allocated yet): see planBitDest. */
export interface BitDestPlan {
  steps: PlannedStep[];
  target: BitTarget;
  /** The producer's bytes per pixel, and the first of them in the consumer's pixels. */
  n: number;
  byteOffset: number;
}

/** A linked destination: its plan, and a tight intermediate image per step but the last. */
export interface BitDest extends BitDestPlan {
  tmp: number[];
}

/** The producer side of a link: channels, the conv output size its kernels write bits at, its fused maxpool. */
export interface BitSource {
  c: number;
  h: number;
  w: number;
  pool: PoolSpec | undefined;
}

/** The largest intermediate image a path may need (an upsample then a pool could ask for more). */
const MAX_TMP_BYTES = 1 << 28;

const isInt = (v: number, min: number): boolean => Number.isInteger(v) && v >= min;

/**
 * The steps that carry `src`'s bits along `path` into consumer input `t` at channel
 * `path.channelOffset`, or why they cannot: a step that is not a valid maxpool / upsample, a path
 * that does not end at the consumer's input size, or a channel slice that does not start on a
 * byte, does not fit, or ends inside a byte before the consumer's last channel.
 */
export function planBitDest(src: BitSource, path: BitLinkPath, t: BitTarget): BitDestPlan | string {
  const steps: PlannedStep[] = [];
  let h = src.h;
  let w = src.w;
  const n = Math.ceil(src.c / 8);
  const pools = src.pool ? [{ kind: 'maxpool' as const, ...src.pool, outH: 0, outW: 0, fused: true }] : [];
  for (const s of [...pools, ...path.steps]) {
    if (s.kind === 'maxpool') {
      if (!isInt(s.size, 1) || !isInt(s.stride, 1) || !isInt(s.padding, 0)) return `bad maxpool step ${JSON.stringify(s)}`;
      // the fused pool's output size is darknet's; a path step brings its layer's
      const outH = 'fused' in s ? Math.floor((h + s.padding - s.size) / s.stride) + 1 : s.outH;
      const outW = 'fused' in s ? Math.floor((w + s.padding - s.size) / s.stride) + 1 : s.outW;
      if (!isInt(outH, 1) || !isInt(outW, 1)) return `bad maxpool output ${outH}x${outW}`;
      steps.push({ kind: 'maxpool', size: s.size, stride: s.stride, offset: Math.trunc(-s.padding / 2), h, w, outH, outW });
      h = outH;
      w = outW;
    } else if (s.kind === 'upsample') {
      if (!isInt(s.stride, 1)) return `bad upsample stride ${s.stride}`;
      steps.push({ kind: 'upsample', size: 1, stride: s.stride, offset: 0, h, w, outH: h * s.stride, outW: w * s.stride });
      h *= s.stride;
      w *= s.stride;
    } else {
      return `unknown step ${JSON.stringify(s)}`;
    }
    if (h * w * n > MAX_TMP_BYTES) return `an intermediate ${h}x${w} map is too large`;
  }
  if (h !== t.h || w !== t.w) return `the path ends at ${h}x${w}, the consumer reads ${t.h}x${t.w}`;
  const off = path.channelOffset;
  if (!isInt(off, 0) || off % 8 !== 0) return `channel offset ${off} is not a whole byte`;
  if (off + src.c > t.c) return `channels ${off}..${off + src.c - 1} exceed the consumer's ${t.c}`;
  if (src.c % 8 !== 0 && off + src.c !== t.c) return `a slice of ${src.c} channels ends inside a byte`;
  // no steps: a copy into the slice
  if (steps.length === 0) steps.push({ kind: 'maxpool', size: 1, stride: 1, offset: 0, h, w, outH: h, outW: w });
  return { steps, target: t, n, byteOffset: off / 8 };
}

/** Allocates a plan's intermediate images. */
export function allocBitDest(heap: WasmHeap, plan: BitDestPlan): BitDest {
  const tmp = plan.steps.slice(0, -1).map((s) => heap.alloc(s.outH * s.outW * plan.n));
  return { ...plan, tmp };
}

/** Carries the bit image at `img` (tight, the conv output's size) into every destination. */
export function carryBits(k: Exports, img: number, dests: readonly BitDest[]): void {
  for (const d of dests) {
    const { n, steps, target: t } = d;
    let src = img;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      const last = i === steps.length - 1;
      const dst = last ? t.padded + (t.pad * t.Wp + t.pad) * t.Cb + d.byteOffset : d.tmp[i];
      const dPix = last ? t.Cb : n;
      const dRow = last ? t.Wp * t.Cb : s.outW * n;
      if (s.kind === 'maxpool') k.bitMaxpool(src, n, n, s.w * n, s.h, s.w, s.size, s.stride, s.offset, s.outH, s.outW, dst, dPix, dRow);
      else k.bitUpsample(src, n, n, s.w * n, s.h, s.w, s.stride, dst, dPix, dRow);
      src = dst;
    }
  }
}
