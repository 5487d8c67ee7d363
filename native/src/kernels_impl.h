// The convolution kernels, written once with GCC vector extensions and compiled once per ISA:
// each isa_*.cc defines XK_NS (its namespace), XK_V (float lanes per vector), the register-tile
// sizes and popcnt_lanes() (or, with XK_NIBBLE, nib_split / nib_count / widen_bytes), then
// includes this file. Nothing here may use C++ library templates: an inline template
// instantiated in two ISA units could be merged by the linker into the AVX-512 copy and run on
// a CPU without it.
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
#include <math.h>
#include "kernels.h"
#if defined(XK_AMX) && XK_AMX
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace XK_NS {

typedef float vf __attribute__((vector_size(XK_V * 4)));
typedef uint32_t vu __attribute__((vector_size(XK_V * 4)));
typedef int32_t vi __attribute__((vector_size(XK_V * 4)));
typedef float vf_u __attribute__((vector_size(XK_V * 4), aligned(4)));
typedef uint32_t vu_u __attribute__((vector_size(XK_V * 4), aligned(4)));

static inline vu popcnt_lanes(vu x);  // defined by the ISA unit (not by one that counts nibbles, XK_NIBBLE)

// The lane totals of summed popcnt_lanes results. With XK_COUNT_HALVES the ISA unit leaves each lane's count in its two
// 16-bit halves (one multiply fewer per word than widening to 32 bits: binary convolutions 9-10 % faster on an AVX2
// EPYC); at most XK_MAX_BINARY_WORDS words of at most 16 per half cannot carry from one half into the other.
#if defined(XK_COUNT_HALVES) && XK_COUNT_HALVES
static inline vu popcnt_total(vu acc) { return (acc & 0xffff) + (acc >> 16); }
#else
static inline vu popcnt_total(vu acc) { return acc; }
#endif

static inline vf loadf(const float* p) { return *(const vf_u*)p; }

// acc + x*s, rounded twice (exact numerics) or, with FUSED (fast precision, ISA units with XK_FMA),
// once: the one place the fast path's float convolutions differ from darknet's.
#ifndef XK_FMA
#define XK_FMA 0
#endif
#ifndef XK_NIBBLE
#define XK_NIBBLE 0  // the ISA unit counts bits by nibble lookup and gives nib_split / nib_count / widen_bytes
#endif
#if XK_FMA
static inline vf fma_lanes(vf a, vf b, vf c);  // a*b + c, one rounding; defined by the ISA unit
#endif
// A float in every lane. (vf){} + x is not a broadcast: 0 + -0 is +0, so the compiler must add.
static inline vf splat(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return (vf)((vu){} + u);
}

template <bool FUSED>
static inline vf madd(vf acc, vf x, float s) {
#if XK_FMA
  if (FUSED) return fma_lanes(x, splat(s), acc);
#endif
  return acc + x * s;
}

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
static inline vu vumin(vu a, vu b) { return a < b ? a : b; }
static inline vu vumax(vu a, vu b) { return a > b ? a : b; }
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

// One consumer of a producer's bits: the steps from the kernel's bit output to the consumer's input
// (intermediate results in tmp[i], tight [plane][h][w]), and where the consumer's planes start.
struct BitDest {
  int nsteps;
  XkBitStep steps[XK_MAX_BIT_STEPS + 1];  // + the producer's own unfused pool
  uint32_t* tmp[XK_MAX_BIT_STEPS + 1];
  uint32_t* dst;  // word (plane, y, x) = dst[plane * dstPS + y * dstRS + x] (logical y, x)
  int dstPS, dstRS;
};

struct SignEst;  // sign_estimate_impl.h

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
  int q8;      // fast precision: float conv in int8 (4 channels per 32-bit word, u8 input x s8 weight)
  int fma;     // fast precision: float conv with fused multiply-add (one rounding per tap)
  int8_t* wq8;    // q8, during preparation only: quantized weights [outC][inC][size][size]
  float* wscale;  // q8: per-filter weight scale
  int32_t* wsum;  // q8: per-filter sum of quantized weights (for the input zero point)
  float* qscale;  // q8, per frame: input scale * weight scale, by filter (padded like fbias)
  int32_t* qzs;   // q8, per frame: zero point * wsum, by filter (padded like fbias)
  int lastZp;     // q8: the zero point the padding currently holds (-1: none yet)
  int amx;        // AMX tiles (stride 1, groups 1): q8, or binary as +-1 bytes; see amx_item()
  int amxFb, amxPt;  // AMX: 16-filter blocks (rounded up to even), 16-pixel tiles (rounded up to even)
  int amxKs;         // AMX: k-steps (tap, 64-channel group) per output
  int pool;    // 0: none; 1: 2x2/2 maxpool fused into the PIX epilogue; 2: conv into `convbuf`, then pool
  int ph, pw, poolSize, poolStride, poolOffset;
  float* convbuf;
  void* poolop;  // pool == 2: the PoolOp applied in finish()
  // Bit output (link_bits): instead of floats, this op writes the sign bits (value > 0 after the
  // activation and the fused pool) of its output. Channel f of output pixel p (flat index) goes to
  // bit f % 32 of word bitsOut[(f / 32) * bitsPS + (p / bitsW) * bitsRS + p % bitsW]: straight into
  // the padded, packed input of the one binary convolution that reads it (direct), or into
  // `convbits` ([plane][bitH][bitW], the kernel's output resolution), from which finish() carries the
  // bits along each destination's steps (its unfused pool, link path maxpools and upsamples).
  uint32_t* bitsOut;
  int bitsPS, bitsRS, bitsW;
  uint8_t* linkedPlanes;  // [input planes]: a producer writes this plane; pack() skips it (null: none)
  int linkedCount;
  // Binary producers with bit output: bit = (mismatches - thrLo[f]) <= thrSpan[f] (unsigned), the
  // exact set of counts whose float output is > 0 (see binary_thresholds); null: compare floats.
  uint32_t* thrLo;
  uint32_t* thrSpan;
  uint32_t* convbits;
  int direct;       // float, stride 1, groups 1, few channels: tiles read the caller's input, no copy (pack sets din)
  const float* din;
  int32_t* dOff;    // direct: tap offsets in the unpadded input, k = (c, ky, kx)
  int32_t* dOffLine;  // direct: tap offsets in an edge tile's row copies (kLineS floats apart)
  int bitH, bitW;  // logical size of the kernel's bit output (convbits)
  struct BitDest* dests;
  int ndests;
  SignEst* est;  // bit output of a float conv from int16 sums (sign_estimate_impl.h); null: none
  int runThreads;  // threads of the coming run (run_threads; 0: not said, i.e. one)
  char desc[160];
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
#if defined(__AVX512F__) && XK_V == 16
  // one scatter instead of 16 scalar stores (lanes are hw apart), outside darknet's leaky tail
  if (idx + (size_t)(nvalid - 1) * hw < (size_t)op->tailStart && hw < (1u << 26)) {
    const __m512i lanes = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)hw));
    _mm512_mask_i32scatter_ps(out + idx, (__mmask16)(nvalid >= 16 ? 0xFFFF : (1u << nvalid) - 1), lanes, (__m512)a, 4);
    return;
  }
#endif
  for (int i = 0; i < nvalid; i++, idx += hw) out[idx] = idx >= (size_t)op->tailStart ? r[i] : a[i];
}

#if defined(__AVX512F__) && XK_V == 16
// r[p] lane f -> r[f] lane p (16 x 16 floats): the classic unpack / unpack / 128-bit-lane shuffle
// sequence, as two-source shuffles (vpermt2ps).
static inline void transpose16(vf* r) {
  const vi lo32 = {0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29};
  const vi hi32 = {2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31};
  const vi lo64 = {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29};
  const vi hi64 = {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31};
  const vi ev128 = {0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27};
  const vi od128 = {4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31};
  vf t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = __builtin_shuffle(r[2 * i], r[2 * i + 1], lo32);
    t[2 * i + 1] = __builtin_shuffle(r[2 * i], r[2 * i + 1], hi32);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = __builtin_shuffle(t[4 * i + 0], t[4 * i + 2], lo64);
    r[4 * i + 1] = __builtin_shuffle(t[4 * i + 0], t[4 * i + 2], hi64);
    r[4 * i + 2] = __builtin_shuffle(t[4 * i + 1], t[4 * i + 3], lo64);
    r[4 * i + 3] = __builtin_shuffle(t[4 * i + 1], t[4 * i + 3], hi64);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = __builtin_shuffle(r[i], r[4 + i], ev128);
    t[4 + i] = __builtin_shuffle(r[i], r[4 + i], od128);
    t[8 + i] = __builtin_shuffle(r[8 + i], r[12 + i], ev128);
    t[12 + i] = __builtin_shuffle(r[8 + i], r[12 + i], od128);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = __builtin_shuffle(t[i], t[8 + i], ev128);
    r[8 + i] = __builtin_shuffle(t[i], t[8 + i], od128);
    r[4 + i] = __builtin_shuffle(t[4 + i], t[12 + i], ev128);
    r[12 + i] = __builtin_shuffle(t[4 + i], t[12 + i], od128);
  }
}

// Filters-in-lanes epilogue of an 8-pixel tile: r[p] (p < 8) holds filters f0..f0+15 of pixel
// p0+p, r[8+p] filters f0+16..f0+31. One transpose gives each filter its 8 consecutive pixels,
// stored as one run (instead of 16 scattered scalars per vector).
static inline void store_fil_runs(const Op* op, float* out, int f0, int nf, int p0, vf* r) {
  transpose16(r);
  const size_t hw = (size_t)op->g.outH * op->g.outW;
  for (int f = 0; f < 16; f++) {
    if (f < nf) store_pix(op, out, (size_t)(f0 + f) * hw + p0, 8, r[f]);
    if (16 + f < nf) store_pix(op, out, (size_t)(f0 + 16 + f) * hw + p0, 8, __builtin_shuffle(r[f], (vi){8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15}));
  }
}
#define XK_RUNS 1
#else
#define XK_RUNS 0
#endif

static inline vf binary_value(vu mism, int K, vf scale, vf bias) {
  vi t = (vi){} + K - 2 * (vi)mism;  // exact integer, exactly representable as float
  vf prod = __builtin_convertvector(t, vf) * scale;
  return prod + bias;
}

// ---- bit output (link_bits) -------------------------------------------------------------------

// Bit i = lane i > 0 (NaN: 0), for lanes [0, XK_V).
static inline uint32_t gt0_mask(vf v) {
#if defined(__AVX512F__) && XK_V == 16
  return _mm512_cmp_ps_mask((__m512)v, _mm512_setzero_ps(), _CMP_GT_OQ);
#elif defined(__AVX2__) && XK_V == 8
  return (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps((__m256)v, _mm256_setzero_ps(), _CMP_GT_OQ));
#else
  uint32_t m = 0;
  for (int i = 0; i < XK_V; i++) m |= (v[i] > 0.0f ? 1u : 0u) << i;
  return m;
#endif
}

// Bits i = thr lo <= acc lane i <= lo + span, for lanes [0, XK_V).
static inline uint32_t in_mask(vu acc, vu lo, vu span) {
#if defined(__AVX512F__) && XK_V == 16
  return _mm512_cmple_epu32_mask((__m512i)(acc - lo), (__m512i)span);
#else
  const vu in = (vu)((acc - lo) <= span);
  uint32_t m = 0;
  for (int i = 0; i < XK_V; i++) m |= (in[i] & 1u) << i;
  return m;
#endif
}

// Word of output pixel p (flat index) in plane `plane` of the consumer's packed input.
static inline uint8_t* bits_at(const Op* op, int plane, size_t p) {
  return (uint8_t*)(op->bitsOut + (size_t)plane * op->bitsPS + (p / op->bitsW) * op->bitsRS + p % op->bitsW);
}

// Stores the bytes of filters [f0, f0 + nf) (bits at f % 32 of each lane's word, f0 % 8 == 0 and
// f0 % 32 + nf <= 32, checked by link_bits) of `count` consecutive output pixels from flat index
// p. Other bytes of the words belong to other filter blocks (maybe other threads): never touched.
static inline void store_bits(const Op* op, vu word, int f0, int nf, size_t p, int count) {
  const int byte0 = (f0 % 32) / 8, nbytes = (f0 % 32 + nf + 7) / 8 - byte0;
  uint8_t* dst = bits_at(op, f0 / 32, p);
#if defined(__AVX512F__) && XK_V == 16
  if (p % op->bitsW + count <= (size_t)op->bitsW) {
    const uint64_t pattern = (uint64_t)(((1u << nbytes) - 1) << byte0) * 0x1111111111111111ull;
    const uint64_t lanes = count >= 16 ? ~0ull : (1ull << (4 * count)) - 1;
    _mm512_mask_storeu_epi8(dst, pattern & lanes, (__m512i)word);
    return;
  }
#endif
  for (int l = 0; l < count; l++) {
    const uint32_t w = word[l];
    uint8_t* d = bits_at(op, f0 / 32, p + l);
    for (int b = byte0; b < byte0 + nbytes; b++) d[b] = (uint8_t)(w >> (8 * b));
  }
  (void)dst;
}

