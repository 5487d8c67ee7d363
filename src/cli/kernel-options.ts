import { parsePrecision, type Precision } from '../engine/kernels/precision.js';
import { numberOption } from './command.js';
import { KERNEL_BACKENDS } from '../engine/kernels/names.js';
import { UserError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';

/** The kernel flags every detecting command takes (detect, eval, batch, run). */
export const kernelOptions = {
  backend: { type: 'string', value: 'NAME', description: 'Kernel backend: auto, reference, wasm, native, ... (default: XNORCAM_BACKEND or auto)' },
  precision: {
    type: 'string',
    value: 'exact|fast',
    description: 'Float-layer numerics: exact (darknet bit-exact, default) or fast (int8/FMA on AVX-512 VNNI CPUs, FMA on AVX2 ones, detections within tolerance; see docs/kernels.md)',
  },
} as const;

/** The pipeline commands' (run, batch) choice between frames in parallel and threads within a frame. */
export const threadsPerFrameOption = {
  'threads-per-frame': {
    type: 'string',
    value: 'N',
    description: 'Threads splitting each frame, for lower latency with few cameras (default 1; --workers then defaults to cores / N)',
  },
} as const;

/** The pipeline commands' (run, batch) classes to work with. */
export const classesOption = {
  classes: {
    type: 'string',
    value: 'traffic|all|LIST',
    description:
      "Classes to detect, track and count: traffic (default: car, truck, bus, motorcycle, bicycle, person, those the model has), all, or names (car,bus)",
  },
} as const;

/** --threads-per-frame, validated (one-line error, exit 2); undefined when not given. */
export function threadsPerFrameFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : numberOption('threads-per-frame', value, 1, { integer: true, min: 1, max: 64 });
}

/** --backend, validated before anything loads (one-line error naming the flag, exit 2); undefined when not given. */
export function backendFlag(value: string | undefined, flag = '--backend'): string | undefined {
  if (value === undefined) return undefined;
  const known = ['auto', ...KERNEL_BACKENDS];
  if (!known.includes(value)) throw new UserError(`${flag}: '${value}' is not a kernel backend (${known.join(', ')})${didYouMean(value, known)}`, 2);
  return value;
}

/** --precision, validated (one-line error, exit 2); undefined when not given. */
export function precisionFlag(value: string | undefined): Precision | undefined {
  return value === undefined ? undefined : parsePrecision(value, '--precision');
}
