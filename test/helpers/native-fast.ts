import { loadAddon, supportedIsas, type FastKind, type NativeIsa } from '../../src/engine/kernels/native/index.js';

/**
 * Why the native backend's opt-in 'fast' precision (int8 float convolutions with AVX-512 VNNI, FMA ones with AVX2)
 * cannot run on this machine, in a few words for a skipped test's name; '' where it can. Without `kind`: on the ISA
 * the backend picks by default; with it, on any ISA this CPU runs (nativeFastIsa gives which). One place, so every
 * fast-precision test skips (or runs) for the same reason.
 */
export function nativeFastUnavailable(kind?: FastKind): string {
  try {
    loadAddon();
  } catch (e) {
    return `native addon not loadable: ${(e as Error).message.split('\n')[0]}`;
  }
  if (kind !== undefined) {
    if (nativeFastIsa(kind)) return '';
    return `no native ISA on this CPU has ${kind} fast precision (${kind === 'int8' ? 'needs AVX-512 VNNI' : 'needs AVX2 with FMA and no int8 path'})`;
  }
  const isa = supportedIsas()[0];
  if (isa === undefined || loadAddon().fastKind(isa) === '') return `native ISA ${isa ?? 'none'} has no fast precision (needs AVX2 with FMA, or AVX-512 VNNI)`;
  return '';
}

/** The first (fastest) ISA this CPU runs whose fast precision is `kind`. */
export function nativeFastIsa(kind: FastKind): NativeIsa | undefined {
  return supportedIsas().find((isa) => loadAddon().fastKind(isa) === kind);
}