// The same for one pixel whose word (bits at f % 32) is w.
static inline void store_bits1(const Op* op, uint32_t w, int f0, int nf, size_t p) {
  const int byte0 = (f0 % 32) / 8, byte1 = (f0 % 32 + nf + 7) / 8;
  uint8_t* d = bits_at(op, f0 / 32, p);
  for (int b = byte0; b < byte1; b++) d[b] = (uint8_t)(w >> (8 * b));
}

// FIL tiles: filters f0 + j*XK_V + lane of pixel p in vectors v[j] (nf valid filters in all).
template <int NFV>
static inline void store_bits_fil(const Op* op, const vf* v, int f0, int nf, size_t p) {
  uint64_t m = 0;
  _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) m |= (uint64_t)gt0_mask(v[j]) << (j * XK_V);
  if (nf < 64) m &= (1ull << nf) - 1;
  store_bits1(op, (uint32_t)(m << (f0 % 32)), f0, nf, p);
}

// ---- kernels: pixels in lanes ------------------------------------------------------------------

// Row stride of an edge tile's input row copies (direct input): 48 floats of slack, 48, 48 more.
static const int kLineS = 9 * XK_V;

// Lanes of input row `row` at columns x0 .. x0 + XK_V - 1; columns outside [0, W) read as 0 (the
// zero padding of the padded layout).
static inline vf load_cols(const float* row, int x0, int W) {
#if defined(__AVX512F__) && XK_V == 16
  const int lo = imax(0, -x0), hi = imin(XK_V, W - x0);
  if (hi <= lo) return (vf){};
  const __mmask16 m = (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1));
  return (vf)_mm512_maskz_loadu_ps(m, row + x0);
#else
  vf v = (vf){};
  for (int i = 0; i < XK_V; i++)
    if (x0 + i >= 0 && x0 + i < W) v[i] = row[x0 + i];
  return v;
#endif
}

// DIRECT (op->direct, AVX-512 only): src is the caller's unpadded CHW input (no copy into inpad).
// A tap on a row outside the input is skipped and a column outside it reads 0: the padded layout
// adds w * 0 = +-0 there, which never changes the running sum (it starts at +0 and cannot become
// -0), so the results are the same bits. DIRECT 1: every tap inside (the padded loop, offsets
// dOff); 2: rows inside, a left or right edge (via zero-padded copies of its rows, dOffLine);
// 3: rows at the top or bottom edge, tap by tap.
template <int NF, int NV, bool FUSED = false, int DIRECT = 0>
static void float_pix_tile(const Op* op, const float* src, const float* w, float* out, int f0, int oy, int ox0, float* stash) {
  vf acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vf){};
  if constexpr (DIRECT == 3) {
    const int S = op->g.size, pad = op->g.pad, W = op->g.inW, H = op->g.inH;
    const size_t hw = (size_t)H * W;
    for (int c = 0, k = 0; c < op->g.inC; c++)
      for (int ky = 0; ky < S; ky++, k += S) {
        const int y = oy + ky - pad;
        if (y < 0 || y >= H) continue;
        const float* row = src + c * hw + (size_t)y * W;
        for (int kx = 0; kx < S; kx++) {
          vf x[NV];
          _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = load_cols(row, ox0 + kx - pad + v * XK_V, W);
          const float* wk = w + (size_t)(k + kx) * NF;
          _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
            const float s = wk[f];
            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = madd<FUSED>(acc[f][v], x[v], s);
          }
        }
      }
  } else {
    const int32_t* off = DIRECT ? op->dOff : op->off;
    const int kw = op->kw;
    if (DIRECT == 1) src += (size_t)(oy - op->g.pad) * op->g.inW + ox0 - op->g.pad;
    float lines[DIRECT == 2 ? 4 * 8 * kLineS : 1] __attribute__((aligned(64)));
    if (DIRECT == 2) {
      // A tile at the left or right edge: its input rows, zero outside the image, copied into
      // lines read by the same loop as the interior tiles (offsets dOffLine). Only whole-vector
      // loads inside the image (masked loads at the edges cost microcode assists here: edge tiles
      // took 3x an interior tile's time). Line r, column i (i = input column - x0, < 40 used) at
      // lines[r * kLineS + 48 + i]; the right edge's copy may start up to 47 floats before i = 0.
      const int S = op->g.size, W = op->g.inW, x0 = ox0 - op->g.pad;
      const size_t hw = (size_t)op->g.inH * W;
      for (int c = 0; c < op->g.inC; c++)
        for (int ky = 0; ky < S; ky++) {
          const float* row = src + c * hw + (size_t)(oy + ky - op->g.pad) * W;
          float* d = lines + (c * S + ky) * kLineS + 48;
          if (x0 < 0) {
            storef(d, (vf){});
            for (int i = 0; i < 3 * XK_V; i += XK_V) storef(d - x0 + i, loadf(row + i));
          } else {
            const int m = W - x0;  // columns left in the row
            for (int i = 0; i < 3 * XK_V; i += XK_V) storef(d + m - 3 * XK_V + i, loadf(row + W - 3 * XK_V + i));
            for (int i = 0; i < 3 * XK_V; i += XK_V) storef(d + m + i, (vf){});
          }
        }
      src = lines + 48;
      off = op->dOffLine;
    }
    for (int k = 0; k < kw; k++) {
      const float* p = src + off[k];
      vf x[NV];
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = loadf(p + v * XK_V);
      const float* wk = w + (size_t)k * NF;
      _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
        const float s = wk[f];
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = madd<FUSED>(acc[f][v], x[v], s);
      }
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

#if XK_NIBBLE
// Binary pixels-in-lanes counts where the ISA counts bits by nibble lookup (AVX2). The nibbles of x ^ w are those of x
// xor those of w, so an input vector is split once per tap for all the tile's filters and the weights were split when
// packed ([k][f] pairs: low nibbles, high nibbles, a byte each); the two lookups of a filter and vector add into
// 8-bit counts (at most 8 a tap), widened to the 16-bit halves popcnt_total expects every kNibbleTaps taps. Six vector
// instructions per filter, vector and tap against nine. With 4 x 2 tiles the per-tap state nearly fits the 16
// registers (GCC 12 keeps two byte counters on the stack); the totals, touched once per kNibbleTaps, live in memory.
static constexpr int kNibbleTaps = 31;  // 31 taps x 8 = 248: a byte holds it
static inline void nib_split(vu x, vu& lo, vu& hi);  // the low and the high nibble of each byte (ISA unit)
static inline vu nib_count(vu nibbles);               // each byte's bit count, from a nibble per byte (ISA unit)
static inline vu widen_bytes(vu counts);              // each 16-bit half: the sum of its two bytes (ISA unit)
static constexpr int kBinaryPixMaxNF = 4;
static constexpr int kBinaryPixWords = 2;  // words a (tap, filter) weight takes: nibble-split

// Taps [0, kw) of an A x B block of counts, kNibbleTaps at a time: tap(k, c8) adds tap k's byte counts (at most 8 a
// byte) into c8, which is widened into acc's 16-bit halves after each run of taps, before a byte can overflow. The
// one place that bound is kept, for the pixel and the filter tiles alike.
template <int A, int B, class Tap>
static inline __attribute__((always_inline)) void nibble_taps(int kw, vu (*acc)[B], Tap tap) {
  for (int k0 = 0; k0 < kw; k0 += kNibbleTaps) {
    const int k1 = imin(kw, k0 + kNibbleTaps);
    vu c8[A][B];
    _Pragma("GCC unroll 16") for (int a = 0; a < A; a++)
      _Pragma("GCC unroll 16") for (int b = 0; b < B; b++) c8[a][b] = (vu){};
    for (int k = k0; k < k1; k++) tap(k, c8);
    _Pragma("GCC unroll 16") for (int a = 0; a < A; a++)
      _Pragma("GCC unroll 16") for (int b = 0; b < B; b++) acc[a][b] += widen_bytes(c8[a][b]);
  }
}

template <int NF, int NV>
static inline void binary_pix_counts(const Op* op, const uint32_t* src, const uint32_t* w, vu (&acc)[NF][NV]) {
  static_assert(NF <= kBinaryPixMaxNF, "binary pixel tiles take at most kBinaryPixMaxNF filters here");
  const int32_t* off = op->off;
  nibble_taps<NF, NV>(op->kw, acc, [&](int k, vu (&c8)[NF][NV]) __attribute__((always_inline)) {
    const uint32_t* p = src + off[k];
    vu lo[NV], hi[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) nib_split(loadu(p + v * XK_V), lo[v], hi[v]);
    const uint32_t* wk = w + (size_t)k * NF * 2;
    _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
      const vu wl = (vu){} + wk[2 * f], wh = (vu){} + wk[2 * f + 1];
      // bytes stay below 256, so 32-bit lane adds are byte adds
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) c8[f][v] += nib_count(lo[v] ^ wl) + nib_count(hi[v] ^ wh);
    }
  });
}

// A packed binary weight of a pixels-in-lanes block: its low nibbles, then its high ones.
static inline void put_binary_pix_w(uint32_t* at, uint32_t word) {
  at[0] = word & 0x0f0f0f0fu;
  at[1] = (word >> 4) & 0x0f0f0f0fu;
}
// The same in a filters-in-lanes block: the high nibbles one tap-row of `width` words after the low ones.
static inline void put_binary_fil_w(uint32_t* at, int width, uint32_t word) {
  at[0] = word & 0x0f0f0f0fu;
  at[width] = (word >> 4) & 0x0f0f0f0fu;
}
#else
static constexpr int kBinaryPixMaxNF = XK_PNF;
static constexpr int kBinaryPixWords = 1;

template <int NF, int NV>
static inline void binary_pix_counts(const Op* op, const uint32_t* src, const uint32_t* w, vu (&acc)[NF][NV]) {
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
}

static inline void put_binary_pix_w(uint32_t* at, uint32_t word) { at[0] = word; }
static inline void put_binary_fil_w(uint32_t* at, int, uint32_t word) { at[0] = word; }
#endif

template <int NF, int NV>
static void binary_pix_tile(const Op* op, const uint32_t* src, const uint32_t* w, float* out, int f0, int oy, int ox0, float* stash) {
  vu acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vu){};
  binary_pix_counts<NF, NV>(op, src, w, acc);
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = popcnt_total(acc[f][v]);
  const int outW = op->g.outW;
  const size_t hw = (size_t)op->g.outH * outW;
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
    const vf sc = splat(op->scale[f0 + f]);
    const vf b = splat(op->bias[f0 + f]);
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      const int ox = ox0 + v * XK_V;
      const int count = imin(XK_V, outW - ox);
      if (count <= 0) continue;
      if (stash && op->bitsOut && op->thrLo) {  // bit output by count thresholds: the raw counts
        storeu((uint32_t*)stash + (f * 2 + v) * XK_V, acc[f][v]);
        continue;
      }
      const vf val = binary_value(acc[f][v], op->K, sc, b);
      if (stash) storef(stash + (f * 2 + v) * XK_V, val);
      else store_pix(op, out, (size_t)(f0 + f) * hw + (size_t)oy * outW + ox, count, val);
    }
  }
}

// The float output of a filters-in-lanes tile, the same for the float, binary and int8 tiles but for
// value(j, p): vector j (filters b.f0 + j * XK_V ..) of pixel p0 + p before activation. 8-pixel tiles
// go through store_fil_runs where the ISA has its transpose; otherwise each vector j of the NP pixels
// is computed before its stores (so value()'s loads are not redone after each store: out may alias
// them as far as the compiler knows) and stored a pixel at a time.
template <int NP, int NFV, class Value>
static inline void store_fil_tile(const Op* op, const Block& b, int p0, float* out, Value value) {
#if XK_RUNS
  if constexpr (NP == 8) {
    vf r[16];
    _Pragma("GCC unroll 16") for (int j = 0; j < 2; j++)
      _Pragma("GCC unroll 16") for (int p = 0; p < 8; p++) r[8 * j + p] = j < NFV ? value(j < NFV ? j : 0, p) : (vf){};
    store_fil_runs(op, out, b.f0, b.nf, p0, r);
    return;
  }
#endif
  _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) {
    const int nvalid = imin(XK_V, b.nf - j * XK_V);
    if (nvalid <= 0) break;
    vf v[NP];
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) v[p] = value(j, p);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) store_fil(op, out, b.f0 + j * XK_V, nvalid, p0 + p, v[p]);
  }
}

// ---- kernels: filters in lanes -----------------------------------------------------------------

