// AVX-512 kernels: 16 float / 32-bit lanes, popcount with VPOPCNTD (AVX512_VPOPCNTDQ).
#include <immintrin.h>
#define XK_NS xk_avx512
#define XK_NAME "avx512"
#define XK_V 16
#define XK_PNF 16  // pixels-in-lanes tile: 16 filters x 1 vector or 8 x 2 = 16 accumulators
#define XK_FNP 6   // filters-in-lanes tile: 6 pixels x 2 vectors (32 filters) = 12 accumulators
#define XK_FNFV 2
#include "kernels_impl.h"

namespace xk_avx512 {
static inline vu popcnt_lanes(vu x) { return (vu)_mm512_popcnt_epi32((__m512i)x); }
}  // namespace xk_avx512

extern "C" const XkTable* xk_table_avx512() { return &xk_avx512::table; }
