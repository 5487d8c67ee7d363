// The convolution kernels, written once with GCC vector extensions and compiled once per ISA:
// each isa_*.cc defines XK_NS (its namespace), XK_V (float lanes per vector), the register-tile
// sizes and popcnt_lanes(), then includes this file. Nothing here may use C++ library templates:
// an inline template instantiated in two ISA units could be merged by the linker into the AVX-512
// copy and run on a CPU without it.
//
// Numerics (see src/engine/kernels/backend.ts): float sums run over k = (c, ky, kx) in order,
// product and sum rounded separately (built with -ffp-contract=off); vectors span output pixels
// or output filters, never k. Zero padding is a real zero in the padded input copy: w*0 adds a
// signed zero, and the running sum starts at +0 and can never become -0, so adding it changes
// nothing (the reference skips the tap; this assumes finite weights, as w*0 is NaN for w = inf).
// Binary padding is a 0 bit (= -1); channels beyond inC
// are 0 bits in both weights and input, so XOR never counts them.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "kernels.h"

namespace XK_NS {

typedef float vf __attribute__((vector_size(XK_V * 4)));
typedef uint32_t vu __attribute__((vector_size(XK_V * 4)));
typedef int32_t vi __attribute__((vector_size(XK_V * 4)));
typedef float vf_u __attribute__((vector_size(XK_V * 4), aligned(4)));
typedef uint32_t vu_u __attribute__((vector_size(XK_V * 4), aligned(4)));

static inline vu popcnt_lanes(vu x);  // defined by the ISA unit

static inline vf loadf(const float* p) { return *(const vf_u*)p; }

// Stores lanes [0, count) of v (count < XK_V): a masked store where the ISA has one.
static inline void store_first(float* p, vf v, int count) {
#if defined(__AVX512F__) && XK_V == 16
  _mm512_mask_storeu_ps(p, (__mmask16)((1u << count) - 1), (__m512)v);
#elif defined(__AVX2__) && XK_V == 8
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lane), (__m256)v);
#else
  for (int i = 0; i < count; i++) p[i] = v[i];
#endif
}
static inline vu loadu(const uint32_t* p) { return *(const vu_u*)p; }
static inline void storef(float* p, vf v) { *(vf_u*)p = v; }
static inline void storeu(uint32_t* p, vu v) { *(vu_u*)p = v; }
static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }
static inline int rup(int a, int b) { return (a + b - 1) / b * b; }

static void* zalloc(size_t bytes) {
  size_t n = (bytes + 63) / 64 * 64 + 64;
  void* p = aligned_alloc(64, n);
  if (p) memset(p, 0, n);
  return p;
}

enum Shape { PIX = 1, FIL = 2 };

struct Block {  // a run of filters computed together (always inside one group)
  int g, f0, nf, variant;  // nf: valid filters; variant: tile size index
  size_t wofs;             // offset of its packed weights (elements)
};

struct Op {
  int kind;  // 0: convolution (this struct), 1: maxpool (PoolOp)
  XkGeom g;
  int binary, shape;
  int K;       // binary: size*size*inC (the formula's K)
  int kw;      // steps of the inner loop: float cpg*size*size, binary CW*size*size (pairs: fewer)
  int cpg, opg, planes;
  int Lph, RS, PS, Hp;
  int n, tailStart;
  int nv;      // PIX: vectors per tile
  int ptiles;  // FIL: pixel tiles
  void* inpad;
  int32_t* off;
  void* wpk;
  float* bias;   // [outC]
  float* scale;  // [outC] (binary)
  float* fbias;  // FIL: bias by filter, zero-padded past outC so whole vectors can be loaded
  float* fscale; // FIL: scale, the same way
  int32_t* pixbase;  // FIL: input offset of each output pixel
  Block* blocks;
  int nblocks, nitems;
  int pairs;   // binary, inC <= 16, stride 1: two horizontal taps per 32-bit word (see new_op)
  int pool;    // 0: none; 1: 2x2/2 maxpool fused into the PIX epilogue; 2: conv into `convbuf`, then pool
  int ph, pw, poolSize, poolStride, poolOffset;
  float* convbuf;
  void* poolop;  // pool == 2: the PoolOp applied in finish()
  char desc[128];
};

// ---- activation and output stores -------------------------------------------------------------

static inline vf activate(vf r, int act) {
  if (act == XK_LEAKY) return r > 0.0f ? r : r * 0.1f;
  if (act == XK_RELU) return r > 0.0f ? r : (vf){};
  return r;
}

// Stores `count` lanes of a pixel vector starting at output index idx. Elements at or past
// tailStart are stored raw; finish() applies darknet's double-precision leaky tail to them.
static inline void store_pix(const Op* op, float* out, size_t idx, int count, vf r) {
  vf a = activate(r, op->g.act);
  if (__builtin_expect(idx + count <= (size_t)op->tailStart, 1)) {
    if (count == XK_V) storef(out + idx, a);
    else store_first(out + idx, a, count);
    return;
  }
  for (int i = 0; i < count; i++) out[idx + i] = idx + i >= (size_t)op->tailStart ? r[i] : a[i];
}

// Stores lanes (filters f0.. f0+nvalid-1) of one output pixel.
static inline void store_fil(const Op* op, float* out, int f0, int nvalid, int pix, vf r) {
  vf a = activate(r, op->g.act);
  const size_t hw = (size_t)op->g.outH * op->g.outW;
  size_t idx = (size_t)f0 * hw + pix;
  for (int i = 0; i < nvalid; i++, idx += hw) out[idx] = idx >= (size_t)op->tailStart ? r[i] : a[i];
}

static inline vf binary_value(vu mism, int K, vf scale, vf bias) {
  vi t = (vi){} + K - 2 * (vi)mism;  // exact integer, exactly representable as float
  vf prod = __builtin_convertvector(t, vf) * scale;
  return prod + bias;
}

// ---- kernels: pixels in lanes ------------------------------------------------------------------