// The tap loop every filters-in-lanes tile shares: per step k, NFV vectors of weights (filters in
// lanes) against one input element per pixel, acc[p][j] = Kind::step(acc[p][j], weights j, input
// of pixel p). The kinds (float, binary, int8) differ only in that step; their epilogues differ.
template <class Kind, int NP, int NFV>
static inline void fil_accumulate(const Op* op, const Block& b, const typename Kind::Elem* src, int p0, typename Kind::Acc (&acc)[NP][NFV]) {
  typedef typename Kind::Elem Elem;
  const Elem* w = (const Elem*)op->wpk + b.wofs;
  const int32_t* base = op->pixbase + p0;
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++)
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = (typename Kind::Acc){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  const Elem* sp[NP];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) sp[p] = src + base[p];
  for (int k = 0; k < kw; k++) {
    const int o = off[k];
    typename Kind::W wv[NFV];
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) wv[j] = Kind::load(w + ((size_t)k * NFV + j) * XK_V);
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      const Elem xs = sp[p][o];
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = Kind::step(acc[p][j], wv[j], xs);
    }
  }
}

template <bool FUSED>
struct FloatTaps {
  typedef float Elem;
  typedef vf Acc;
  typedef vf W;
  static vf load(const float* p) { return loadf(p); }
  static vf step(vf acc, vf w, float x) { return madd<FUSED>(acc, w, x); }
};

#if !XK_NIBBLE  // a unit that counts nibbles defines no popcnt_lanes
struct BinaryTaps {  // mismatches: popcount(w ^ x)
  typedef uint32_t Elem;
  typedef vu Acc;
  typedef vu W;
  static vu load(const uint32_t* p) { return loadu(p); }
  static vu step(vu acc, vu w, uint32_t x) { return acc + popcnt_lanes(w ^ x); }
};
#endif

template <int NP, int NFV, bool FUSED = false>
static void float_fil_tile(const Op* op, const Block& b, const float* src, int p0, float* out) {
  vf acc[NP][NFV];
  fil_accumulate<FloatTaps<FUSED>, NP, NFV>(op, b, src, p0, acc);
  const float* fb = op->fbias + (size_t)(b.f0);
  const auto value = [&](int j, int p) { return acc[p][j] + loadf(fb + j * XK_V); };
  if (op->bitsOut) {
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      vf v[NFV];
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) v[j] = value(j, p);
      store_bits_fil<NFV>(op, v, b.f0, b.nf, p0 + p);
    }
    return;
  }
  store_fil_tile<NP, NFV>(op, b, p0, out, value);
}

#if XK_NIBBLE
static constexpr int kBinaryFilWords = 2;  // a filters-in-lanes block's weights per tap: low-nibble vectors, high ones

// R pixels of a binary filters-in-lanes tile by nibble (as binary_pix_counts): each pixel's input word broadcast and
// split, the block's weights split when packed ([k][low | high][NFV vectors]).
template <int R, int NFV>
static inline void binary_fil_run(const Op* op, const uint32_t* w, const uint32_t* const* sp, vu (*acc)[NFV]) {
  const int32_t* off = op->off;
  nibble_taps<R, NFV>(op->kw, acc, [&](int k, vu (&c8)[R][NFV]) __attribute__((always_inline)) {
    const int o = off[k];
    vu wl[NFV], wh[NFV];
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) {
      wl[j] = loadu(w + ((size_t)k * 2 * NFV + j) * XK_V);
      wh[j] = loadu(w + ((size_t)k * 2 * NFV + NFV + j) * XK_V);
    }
    _Pragma("GCC unroll 16") for (int p = 0; p < R; p++) {
      vu lo, hi;
      nib_split((vu){} + sp[p][o], lo, hi);
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) c8[p][j] += nib_count(lo ^ wl[j]) + nib_count(hi ^ wh[j]);
    }
  });
}

// The tile's pixels in runs of 3 (or 2, 1), so counts, weights and the split input stay in the 16 registers; a run
// loads the weights again.
template <int NP, int NFV>
static inline void binary_fil_counts(const Op* op, const Block& b, const uint32_t* src, int p0, vu (&acc)[NP][NFV]) {
  const uint32_t* w = (const uint32_t*)op->wpk + b.wofs;
  const uint32_t* sp[NP];
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
    sp[p] = src + op->pixbase[p0 + p];
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = (vu){};
  }
  constexpr int RUN = NP % 3 == 0 ? 3 : NP % 2 == 0 ? 2 : 1;
  _Pragma("GCC unroll 16") for (int r = 0; r < NP; r += RUN) binary_fil_run<RUN, NFV>(op, w, sp + r, acc + r);
}
#else
static constexpr int kBinaryFilWords = 1;

template <int NP, int NFV>
static inline void binary_fil_counts(const Op* op, const Block& b, const uint32_t* src, int p0, vu (&acc)[NP][NFV]) {
  fil_accumulate<BinaryTaps, NP, NFV>(op, b, src, p0, acc);
}
#endif

template <int NP, int NFV>
static void binary_fil_tile(const Op* op, const Block& b, const uint32_t* src, int p0, float* out) {
  vu acc[NP][NFV];
  binary_fil_counts<NP, NFV>(op, b, src, p0, acc);
  _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++)
    _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) acc[p][j] = popcnt_total(acc[p][j]);
  const auto value = [&](int j, int p) {
    return binary_value(acc[p][j], op->K, loadf(op->fscale + b.f0 + j * XK_V), loadf(op->fbias + b.f0 + j * XK_V));
  };
  if (op->bitsOut && op->thrLo) {
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      uint64_t m = 0;
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++)
        m |= (uint64_t)in_mask(acc[p][j], loadu(op->thrLo + b.f0 + j * XK_V), loadu(op->thrSpan + b.f0 + j * XK_V)) << (j * XK_V);
      if (b.nf < 64) m &= (1ull << b.nf) - 1;
      store_bits1(op, (uint32_t)(m << (b.f0 % 32)), b.f0, b.nf, p0 + p);
    }
    return;
  }
  if (op->bitsOut) {
    _Pragma("GCC unroll 16") for (int p = 0; p < NP; p++) {
      vf v[NFV];
      _Pragma("GCC unroll 16") for (int j = 0; j < NFV; j++) v[j] = value(j, p);
      store_bits_fil<NFV>(op, v, b.f0, b.nf, p0 + p);
    }
    return;
  }
  store_fil_tile<NP, NFV>(op, b, p0, out, value);
}

// ---- fast precision: int8 kernels (only where the ISA unit defines XK_INT8 and dot4_lanes) --------
//
// A float convolution as u8 (input, per-frame scale s and zero point z) times s8 (weights, per-filter
// scale sw[f]) with exact int32 sums over k = (channel quad, ky, kx): 4 channels per 32-bit word, so
// the tiles are the binary ones with a 4-way dot product in place of XOR + popcount. Output:
// f(acc - z * sum(wq[f])) * (s * sw[f]) + bias[f]; the padding holds z, i.e. a real zero.
#ifndef XK_INT8
#define XK_INT8 0
#endif
#if XK_INT8
static inline vi dot4_lanes(vi acc, vu u8, vu s8);  // defined by the ISA unit

struct Q8Taps {  // 4 u8 inputs x 4 s8 weights per 32-bit lane
  typedef uint32_t Elem;
  typedef vi Acc;
  typedef vu W;
  static vu load(const uint32_t* p) { return loadu(p); }
  static vi step(vi acc, vu w, uint32_t x) { return dot4_lanes(acc, (vu){} + x, w); }
};

static inline vf q8_value(vi acc, vi zs, vf sc, vf bias) { return __builtin_convertvector(acc - zs, vf) * sc + bias; }

template <int NF, int NV>
static void q8_pix_tile(const Op* op, const uint32_t* src, const uint32_t* w, float* out, int f0, int oy, int ox0, float* stash) {
  vi acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vi){};
  const int32_t* off = op->off;
  const int kw = op->kw;
  for (int k = 0; k < kw; k++) {
    const uint32_t* p = src + off[k];
    vu x[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = loadu(p + v * XK_V);
    const uint32_t* wk = w + (size_t)k * NF;
    _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
      const vu s = (vu){} + wk[f];
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = dot4_lanes(acc[f][v], x[v], s);
    }
  }
  const int outW = op->g.outW;
  const size_t hw = (size_t)op->g.outH * outW;
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
    const vf sc = splat(op->qscale[f0 + f]);
    const vi zs = (vi){} + op->qzs[f0 + f];
    const vf b = splat(op->bias[f0 + f]);
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      const int ox = ox0 + v * XK_V;
      const int count = imin(XK_V, outW - ox);
      if (count <= 0) continue;
      const vf val = q8_value(acc[f][v], zs, sc, b);
      if (stash) storef(stash + (f * 2 + v) * XK_V, val);
      else store_pix(op, out, (size_t)(f0 + f) * hw + (size_t)oy * outW + ox, count, val);
    }
  }
}

template <int NP, int NFV>
static void q8_fil_tile(const Op* op, const Block& b, const uint32_t* src, int p0, float* out) {
  vi acc[NP][NFV];
  fil_accumulate<Q8Taps, NP, NFV>(op, b, src, p0, acc);
  store_fil_tile<NP, NFV>(op, b, p0, out, [&](int j, int p) {
    return q8_value(acc[p][j], (vi)loadu((const uint32_t*)op->qzs + b.f0 + j * XK_V), loadf(op->qscale + b.f0 + j * XK_V),
                    loadf(op->fbias + b.f0 + j * XK_V));
  });
}
#endif

// ---- tile dispatch -----------------------------------------------------------------------------

// PIX variants: NF in {XK_PNF, XK_PNF/2, ..., 1} (index 0..), NV in {1, 2}; an ISA unit may give its own four
// (XK_PNF_VARIANTS), largest first: blocks take the largest that fits the filters left.
#ifdef XK_PNF_VARIANTS
static constexpr int kPixNF[] = {XK_PNF_VARIANTS};
static_assert(kPixNF[0] == XK_PNF && sizeof kPixNF / sizeof kPixNF[0] == 4 && kPixNF[3] == 1, "XK_PNF first, four variants, 1 last");
static_assert(kPixNF[0] >= kPixNF[1] && kPixNF[1] >= kPixNF[2] && kPixNF[2] >= kPixNF[3], "largest first: blocks take the first that fits");
#else
static constexpr int kPixNF[] = {XK_PNF, XK_PNF / 2 > 0 ? XK_PNF / 2 : 1, XK_PNF / 4 > 0 ? XK_PNF / 4 : 1, 1};
#endif

template <int NF, int NV, bool FUSED>
static void float_pix_direct_nv(const Op* op, const float* wf, float* out, int f0, int oy, int ox0, float* stash) {
  const int S = op->g.size, pad = op->g.pad;
  const float* in = op->din;
  if (oy - pad < 0 || oy - pad + S > op->g.inH) float_pix_tile<NF, NV, FUSED, 3>(op, in, wf, out, f0, oy, ox0, stash);
  else if (ox0 - pad >= 0 && ox0 - pad + NV * XK_V + S - 1 <= op->g.inW) float_pix_tile<NF, NV, FUSED, 1>(op, in, wf, out, f0, oy, ox0, stash);
  else float_pix_tile<NF, NV, FUSED, 2>(op, in, wf, out, f0, oy, ox0, stash);
}

template <int NF, bool FUSED>
static void float_pix_direct(const Op* op, const void* w, float* out, int f0, int oy, int ox0, float* stash) {
  const float* wf = (const float*)w;
  if (op->nv == 2 && NF <= 8) float_pix_direct_nv<NF, 2, FUSED>(op, wf, out, f0, oy, ox0, stash);
  else if (op->nv == 2) {
    float_pix_direct_nv<NF, 1, FUSED>(op, wf, out, f0, oy, ox0, stash);
    float_pix_direct_nv<NF, 1, FUSED>(op, wf, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash);
  } else float_pix_direct_nv<NF, 1, FUSED>(op, wf, out, f0, oy, ox0, stash);
}

