// Exact sign bits of a float convolution from int16 arithmetic (included by kernels_impl.h inside
// the ISA namespace; AVX-512 VNNI only: VPDPWSSD does 32 int16 multiply-adds per instruction, twice
// the float rate, with exact int32 sums). Used where a float conv's output is only read as signs
// (a bit-linked producer, typically a network's first layer), in both precisions, since the bits
// are darknet's bit for bit. The numerics are those of src/engine/kernels/wasm/sign-estimate.ts:
//  - weights wq = round(w / sw[f]) with one scale per filter, inputs q = round(x * inv) with one
//    scale per frame (inv = qA / max|x|), ranges chosen so no int32 sum can overflow;
//  - darknet's float32 output v is within E[f] of sigma * sw[f] * S + b (S = sum wq * q, exact),
//    E = darknet's own rounding gamma(K+1) (sum|w| max|x| + |b|) + the quantisation error
//    sum|w| Ex + K (max|x| + Ex) Ew, Ex = sigma / 2 + u max|x|;
//  - so S > hi[f] means v > 0 and S < lo[f] means v < 0; the outputs in between (about 1 in 10^3)
//    are recomputed in darknet's float order. A frame with a NaN, an infinity or only zeros takes
//    the float path. XNORCAM_SIGN_ESTIMATE=off turns it off (to measure it side by side).
#if XK_INT8 && defined(__AVX512F__) && XK_V == 16
#define XK_EST 1

struct SignEst {
  int K, KP, pairs, odd, qA, RS, PS, outCp;
  int32_t* off;      // [KP] word offset of tap pair kp from output pixel (0, 0) in the planes
  uint32_t* w;       // [KP][outCp] two int16 weights per word (the pair's taps)
  uint32_t* planes;  // [pairs + odd][Hp][RS] two int16 inputs per word (allocated on first use)
  float* wexact;     // [outC][K] in darknet's order, for the undecided outputs
  double* w1;        // sum |w| by filter (rounded up)
  double* ew;        // largest |w - sw * wq| by filter (rounded up)
  float* wScale;
  int32_t* lo;
  int32_t* hi;
  float hint;  // the previous frame's max |x| (0: none yet)
  int on;      // this frame's planes and bounds are set
};

static inline bool est_on(const Op* op) { return op->est && op->est->on; }

static inline vi dot2_lanes(vi acc, vu a, vu b) { return (vi)_mm512_dpwssd_epi32((__m512i)acc, (__m512i)a, (__m512i)b); }

static void free_est(SignEst* e) {
  if (!e) return;
  free(e->off);
  free(e->w);
  free(e->planes);
  free(e->wexact);
  free(e->w1);
  free(e->ew);
  free(e->wScale);
  free(e->lo);
  free(e->hi);
  free(e);
}

static inline uint32_t pair16(int a, int b) { return (uint32_t)(uint16_t)(int16_t)a | (uint32_t)(uint16_t)(int16_t)b << 16; }

