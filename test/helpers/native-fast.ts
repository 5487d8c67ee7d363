import { loadAddon, supportedIsas } from '../../src/engine/kernels/native/index.js';

/**
 * Why the native backend's opt-in 'fast' precision (int8 float convolutions, AVX-512 VNNI) cannot
 * run on this machine, in a few words for a skipped test's name; '' where it can. One place, so
 * every fast-precision test skips (or runs) for the same reason.
 */
export function nativeFastUnavailable(): string {
  try {
    loadAddon();
  } catch (e) {
    return `native addon not loadable: ${(e as Error).message.split('\n')[0]}`;
  }
  const isa = supportedIsas()[0];
  if (isa === undefined || !loadAddon().fastIsa(isa)) return `native ISA ${isa ?? 'none'} has no fast precision (needs AVX-512 VNNI)`;
  return '';
}