template <int NF>
static void pix_tile_nf(const Op* op, const void* src, const void* w, float* out, int f0, int oy, int ox0, float* stash) {
#if XK_INT8
  if (op->q8) {
    if (op->nv == 2 && NF <= 8) q8_pix_tile<NF, 2>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
    else if (op->nv == 2) { q8_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash); q8_pix_tile<NF, 1>(op, (const uint32_t*)src + XK_V, (const uint32_t*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
    else q8_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
    return;
  }
#endif
  if (op->binary) {
    if constexpr (NF <= kBinaryPixMaxNF) {
      if (op->nv == 2 && NF <= 8) binary_pix_tile<NF, 2>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
      else if (op->nv == 2) { binary_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash); binary_pix_tile<NF, 1>(op, (const uint32_t*)src + XK_V, (const uint32_t*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
      else binary_pix_tile<NF, 1>(op, (const uint32_t*)src, (const uint32_t*)w, out, f0, oy, ox0, stash);
    } else {
      __builtin_trap();  // build_blocks makes no binary block wider than kBinaryPixMaxNF: never leave one uncomputed
    }
  } else {
    if (op->direct) {
#if XK_FMA
      if (op->fma) {
        float_pix_direct<NF, true>(op, w, out, f0, oy, ox0, stash);
        return;
      }
#endif
      float_pix_direct<NF, false>(op, w, out, f0, oy, ox0, stash);
      return;
    }
#if XK_FMA
    if (op->fma) {
      if (op->nv == 2 && NF <= 8) float_pix_tile<NF, 2, true>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
      else if (op->nv == 2) { float_pix_tile<NF, 1, true>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash); float_pix_tile<NF, 1, true>(op, (const float*)src + XK_V, (const float*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
      else float_pix_tile<NF, 1, true>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
      return;
    }
#endif
    if (op->nv == 2 && NF <= 8) float_pix_tile<NF, 2>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
    else if (op->nv == 2) { float_pix_tile<NF, 1>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash); float_pix_tile<NF, 1>(op, (const float*)src + XK_V, (const float*)w, out, f0, oy, ox0 + XK_V, stash ? stash + XK_V : stash); }
    else float_pix_tile<NF, 1>(op, (const float*)src, (const float*)w, out, f0, oy, ox0, stash);
  }
}

static void pix_tile(const Op* op, const Block& b, int oy, int ox0, float* out, float* stash) {
  const char* src = op->direct ? nullptr : (const char*)op->inpad + 4 * ((size_t)b.g * op->planes * op->PS + (size_t)oy * op->g.stride * op->RS + ox0);
  const char* w = (const char*)op->wpk + 4 * b.wofs;
  switch (b.variant) {
    case 0: pix_tile_nf<kPixNF[0]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    case 1: pix_tile_nf<kPixNF[1]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    case 2: pix_tile_nf<kPixNF[2]>(op, src, w, out, b.f0, oy, ox0, stash); break;
    default: pix_tile_nf<1>(op, src, w, out, b.f0, oy, ox0, stash); break;
  }
}

// Direct input: asks for the input rows that output rows [oy, oy + n) add to the ones before, a
// row of work ahead (a new row's first tile otherwise waits for them: the image is 2 MB, not in L2).
static void prefetch_rows(const Op* op, int oy, int n) {
  const XkGeom& g = op->g;
  const size_t hw = (size_t)g.inH * g.inW;
  for (int y = oy + g.size - 1 - g.pad; y < oy + n + g.size - 1 - g.pad; y++) {
    if (y < 0 || y >= g.inH) continue;
    for (int c = 0; c < g.inC; c++) {
      const char* row = (const char*)(op->din + c * hw + (size_t)y * g.inW);
      for (int i = 0; i < g.inW * 4; i += 64) __builtin_prefetch(row + i);
    }
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

// Whether every lane of a comparison mask is set.
static inline bool all_lanes(vi mask) {
#if defined(__AVX512F__) && XK_V == 16
  return _mm512_cmpneq_epi32_mask((__m512i)mask, _mm512_setzero_si512()) == 0xFFFF;
#elif defined(__AVX2__) && XK_V == 8
  return _mm256_movemask_ps((__m256)mask) == 0xFF;
#else
  for (int i = 0; i < XK_V; i++)
    if (!mask[i]) return false;
  return true;
#endif
}

// 2x2/2 max of conv rows a (a0 a1: 2*XK_V columns) and b in darknet's tap order (row a: x, x+1;
// row b: x, x+1), starting from `lo`, a tap winning only when greater: the first of equal values wins.
static inline vf max4(vf a0, vf a1, vf b0, vf b1, vf lo) {
  const vf ea = __builtin_shuffle(a0, a1, XK_EVEN), oa = __builtin_shuffle(a0, a1, XK_ODD);
  const vf eb = __builtin_shuffle(b0, b1, XK_EVEN), ob = __builtin_shuffle(b0, b1, XK_ODD);
  vf m = ea > lo ? ea : lo;
  m = oa > m ? oa : m;
  m = eb > m ? eb : m;
  return ob > m ? ob : m;
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
      // Max of the raw values, then one activation instead of four (the activations are monotonic).
      // That is bit-exact where every lane's max is positive or below -1e-30 and some tap was
      // taken (m > -FLT_MAX): then act(max) is nonzero, so any earlier tap with the same activated
      // value has the same bits; else (a zero or tiny max, whose sign could differ; all-NaN
      // windows) this vector goes the exact way: activate each conv value, then pool. Fast
      // precision skips the check. Not in the leaky tail, which activates differently.
      vf m;
      bool late = ((size_t)(b.f0 + f) * op->g.outH + 2 * py + 2) * op->g.outW <= (size_t)op->tailStart;
      if (late) {
        m = max4(loadf(ra), loadf(ra + XK_V), loadf(rb), loadf(rb + XK_V), lo);
        late = op->fma || op->q8 || all_lanes((m > 0.0f) | ((m < -1e-30f) & (m > lo)));
        if (late) m = activate(m, op->g.act);
      }
      if (!late) {
        activate_stash(op, ra, b.f0 + f, 2 * py, ox0);
        activate_stash(op, rb, b.f0 + f, 2 * py + 1, ox0);
        m = max4(loadf(ra), loadf(ra + XK_V), loadf(rb), loadf(rb + XK_V), lo);
      }
      float* o = out + (size_t)(b.f0 + f) * phw + (size_t)py * pw + px0;
      if (count == XK_V) storef(o, m);
      else
        for (int i = 0; i < count; i++) o[i] = m[i];
    }
  }
}

#include "sign_estimate_impl.h"

// A PIX tile whose stash only the sign of is read (bit output): from the int16 sign estimate where
// this frame has one, else the float tile.
static inline void pix_tile_signs(const Op* op, const Block& b, int oy, int ox0, float* stash) {
#if XK_EST
  if (est_on(op)) return est_pix(op, b, oy, ox0, stash);
#endif
  pix_tile(op, b, oy, ox0, nullptr, stash);
}

// Bit output of a pooled row (2x2/2): bit = some conv value of the window > 0, which is exactly
// (max of the activated values) > 0 for linear, leaky and relu (x > 0 iff act(x) > 0; a tap wins
// only when greater, so the max is > 0 iff a tap is). The per-filter words are ORed lane-wise, so
// the pixels-in-lanes layout needs no transposition.
static void pix_row_pooled_bits(const Op* op, const Block& b, int py) {
  float sa[XK_PNF * 2 * XK_V] __attribute__((aligned(64))) = {};
  float sb[XK_PNF * 2 * XK_V] __attribute__((aligned(64))) = {};
  const int step = XK_V * op->nv, pw = op->pw;
  if (op->direct && b.f0 == 0 && !est_on(op)) prefetch_rows(op, 2 * py + 2, 2);
  for (int ox0 = 0; ox0 < 2 * pw; ox0 += step) {
    pix_tile_signs(op, b, 2 * py, ox0, sa);
    pix_tile_signs(op, b, 2 * py + 1, ox0, sb);
    const int px0 = ox0 / 2, count = imin(step / 2, pw - px0);
    vu w0 = (vu){}, w1 = (vu){};
    if (op->thrLo) {  // raw counts (binary_pix_tile): in the filter's range of counts
#if defined(__AVX512F__) && XK_V == 16
      // Mask registers straight into a masked OR. A range starting at 0 (positive scale: few
      // mismatches = positive) holds some tap's count iff it holds the smallest; a range reaching
      // K (negative scale) iff it holds the largest; other ranges test each tap.
      const uint32_t K = (uint32_t)op->K;
      for (int f = 0; f < b.nf; f++) {
        const __m512i bit = _mm512_set1_epi32((int)(1u << ((b.f0 + f) % 32)));
        const uint32_t lo = op->thrLo[b.f0 + f], span = op->thrSpan[b.f0 + f];
        const __m512i* ra = (const __m512i*)((const uint32_t*)sa + f * 2 * XK_V);
        const __m512i* rb = (const __m512i*)((const uint32_t*)sb + f * 2 * XK_V);
        const __m512i a0 = _mm512_loadu_si512(ra), a1 = _mm512_loadu_si512(ra + 1);
        const __m512i b0 = _mm512_loadu_si512(rb), b1 = _mm512_loadu_si512(rb + 1);
        const __m512i vlo = _mm512_set1_epi32((int)lo), vspan = _mm512_set1_epi32((int)span);
        __mmask16 k0, k1;
        if (lo == 0) {
          k0 = _mm512_cmple_epu32_mask((__m512i)vumin((vu)a0, (vu)b0), vspan);
          k1 = _mm512_cmple_epu32_mask((__m512i)vumin((vu)a1, (vu)b1), vspan);
        } else if (lo + span >= K) {
          k0 = _mm512_cmpge_epu32_mask((__m512i)vumax((vu)a0, (vu)b0), vlo);
          k1 = _mm512_cmpge_epu32_mask((__m512i)vumax((vu)a1, (vu)b1), vlo);
        } else {
          k0 = _mm512_cmple_epu32_mask(_mm512_sub_epi32(a0, vlo), vspan) | _mm512_cmple_epu32_mask(_mm512_sub_epi32(b0, vlo), vspan);
          k1 = _mm512_cmple_epu32_mask(_mm512_sub_epi32(a1, vlo), vspan) | _mm512_cmple_epu32_mask(_mm512_sub_epi32(b1, vlo), vspan);
        }
        w0 = (vu)_mm512_mask_or_epi32((__m512i)w0, k0, (__m512i)w0, bit);
        w1 = (vu)_mm512_mask_or_epi32((__m512i)w1, k1, (__m512i)w1, bit);
      }
      if (false)
#endif
      for (int f = 0; f < b.nf; f++) {
        const vu bit = (vu){} + (1u << ((b.f0 + f) % 32));
        const vu lo = (vu){} + op->thrLo[b.f0 + f], span = (vu){} + op->thrSpan[b.f0 + f];
        const uint32_t* ra = (const uint32_t*)sa + f * 2 * XK_V;
        const uint32_t* rb = (const uint32_t*)sb + f * 2 * XK_V;
        w0 |= (vu)(((loadu(ra) - lo) <= span) | ((loadu(rb) - lo) <= span)) & bit;
        w1 |= (vu)(((loadu(ra + XK_V) - lo) <= span) | ((loadu(rb + XK_V) - lo) <= span)) & bit;
      }
    } else {
#if defined(__AVX512F__) && XK_V == 16
      for (int f = 0; f < b.nf; f++) {
        const __m512i bit = _mm512_set1_epi32((int)(1u << ((b.f0 + f) % 32)));
        const float* ra = sa + f * 2 * XK_V;
        const float* rb = sb + f * 2 * XK_V;
        const __mmask16 k0 = (__mmask16)(gt0_mask(loadf(ra)) | gt0_mask(loadf(rb)));
        const __mmask16 k1 = (__mmask16)(gt0_mask(loadf(ra + XK_V)) | gt0_mask(loadf(rb + XK_V)));
        w0 = (vu)_mm512_mask_or_epi32((__m512i)w0, k0, (__m512i)w0, bit);
        w1 = (vu)_mm512_mask_or_epi32((__m512i)w1, k1, (__m512i)w1, bit);
      }
      if (false)
#endif
      for (int f = 0; f < b.nf; f++) {
        const vu bit = (vu){} + (1u << ((b.f0 + f) % 32));
        const float* ra = sa + f * 2 * XK_V;
        const float* rb = sb + f * 2 * XK_V;
        w0 |= (vu)((loadf(ra) > 0.0f) | (loadf(rb) > 0.0f)) & bit;
        w1 |= (vu)((loadf(ra + XK_V) > 0.0f) | (loadf(rb + XK_V) > 0.0f)) & bit;
      }
    }
    const vu pooled = __builtin_shuffle(w0, w1, (vu)XK_EVEN) | __builtin_shuffle(w0, w1, (vu)XK_ODD);
    store_bits(op, pooled, b.f0, b.nf, (size_t)py * pw + px0, count);
  }
}

// Bit output of an unpooled row: bit = conv value > 0 (= activated value > 0).
static void pix_row_bits(const Op* op, const Block& b, int oy) {
  float st[XK_PNF * 2 * XK_V] __attribute__((aligned(64))) = {};
  const int outW = op->g.outW;
  for (int ox0 = 0; ox0 < outW; ox0 += XK_V * op->nv) {
    pix_tile_signs(op, b, oy, ox0, st);
    for (int v = 0; v < op->nv; v++) {
      const int count = imin(XK_V, outW - (ox0 + v * XK_V));
      if (count <= 0) break;
      vu w = (vu){};
      if (op->thrLo)
        for (int f = 0; f < b.nf; f++)
          w |= (vu)((loadu((const uint32_t*)st + (f * 2 + v) * XK_V) - op->thrLo[b.f0 + f]) <= ((vu){} + op->thrSpan[b.f0 + f])) &
               ((vu){} + (1u << ((b.f0 + f) % 32)));
      else
        for (int f = 0; f < b.nf; f++) w |= (vu)(loadf(st + (f * 2 + v) * XK_V) > 0.0f) & ((vu){} + (1u << ((b.f0 + f) % 32)));
      store_bits(op, w, b.f0, b.nf, (size_t)oy * outW + ox0 + v * XK_V, count);
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
#if XK_INT8
  if (op->q8) {
    const uint32_t* src = (const uint32_t*)op->inpad + gofs;
    if (b.variant == 0) {
      if (np == XK_FNP) q8_fil_tile<XK_FNP, XK_FNFV>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) q8_fil_tile<1, XK_FNFV>(op, b, src, p0 + p, out);
    } else {
      if (np == XK_FNP) q8_fil_tile<XK_FNP, 1>(op, b, src, p0, out);
      else for (int p = 0; p < np; p++) q8_fil_tile<1, 1>(op, b, src, p0 + p, out);
    }
    return;
  }
#endif
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
#if XK_FMA
    if (op->fma) {
      if (b.variant == 0) {
        if (np == XK_FNP) float_fil_tile<XK_FNP, XK_FNFV, true>(op, b, src, p0, out);
        else for (int p = 0; p < np; p++) float_fil_tile<1, XK_FNFV, true>(op, b, src, p0 + p, out);
      } else {
        if (np == XK_FNP) float_fil_tile<XK_FNP, 1, true>(op, b, src, p0, out);
        else for (int p = 0; p < np; p++) float_fil_tile<1, 1, true>(op, b, src, p0 + p, out);
      }
      return;
    }
#endif
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
  // filter of a group and pays a scalar store per output element (AVX-512: about a third of one,
  // stored as runs after a transpose; measured: 26x26 128->256 3x3 13% faster as FIL, 1x1 layers
  // of 13x13 and 26x26 10-15% slower).
  const int nv = choose_nv(g.outW);
  const double hw = (double)g.outH * g.outW;
  const double pix = (double)g.outC * g.outH * (rup(g.outW, XK_V * nv) / XK_V) * kw;
  const double fil = (double)g.groups * (rup(opg, XK_V) / XK_V) * hw * kw + (double)g.outC * hw * (XK_RUNS ? 0.35 : 1.0);
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
  free(op->wq8);
  free(op->wscale);
  free(op->wsum);
  free(op->qscale);
  free(op->qzs);
  free(op->thrLo);
  free(op->thrSpan);
  free(op->convbits);
  free(op->linkedPlanes);
  free(op->dOff);
  free(op->dOffLine);
  for (int i = 0; i < op->ndests; i++)
    for (int j = 0; j < op->dests[i].nsteps; j++) free(op->dests[i].tmp[j]);
  free(op->dests);
#if XK_EST
  free_est(op->est);
#endif
  free(op);
}

// Common layout: padded input planes, each row split into `stride` phases so that the inputs of
// consecutive output pixels for one tap are consecutive in memory.
static Op* new_op(const XkGeom* g, int binary, int q8 = 0, int amx = 0) {
  Op* op = (Op*)zalloc(sizeof(Op));
  if (!op) return nullptr;
  op->g = *g;
  op->binary = binary;
  op->q8 = q8;
  op->lastZp = -1;
  op->cpg = g->inC / g->groups;
  op->opg = g->outC / g->groups;
  const int s = g->stride;
  const int wpad = g->inW + 2 * g->pad, hpad = g->inH + 2 * g->pad;
  op->amx = amx;
  if (amx) op->shape = PIX;
  op->planes = amx ? rup((g->inC + 3) / 4, 16) : binary ? (g->inC + 31) / 32 : q8 ? (g->inC + 3) / 4 : op->cpg;
  op->kw = op->planes * g->size * g->size;
  // With 16 or fewer input channels a 32-bit word would be half empty: pack two taps into one
  // word instead. The taps t = ky * size + kx go in pairs (t, t+1) in row-major order: a pair in
  // one kernel row reads plane 0 (pixel j | pixel j+1 << 16), a pair across a row end (an odd
  // size) plane 2 (pixel j + size-1 | pixel j of the next row << 16), the odd last tap plane 1
  // (pixel j alone; the plane a linked producer writes). A 3x3 kernel takes 5 words per output.
  op->pairs = binary && !amx && g->inC <= 16 && s == 1 && g->size >= 2;
  if (op->pairs) {
    op->planes = g->size % 2 ? 3 : 2;
    op->kw = (g->size * g->size + 1) / 2;
  }
  op->shape = amx ? PIX : choose_shape(*g, op->kw, op->opg);
  if (g->poolSize > 0) {
    op->poolSize = g->poolSize;
    op->poolStride = g->poolStride;
    op->poolOffset = -g->poolPadding / 2;
    op->ph = (g->outH + g->poolPadding - g->poolSize) / g->poolStride + 1;
    op->pw = (g->outW + g->poolPadding - g->poolSize) / g->poolStride + 1;
    const bool fusable = g->poolSize == 2 && g->poolStride == 2 && op->poolOffset == 0 && 2 * op->ph <= g->outH &&
                         2 * op->pw <= g->outW && g->shape != FIL;
    op->pool = fusable && !amx ? 1 : 2;
    if (op->pool == 1) op->shape = PIX;
  }
  // PIX tiles read whole vectors past the row end (lanes that are never stored): give each phase
  // room for them. FIL reads only real taps.
  op->Lph = (wpad + s - 1) / s;
  if (op->shape == PIX && !amx) op->Lph = imax(op->Lph, rup(g->outW, 2 * XK_V) + (g->size - 1) / s) + 1;
  op->RS = s * op->Lph;
  op->Hp = hpad;
  op->PS = op->Hp * op->RS;
  op->K = g->size * g->size * g->inC;
  op->n = g->outC * g->outH * g->outW;
  op->tailStart = g->act == XK_LEAKY ? op->n - (op->n % 8 ? op->n % 8 : 8) : op->n;
  const int totalPlanes = binary || q8 ? op->planes : g->inC;
  op->inpad = zalloc((size_t)totalPlanes * op->PS * 4 + 4 * (64 + op->RS));
  op->off = (int32_t*)zalloc((size_t)op->kw * 4);
  op->bias = (float*)zalloc((size_t)g->outC * 4);
  op->scale = (float*)zalloc((size_t)g->outC * 4);
  if (!op->inpad || !op->off || !op->bias || !op->scale) { free_op(op); return nullptr; }
  int k = 0;
  if (op->pairs) {
    const int S = g->size, T = S * S;
    for (int t = 0; t < T; t += 2) {
      const int ky = t / S, kx = t % S;
      op->off[k++] = t + 1 == T ? op->PS + ky * op->RS + kx : kx + 1 < S ? ky * op->RS + kx : 2 * op->PS + ky * op->RS;
    }
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
  if (op->pairs) {  // taps 2k (bits 0..15) and 2k+1 (bits 16..31), row-major
    uint32_t word = 0;
    for (int t = 0; t < 2 && 2 * k + t < ss; t++)
      for (int c = 0; c < op->g.inC; c++)
        if (w[((size_t)f * op->g.inC + c) * ss + 2 * k + t] > 0) word |= 1u << (16 * t + c);
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

// q8: the 4 quantized weights of channels 4*cq.. at tap t, k = (cq, t), as one word (byte i = channel 4cq+i).
static uint32_t q8_w(const Op* op, int f, int k) {
  const int ss = op->g.size * op->g.size, cq = k / ss, t = k % ss;
  uint32_t word = 0;
  for (int i = 0; i < 4 && 4 * cq + i < op->g.inC; i++)
    word |= (uint32_t)(uint8_t)op->wq8[((size_t)f * op->g.inC + 4 * cq + i) * ss + t] << (8 * i);
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
        // Float tiles two vectors wide take at most 8 filters (16 accumulators): with 16 filters x 1
        // vector every multiply-add needs its own weight broadcast load, and loads become the limit.
        int v = !op->binary && !op->q8 && op->nv == 2 && kPixNF[0] > 8 && kPixNF[1] == 8 ? 1 : 0;
        while (kPixNF[v] > op->opg - f || (op->binary && kPixNF[v] > kBinaryPixMaxNF)) v++;
        Block& b = op->blocks[nb++];
        b.g = gi; b.f0 = gi * op->opg + f; b.nf = kPixNF[v]; b.variant = v; b.wofs = wtotal;
        wtotal += (size_t)b.nf * op->kw * (op->binary ? kBinaryPixWords : 1);
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
        wtotal += (size_t)(b.variant == 0 ? XK_FNFV : 1) * XK_V * op->kw * (op->binary ? kBinaryFilWords : 1);
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
        if (op->q8) ((uint32_t*)op->wpk)[at] = q8_w(op, b.f0 + j, k);
        else if (op->binary && op->shape == PIX) put_binary_pix_w((uint32_t*)op->wpk + b.wofs + ((size_t)k * width + j) * kBinaryPixWords, binary_w(op, w, b.f0 + j, k));
        else if (op->binary) put_binary_fil_w((uint32_t*)op->wpk + b.wofs + (size_t)k * kBinaryFilWords * width + j, width, binary_w(op, w, b.f0 + j, k));
        else ((float*)op->wpk)[at] = float_w(op, w, b.f0 + j, k);
      }
  }
  snprintf(op->desc, sizeof op->desc, "%s %s V=%d%s%s", op->binary ? "binary" : op->q8 ? "int8 (fast precision)" : "float",
           op->shape == PIX ? "pixels-in-lanes" : "filters-in-lanes", XK_V,
           op->shape == PIX ? (op->nv == 2 ? " NV=2" : " NV=1") : "", op->pairs ? (op->planes == 3 ? " 2-taps-per-word (rows wrap)" : " 2-taps-per-word") : "");
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

static Op* new_float_op(const XkGeom* g, const float* w, const float* bias) {
  Op* op = new_op(g, 0);
  if (!op) return nullptr;
  memcpy(op->bias, bias, (size_t)g->outC * 4);
  if (!build_blocks(op, w) || !prepare_pool(op)) { free_op(op); return nullptr; }
  if (op->shape == FIL) memcpy(op->fbias, bias, (size_t)g->outC * 4);
  // A network's first layer (3 channels, the largest input): reading it in place saves a copy of
  // the whole image per frame (yolov3-tiny @416: ~0.1 ms of 1.9); with many channels the copy is
  // small next to the convolution, and in narrow inputs most tiles are border tiles (slower).
#if defined(__AVX512F__) && XK_V == 16
  op->direct = op->shape == PIX && g->stride == 1 && g->groups == 1 && g->inC <= 4 && g->size <= 8 && g->inW >= 160;
#endif
  if (op->direct) {
    op->dOff = (int32_t*)zalloc((size_t)op->kw * 4);
    op->dOffLine = (int32_t*)zalloc((size_t)op->kw * 4);
    if (!op->dOff || !op->dOffLine) { free_op(op); return nullptr; }
    for (int c = 0, k = 0; c < g->inC; c++)
      for (int ky = 0; ky < g->size; ky++)
        for (int kx = 0; kx < g->size; kx++, k++) {
          op->dOff[k] = (c * g->inH + ky) * g->inW + kx;
          op->dOffLine[k] = (c * g->size + ky) * kLineS + kx;
        }
    free(op->inpad);
    op->inpad = nullptr;
  }
  return op;
}

// Exact precision: darknet's float32 arithmetic, and for bit output the int16 sign estimate where
// the ISA has it (the same bits, ~25% faster on a first layer). Fast precision's FMA op takes the
// estimate for bit output too (prepare_float_fast).
static void* prepare_float(const XkGeom* g, const float* w, const float* bias) {
  Op* op = new_float_op(g, w, bias);
#if XK_EST
  if (op) op->est = prepare_est(op, w);
  if (op && op->est) {
    const size_t l = strlen(op->desc);
    snprintf(op->desc + l, sizeof op->desc - l, " +int16 sign estimate for bit output");
  }
#endif
  return op;
}

#if defined(XK_AMX) && XK_AMX
static bool amx_wanted(const XkGeom* g, bool binary);
static Op* amx_op(const XkGeom* g, int binary);
static bool amx_pack_weights(Op* op, const float* w);
#endif

static void* prepare_binary(const XkGeom* g, const float* w, const float* scale, const float* bias) {
  if (g->groups != 1) return nullptr;
#if defined(XK_AMX) && XK_AMX
  if (amx_wanted(g, true)) {
    Op* op = amx_op(g, 1);
    if (!op) return nullptr;
    memcpy(op->bias, bias, (size_t)g->outC * 4);
    memcpy(op->scale, scale, (size_t)g->outC * 4);
    if (!amx_pack_weights(op, w) || !prepare_pool(op)) { free_op(op); return nullptr; }
    return op;
  }
#endif
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

#if XK_FMA
// Fast precision's float convolution: the float kernels with FMA (any groups).
static void* prepare_float_fma(const XkGeom* g, const float* w, const float* bias) {
  Op* op = new_float_op(g, w, bias);
  if (!op) return nullptr;
  op->fma = 1;
  size_t l = strlen(op->desc);
  snprintf(op->desc + l, sizeof op->desc - l, " FMA (fast precision)");
#if XK_EST
  // Bit output still comes from the int16 sign estimate: darknet's exact bits, and on the 2-core
  // Zen 4 reference machine faster than the FMA tiles (layer 0 @416: 1.51 against 1.72 ms).
  op->est = prepare_est(op, w);
  l = strlen(op->desc);
  if (op->est) snprintf(op->desc + l, sizeof op->desc - l, " +int16 sign estimate for bit output");
#endif
  return op;
}
#endif

#if XK_INT8

// mode 1: the float kernels with FMA (any groups). mode 2: int8 (groups 1), symmetric per-filter
// weights: sw = max|w| / 127, wq = round(w / sw).
static void* prepare_float_fast(const XkGeom* g, const float* w, const float* bias, int mode) {
  if (mode == 1) return prepare_float_fma(g, w, bias);
  if (g->groups != 1) return nullptr;
#if XK_AMX
  Op* op = amx_wanted(g, false) ? amx_op(g, 0) : new_op(g, 0, 1);
#else
  Op* op = new_op(g, 0, 1);
#endif
  if (!op) return nullptr;
  const int per = g->inC * g->size * g->size;
  op->wq8 = (int8_t*)zalloc((size_t)g->outC * per);
  op->wscale = (float*)zalloc((size_t)g->outC * 4);
  op->wsum = (int32_t*)zalloc((size_t)g->outC * 4);
  op->qscale = (float*)zalloc(((size_t)g->outC + 64) * 4);
  op->qzs = (int32_t*)zalloc(((size_t)g->outC + 64) * 4);
  if (!op->wq8 || !op->wscale || !op->wsum || !op->qscale || !op->qzs) { free_op(op); return nullptr; }
  for (int f = 0; f < g->outC; f++) {
    const float* wf = w + (size_t)f * per;
    float m = 0;
    for (int i = 0; i < per; i++) m = wf[i] > m ? wf[i] : -wf[i] > m ? -wf[i] : m;
    const float sw = m > 0 ? m / 127.0f : 1.0f;
    int32_t sum = 0;
    for (int i = 0; i < per; i++) {
      float q = wf[i] / sw;
      q = q >= 0 ? q + 0.5f : q - 0.5f;
      const int qi = imax(-127, imin(127, (int)q));
      op->wq8[(size_t)f * per + i] = (int8_t)qi;
      sum += qi;
    }
    op->wscale[f] = sw;
    op->wsum[f] = sum;
  }
  memcpy(op->bias, bias, (size_t)g->outC * 4);
#if XK_AMX
  const bool built = op->amx ? amx_pack_weights(op, w) : build_blocks(op, w);
#else
  const bool built = build_blocks(op, w);
#endif
  if (!built || !prepare_pool(op)) { free_op(op); return nullptr; }
  if (op->shape == FIL && !op->amx) memcpy(op->fbias, bias, (size_t)g->outC * 4);
  free(op->wq8);
  op->wq8 = nullptr;
  return op;
}

// Per frame: the input's range gives the u8 scale and zero point (0 is exactly representable), then
// 4 channels per word into the padded planes; the padding is refilled only when the zero point moves.
static void pack_q8(Op* op, const float* in) {
  const XkGeom& g = op->g;
  const int s = g.stride, pad = g.pad, W = g.inW, H = g.inH;
  const size_t hw = (size_t)H * W, n = (size_t)g.inC * hw;
  vf vlo = (vf){}, vhi = (vf){};
  size_t i = 0;
  for (; i + XK_V <= n; i += XK_V) {
    const vf x = loadf(in + i);
    vlo = x < vlo ? x : vlo;
    vhi = x > vhi ? x : vhi;
  }
  float lo = 0, hi = 0;
  for (int l = 0; l < XK_V; l++) { lo = vlo[l] < lo ? vlo[l] : lo; hi = vhi[l] > hi ? vhi[l] : hi; }
  for (; i < n; i++) { lo = in[i] < lo ? in[i] : lo; hi = in[i] > hi ? in[i] : hi; }
  float sc = (hi - lo) / 255.0f;
  if (!(sc > 0) || !(sc < 3.0e38f)) sc = 1.0f;
  const int zp = imax(0, imin(255, (int)(-lo / sc + 0.5f)));
  const float inv = 1.0f / sc;
  for (int f = 0; f < g.outC; f++) {
    op->qscale[f] = sc * op->wscale[f];
    op->qzs[f] = zp * op->wsum[f];
  }
  if (zp != op->lastZp) {
    const uint32_t fill = (uint32_t)zp * 0x01010101u;
    uint32_t* p = (uint32_t*)op->inpad;
    const size_t words = (size_t)op->planes * op->PS;
    for (size_t j = 0; j < words; j++) p[j] = fill;
    op->lastZp = zp;
  }
  const vf vinv = (vf){} + inv, vadd = (vf){} + ((float)zp + 0.5f);
  const vi v0 = (vi){}, v255 = (vi){} + 255;
  for (int cq = 0; cq < op->planes; cq++) {
    const int c0 = cq * 4, nc = imin(4, g.inC - c0);
    const float* src = in + (size_t)c0 * hw;
    uint32_t* plane = (uint32_t*)op->inpad + (size_t)cq * op->PS;
    size_t q = 0;
    int iy = 0, ix = 0;
    for (; q + XK_V <= hw; q += XK_V) {
      vu word = (vu){};
      const float* sp = src + q;
      for (int b = 0; b < nc; b++, sp += hw) {
        vi t = __builtin_convertvector(loadf(sp) * vinv + vadd, vi);
        t = t < v0 ? v0 : t;
        t = t > v255 ? v255 : t;
        word |= (vu)t << (8 * b);
      }
      if (s == 1 && ix + XK_V <= W) {
        storeu(plane + (size_t)(iy + pad) * op->RS + pad + ix, word);
        ix += XK_V;
        if (ix == W) { ix = 0; iy++; }
        continue;
      }
      for (int l = 0; l < XK_V; l++) {
        plane[(size_t)(iy + pad) * op->RS + ((ix + pad) % s) * op->Lph + (ix + pad) / s] = word[l];
        if (++ix == W) { ix = 0; iy++; }
      }
    }
    for (; q < hw; q++) {
      uint32_t word = 0;
      const float* sp = src + q;
      for (int b = 0; b < nc; b++, sp += hw) {
        const int t = imax(0, imin(255, (int)(*sp * inv + ((float)zp + 0.5f))));
        word |= (uint32_t)t << (8 * b);
      }
      plane[(size_t)(iy + pad) * op->RS + ((ix + pad) % s) * op->Lph + (ix + pad) / s] = word;
      if (++ix == W) { ix = 0; iy++; }
    }
  }
}

#ifndef XK_AMX
#define XK_AMX 0
#endif
#if XK_AMX
// ---- AMX: int8 tile matrix multiply (Sapphire Rapids and later) ---------------------------------
//
// The same quad-plane input as the int8 kernels (4 channels per 32-bit word, one plane per channel
// quad), rows not phase-split (stride 1 only), planes rounded up to 16. For a tap (ky, kx) and a
// group of 16 quads (64 channels), the 16 words of 16 consecutive pixels in each of the 16 planes
// are exactly an AMX B tile (16 rows x 64 bytes, row stride = plane size): C[filter][pixel] +=
// A[filter][64 bytes] . B, with A = the filters' weights of that tap and group, packed at prepare.
// Pixels run over the padded row width ("virtual" pixels; those past outW are computed and
// dropped), so one tile spans row ends. Binary convolutions use bytes +1 / -1 (padding -1, as a 0
// bit) and signed x signed products: the int32 sum is exactly K - 2 * mismatches, so the result
// is bit-identical to the popcount kernels. Int8 (fast precision) uses u8 input x s8 weights.
struct AmxCfg {
  uint8_t palette, start;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} __attribute__((packed, aligned(64)));

static int g_amx = -1;  // -1: not probed; 0: unavailable; 1: usable (permission granted)

static bool amx_available() {
  int v = __atomic_load_n(&g_amx, __ATOMIC_ACQUIRE);
  if (v >= 0) return v == 1;
  bool ok = false;
#if defined(__linux__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << 25)))
    ok = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0;
#endif
  __atomic_store_n(&g_amx, ok ? 1 : 0, __ATOMIC_RELEASE);
  return ok;
}

// Which layers take AMX: XNORCAM_NATIVE_AMX=0 never; =all every stride-1 groups-1 binary and int8
// convolution; default: the int8 ones only. Binary layers as +-1 bytes are bit-exact but slower
// here than VPOPCNTD (yolov3-tiny layer 12: 1.18 vs 0.75 ms): 8 bits of operand per binary MAC
// make them L2-bandwidth bound. They stay available (and cross-checked) for other machines.
static bool amx_wanted(const XkGeom* g, bool binary) {
  if (g->stride != 1 || g->groups != 1) return false;
  const char* e = getenv("XNORCAM_NATIVE_AMX");
  if (e && (strcmp(e, "0") == 0 || strcmp(e, "off") == 0)) return false;
  const bool all = e && strcmp(e, "all") == 0;
  if (binary && !all) return false;
  return amx_available();
}

// Weights as A tiles: [filter block][k-step = (tap, group)][16 filters][64 bytes]; byte (f, 4j + i)
// = weight of filter f, channel 4 * (16 * group + j) + i at the tap; 0 past inC and outC.
static bool amx_pack_weights(Op* op, const float* w) {
  const XkGeom& g = op->g;
  const int ss = g.size * g.size, groups = op->planes / 16;
  op->amxKs = ss * groups;
  op->amxFb = rup((g.outC + 15) / 16, 2);
  const int mv = g.outH * op->RS;
  op->amxPt = rup((mv + 15) / 16, 2);
  op->nitems = (op->amxFb / 2) * (op->amxPt / 2);
  int8_t* wp = (int8_t*)zalloc((size_t)op->amxFb * op->amxKs * 1024);
  if (!wp) return false;
  op->wpk = wp;
  for (int f = 0; f < g.outC; f++)
    for (int t = 0; t < ss; t++)
      for (int c = 0; c < g.inC; c++) {
        const int grp = c / 64, j = (c % 64) / 4, i = c % 4;
        const int ks = t * groups + grp;
        int8_t v;
        if (op->binary) v = w[((size_t)f * g.inC + c) * ss + t] > 0 ? 1 : -1;
        else v = op->wq8[((size_t)f * g.inC + c) * ss + t];
        wp[(((size_t)(f / 16) * op->amxKs + ks) * 16 + f % 16) * 64 + 4 * j + i] = v;
      }
  snprintf(op->desc, sizeof op->desc, "%s AMX tiles 32 filters x 32 pixels", op->binary ? "binary as +-1 int8" : "int8 (fast precision)");
  return true;
}

// Binary input as bytes +1 (x > 0) / -1, 4 channels per word; padding and the rest hold -1.
static void pack_pm1(Op* op, const float* in) {
  const XkGeom& g = op->g;
  const int pad = g.pad, W = g.inW, H = g.inH;
  const size_t hw = (size_t)H * W;
  const vi one = (vi){} + 1, minus = (vi){} + 255;
  for (int cq = 0; cq < (g.inC + 3) / 4; cq++) {
    const int c0 = cq * 4, nc = imin(4, g.inC - c0);
    const float* src = in + (size_t)c0 * hw;
    uint32_t* plane = (uint32_t*)op->inpad + (size_t)cq * op->PS;
    for (int iy = 0; iy < H; iy++) {
      uint32_t* row = plane + (size_t)(iy + pad) * op->RS + pad;
      const float* sp0 = src + (size_t)iy * W;
      int ix = 0;
      for (; ix + XK_V <= W; ix += XK_V) {
        vu word = (vu){};
        const float* sp = sp0 + ix;
        for (int b = 0; b < nc; b++, sp += hw) word |= (vu)(loadf(sp) > 0.0f ? one : minus) << (8 * b);
        storeu(row + ix, word);
      }
      for (; ix < W; ix++) {
        uint32_t word = 0;
        const float* sp = sp0 + ix;
        for (int b = 0; b < nc; b++, sp += hw) word |= (*sp > 0.0f ? 1u : 255u) << (8 * b);
        row[ix] = word;
      }
    }
  }
}

// Built at compile time: a run-time initialiser here would be compiled with this unit's AVX-512 flags and run when
// the addon loads, before CPUID picks a kernel set, killing it with SIGILL on CPUs without AVX-512.
static constexpr AmxCfg amxConfig() {
  AmxCfg c{};
  c.palette = 1;
  for (int i = 0; i < 8; i++) { c.rows[i] = 16; c.colsb[i] = 64; }
  return c;
}
static constexpr AmxCfg kAmxCfg = amxConfig();

// Items [begin, end): 32 filters x 32 virtual pixels each (4 accumulator tiles).
__attribute__((target("amx-tile,amx-int8"))) static void amx_items(const Op* op, float* out, int begin, int end) {
  _tile_loadconfig(&kAmxCfg);
  const XkGeom& g = op->g;
  const int ss = g.size * g.size, groups = op->planes / 16, ks = op->amxKs;
  const size_t stride = (size_t)op->PS * 4;
  const int8_t* wbase = (const int8_t*)op->wpk;
  const uint32_t* inp = (const uint32_t*)op->inpad;
  const int hw = g.outH * g.outW, RS = op->RS, pt2 = op->amxPt / 2;
  int32_t acc[4][16][16] __attribute__((aligned(64)));
  for (int it = begin; it < end; it++) {
    const int fb = (it / pt2) * 2, q0 = (it % pt2) * 32;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    const int8_t* a0 = wbase + (size_t)fb * ks * 1024;
    const int8_t* a1 = a0 + (size_t)ks * 1024;
    for (int t = 0; t < ss; t++) {
      const int tapoff = (t / g.size) * RS + t % g.size;
      for (int grp = 0; grp < groups; grp++) {
        const uint32_t* b = inp + (size_t)grp * 16 * op->PS + tapoff + q0;
        const int k = t * groups + grp;
        _tile_loadd(4, a0 + (size_t)k * 1024, 64);
        _tile_loadd(5, a1 + (size_t)k * 1024, 64);
        _tile_loadd(6, b, stride);
        _tile_loadd(7, b + 16, stride);
        if (op->binary) {
          _tile_dpbssd(0, 4, 6);
          _tile_dpbssd(1, 4, 7);
          _tile_dpbssd(2, 5, 6);
          _tile_dpbssd(3, 5, 7);
        } else {
          _tile_dpbsud(0, 4, 6);
          _tile_dpbsud(1, 4, 7);
          _tile_dpbsud(2, 5, 6);
          _tile_dpbsud(3, 5, 7);
        }
      }
    }
    _tile_stored(0, acc[0], 64);
    _tile_stored(1, acc[1], 64);
    _tile_stored(2, acc[2], 64);
    _tile_stored(3, acc[3], 64);
    for (int j = 0; j < 2; j++)
      for (int r = 0; r < 16; r++) {
        const int f = (fb + j) * 16 + r;
        if (f >= g.outC) break;
        const vf sc = splat(op->binary ? op->scale[f] : op->qscale[f]);
        const vf bias = splat(op->bias[f]);
        for (int i = 0; i < 2; i++) {
          const vi a = (vi)loadu((const uint32_t*)acc[j * 2 + i][r]);
          const vf raw = op->binary ? __builtin_convertvector(a, vf) * sc + bias : q8_value(a, (vi){} + op->qzs[f], sc, bias);
          const int qs = q0 + 16 * i;
          int oy = qs / RS, ox = qs - oy * RS;
          if (g.outH == 1 || (ox + 16 <= g.outW && oy < g.outH)) {
            // a whole run inside one output row (always, for a flattened 1x1 layer)
            const int count = g.outH == 1 ? imin(16, g.outW - qs) : 16;
            if (count > 0) store_pix(op, out, (size_t)f * hw + (size_t)oy * g.outW + ox, count, raw);
            continue;
          }
          const vf act = activate(raw, g.act);
          const size_t plane = (size_t)f * hw;
          // the run crosses row ends: store each row's piece [n0, n1) with one masked store
          for (int n0 = 0; n0 < 16 && oy < g.outH;) {
            const int n1 = imin(16, n0 + RS - ox);
            const int valid = imin(n1, n0 + g.outW - ox);  // lanes [n0, valid) are real pixels
            if (valid > n0) {
              const size_t idx = plane + (size_t)oy * g.outW + ox;  // lane n0 goes here
              if (idx + (valid - n0) <= (size_t)op->tailStart)
                _mm512_mask_storeu_ps(out + idx - n0, (__mmask16)(((1u << valid) - 1) & ~((1u << n0) - 1)), (__m512)act);
              else
                for (int n = n0; n < valid; n++) out[idx + n - n0] = idx + n - n0 >= (size_t)op->tailStart ? raw[n] : act[n];
            }
            ox += n1 - n0;
            n0 = n1;
            if (ox >= RS) { ox = 0; oy++; }
          }
        }
      }
  }
  _tile_release();
}

// An AMX op for a binary (scale != null) or int8 (op->wq8 set by the caller) convolution.
static Op* amx_op(const XkGeom* g, int binary) {
  Op* op = new_op(g, binary, binary ? 0 : 1, 1);
  if (!op) return nullptr;
  if (binary) memset(op->inpad, 0xff, (size_t)op->planes * op->PS * 4 + 4 * (64 + op->RS));  // -1 bytes: padding
  return op;
}
#endif
#define XK_PREPARE_FAST prepare_float_fast
#elif XK_FMA
// A unit without int8 kernels (AVX2): fast precision runs every float convolution with FMA, the int8 candidates
// (mode 2) included.
static void* prepare_float_fast(const XkGeom* g, const float* w, const float* bias, int) { return prepare_float_fma(g, w, bias); }
#define XK_PREPARE_FAST prepare_float_fast
#else
#define XK_PREPARE_FAST nullptr
#endif

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
  // f(1 + e) and f(1 / s) in float arithmetic: an add or divide of floats done in double and
  // rounded to float equals the float operation (double has >= 2*24+2 bits), and it is cheaper.
  const vfh sf = 1.0f + ef;
  return 1.0f / sf;
}

struct YoloOp {
  int kind;  // 2
  int c, hw, per, anchors;
  int active;  // channels of an anchor's block that are activated (from tx): per, or 5 with raw class scores
  float alpha, beta;
  int fast;  // fast precision: float32 exp (logistic within a few ulp, not V8's bits)
  char desc[48];
};

static void* prepare_yolo(int c, int hw, int classes, int anchors, int raw_classes, float alpha, float beta, int fast) {
  YoloOp* op = (YoloOp*)zalloc(sizeof(YoloOp));
  if (!op) return nullptr;
  op->kind = 2;
  op->c = c; op->hw = hw; op->per = classes + 5; op->anchors = anchors; op->alpha = alpha; op->beta = beta;
  op->active = raw_classes ? 5 : op->per;
  op->fast = fast;
  snprintf(op->desc, sizeof op->desc, fast ? "yolo V=%d float exp (fast precision)" : "yolo V=%d", fast ? XK_V : XK_V / 2);
  return op;
}

// Fast precision: 1 / (1 + exp(-x)) all in float32. exp as Cephes' expf: 2^n * exp(r), n = round(y /
// ln 2), r = y - n ln 2 in two parts, a degree-6 polynomial; the argument clamped to [-87, 88].
static inline vf logistic_fast(vf x) {
  vf y = -x;
  y = y > 88.0f ? (vf){} + 88.0f : y;
  y = y < -87.0f ? (vf){} - 87.0f : y;
  const vf t = y * 1.44269504088896341f;
  const vi ni = __builtin_convertvector(t + (t >= 0.0f ? (vf){} + 0.5f : (vf){} - 0.5f), vi);
  const vf n = __builtin_convertvector(ni, vf);
  const vf r = (y - n * 0.693359375f) - n * -2.12194440e-4f;
  vf p = (vf){} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf e = p * (r * r) + r + 1.0f;
  e = (vf)((vi)e + (ni << 23));
  return 1.0f / (e + 1.0f);
}

// Channel planes [begin, end): tx, ty -> f(f(logistic * alpha) + beta); tw, th copied;
// objectness and classes -> logistic (classes copied when raw); channels past the anchors copied.
static void yolo_planes(const YoloOp* op, const float* in, float* out, int begin, int end) {
  const int hw = op->hw, H = XK_V / 2;
  for (int ch = begin; ch < end; ch++) {
    const float* src = in + (size_t)ch * hw;
    float* dst = out + (size_t)ch * hw;
    const int j = ch % op->per;
    if (ch >= op->anchors * op->per || j == 2 || j == 3 || j >= op->active) {
      if (dst != src) memmove(dst, src, (size_t)hw * 4);
      continue;
    }
    const bool scaled = j < 2;
    int i = 0;
    if (op->fast)
      for (; i + XK_V <= hw; i += XK_V) {
        vf l = logistic_fast(loadf(src + i));
        if (scaled) l = (l * op->alpha) + op->beta;
        storef(dst + i, l);
      }
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
#if XK_AMX
  if (op->amx && op->binary) {
    if (part == 0) pack_pm1(op, in);
    return;
  }
#endif
#if XK_INT8
  if (op->q8) {
    if (part == 0) pack_q8(op, in);
    return;
  }
#endif
  const XkGeom& g = op->g;
  const int s = g.stride, pad = g.pad, W = g.inW, H = g.inH;
  const size_t hw = (size_t)H * W;
  if (op->direct) {
    op->din = in;
#if XK_EST
    // the estimate quantises the frame on one thread: with more, the float tiles (all parallel) win
    if (op->est) op->est->on = op->bitsOut && op->runThreads <= 1 && est_frame(op, op->est, in);
#endif
    return;
  }
  if (!op->binary) {
    const int rowsTotal = g.inC * H;
    const int r0 = (int)((long)rowsTotal * part / parts), r1 = (int)((long)rowsTotal * (part + 1) / parts);
    for (int r = r0; r < r1; r++) {
      const int plane = r / H, iy = r % H;
      const float* src = in + plane * hw + (size_t)iy * W;
      float* dst = (float*)op->inpad + (size_t)plane * op->PS + (size_t)(iy + pad) * op->RS;
      if (s == 1) {
        memcpy(dst + pad, src, (size_t)W * 4);
        continue;
      }
      // Input column ix goes to phase (ix + pad) % s, position (ix + pad) / s: counted along, not divided out per
      // element, and for stride 2 (a first layer: 640x384x3 floats) split into even and odd columns a vector pair
      // at a time (docs/native.md, Layout, has the time it saves).
      int ix = 0;
      if (s == 2) {
        float* even = dst + (size_t)(pad % 2) * op->Lph + pad / 2;
        float* odd = dst + (size_t)((pad + 1) % 2) * op->Lph + (pad + 1) / 2;
        for (; ix + 2 * XK_V <= W; ix += 2 * XK_V) {
          const vf a = loadf(src + ix), b = loadf(src + ix + XK_V);
          storef(even + ix / 2, __builtin_shuffle(a, b, XK_EVEN));
          storef(odd + ix / 2, __builtin_shuffle(a, b, XK_ODD));
        }
      }
      int phase = (ix + pad) % s, at = (ix + pad) / s;
      for (; ix < W; ix++) {
        dst[(size_t)phase * op->Lph + at] = src[ix];
        if (++phase == s) { phase = 0; at++; }
      }
    }
    return;
  }
  // Binary: 32 channels per word, vectorised over the flattened plane (rows may be narrower than
  // a vector), then each lane goes to its padded, phase-split position. Planes that a linked
  // producer (link_bits) writes are already there.
  const int words = op->pairs ? 1 : op->planes;
  const int c0p = (int)((long)words * part / parts), c1p = (int)((long)words * (part + 1) / parts);
  for (int cw = c0p; cw < c1p; cw++) {
    if (op->linkedPlanes && op->linkedPlanes[cw]) continue;
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
    if (op->planes == 3) {
      // Plane 2: word j of row r = pixel j + size-1 of row r | pixel j of row r+1 << 16, for every
      // row either half can be nonzero in (the one above the interior too). Reads past a row end
      // only feed lanes that are never stored.
      const int S1 = g.size - 1;
      uint32_t* cross = (uint32_t*)op->inpad + 2 * (size_t)op->PS;
      for (int r = imax(0, pad - 1); r < imin(op->Hp, pad + H); r++) {
        const uint32_t* a = one + (size_t)r * op->RS + S1;
        const bool below = r + 1 < op->Hp;
        const uint32_t* b = one + (size_t)(below ? r + 1 : r) * op->RS;
        const vu bm = (vu){} + (below ? ~0u : 0u);
        uint32_t* d = cross + (size_t)r * op->RS;
        int j = 0;
        for (; j + XK_V <= op->RS; j += XK_V) storeu(d + j, loadu(a + j) | ((loadu(b + j) & bm) << 16));
        for (; j < op->RS; j++) d[j] = a[j] | (below ? b[j] << 16 : 0);
      }
    }
  }
}

static void compute(void* p, const float* in, float* out, int begin, int end) {
  if (*(int*)p == 1) return pool_rows((const PoolOp*)p, in, out, begin, end);
  if (*(int*)p == 2) return yolo_planes((const YoloOp*)p, in, out, begin, end);
  if (*(int*)p == 3) return upsample_planes((const UpOp*)p, in, out, begin, end);
  Op* op = (Op*)p;
  // Pixels in lanes: items are (row, block), rows outer, so every block of a row reads the same
  // input rows while they are in L1 (block-major order streamed the input once per block).
  if (op->pool == 1) {
    if (op->bitsOut)
      for (int it = begin; it < end; it++) pix_row_pooled_bits(op, op->blocks[it % op->nblocks], it / op->nblocks);
    else
      for (int it = begin; it < end; it++) pix_row_pooled(op, op->blocks[it % op->nblocks], it / op->nblocks, out);
    return;
  }
  if (op->pool == 2) out = op->convbuf;
#if XK_AMX
  if (op->amx) {
    amx_items(op, out, begin, end);
    return;
  }
#endif
  if (op->shape == PIX && op->bitsOut) {
    for (int it = begin; it < end; it++) pix_row_bits(op, op->blocks[it % op->nblocks], it / op->nblocks);
  } else if (op->shape == PIX) {
    for (int it = begin; it < end; it++) pix_row(op, op->blocks[it % op->nblocks], it / op->nblocks, out);
  } else {
    for (int it = begin; it < end; it++) fil_tiles(op, op->blocks[it / op->ptiles], it % op->ptiles, out);
  }
}

// One step of a bit link (see XkBitPath) over `planes` 32-channel planes of an h x w map, src word
// (plane, y, x) at src[plane * sPS + y * sRS + x], into dst likewise; s null: a copy.
static void bit_step(const XkBitStep* s, int planes, const uint32_t* src, int sPS, int sRS, int h, int w, uint32_t* dst, int dPS, int dRS) {
  for (int pl = 0; pl < planes; pl++) {
    const uint32_t* sp = src + (size_t)pl * sPS;
    uint32_t* dp = dst + (size_t)pl * dPS;
    if (!s) {
      for (int y = 0; y < h; y++) memcpy(dp + (size_t)y * dRS, sp + (size_t)y * sRS, (size_t)w * 4);
    } else if (s->kind == XK_BIT_UPSAMPLE) {
      const int st = s->stride;
      for (int y = 0; y < h * st; y++) {
        const uint32_t* r = sp + (size_t)(y / st) * sRS;
        uint32_t* d = dp + (size_t)y * dRS;
        if (st == 2)
          for (int x = 0; x < w; x++) d[2 * x] = d[2 * x + 1] = r[x];
        else
          for (int x = 0; x < w * st; x++) d[x] = r[x / st];
      }
    } else {
      // darknet's maxpool on sign bits: the max is > 0 iff some tap is, so the pooled bit is the OR
      // of the taps' bits (0 for a window without taps: the max stays -FLT_MAX).
      for (int py = 0; py < s->oh; py++) {
        uint32_t* d = dp + (size_t)py * dRS;
        for (int px = 0; px < s->ow; px++) {
          uint32_t word = 0;
          for (int n = 0; n < s->size; n++) {
            const int y = s->offset + py * s->stride + n;
            if (y < 0 || y >= h) continue;
            for (int m = 0; m < s->size; m++) {
              const int x = s->offset + px * s->stride + m;
              if (x >= 0 && x < w) word |= sp[(size_t)y * sRS + x];
            }
          }
          d[px] = word;
        }
      }
    }
  }
}

// finish() of a producer whose kernels wrote `convbits`: each destination's steps, into its consumer.
static void carry_bits(const Op* op) {
  const int planes = (op->g.outC + 31) / 32;
  for (int i = 0; i < op->ndests; i++) {
    const BitDest& d = op->dests[i];
    const uint32_t* src = op->convbits;
    int sPS = op->bitH * op->bitW, sRS = op->bitW, h = op->bitH, w = op->bitW;
    if (d.nsteps == 0) bit_step(nullptr, planes, src, sPS, sRS, h, w, d.dst, d.dstPS, d.dstRS);
    for (int j = 0; j < d.nsteps; j++) {
      const XkBitStep& st = d.steps[j];
      const int oh = st.kind == XK_BIT_POOL ? st.oh : h * st.stride, ow = st.kind == XK_BIT_POOL ? st.ow : w * st.stride;
      const bool last = j == d.nsteps - 1;
      uint32_t* dst = last ? d.dst : d.tmp[j];
      const int dPS = last ? d.dstPS : oh * ow, dRS = last ? d.dstRS : ow;
      bit_step(&st, planes, src, sPS, sRS, h, w, dst, dPS, dRS);
      src = dst;
      sPS = dPS;
      sRS = dRS;
      h = oh;
      w = ow;
    }
  }
}

static void finish(void* p, float* out) {
  if (*(int*)p != 0) return;
  Op* op = (Op*)p;
  if (op->bitsOut) {  // no floats: the sign bits went to the consumers (or go now, from convbits)
    if (op->convbits) carry_bits(op);
    return;
  }
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

// For bit output of a binary convolution: the float output fround(fround((K - 2m) * scale) + bias)
// is monotonic in the mismatch count m, so the counts whose value is > 0 (its activation keeps
// the sign) form one range [lo, lo + span]; found by evaluating every m with the kernels' own
// float operations, so the bits are exactly those of the floats. Empty: lo = K + 1, span 0.
static bool binary_thresholds(Op* op) {
  const int C = op->g.outC, K = op->K;
  op->thrLo = (uint32_t*)zalloc(((size_t)C + 64) * 4);
  op->thrSpan = (uint32_t*)zalloc(((size_t)C + 64) * 4);
  if (!op->thrLo || !op->thrSpan) {
    free(op->thrLo);
    free(op->thrSpan);
    op->thrLo = op->thrSpan = nullptr;
    return false;
  }
  for (int f = 0; f < C; f++) {
    int lo = -1, hi = -1;
    for (int m = 0; m <= K; m++) {
      const float prod = (float)(K - 2 * m) * op->scale[f];
      if (!(prod + op->bias[f] > 0.0f)) continue;
      if (lo >= 0 && hi != m - 1) {  // not one range (cannot happen with IEEE rounding): compare floats
        free(op->thrLo);
        free(op->thrSpan);
        op->thrLo = op->thrSpan = nullptr;
        return true;
      }
      if (lo < 0) lo = m;
      hi = m;
    }
    if (lo < 0) lo = hi = K + 1;
    op->thrLo[f] = (uint32_t)lo;
    op->thrSpan[f] = (uint32_t)(hi - lo);
  }
  return true;
}

// Makes producer `pp` (a convolution, maybe with a fused pool) write the sign bits of its output,
// carried along `path`, into the packed input of binary convolution `cp` (planes chOff / 32 ..),
// and `cp` skip the sign packing of those planes. One destination without steps: the kernels
// write into the consumer directly; otherwise into convbits, and finish() carries them (an unfused
// pool is the first step of every destination). Returns 0 and changes nothing where that does
// not apply: shapes that do not match, int8 or AMX ops, a consumer with stride > 1 or on AMX,
// planes already linked, a channel offset that is not a whole plane, or filter blocks that do not
// own whole bytes of the words (threads write blocks concurrently).
static int link_bits(void* pp, void* cp, const XkBitPath* path, int dry) {
  if (*(int*)pp != 0 || *(int*)cp != 0 || pp == cp) return 0;
  Op* p = (Op*)pp;
  Op* c = (Op*)cp;
  if (!c->binary || c->amx || c->g.stride != 1 || p->q8 || p->amx) return 0;
  if (p->g.act != XK_LEAKY && p->g.act != XK_RELU && p->g.act != XK_LINEAR) return 0;
  if (path->nsteps < 0 || path->nsteps > XK_MAX_BIT_STEPS) return 0;
  BitDest d;
  memset(&d, 0, sizeof d);
  int h, w;  // the kernel's bit output
  if (p->pool == 1) {
    h = p->ph;
    w = p->pw;
  } else {
    h = path->srcH;
    w = path->srcW;
    if (h < 1 || w < 1 || (size_t)h * w != (size_t)p->g.outH * p->g.outW) return 0;
    if (p->pool == 2) {
      if (h != p->g.outH) return 0;
      d.steps[d.nsteps++] = XkBitStep{XK_BIT_POOL, p->poolSize, p->poolStride, p->poolOffset, p->ph, p->pw};
    }
  }
  const int kh = h, kw = w;
  for (int i = 0; i < path->nsteps; i++) {
    const XkBitStep& st = path->steps[i];
    if (st.kind == XK_BIT_POOL && st.size >= 1 && st.stride >= 1 && st.oh >= 1 && st.ow >= 1) {
    } else if (st.kind == XK_BIT_UPSAMPLE && st.stride >= 1 && (long)h * st.stride < (1 << 20) && (long)w * st.stride < (1 << 20)) {
    } else {
      return 0;
    }
    d.steps[d.nsteps++] = st;
  }
  for (int i = 0; i < d.nsteps; i++) {
    const XkBitStep& st = d.steps[i];
    h = st.kind == XK_BIT_POOL ? st.oh : h * st.stride;
    w = st.kind == XK_BIT_POOL ? st.ow : w * st.stride;
  }
  if (h != path->dstH || w != path->dstW || (size_t)h * w != (size_t)c->g.inH * c->g.inW) return 0;
  const int C = p->g.outC, off = path->chOff, cplanes = c->pairs ? 1 : c->planes;
  if (off < 0 || off % 32 || off + C > c->g.inC || (C % 32 && off + C != c->g.inC)) return 0;
  const int pl0 = off / 32, npl = (C + 31) / 32;
  if (pl0 + npl > cplanes) return 0;
  for (int i = 0; i < npl; i++)
    if (c->linkedPlanes && c->linkedPlanes[pl0 + i]) return 0;
  for (int i = 0; i < p->nblocks; i++) {
    const Block& b = p->blocks[i];
    const int nf = p->shape == PIX ? b.nf : imin(b.nf, p->g.outC - b.f0);
    if (b.f0 % 8 != 0 || b.f0 % 32 + nf > 32 || (nf % 8 != 0 && b.f0 + nf != p->g.outC)) return 0;
  }
  if (dry) return 1;
  if (p->binary && !p->bitsOut && !binary_thresholds(p)) return 0;
  // every allocation before any change, so a failure leaves both ops as they were
  const bool direct = p->ndests == 0 && d.nsteps == 0;
  {
    int th = kh, tw = kw;
    bool ok = true;
    for (int i = 0; i + 1 < d.nsteps; i++) {
      th = d.steps[i].kind == XK_BIT_POOL ? d.steps[i].oh : th * d.steps[i].stride;
      tw = d.steps[i].kind == XK_BIT_POOL ? d.steps[i].ow : tw * d.steps[i].stride;
      d.tmp[i] = (uint32_t*)zalloc((size_t)npl * th * tw * 4);
      ok = ok && d.tmp[i];
    }
    uint8_t* lp = c->linkedPlanes ? c->linkedPlanes : (uint8_t*)zalloc((size_t)cplanes);
    BitDest* nd = (BitDest*)realloc(p->dests, sizeof(BitDest) * (p->ndests + 1));
    if (nd) p->dests = nd;
    uint32_t* cb = direct || p->convbits ? p->convbits : (uint32_t*)zalloc((size_t)npl * kh * kw * 4 + 64);
    if (!ok || !lp || !nd || (!direct && !cb)) {
      for (int i = 0; i < d.nsteps; i++) free(d.tmp[i]);
      if (lp != c->linkedPlanes) free(lp);
      if (cb != p->convbits) free(cb);
      return 0;
    }
    c->linkedPlanes = lp;
    p->convbits = cb;
  }
  d.dst = (uint32_t*)c->inpad + (size_t)(c->pairs ? c->PS : 0) + (size_t)c->g.pad * c->RS + c->g.pad + (size_t)pl0 * c->PS;
  d.dstPS = c->PS;
  // a flattened 1x1 consumer holds its whole plane in row 0
  d.dstRS = c->g.inH == 1 && h > 1 ? w : c->RS;
  const bool firstOut = !p->bitsOut, firstIn = c->linkedCount == 0;
  p->dests[p->ndests++] = d;
  p->bitH = kh;
  p->bitW = kw;
  if (direct) {
    p->bitsOut = d.dst;
    p->bitsPS = c->PS;
    p->bitsRS = c->RS;
    p->bitsW = c->g.inW;
  } else {
    // one row of kh * kw words per plane: the kernels' flat pixel index is the word index
    p->bitsOut = p->convbits;
    p->bitsPS = p->bitsRS = p->bitsW = kh * kw;
  }
  for (int i = 0; i < npl; i++) c->linkedPlanes[pl0 + i] = 1;
  c->linkedCount += npl;
  size_t l = strlen(p->desc);
  if (firstOut) snprintf(p->desc + l, sizeof p->desc - l, " +bits out");
  l = strlen(c->desc);
  if (firstIn) snprintf(c->desc + l, sizeof c->desc - l, " +bits in");
  return c->linkedCount == cplanes ? 2 : 1;
}

static void run_threads(void* p, int threads) {
  if (*(int*)p == 0) ((Op*)p)->runThreads = threads;
}

static const XkTable table = {XK_NAME, prepare_float, prepare_binary, prepare_maxpool, prepare_yolo, prepare_upsample, items, pack, compute, finish, describe, destroy, XK_PREPARE_FAST, link_bits, run_threads};

}  // namespace XK_NS
