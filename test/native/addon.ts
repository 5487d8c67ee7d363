// Whether the native addon loads here (the native tests skip, saying why, when it does not), and
// the backend configurations the cross-checks run: every ISA this CPU has, kernel shape and thread count.
import { loadAddon, supportedIsas, type NativeIsa, type NativeOptions } from '../../src/engine/kernels/native/index.js';

/** '' when the addon loads, else its error message. */
export const unavailable = (() => {
  try {
    loadAddon();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
})();

/** " (skipped: why)" for a describe title when the addon is missing, else ''. */
export const skipNote = unavailable ? ` (skipped: ${unavailable})` : '';

/** The ISAs this CPU runs, best first (none without the addon). */
export const isas = supportedIsas();

/** Every kernel shape the native backend offers. */
export const kernelShapes: NonNullable<NativeOptions['shape']>[] = ['auto', 'pixels', 'filters'];

/** Every (ISA, kernel shape, thread count) for the given thread counts. */
export function backendConfigs(threads: number[] = [1, 2]): { isa: NativeIsa; shape: NonNullable<NativeOptions['shape']>; threads: number }[] {
  return isas.flatMap((isa) => kernelShapes.flatMap((shape) => threads.map((t) => ({ isa, shape, threads: t }))));
}