// For a float PIX conv (stride 1, groups 1) that reads the caller's input in place (op->direct).
// Null where it does not apply or is turned off.
static SignEst* prepare_est(const Op* op, const float* w) {
  const XkGeom& g = op->g;
  if (op->binary || op->q8 || !op->direct || g.stride != 1 || g.groups != 1 || op->shape != PIX) return nullptr;
  const char* env = getenv("XNORCAM_SIGN_ESTIMATE");
  if (env && strcmp(env, "off") == 0) return nullptr;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vnni")) return nullptr;
  const int K = op->K, outC = g.outC, S = g.size;
  for (size_t i = 0; i < (size_t)outC * K; i++)
    if (!(w[i] - w[i] == 0)) return nullptr;  // inf or NaN weights: the bound means nothing
  for (int f = 0; f < outC; f++)
    if (!(op->bias[f] - op->bias[f] == 0)) return nullptr;
  SignEst* e = (SignEst*)zalloc(sizeof(SignEst));
  if (!e) return nullptr;
  e->K = K;
  e->pairs = g.inC / 2;
  e->odd = g.inC % 2;
  const int hTaps = (S + 1) / 2;
  e->KP = e->pairs * S * S + (e->odd ? S * hTaps : 0);
  // tiles read whole vectors past the row end (lanes never stored) and the odd channel's pair
  // reads one column further: room for two vectors and the kernel past the output row
  e->RS = rup(g.outW + 2 * XK_V + S + 2 * g.pad + 1, XK_V);
  e->PS = (g.inH + 2 * g.pad) * e->RS;
  e->outCp = rup(outC, XK_V);
  e->off = (int32_t*)zalloc((size_t)e->KP * 4);
  e->w = (uint32_t*)zalloc((size_t)e->KP * e->outCp * 4);
  e->wexact = (float*)zalloc((size_t)outC * K * 4);
  e->w1 = (double*)zalloc((size_t)outC * 8);
  e->ew = (double*)zalloc((size_t)outC * 8);
  e->wScale = (float*)zalloc((size_t)outC * 4);
  e->lo = (int32_t*)zalloc((size_t)outC * 4);
  e->hi = (int32_t*)zalloc((size_t)outC * 4);
  if (!e->off || !e->w || !e->wexact || !e->w1 || !e->ew || !e->wScale || !e->lo || !e->hi) { free_est(e); return nullptr; }
  memcpy(e->wexact, w, (size_t)outC * K * 4);

  // int16 ranges (wasm fast-conv.ts int16Ranges): qW from the worst filter's sum|w| / max|w|, then
  // qA so that qA * sum|wq| of every filter fits an int32
  const double budgetAll = 2147483647.0;
  double effK = 1;
  for (int f = 0; f < outC; f++) {
    double m = 0, s = 0;
    for (int i = 0; i < K; i++) {
      const double a = fabs((double)w[(size_t)f * K + i]);
      m = a > m ? a : m;
      s += a;
    }
    if (m > 0 && s / m > effK) effK = s / m;
  }
  const double qWd = floor(sqrt(budgetAll / effK));
  const int qW = (int)(qWd < 1 ? 1 : qWd > 32767 ? 32767 : qWd);
  int16_t* wq = (int16_t*)zalloc((size_t)outC * K * 2);
  if (!wq) { free_est(e); return nullptr; }
  double worst = 1;
  for (int f = 0; f < outC; f++) {
    const float* wf = w + (size_t)f * K;
    double m = 0, w1 = 0;
    for (int i = 0; i < K; i++) {
      const double a = fabs((double)wf[i]);
      m = a > m ? a : m;
      w1 += a;
    }
    const double s = m > 0 ? m / qW : 0;
    e->wScale[f] = (float)s;
    double sum = 0, ew = 0;
    for (int i = 0; i < K; i++) {
      double q = s > 0 ? floor(wf[i] / s + 0.5) : 0;
      q = q > qW ? qW : q < -qW ? -qW : q;
      wq[(size_t)f * K + i] = (int16_t)q;
      sum += fabs(q);
      const double err = fabs((double)wf[i] - (double)e->wScale[f] * q);
      ew = err > ew ? err : ew;
    }
    worst = sum > worst ? sum : worst;
    e->w1[f] = w1 * (1 + 1e-12);
    e->ew[f] = ew * (1 + 1e-12);
  }
  const double qAd = floor(budgetAll / worst);
  e->qA = (int)(qAd < 1 ? 1 : qAd > 32767 ? 32767 : qAd);

  // tap pairs: channels (2cp, 2cp + 1) at each tap; the odd last channel pairs horizontally
  // neighbouring taps (kx, kx + 1) of a row, its plane holding (pixel x, pixel x + 1)
  int kp = 0;
  auto wAt = [&](int f, int c, int ky, int kx) -> int { return wq[(size_t)f * K + (c * S + ky) * S + kx]; };
  for (int cp = 0; cp < e->pairs; cp++)
    for (int ky = 0; ky < S; ky++)
      for (int kx = 0; kx < S; kx++, kp++) {
        e->off[kp] = cp * e->PS + ky * e->RS + kx;
        for (int f = 0; f < outC; f++) e->w[(size_t)kp * e->outCp + f] = pair16(wAt(f, 2 * cp, ky, kx), wAt(f, 2 * cp + 1, ky, kx));
      }
  if (e->odd)
    for (int ky = 0; ky < S; ky++)
      for (int kx = 0; kx < S; kx += 2, kp++) {
        e->off[kp] = e->pairs * e->PS + ky * e->RS + kx;
        for (int f = 0; f < outC; f++)
          e->w[(size_t)kp * e->outCp + f] = pair16(wAt(f, g.inC - 1, ky, kx), kx + 1 < S ? wAt(f, g.inC - 1, ky, kx + 1) : 0);
      }
  free(wq);
  return e;
}

// Lanes rounded to the nearest int16 step: q = round(x * inv), |q| <= qA; the lanes' |x| max and
// finiteness go into amax and finite.
static inline vi quant_lanes(vf x, vf vinv, vi vqa, vf& amax, vi& finite) {
  const vf a = x < 0 ? -x : x;
  finite &= (vi)(a <= 3.4028234663852886e38f);
  amax = a > amax ? a : amax;
  vi q = (vi)_mm512_cvtps_epi32((__m512)(x * vinv));  // round to nearest (MXCSR default)
  q = q > vqa ? vqa : q;
  const vi nqa = -vqa;
  return q < nqa ? nqa : q;
}

