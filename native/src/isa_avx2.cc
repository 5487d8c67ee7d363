// AVX2 kernels: 8 lanes. Binary convolutions count bits by nibble lookup (vpshufb), as darknet does, on nibbles split
// ahead, in bytes widened to 16-bit halves every 31 taps and to 32 bits once per tile (XK_NIBBLE, XK_COUNT_HALVES).
#include <immintrin.h>
#define XK_NS xk_avx2
#define XK_NAME "avx2"
#define XK_V 8
// 16 ymm registers: float tiles of 6 filters x 2 vectors (pixels in lanes) or 6 pixels x 2 vectors of filters (filters
// in lanes) keep 12 accumulators, 2 weight or input vectors and 1 broadcast in registers (fewer loads per multiply-add
// than 4 x 2 tiles): float convolutions 10-20 % faster on a Zen 3 EPYC (docs/kernels.md). Binary tiles need registers
// for the split nibbles: 4 x 2 pixel tiles, filter tiles 3 pixels at a time (kernels_impl.h, XK_NIBBLE).
#define XK_PNF 6
#define XK_PNF_VARIANTS 6, 4, 2, 1  // 8 filters as 6 + 2, not 6 + 1 + 1 (one pass over the input more)
#define XK_FNP 6
#define XK_FNFV 2
#define XK_COUNT_HALVES 1  // binary counts arrive as 16-bit halves (widen_bytes below)
#define XK_NIBBLE 1        // binary tiles count nibbles (nib_split, nib_count, widen_bytes below; no popcnt_lanes)
// Fast precision (opt-in): float convolutions with FMA (no int8 kernels in this unit). The addon only runs this
// unit on CPUs with FMA, which every AVX2 CPU has.
#define XK_FMA 1
#include "kernels_impl.h"

namespace xk_avx2 {
static inline vf fma_lanes(vf a, vf b, vf c) { return (vf)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
static inline void nib_split(vu x, vu& lo, vu& hi) {
  const __m256i nib = _mm256_set1_epi8(0x0f);
  lo = (vu)_mm256_and_si256((__m256i)x, nib);
  hi = (vu)_mm256_and_si256(_mm256_srli_epi16((__m256i)x, 4), nib);
}
static inline vu nib_count(vu nibbles) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  return (vu)_mm256_shuffle_epi8(lut, (__m256i)nibbles);
}
static inline vu widen_bytes(vu counts) { return (vu)_mm256_maddubs_epi16((__m256i)counts, _mm256_set1_epi8(1)); }
}  // namespace xk_avx2

extern "C" const XkTable* xk_table_avx2() { return &xk_avx2::table; }
