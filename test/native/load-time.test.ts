import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { addonPath } from '../../src/engine/kernels/native/index.js';

// Each ISA's kernels are compiled with that ISA's -m flags and are safe to enter only after CPUID has picked them.
// A C++ static initialiser in one of those units runs when the addon loads, on every CPU, before any CPUID check:
// on a CPU without the ISA the process dies with SIGILL. It happened: a lambda-initialised AMX tile configuration in
// the AVX-512 unit, vectorised with zmm registers, killed every native call on an AVX2-only EPYC.
// Read from the file, not by loading it: with such an initialiser, loading it here would kill the test run.
const hasNm = spawnSync('nm', ['--version']).status === 0;
const built = existsSync(addonPath);
const x64 = process.arch === 'x64';

describe.skipIf(!built || !hasNm || !x64)(`native addon load time${built ? '' : ' (skipped: the addon is not built)'}${hasNm ? '' : ' (skipped: no nm)'}${x64 ? '' : ' (skipped: x64 only)'}`, () => {
  it('runs no code from an ISA-specific unit when it loads', () => {
    const r = spawnSync('nm', [addonPath], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // The symbols are there to read (a stripped addon would show no initialisers either way).
    expect(r.stdout).toMatch(/\bxk_table_avx512\b/);
    // GCC and Clang name a unit's static initialiser _GLOBAL__sub_I_<file>; addon.cc and pool.cc run on every CPU.
    const initialisers = r.stdout.split('\n').filter((l) => /_GLOBAL__sub_I_/.test(l) && !/_GLOBAL__sub_I_(addon|pool)\.cc/.test(l));
    expect(initialisers).toEqual([]);
  });
});
