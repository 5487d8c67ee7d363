import { parsePrecision, type Precision } from '../engine/kernels/precision.js';

/** The kernel flags every detecting command takes (detect, eval, batch, run). */
export const kernelOptions = {
  backend: { type: 'string', value: 'NAME', description: 'Kernel backend: auto, reference, wasm, native, ... (default: XNORCAM_BACKEND or auto)' },
  precision: {
    type: 'string',
    value: 'exact|fast',
    description: 'Float-layer numerics: exact (darknet bit-exact, default) or fast (int8/FMA on AVX-512 VNNI CPUs, detections within tolerance; see docs/kernels.md)',
  },
} as const;

/** --precision, validated (one-line error, exit 2); undefined when not given. */
export function precisionFlag(value: string | undefined): Precision | undefined {
  return value === undefined ? undefined : parsePrecision(value, '--precision');
}
