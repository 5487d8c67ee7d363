import { UserError } from '../../core/errors.js';

/**
 * Numerics of the float convolutions. 'exact' (the default) is darknet's float32 arithmetic, bit for
 * bit. 'fast' lets a backend run them in int8 (u8 input with a per-frame scale and zero point, s8
 * weights with a per-filter scale, exact int32 sums): several times faster on CPUs with AVX-512 VNNI,
 * within a measured tolerance of darknet's detections (docs/kernels.md), never bit-identical. On AVX2
 * CPUs (no int8 kernels) the native backend's 'fast' is FMA for every float convolution: one rounding
 * per tap instead of two (float layers up to a fifth faster than exact on a Zen 3 EPYC).
 * The WebAssembly backend's 'fast' uses int16 instead (per-tensor input scale, per-filter weight
 * scale, i32x4.dot_i16x8_s; docs/wasm.md), for the same layers the runner allows (`fastOk`).
 * Binary (XNOR) convolutions and every other layer stay exact in both modes.
 */
export type Precision = 'exact' | 'fast';

export const PRECISIONS: readonly Precision[] = ['exact', 'fast'];

/** Parses a precision name (flag, option or XNORCAM_PRECISION); `what` names the input in the error. */
export function parsePrecision(value: string, what = 'precision'): Precision {
  if ((PRECISIONS as readonly string[]).includes(value)) return value as Precision;
  throw new UserError(`${what}: expected one of ${PRECISIONS.join(', ')}, got '${value}'`, 2);
}

/** The precision asked for: the explicit one, else XNORCAM_PRECISION, else 'exact'. */
export function requestedPrecision(explicit?: Precision): Precision {
  if (explicit !== undefined) return parsePrecision(explicit);
  const env = process.env.XNORCAM_PRECISION;
  return env ? parsePrecision(env, 'XNORCAM_PRECISION') : 'exact';
}