// The int16 planes at step 1 / inv; returns max |x| (NaN: an infinity or a NaN in the input).
static float est_quantise(const Op* op, SignEst* e, const float* in, float inv) {
  const XkGeom& g = op->g;
  const int H = g.inH, W = g.inW, pad = g.pad;
  const size_t hw = (size_t)H * W;
  const vf vinv = (vf){} + inv;
  const vi vqa = (vi){} + e->qA;
  vf vmax = (vf){};
  vi finite = (vi){} - 1;
  for (int cp = 0; cp < e->pairs; cp++) {
    const float* a = in + (size_t)(2 * cp) * hw;
    const float* b = a + hw;
    uint32_t* plane = e->planes + (size_t)cp * e->PS + (size_t)pad * e->RS + pad;
    for (int y = 0; y < H; y++, a += W, b += W, plane += e->RS)
      for (int x = 0; x < W; x += XK_V) {
        // the last vector of a row: lanes past W read 0 and land in the padding (0 again) or past it.
        // The input is fresh from the caller (not in cache): ask for it 2 KB ahead.
        __builtin_prefetch(a + x + 512);
        __builtin_prefetch(b + x + 512);
        const vi qa = quant_lanes(load_cols(a, x, W), vinv, vqa, vmax, finite);
        const vi qb = quant_lanes(load_cols(b, x, W), vinv, vqa, vmax, finite);
        storeu(plane + x, ((vu)qa & 0xFFFFu) | ((vu)qb << 16));
      }
  }
  if (e->odd) {
    // word at padded column X: (q(X - pad), q(X - pad + 1)), zero outside the image
    const float* a = in + (size_t)(g.inC - 1) * hw;
    uint32_t* plane = e->planes + (size_t)e->pairs * e->PS + (size_t)pad * e->RS;
    const int Wp = W + 2 * pad;
    for (int y = 0; y < H; y++, a += W, plane += e->RS)
      for (int X = 0; X < Wp; X += XK_V) {
        __builtin_prefetch(a + X + 512);
        const vi q0 = quant_lanes(load_cols(a, X - pad, W), vinv, vqa, vmax, finite);
        const vi q1 = quant_lanes(load_cols(a, X - pad + 1, W), vinv, vqa, vmax, finite);
        storeu(plane + X, ((vu)q0 & 0xFFFFu) | ((vu)q1 << 16));
      }
  }
  float amax = 0;
  for (int l = 0; l < XK_V; l++) amax = vmax[l] > amax ? vmax[l] : amax;
  return all_lanes(finite) ? amax : __builtin_nanf("");
}

// This frame's int16 planes and bounds. The step comes from the previous frame's max |x| (one pass
// over the input instead of two; a video's range hardly moves): a frame outside [1/4, 1] of it is
// quantised again at its own. False (float path) for a NaN, an infinity or an all-zero input.
static bool est_frame(const Op* op, SignEst* e, const float* in) {
  const int outC = op->g.outC;
  if (!e->planes) {
    e->planes = (uint32_t*)zalloc((size_t)(e->pairs + e->odd) * e->PS * 4 + 4 * (size_t)e->RS);
    if (!e->planes) return false;
  }
  float inv = e->hint > 0 ? (float)(e->qA / (double)e->hint) : 1.0f;
  float amaxf = est_quantise(op, e, in, inv);
  if (!(amaxf > 0)) return false;  // NaN or zero
  // past the range (clamped), or so far inside it that the step is coarse (more undecided outputs)
  if (amaxf * (double)inv > e->qA || amaxf * (double)inv < e->qA / 4.0 || !(e->hint > 0)) {
    inv = (float)(e->qA / (double)amaxf);
    amaxf = est_quantise(op, e, in, inv);
  }
  e->hint = amaxf;
  const double amax = amaxf;
  const double sigma = 1.0 / (double)inv;
  const double U = 5.9604644775390625e-08, TINY = 1.401298464324817e-45;
  const int K = e->K;
  const double gamma = ((K + 1) * U) / (1 - (K + 1) * U);
  const double ex = sigma / 2 + U * amax;
  for (int f = 0; f < outC; f++) {
    const double b = op->bias[f];
    const double darknet = gamma * (e->w1[f] * amax + fabs(b)) + (2.0 * K + 2) * TINY;
    const double quant = e->w1[f] * ex + K * (amax + ex) * e->ew[f];
    const double err = 1.01 * (darknet + quant) + 1e-30;
    const double step = sigma * e->wScale[f];
    if (!(step > 0)) {  // an all-zero filter: v = b exactly
      e->hi[f] = e->lo[f] = b > 0 ? INT32_MIN : INT32_MAX;
      continue;
    }
    double hi = (err - b) / step, lo = (-err - b) / step;
    hi = ceil(hi + (fabs(hi) * 1e-12 + 1e-9));
    lo = floor(lo - (fabs(lo) * 1e-12 + 1e-9));
    e->hi[f] = hi > 2147483647.0 ? INT32_MAX : hi < -2147483648.0 ? INT32_MIN : (int32_t)hi;
    e->lo[f] = lo > 2147483647.0 ? INT32_MAX : lo < -2147483648.0 ? INT32_MIN : (int32_t)lo;
  }
  return true;
}