template <int NF, int NV>
static void float_pix_tile(const Op* op, const float* src, const float* w, float* out, int f0, int oy, int ox0, float* stash) {
  vf acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vf){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  for (int k = 0; k < kw; k++) {
    const float* p = src + off[k];
    vf x[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = loadf(p + v * XK_V);
    const float* wk = w + (size_t)k * NF;
    _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
      const float s = wk[f];
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = acc[f][v] + x[v] * s;
    }
  }
  const int outW = op->g.outW;
  const size_t hw = (size_t)op->g.outH * outW;
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
    const float b = op->bias[f0 + f];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      const int ox = ox0 + v * XK_V;
      const int count = imin(XK_V, outW - ox);
      if (count <= 0) continue;
      if (stash) storef(stash + (f * 2 + v) * XK_V, acc[f][v] + b);
      else store_pix(op, out, (size_t)(f0 + f) * hw + (size_t)oy * outW + ox, count, acc[f][v] + b);
    }
  }
}

template <int NF, int NV>
static void binary_pix_tile(const Op* op, const uint32_t* src, const uint32_t* w, float* out, int f0, int oy, int ox0, float* stash) {
  vu acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vu){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  for (int k = 0; k < kw; k++) {
    const uint32_t* p = src + off[k];
    vu x[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = loadu(p + v * XK_V);
    const uint32_t* wk = w + (size_t)k * NF;
    _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
      const uint32_t s = wk[f];
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] += popcnt_lanes(x[v] ^ s);
    }
  }
  const int outW = op->g.outW;
  const size_t hw = (size_t)op->g.outH * outW;
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
    const vf sc = (vf){} + op->scale[f0 + f];
    const vf b = (vf){} + op->bias[f0 + f];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      const int ox = ox0 + v * XK_V;
      const int count = imin(XK_V, outW - ox);
      if (count <= 0) continue;
      const vf val = binary_value(acc[f][v], op->K, sc, b);
      if (stash) storef(stash + (f * 2 + v) * XK_V, val);
      else store_pix(op, out, (size_t)(f0 + f) * hw + (size_t)oy * outW + ox, count, val);
    }
  }
}

// ---- kernels: filters in lanes -----------------------------------------------------------------

template <int NP, int NFV>
static void float_fil_tile(const Op* op, const Block& b, const float* src, int p0, float* out) {
  const float* w = (const float*)op->wpk + b.wofs;
  const int32_t* base = op->pixbase + p0;
  vf acc[NP][NFV];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++)
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = (vf){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  const float* sp[NP];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) sp[p] = src + base[p];
  for (int k = 0; k < kw; k++) {
    const int o = off[k];
    vf wv[NFV];
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) wv[j] = loadf(w + ((size_t)k * NFV + j) * XK_V);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      const float xs = sp[p][o];
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = acc[p][j] + wv[j] * xs;
    }
  }
  const float* fb = op->fbias + (size_t)(b.f0) ;
  _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) {
    const int nvalid = imin(XK_V, b.nf - j * XK_V);
    if (nvalid <= 0) break;
    const vf bias = loadf(fb + j * XK_V);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) store_fil(op, out, b.f0 + j * XK_V, nvalid, p0 + p, acc[p][j] + bias);
  }
}

template <int NP, int NFV>
static void binary_fil_tile(const Op* op, const Block& b, const uint32_t* src, int p0, float* out) {
  const uint32_t* w = (const uint32_t*)op->wpk + b.wofs;
  const int32_t* base = op->pixbase + p0;
  vu acc[NP][NFV];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++)
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = (vu){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  const uint32_t* sp[NP];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) sp[p] = src + base[p];
  for (int k = 0; k < kw; k++) {
    const int o = off[k];
    vu wv[NFV];
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) wv[j] = loadu(w + ((size_t)k * NFV + j) * XK_V);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      const uint32_t xs = sp[p][o];
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] += popcnt_lanes(wv[j] ^ xs);
    }
  }
  _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) {
    const int nvalid = imin(XK_V, b.nf - j * XK_V);
    if (nvalid <= 0) break;
    const vf bias = loadf(op->fbias + b.f0 + j * XK_V);
    const vf sc = loadf(op->fscale + b.f0 + j * XK_V);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) store_fil(op, out, b.f0 + j * XK_V, nvalid, p0 + p, binary_value(acc[p][j], op->K, sc, bias));
  }
}

// ---- tile dispatch -----------------------------------------------------------------------------

// PIX variants: NF in {XK_PNF, XK_PNF/2, ..., 1} (index 0..), NV in {1, 2}.
static constexpr int kPixNF[] = {XK_PNF, XK_PNF / 2 > 0 ? XK_PNF / 2 : 1, XK_PNF / 4 > 0 ? XK_PNF / 4 : 1, 1};

