// AVX-512 kernels: 16 float / 32-bit lanes, popcount with VPOPCNTD (AVX512_VPOPCNTDQ).
#include <immintrin.h>
#define XK_NS xk_avx512
#define XK_NAME "avx512"
#define XK_V 16
#define XK_PNF 16  // pixels-in-lanes tile: 16 filters x 1 vector or 8 x 2 = 16 accumulators
#define XK_FNP 8   // filters-in-lanes tile: 8 pixels x 2 vectors (32 filters) = 16 accumulators; stored by a 16x16 transpose
#define XK_FNFV 2
// Fast precision (opt-in): float convolutions with FMA, or in int8 with AVX512_VNNI's VPDPBUSD.
// The addon only prepares them after checking the CPU has VNNI; nothing else in this unit uses it.
#define XK_INT8 1
#define XK_FMA 1
// AMX int8 tiles where the CPU and the OS allow them (checked at prepare; see amx_available()).
// Their intrinsics need GCC 11+ (clang reports __GNUC__ 4: off there); older compilers still build.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define XK_AMX 1
#endif
#include "kernels_impl.h"

namespace xk_avx512 {
static inline vu popcnt_lanes(vu x) { return (vu)_mm512_popcnt_epi32((__m512i)x); }
static inline vf fma_lanes(vf a, vf b, vf c) { return (vf)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
static inline vi dot4_lanes(vi acc, vu u8, vu s8) { return (vi)_mm512_dpbusd_epi32((__m512i)acc, (__m512i)u8, (__m512i)s8); }
}  // namespace xk_avx512

extern "C" const XkTable* xk_table_avx512() { return &xk_avx512::table; }