// darknet's float32 value (before the activation) of output (f, oy, ox): k = (c, ky, kx) in order,
// product and sum rounded separately, taps outside the image skipped (they add +-0), then the bias.
static float est_exact(const Op* op, int f, int oy, int ox) {
  const XkGeom& g = op->g;
  const int S = g.size, H = g.inH, W = g.inW;
  const float* w = op->est->wexact + (size_t)f * op->K;
  float acc = 0;
  for (int c = 0, k = 0; c < g.inC; c++)
    for (int ky = 0; ky < S; ky++)
      for (int kx = 0; kx < S; kx++, k++) {
        const int y = oy + ky - g.pad, x = ox + kx - g.pad;
        if (y < 0 || y >= H || x < 0 || x >= W) continue;
        acc = acc + w[k] * op->din[((size_t)c * H + y) * W + x];
      }
  return acc + op->bias[f];
}

// The PIX tile's stash (lanes (f * 2 + v) * XK_V) with values of darknet's sign: +-1 where the
// int16 sum decides, darknet's own value where it does not.
template <int NF, int NV>
static void est_pix_tile(const Op* op, int f0, int oy, int ox0, float* stash) {
  const SignEst* e = op->est;
  vi acc[NF][NV];
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++)
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = (vi){};
  const uint32_t* src = e->planes + (size_t)oy * e->RS + ox0;
  const uint32_t* wk = e->w + f0;
  for (int k = 0; k < e->KP; k++, wk += e->outCp) {
    const uint32_t* p = src + e->off[k];
    vu x[NV];
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) x[v] = loadu(p + v * XK_V);
    _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
      const vu wb = (vu){} + wk[f];
      _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) acc[f][v] = dot2_lanes(acc[f][v], x[v], wb);
    }
  }
  const int outW = op->g.outW;
  _Pragma("GCC unroll 16") for (int f = 0; f < NF; f++) {
    const __m512i hi = _mm512_set1_epi32(e->hi[f0 + f]), lo = _mm512_set1_epi32(e->lo[f0 + f]);
    _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {
      const int ox = ox0 + v * XK_V, count = imin(XK_V, outW - ox);
      if (count <= 0) continue;
      const __mmask16 pos = _mm512_cmpgt_epi32_mask((__m512i)acc[f][v], hi);
      const __mmask16 neg = _mm512_cmplt_epi32_mask((__m512i)acc[f][v], lo);
      float* s = stash + (f * 2 + v) * XK_V;
      _mm512_storeu_ps(s, _mm512_mask_blend_ps(pos, _mm512_set1_ps(-1.0f), _mm512_set1_ps(1.0f)));
      unsigned open = (unsigned)(~(pos | neg)) & ((1u << count) - 1);
      while (open) {
        const int l = __builtin_ctz(open);
        open &= open - 1;
        s[l] = est_exact(op, f0 + f, oy, ox + l);
      }
    }
  }
}

template <int NF>
static void est_pix_nf(const Op* op, int f0, int oy, int ox0, float* stash) {
  if (op->nv == 2 && NF <= 8) est_pix_tile<NF, 2>(op, f0, oy, ox0, stash);
  else if (op->nv == 2) {
    est_pix_tile<NF, 1>(op, f0, oy, ox0, stash);
    est_pix_tile<NF, 1>(op, f0, oy, ox0 + XK_V, stash + XK_V);
  } else est_pix_tile<NF, 1>(op, f0, oy, ox0, stash);
}

static void est_pix(const Op* op, const Block& b, int oy, int ox0, float* stash) {
  switch (b.variant) {
    case 0: est_pix_nf<kPixNF[0]>(op, b.f0, oy, ox0, stash); break;
    case 1: est_pix_nf<kPixNF[1]>(op, b.f0, oy, ox0, stash); break;
    case 2: est_pix_nf<kPixNF[2]>(op, b.f0, oy, ox0, stash); break;
    default: est_pix_nf<1>(op, b.f0, oy, ox0, stash); break;
  }
}
#else
#define XK_EST 0
static inline bool est_on(const Op*) { return false; }
#endif