template <int NF>
static void pix_tile_nf(const Op* op, const void* src, const void* w, float* out, int f0, int oy, int ox0, float* stash) {
  if (op->binary) {
    if (op->nv == 2 && NF <= 8) binary_pix_tile<NF, 2>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
    else if (op->nv == 2) { binary_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash); binary_pix_tile<NF, 1>(op, (const uint32_t*)src + XK_V, (const uint32_t*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
    else binary_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
  } else {
    if (op->nv == 2 && NF <= 8) float_pix_tile<NF, 2>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
    else if (op->nv == 2) { float_pix_tile<NF, 1>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash); float_pix_tile<NF, 1>(op, (const float*)src + XK_V, (const float*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
    else float_pix_tile<NF, 1>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
  }
}

static void pix_tile(const Op* op, const Block& b, int oy, int ox0, float* out, float* stash) {
  const char* src = (const char*)op->inpad + 4 * ((size_t)b.g * op->planes * op->PS + (size_t)oy * op->g.stride * op->RS + ox0);
  const char* w = (const char*)op->wpk + 4 * b.wofs;
  switch (b.variant) {
    case 0: pix_tile_nf<kPixNF[0]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    case 1: pix_tile_nf<kPixNF[1]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    case 2: pix_tile_nf<kPixNF[2]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    default: pix_tile_nf<1>(op, src, w, out, b.f0, oy, ox0, stash); break;
  }
}

static void pix_row(const Op* op, const Block& b, int oy, float* out) {
  for (int ox0 = 0; ox0 < op->g.outW; ox0 += XK_V * op->nv) pix_tile(op, b, oy, ox0, out, nullptr);
}

#if XK_V == 16
#define XK_EVEN (vi){0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30}
#define XK_ODD (vi){1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}
#elif XK_V == 8
#define XK_EVEN (vi){0, 2, 4, 6, 8, 10, 12, 14}
#define XK_ODD (vi){1, 3, 5, 7, 9, 11, 13, 15}
#else
#define XK_EVEN (vi){0, 2, 4, 6}
#define XK_ODD (vi){1, 3, 5, 7}
#endif

// Activation of stashed raw values of conv row oy, columns ox0.., with darknet's leaky tail.
static inline void activate_stash(const Op* op, float* r, int f, int oy, int ox0) {
  const size_t idx = ((size_t)f * op->g.outH + oy) * op->g.outW + ox0;
  for (int v = 0; v < op->nv; v++) {
    const vf raw = loadf(r + v * XK_V);
    storef(r + v * XK_V, activate(raw, op->g.act));
    if (idx + (v + 1) * XK_V > (size_t)op->tailStart)
      for (int i = 0; i < XK_V; i++)
        if (idx + v * XK_V + i >= (size_t)op->tailStart && !(raw[i] > 0)) r[v * XK_V + i] = (float)(0.1 * (double)raw[i]);
  }
}

// One pooled output row: conv rows 2py and 2py+1 into stack buffers, then the 2x2/2 max in
// darknet's tap order (row 2py: x, x+1; row 2py+1: x, x+1) so the first of equal values wins.
static void pix_row_pooled(const Op* op, const Block& b, int py, float* out) {
  float sa[XK_PNF * 2 * XK_V] __attribute__((aligned(64))) = {};
  float sb[XK_PNF * 2 * XK_V] __attribute__((aligned(64))) = {};
  const int step = XK_V * op->nv, pw = op->pw;
  const size_t phw = (size_t)op->ph * pw;
  const vf lo = (vf){} + -3.4028234663852886e38f;
  for (int ox0 = 0; ox0 < 2 * pw; ox0 += step) {
    pix_tile(op, b, 2 * py, ox0, out, sa);
    pix_tile(op, b, 2 * py + 1, ox0, out, sb);
    const int px0 = ox0 / 2, count = imin(step / 2, pw - px0);
    for (int f = 0; f < b.nf; f++) {
      float* ra = sa + f * 2 * XK_V;
      float* rb = sb + f * 2 * XK_V;
      activate_stash(op, ra, b.f0 + f, 2 * py, ox0);
      activate_stash(op, rb, b.f0 + f, 2 * py + 1, ox0);
      const vf a0 = loadf(ra), a1 = loadf(ra + XK_V), b0 = loadf(rb), b1 = loadf(rb + XK_V);
      const vf ea = __builtin_shuffle(a0, a1, XK_EVEN), oa = __builtin_shuffle(a0, a1, XK_ODD);
      const vf eb = __builtin_shuffle(b0, b1, XK_EVEN), ob = __builtin_shuffle(b0, b1, XK_ODD);
      vf m = ea > lo ? ea : lo;
      m = oa > m ? oa : m;
      m = eb > m ? eb : m;
      m = ob > m ? ob : m;
      float* o = out + (size_t)(b.f0 + f) * phw + (size_t)py * pw + px0;
      if (count == XK_V) storef(o, m);
      else
        for (int i = 0; i < count; i++) o[i] = m[i];
    }
  }
}

static void fil_tiles(const Op* op, const Block& b, int t, float* out) {
  const int hw = op->g.outH * op->g.outW;
  int p0 = t * XK_FNP;
  int np = imin(XK_FNP, hw - p0);
  if (np < XK_FNP && hw >= XK_FNP) {
    // The last tile overlaps the one before instead of falling back to single pixels: the
    // overlapping pixels are recomputed with the same bits (threads may write them twice).
    p0 = hw - XK_FNP;
    np = XK_FNP;
  }
  const size_t gofs = (size_t)b.g * op->planes * op->PS;
  if (op->binary) {
    const uint32_t* src = (const uint32_t*)op->inpad + gofs;
    if (b.variant == 0) {
      if (np == XK_FNP) binary_fil_tile<XK_FNP, XK_FNFV>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) binary_fil_tile<1, XK_FNFV>(op, b, src, p0 + p, out);
    } else {
      if (np == XK_FNP) binary_fil_tile<XK_FNP, 1>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) binary_fil_tile<1, 1>(op, b, src, p0 + p, out);
    }
  } else {
    const float* src = (const float*)op->inpad + gofs;
    if (b.variant == 0) {
      if (np == XK_FNP) float_fil_tile<XK_FNP, XK_FNFV>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) float_fil_tile<1, XK_FNFV>(op, b, src, p0 + p, out);
    } else {
      if (np == XK_FNP) float_fil_tile<XK_FNP, 1>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) float_fil_tile<1, 1>(op, b, src, p0 + p, out);
    }
  }
}

// ---- preparation -------------------------------------------------------------------------------

static int choose_nv(int outW) {
  // The wider tile keeps twice the accumulators in flight (fewer loads per output); take it
  // unless it wastes noticeably more lanes at the row end.
  const int w1 = rup(outW, XK_V), w2 = rup(outW, 2 * XK_V);
  return w2 * 10 <= w1 * 11 ? 2 : 1;
}

static int choose_shape(const XkGeom& g, int kw, int opg) {
  if (g.shape == PIX || g.shape == FIL) return g.shape;
  // Cost in vector-step units: PIX wastes lanes at row ends, FIL wastes lanes past the last
  // filter of a group and pays a scalar store per output element.
  const int nv = choose_nv(g.outW);
  const double hw = (double)g.outH * g.outW;
  const double pix = (double)g.outC * g.outH * (rup(g.outW, XK_V * nv) / XK_V) * kw;
  const double fil = (double)g.groups * (rup(opg, XK_V) / XK_V) * hw * kw + (double)g.outC * hw * 1.0;
  return fil < pix ? FIL : PIX;
}

