// Baseline x86-64 kernels for CPUs with SSE4.2 and POPCNT but no AVX2: 4 lanes (SSE). The lane
// popcount is the SSSE3 nibble lookup (pshufb): per-lane scalar POPCNT needs a lane extract and
// insert around every count and measured ~2.5x slower in these kernels.
#include <immintrin.h>
#define XK_NS xk_popcnt
#define XK_NAME "popcnt"
#define XK_V 4
#define XK_PNF 4
#define XK_FNP 4
#define XK_FNFV 2
#define XK_COUNT_HALVES 1  // popcnt_lanes below leaves 16-bit halves
#include "kernels_impl.h"

namespace xk_popcnt {
static inline vu popcnt_lanes(vu x) {
  const __m128i v = (__m128i)x;
  const __m128i lut = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m128i nib = _mm_set1_epi8(0x0f);
  const __m128i c8 = _mm_add_epi8(_mm_shuffle_epi8(lut, _mm_and_si128(v, nib)),
                                  _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(v, 4), nib)));
  return (vu)_mm_maddubs_epi16(c8, _mm_set1_epi8(1));
}
}  // namespace xk_popcnt

extern "C" const XkTable* xk_table_popcnt() { return &xk_popcnt::table; }
