// Intra-frame threading: runs one prepared op with its output items split over `threads` threads
// (the caller's thread plus persistent workers). Workers spin briefly between layers, then sleep.
#pragma once
#include "kernels.h"

void xk_run(const XkTable* t, void* op, const float* in, float* out, int threads);