static void free_op(Op* op) {
  if (!op) return;
  free(op->inpad);
  free(op->off);
  free(op->wpk);
  free(op->bias);
  free(op->scale);
  free(op->fbias);
  free(op->fscale);
  free(op->pixbase);
  free(op->blocks);
  free(op->convbuf);
  free(op->poolop);
  free(op);
}

// Common layout: padded input planes, each row split into `stride` phases so that the inputs of
// consecutive output pixels for one tap are consecutive in memory.
static Op* new_op(const XkGeom* g, int binary) {
  Op* op = (Op*)zalloc(sizeof(Op));
  if (!op) return nullptr;
  op->g = *g;
  op->binary = binary;
  op->cpg = g->inC / g->groups;
  op->opg = g->outC / g->groups;
  const int s = g->stride;
  const int wpad = g->inW + 2 * g->pad, hpad = g->inH + 2 * g->pad;
  op->planes = binary ? (g->inC + 31) / 32 : op->cpg;
  op->kw = op->planes * g->size * g->size;
  // With 16 or fewer input channels a 32-bit word would be half empty: pack the taps (kx, kx+1)
  // of a kernel row into one word instead (plane 0: pixel j | pixel j+1 << 16; plane 1: pixel j
  // alone, for the odd last tap). A 3x3 kernel then takes 6 words per output instead of 9.
  op->pairs = binary && g->inC <= 16 && s == 1 && g->size >= 2;
  if (op->pairs) {
    op->planes = 2;
    op->kw = g->size * ((g->size + 1) / 2);
  }
  op->shape = choose_shape(*g, op->kw, op->opg);
  if (g->poolSize > 0) {
    op->poolSize = g->poolSize;
    op->poolStride = g->poolStride;
    op->poolOffset = -g->poolPadding / 2;
    op->ph = (g->outH + g->poolPadding - g->poolSize) / g->poolStride + 1;
    op->pw = (g->outW + g->poolPadding - g->poolSize) / g->poolStride + 1;
    const bool fusable = g->poolSize == 2 && g->poolStride == 2 && op->poolOffset == 0 && 2 * op->ph <= g->outH &&
                         2 * op->pw <= g->outW && g->shape != FIL;
    op->pool = fusable ? 1 : 2;
    if (fusable) op->shape = PIX;
  }
  // PIX tiles read whole vectors past the row end (lanes that are never stored): give each phase
  // room for them. FIL reads only real taps.
  op->Lph = (wpad + s - 1) / s;
  if (op->shape == PIX) op->Lph = imax(op->Lph, rup(g->outW, 2 * XK_V) + (g->size - 1) / s) + 1;
  op->RS = s * op->Lph;
  op->Hp = hpad;
  op->PS = op->Hp * op->RS;
  op->K = g->size * g->size * g->inC;
  op->n = g->outC * g->outH * g->outW;
  op->tailStart = g->act == XK_LEAKY ? op->n - (op->n % 8 ? op->n % 8 : 8) : op->n;
  const int totalPlanes = binary ? op->planes : g->inC;
  op->inpad = zalloc((size_t)totalPlanes * op->PS * 4 + 4 * (64 + op->RS));
  op->off = (int32_t*)zalloc((size_t)op->kw * 4);
  op->bias = (float*)zalloc((size_t)g->outC * 4);
  op->scale = (float*)zalloc((size_t)g->outC * 4);
  if (!op->inpad || !op->off || !op->bias || !op->scale) { free_op(op); return nullptr; }
  int k = 0;
  if (op->pairs) {
    for (int ky = 0; ky < g->size; ky++)
      for (int kx = 0; kx < g->size; kx += 2) op->off[k++] = (kx + 1 < g->size ? 0 : op->PS) + ky * op->RS + kx;
    return op;
  }
  for (int c = 0; c < op->planes; c++)
    for (int ky = 0; ky < g->size; ky++)
      for (int kx = 0; kx < g->size; kx++) op->off[k++] = c * op->PS + ky * op->RS + (kx % s) * op->Lph + kx / s;
  return op;
}

// Weight element (filter f, step k) of the packed order, k = (plane, ky, kx).
static inline float float_w(const Op* op, const float* w, int f, int k) { return w[(size_t)f * op->kw + k]; }

static uint32_t binary_w(const Op* op, const float* w, int f, int k) {
  const int ss = op->g.size * op->g.size;
  if (op->pairs) {
    const int per = (op->g.size + 1) / 2, ky = k / per, kx = 2 * (k % per);
    uint32_t word = 0;
    for (int t = 0; t < 2 && kx + t < op->g.size; t++)
      for (int c = 0; c < op->g.inC; c++)
        if (w[((size_t)f * op->g.inC + c) * ss + ky * op->g.size + kx + t] > 0) word |= 1u << (16 * t + c);
    return word;
  }
  const int cw = k / ss, t = k % ss;
  uint32_t word = 0;
  for (int b = 0; b < 32; b++) {
    const int c = cw * 32 + b;
    if (c >= op->g.inC) break;
    if (w[((size_t)f * op->g.inC + c) * ss + t] > 0) word |= 1u << b;
  }
  return word;
}

