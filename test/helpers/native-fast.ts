import { loadAddon, supportedIsas, type FastKind } from '../../src/engine/kernels/native/index.js';

/**
 * Why the native backend's opt-in 'fast' precision (int8 float convolutions with AVX-512 VNNI, FMA ones with AVX2)
 * cannot run on this machine, in a few words for a skipped test's name; '' where it can. `kind` asks for that kind
 * (the int8 tests need VNNI). One place, so every fast-precision test skips (or runs) for the same reason.
 */
export function nativeFastUnavailable(kind?: FastKind): string {
  try {
    loadAddon();
  } catch (e) {
    return `native addon not loadable: ${(e as Error).message.split('\n')[0]}`;
  }
  const isa = supportedIsas()[0];
  const have = isa === undefined ? '' : loadAddon().fastKind(isa);
  if (have === '') return `native ISA ${isa ?? 'none'} has no fast precision (needs AVX2 with FMA, or AVX-512 VNNI)`;
  if (kind !== undefined && have !== kind) return `native ISA ${isa}'s fast precision is ${have}, not ${kind}${kind === 'int8' ? ' (needs AVX-512 VNNI)' : ''}`;
  return '';
}
