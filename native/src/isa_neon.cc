// ARM NEON kernels (compiled only on arm64): 4 lanes, popcount with vcnt + pairwise widening adds.
#include <arm_neon.h>
#define XK_NS xk_neon
#define XK_NAME "neon"
#define XK_V 4
#define XK_PNF 8
#define XK_FNP 6
#define XK_FNFV 2
#include "kernels_impl.h"

namespace xk_neon {
static inline vu popcnt_lanes(vu x) { return (vu)vpaddlq_u16(vpaddlq_u8(vcntq_u8((uint8x16_t)x))); }
}  // namespace xk_neon

extern "C" const XkTable* xk_table_neon() { return &xk_neon::table; }