static bool build_blocks(Op* op, const float* w) {
  const XkGeom& g = op->g;
  int maxBlocks = g.outC + g.groups;
  op->blocks = (Block*)zalloc(sizeof(Block) * maxBlocks);
  if (!op->blocks) return false;
  size_t wtotal = 0;
  int nb = 0;
  if (op->shape == PIX) {
    op->nv = choose_nv(g.outW);
    for (int gi = 0; gi < g.groups; gi++) {
      int f = 0;
      while (f < op->opg) {
        int v = 0;
        while (kPixNF[v] > op->opg - f) v++;
        Block& b = op->blocks[nb++];
        b.g = gi; b.f0 = gi * op->opg + f; b.nf = kPixNF[v]; b.variant = v; b.wofs = wtotal;
        wtotal += (size_t)b.nf * op->kw;
        f += b.nf;
      }
    }
    op->nitems = nb * (op->pool == 1 ? op->ph : g.outH);
  } else {
    const int big = XK_V * XK_FNFV;
    for (int gi = 0; gi < g.groups; gi++) {
      for (int f = 0; f < op->opg; f += big) {
        Block& b = op->blocks[nb++];
        b.g = gi; b.f0 = gi * op->opg + f; b.nf = imin(big, op->opg - f);
        b.variant = b.nf > XK_V * (XK_FNFV - 1) || XK_FNFV == 1 ? 0 : 1;
        b.wofs = wtotal;
        wtotal += (size_t)(b.variant == 0 ? XK_FNFV : 1) * XK_V * op->kw;
      }
    }
    const int hw = g.outH * g.outW;
    op->ptiles = (hw + XK_FNP - 1) / XK_FNP;
    op->nitems = nb * op->ptiles;
    op->pixbase = (int32_t*)zalloc((size_t)hw * 4);
    op->fbias = (float*)zalloc(((size_t)g.outC + big) * 4);
    op->fscale = (float*)zalloc(((size_t)g.outC + big) * 4);
    if (!op->pixbase || !op->fbias || !op->fscale) return false;
    for (int oy = 0; oy < g.outH; oy++)
      for (int ox = 0; ox < g.outW; ox++) op->pixbase[oy * g.outW + ox] = oy * g.stride * op->RS + ox;
  }
  op->nblocks = nb;
  op->wpk = zalloc(wtotal * 4 + 64);
  if (!op->wpk) return false;
  // Pack: PIX blocks as [k][nf]; FIL blocks as [k][nfv * V] with zero filters past the block.
  for (int bi = 0; bi < nb; bi++) {
    const Block& b = op->blocks[bi];
    const int width = op->shape == PIX ? b.nf : (b.variant == 0 ? XK_FNFV : 1) * XK_V;
    for (int k = 0; k < op->kw; k++)
      for (int j = 0; j < width; j++) {
        const size_t at = b.wofs + (size_t)k * width + j;
        if (j >= b.nf) continue;
        if (op->binary) ((uint32_t*)op->wpk)[at] = binary_w(op, w, b.f0 + j, k);
        else ((float*)op->wpk)[at] = float_w(op, w, b.f0 + j, k);
      }
  }
  snprintf(op->desc, sizeof op->desc, "%s %s V=%d%s%s", op->binary ? "binary" : "float",
           op->shape == PIX ? "pixels-in-lanes" : "filters-in-lanes", XK_V,
           op->shape == PIX ? (op->nv == 2 ? " NV=2" : " NV=1") : "", op->pairs ? " 2-taps-per-word" : "");
  if (op->pool) {
    const size_t l = strlen(op->desc);
    snprintf(op->desc + l, sizeof op->desc - l, op->pool == 1 ? " +maxpool fused" : " +maxpool after");
  }
  return true;
}

static void* prepare_maxpool(int c, int h, int w, int oh, int ow, int size, int stride, int padding);

static bool prepare_pool(Op* op) {
  if (op->pool != 2) return true;
  op->convbuf = (float*)zalloc((size_t)op->n * 4);
  op->poolop = prepare_maxpool(op->g.outC, op->g.outH, op->g.outW, op->ph, op->pw, op->poolSize, op->poolStride, op->g.poolPadding);
  return op->convbuf && op->poolop;
}

static void* prepare_float(const XkGeom* g, const float* w, const float* bias) {
  Op* op = new_op(g, 0);
  if (!op) return nullptr;
  memcpy(op->bias, bias, (size_t)g->outC * 4);
  if (!build_blocks(op, w) || !prepare_pool(op)) { free_op(op); return nullptr; }
  if (op->shape == FIL) memcpy(op->fbias, bias, (size_t)g->outC * 4);
  return op;
}

static void* prepare_binary(const XkGeom* g, const float* w, const float* scale, const float* bias) {
  if (g->groups != 1) return nullptr;
  Op* op = new_op(g, 1);
  if (!op) return nullptr;
  memcpy(op->bias, bias, (size_t)g->outC * 4);
  memcpy(op->scale, scale, (size_t)g->outC * 4);
  if (!build_blocks(op, w) || !prepare_pool(op)) { free_op(op); return nullptr; }
  if (op->shape == FIL) {
    memcpy(op->fbias, bias, (size_t)g->outC * 4);
    memcpy(op->fscale, scale, (size_t)g->outC * 4);
  }
  return op;
}

// ---- maxpool (darknet forward_maxpool_layer) ---------------------------------------------------

struct PoolOp {
  int kind;  // 1
  int c, h, w, oh, ow, size, stride, offset;
  char desc[64];
};

static void* prepare_maxpool(int c, int h, int w, int oh, int ow, int size, int stride, int padding) {
  PoolOp* op = (PoolOp*)zalloc(sizeof(PoolOp));
  if (!op) return nullptr;
  op->kind = 1;
  op->c = c; op->h = h; op->w = w; op->oh = oh; op->ow = ow; op->size = size; op->stride = stride;
  op->offset = -padding / 2;  // C division truncates, as darknet's
  snprintf(op->desc, sizeof op->desc, "maxpool V=%d", XK_V);
  return op;
}

// max = v > max ? v : max, taps outside the input ignored, max starts at -FLT_MAX (NaN never wins).
static void pool_rows(const PoolOp* op, const float* in, float* out, int begin, int end) {
  const int h = op->h, w = op->w, oh = op->oh, ow = op->ow, size = op->size, st = op->stride, off = op->offset;
  for (int it = begin; it < end; it++) {
    const int k = it / oh, oy = it % oh;
    const float* plane = in + (size_t)k * h * w;
    float* o = out + ((size_t)k * oh + oy) * ow;
    const int y0 = off + oy * st;
    const bool fast = size == 2 && st == 2 && off == 0 && y0 + 1 < h && 2 * ow <= w;
    if (fast) {
      // Taps in darknet's order (row y0: x, x+1; row y0+1: x, x+1): the first of equal values
      // wins, which decides the sign of a zero maximum.
      const float* a = plane + (size_t)y0 * w;
      const float* b = a + w;
      const vf lo = (vf){} + -3.4028234663852886e38f;
      int ox = 0;
      for (; ox + XK_V <= ow; ox += XK_V) {
        const vf a0 = loadf(a + 2 * ox), a1 = loadf(a + 2 * ox + XK_V);
        const vf b0 = loadf(b + 2 * ox), b1 = loadf(b + 2 * ox + XK_V);
        const vf ea = __builtin_shuffle(a0, a1, XK_EVEN), oa = __builtin_shuffle(a0, a1, XK_ODD);
        const vf eb = __builtin_shuffle(b0, b1, XK_EVEN), ob = __builtin_shuffle(b0, b1, XK_ODD);
        vf m = ea > lo ? ea : lo;
        m = oa > m ? oa : m;
        m = eb > m ? eb : m;
        m = ob > m ? ob : m;
        storef(o + ox, m);
      }
      for (; ox < ow; ox++) {
        const float a0 = a[2 * ox], a1 = a[2 * ox + 1], b0 = b[2 * ox], b1 = b[2 * ox + 1];
        float m = a0 > -3.4028234663852886e38f ? a0 : -3.4028234663852886e38f;
        m = a1 > m ? a1 : m;
        m = b0 > m ? b0 : m;
        m = b1 > m ? b1 : m;
        o[ox] = m;
      }
      continue;
    }
    if (size == 2 && st == 1 && off == 0 && y0 + 1 < h) {
      // YOLO's 2x2/1 "same" maxpool: taps (y, x), (y, x+1), (y+1, x), (y+1, x+1), in that order;
      // the last column has only its x taps.
      const float* a = plane + (size_t)y0 * w;
      const float* b = a + w;
      const vf lo = (vf){} + -3.4028234663852886e38f;
      const int full = imin(ow, w - 1);
      int ox = 0;
      for (; ox + XK_V <= full; ox += XK_V) {
        const vf a0 = loadf(a + ox), a1 = loadf(a + ox + 1), b0 = loadf(b + ox), b1 = loadf(b + ox + 1);
        vf m = a0 > lo ? a0 : lo;
        m = a1 > m ? a1 : m;
        m = b0 > m ? b0 : m;
        m = b1 > m ? b1 : m;
        storef(o + ox, m);
      }
      for (; ox < ow; ox++) {
        float m = -3.4028234663852886e38f;
        const float t[4] = {a[ox], ox + 1 < w ? a[ox + 1] : m, b[ox], ox + 1 < w ? b[ox + 1] : m};
        for (int i = 0; i < 4; i++)
          if (t[i] > m) m = t[i];
        o[ox] = m;
      }
      continue;
    }
    for (int ox = 0; ox < ow; ox++) {
      float m = -3.4028234663852886e38f;
      for (int n = 0; n < size; n++) {
        const int y = y0 + n;
        if (y < 0 || y >= h) continue;
        for (int mm = 0; mm < size; mm++) {
          const int x = off + ox * st + mm;
          if (x < 0 || x >= w) continue;
          const float v = plane[(size_t)y * w + x];
          if (v > m) m = v;
        }
      }
      o[ox] = m;
    }
  }
}

// ---- yolo (the runner's forward_yolo_layer, src/engine/runtime/layers.ts) ------------------------
//
// logistic(x) = f(1 / f(1 + f(exp(-x)))) with exp = V8's Math.exp, which is FreeBSD/fdlibm's
// __ieee754_exp (checked bit for bit on 4M inputs). It is vectorised here over XK_V/2 doubles with
// the same operations in the same order; lanes with rare arguments (|x| >= 704, |x| < 2^-28,
// x == 1, inf, NaN) take the scalar copy.

typedef double vd __attribute__((vector_size(XK_V * 4)));
typedef int64_t vl __attribute__((vector_size(XK_V * 4)));
typedef uint64_t vul __attribute__((vector_size(XK_V * 4)));
typedef float vfh __attribute__((vector_size(XK_V * 2)));
typedef float vfh_u __attribute__((vector_size(XK_V * 2), aligned(4)));

static const double kOne = 1.0, kHalf[2] = {0.5, -0.5}, kOThr = 7.09782712893383973096e+02,
                    kUThr = -7.45133219101941108420e+02, kLn2Hi[2] = {6.93147180369123816490e-01, -6.93147180369123816490e-01},
                    kLn2Lo[2] = {1.90821492927058770002e-10, -1.90821492927058770002e-10}, kInvLn2 = 1.44269504088896338700e+00,
                    kP1 = 1.66666666666666019037e-01, kP2 = -2.77777777770155933842e-03, kP3 = 6.61375632143793436117e-05,
                    kP4 = -1.65339022054652515390e-06, kP5 = 4.13813679705723846039e-08, kE = 2.718281828459045,
                    kHuge = 1.0e+300, kTwom1000 = 9.33263618503218878990e-302, kTwo1023 = 8.988465674311579539e307;

static inline uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static double fd_exp(double x) {
  double y, hi = 0, lo = 0, c, t, twopk;
  int k = 0;
  uint32_t hx = (uint32_t)(dbits(x) >> 32);
  const int xsb = (hx >> 31) & 1;
  hx &= 0x7fffffff;
  if (hx >= 0x40862E42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | (uint32_t)dbits(x)) != 0) return x + x;
      return xsb == 0 ? x : 0.0;
    }
    if (x > kOThr) return kHuge * kHuge;
    if (x < kUThr) return kTwom1000 * kTwom1000;
  }
  if (hx > 0x3fd62e42) {
    if (hx < 0x3FF0A2B2) {
      if (x == 1.0) return kE;
      hi = x - kLn2Hi[xsb];
      lo = kLn2Lo[xsb];
      k = 1 - xsb - xsb;
    } else {
      k = (int)(kInvLn2 * x + kHalf[xsb]);
      t = k;
      hi = x - t * kLn2Hi[0];
      lo = t * kLn2Lo[0];
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    if (kHuge + x > kOne) return kOne + x;
  } else {
    k = 0;
  }
  t = x * x;
  twopk = k >= -1021 ? bitsd((uint64_t)(0x3ff + k) << 52) : bitsd((uint64_t)(0x3ff + k + 1000) << 52);
  c = x - t * (kP1 + t * (kP2 + t * (kP3 + t * (kP4 + t * kP5))));
  if (k == 0) return kOne - ((x * c) / (c - 2.0) - x);
  y = kOne - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * kTwo1023;
    return y * twopk;
  }
  return y * twopk * kTwom1000;
}

static inline float logistic1(float x) {
  const float e = (float)fd_exp(-(double)x);
  const float s = (float)(1.0 + (double)e);
  return (float)(1.0 / (double)s);
}

// logistic of XK_V/2 floats.
static inline vfh logistic_v(vfh xf) {
  const vd x = -__builtin_convertvector(xf, vd);
  const vul bits = (vul)x;
  const vul hx = (bits >> 32) & 0x7fffffff;
  const vl rare = (vl)(hx >= 0x40860000) | (vl)(hx < 0x3e300000) | (vl)(x == 1.0);
  bool any = false;
  for (int i = 0; i < XK_V / 2; i++) any |= rare[i] != 0;
  if (__builtin_expect(any, 0)) {
    vfh r;
    for (int i = 0; i < XK_V / 2; i++) r[i] = logistic1(xf[i]);
    return r;
  }
  const vl neg = (vl)(bits >> 63);                   // xsb: 1 for negative
  const vl caseA = (vl)(hx > 0x3fd62e42) & (vl)(hx < 0x3FF0A2B2);
  const vl caseB = (vl)(hx >= 0x3FF0A2B2);
  const vd half = neg != 0 ? (vd){} - 0.5 : (vd){} + 0.5;
  const vl kB = __builtin_convertvector(x * kInvLn2 + half, vl);  // truncates like (int)
  const vl kA = 1 - 2 * neg;
  const vl k = caseA != 0 ? kA : (caseB != 0 ? kB : (vl){});
  // With t = k = +-1, x - t*ln2HI and t*ln2LO equal case A's x - ln2HI[xsb] and ln2LO[xsb]; with
  // k = 0 they leave x unreduced, as the small-argument path does.
  const vd t = __builtin_convertvector(k, vd);
  const vd hi = x - t * kLn2Hi[0];
  const vd lo = t * kLn2Lo[0];
  const vd xr = hi - lo;
  const vd tt = xr * xr;
  const vd c = xr - tt * (kP1 + tt * (kP2 + tt * (kP3 + tt * (kP4 + tt * kP5))));
  const vd q = (xr * c) / (c - 2.0);  // (x*c)/(2-c) is exactly -q
  const vd r0 = kOne - (q - xr);
  const vd y = kOne - ((lo + q) - hi);
  const vd twopk = (vd)((vul)(k + 0x3ff) << 52);
  const vd e = k == 0 ? r0 : y * twopk;
  const vfh ef = __builtin_convertvector(e, vfh);
  const vfh sf = __builtin_convertvector(1.0 + __builtin_convertvector(ef, vd), vfh);
  return __builtin_convertvector(1.0 / __builtin_convertvector(sf, vd), vfh);
}

struct YoloOp {
  int kind;  // 2
  int c, hw, per, anchors;
  float alpha, beta;
  char desc[32];
};

static void* prepare_yolo(int c, int hw, int classes, int anchors, float alpha, float beta) {
  YoloOp* op = (YoloOp*)zalloc(sizeof(YoloOp));
  if (!op) return nullptr;
  op->kind = 2;
  op->c = c; op->hw = hw; op->per = classes + 5; op->anchors = anchors; op->alpha = alpha; op->beta = beta;
  snprintf(op->desc, sizeof op->desc, "yolo V=%d", XK_V / 2);
  return op;
}

// Channel planes [begin, end): tx, ty -> f(f(logistic * alpha) + beta); tw, th copied;
// objectness and classes -> logistic; channels past the anchors copied.
static void yolo_planes(const YoloOp* op, const float* in, float* out, int begin, int end) {
  const int hw = op->hw, H = XK_V / 2;
  for (int ch = begin; ch < end; ch++) {
    const float* src = in + (size_t)ch * hw;
    float* dst = out + (size_t)ch * hw;
    const int j = ch % op->per;
    if (ch >= op->anchors * op->per || j == 2 || j == 3) {
      if (dst != src) memmove(dst, src, (size_t)hw * 4);
      continue;
    }
    const bool scaled = j < 2;
    int i = 0;
    for (; i + H <= hw; i += H) {
      vfh l = logistic_v(*(const vfh_u*)(src + i));
      if (scaled) l = (l * op->alpha) + op->beta;
      *(vfh_u*)(dst + i) = l;
    }
    for (; i < hw; i++) {
      float l = logistic1(src[i]);
      if (scaled) l = (l * op->alpha) + op->beta;
      dst[i] = l;
    }
  }
}

// ---- upsample (darknet upsample_cpu, nearest neighbour) ---------------------------------------

struct UpOp {
  int kind;  // 3
  int c, h, w, s;
  float scale;  // applied as f(scale * x) unless it is exactly 1
  char desc[32];
};

static void* prepare_upsample(int c, int h, int w, int stride, float scale) {
  UpOp* op = (UpOp*)zalloc(sizeof(UpOp));
  if (!op) return nullptr;
  op->kind = 3;
  op->c = c; op->h = h; op->w = w; op->s = stride; op->scale = scale;
  snprintf(op->desc, sizeof op->desc, "upsample");
  return op;
}

static void upsample_planes(const UpOp* op, const float* in, float* out, int begin, int end) {
  const int h = op->h, w = op->w, s = op->s, ow = w * s;
  for (int k = begin; k < end; k++) {
    for (int y = 0; y < h; y++) {
      const float* src = in + ((size_t)k * h + y) * w;
      float* row = out + ((size_t)k * h * s + (size_t)y * s) * ow;
      for (int x = 0; x < w; x++) {
        const float v = op->scale == 1.0f ? src[x] : op->scale * src[x];
        for (int i = 0; i < s; i++) row[x * s + i] = v;
      }
      for (int r = 1; r < s; r++) memcpy(row + (size_t)r * ow, row, (size_t)ow * 4);
    }
  }
}

// ---- run ---------------------------------------------------------------------------------------

static int items(void* p) {
  if (*(int*)p == 1) return ((PoolOp*)p)->c * ((PoolOp*)p)->oh;
  if (*(int*)p == 2) return ((YoloOp*)p)->c;
  if (*(int*)p == 3) return ((UpOp*)p)->c;
  return ((Op*)p)->nitems;
}

// Copies (float) or sign-packs (binary) the input into the padded planes (its share [part/parts]).
static void pack(void* p, const float* in, int part, int parts) {
  if (*(int*)p != 0) return;
  Op* op = (Op*)p;
  const XkGeom& g = op->g;
  const int s = g.stride, pad = g.pad, W = g.inW, H = g.inH;
  const size_t hw = (size_t)H * W;
  if (!op->binary) {
    const int rowsTotal = g.inC * H;
    const int r0 = (int)((long)rowsTotal * part / parts), r1 = (int)((long)rowsTotal * (part + 1) / parts);
    for (int r = r0; r < r1; r++) {
      const int plane = r / H, iy = r % H;
      const float* src = in + plane * hw + (size_t)iy * W;
      float* dst = (float*)op->inpad + (size_t)plane * op->PS + (size_t)(iy + pad) * op->RS;
      if (s == 1) memcpy(dst + pad, src, (size_t)W * 4);
      else
        for (int ix = 0; ix < W; ix++) dst[((ix + pad) % s) * op->Lph + (ix + pad) / s] = src[ix];
    }
    return;
  }
  // Binary: 32 channels per word, vectorised over the flattened plane (rows may be narrower than
  // a vector), then each lane goes to its padded, phase-split position.
  const int words = op->pairs ? 1 : op->planes;
  const int c0p = (int)((long)words * part / parts), c1p = (int)((long)words * (part + 1) / parts);
  for (int cw = c0p; cw < c1p; cw++) {
    const int c0 = cw * 32, nc = imin(32, g.inC - c0);
    const float* src = in + (size_t)c0 * hw;
    uint32_t* plane = (uint32_t*)op->inpad + (size_t)(op->pairs ? 1 : cw) * op->PS;
    size_t q = 0;
    int iy = 0, ix = 0;  // position of flat index q
    for (; q + XK_V <= hw; q += XK_V) {
      vu word = (vu){};
      const float* sp = src + q;
      for (int b = 0; b < nc; b++, sp += hw) word |= (vu)(loadf(sp) > 0.0f) & (1u << b);
      if (s == 1 && ix + XK_V <= W) {
        storeu(plane + (size_t)(iy + pad) * op->RS + pad + ix, word);
        ix += XK_V;
        if (ix == W) { ix = 0; iy++; }
        continue;
      }
      for (int i = 0; i < XK_V; i++) {
        plane[(size_t)(iy + pad) * op->RS + ((ix + pad) % s) * op->Lph + (ix + pad) / s] = word[i];
        if (++ix == W) { ix = 0; iy++; }
      }
    }
    for (; q < hw; q++) {
      uint32_t word = 0;
      const float* sp = src + q;
      for (int b = 0; b < nc; b++, sp += hw) word |= (*sp > 0.0f ? 1u : 0u) << b;
      plane[(size_t)(iy + pad) * op->RS + ((ix + pad) % s) * op->Lph + (ix + pad) / s] = word;
      if (++ix == W) { ix = 0; iy++; }
    }
  }
  if (op->pairs && part == 0) {
    // Plane 0 from plane 1: word j = pixel j | pixel j+1 << 16, over the interior rows.
    const uint32_t* one = (const uint32_t*)op->inpad + op->PS;
    uint32_t* two = (uint32_t*)op->inpad;
    for (int r = pad; r < pad + H; r++) {
      const uint32_t* a = one + (size_t)r * op->RS;
      uint32_t* d = two + (size_t)r * op->RS;
      int j = 0;
      for (; j + XK_V <= op->RS; j += XK_V) storeu(d + j, loadu(a + j) | (loadu(a + j + 1) << 16));
      for (; j < op->RS; j++) d[j] = a[j] | (a[j + 1] << 16);
    }
  }
}

static void compute(void* p, const float* in, float* out, int begin, int end) {
  if (*(int*)p == 1) return pool_rows((const PoolOp*)p, in, out, begin, end);
  if (*(int*)p == 2) return yolo_planes((const YoloOp*)p, in, out, begin, end);
  if (*(int*)p == 3) return upsample_planes((const UpOp*)p, in, out, begin, end);
  Op* op = (Op*)p;
  if (op->pool == 1) {
    for (int it = begin; it < end; it++) pix_row_pooled(op, op->blocks[it / op->ph], it % op->ph, out);
    return;
  }
  if (op->pool == 2) out = op->convbuf;
  if (op->shape == PIX) {
    for (int it = begin; it < end; it++) pix_row(op, op->blocks[it / op->g.outH], it % op->g.outH, out);
  } else {
    for (int it = begin; it < end; it++) fil_tiles(op, op->blocks[it / op->ptiles], it % op->ptiles, out);
  }
}

static void finish(void* p, float* out) {
  if (*(int*)p != 0) return;
  Op* op = (Op*)p;
  if (op->pool == 1) return;  // the fused epilogue applied the tail before pooling
  float* conv = op->pool == 2 ? op->convbuf : out;
  if (op->g.act == XK_LEAKY)
    for (int i = op->tailStart; i < op->n; i++) {
      const float x = conv[i];
      if (!(x > 0)) conv[i] = (float)(0.1 * (double)x);
    }
  if (op->pool == 2) {
    const PoolOp* pl = (const PoolOp*)op->poolop;
    pool_rows(pl, conv, out, 0, pl->c * pl->oh);
  }
}

static const char* describe(void* p) {
  const int kind = *(int*)p;
  return kind == 1 ? ((PoolOp*)p)->desc : kind == 2 ? ((YoloOp*)p)->desc : kind == 3 ? ((UpOp*)p)->desc : ((Op*)p)->desc;
}
static void destroy(void* p) {
  if (*(int*)p != 0) {
    free(p);
  } else {
    free_op((Op*)p);
  }
}

static const XkTable table = {XK_NAME, prepare_float, prepare_binary, prepare_maxpool, prepare_yolo, prepare_upsample, items, pack, compute, finish, describe, destroy};

}  // namespace XK_NS
