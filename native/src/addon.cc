// N-API glue for the native kernels: CPU feature detection, op handles, and an optional small
// thread pool for intra-frame threading. Compiled without ISA flags; the kernels live in isa_*.cc.
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "kernels.h"
#include "pool.h"

#include <vector>

namespace {

struct IsaEntry {
  const char* name;
  const XkTable* (*table)();
  bool (*supported)();
  bool (*fast)();  // the table's prepare_float_fast may run here (null: never)
  const char* fast_kind;  // what fast precision does to a float convolution the runner marks int8-safe: "int8" or "fma"
};

#if defined(__x86_64__) || defined(_M_X64)
bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vpopcntdq");
}
// FMA too: the AVX2 unit is compiled with it (fast precision's float convolutions). Every AVX2 CPU has it.
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("popcnt");
}
// The fast-precision (int8) path of the AVX-512 unit needs VNNI on top of its base features.
bool has_fast_avx512() {
  __builtin_cpu_init();
  return has_avx512() && __builtin_cpu_supports("avx512vnni");
}
bool has_popcnt() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("ssse3");
}
const IsaEntry kIsas[] = {
    {"avx512", xk_table_avx512, has_avx512, has_fast_avx512, "int8"},
    {"avx2", xk_table_avx2, has_avx2, has_avx2, "fma"},
    {"popcnt", xk_table_popcnt, has_popcnt, nullptr, ""},
};
#elif defined(__aarch64__)
bool has_neon() { return true; }
const IsaEntry kIsas[] = {{"neon", xk_table_neon, has_neon, nullptr, ""}};
#else
const IsaEntry kIsas[] = {};
#endif
const int kIsaCount = sizeof(kIsas) / sizeof(kIsas[0]);

struct Handle {
  Handle(const XkTable* t_, void* op_, size_t in, size_t out, int th) : t(t_), op(op_), inLen(in), outLen(out), threads(th) {}
  const XkTable* t;
  void* op;
  size_t inLen, outLen;
  int threads;
  int inH = 0, inW = 0, outH = 0, outW = 0;  // convolutions: input and conv output, not flattened
  std::vector<Handle*> peers;  // link(): the ops this one writes bits for, or that write its bits
  bool peerGone = false;       // a linked op was disposed or collected: running this one would be wrong
};

// Before an op is freed: the ops linked to it must not run any more (they would use freed bits).
void drop_peer(Handle* h) {
  for (Handle* o : h->peers) {
    for (size_t i = 0; i < o->peers.size(); i++)
      if (o->peers[i] == h) {
        o->peers.erase(o->peers.begin() + i);
        break;
      }
    o->peerGone = true;
  }
  h->peers.clear();
}

#define CHECK(call)                                                 \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error(env, nullptr, "xnorcam native: " #call " failed"); \
      return nullptr;                                               \
    }                                                               \
  } while (0)

napi_value throw_msg(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

// The elements and length of a typed array argument of the given type; false when v is not one
// (an empty array is one: its data pointer may be null).
bool typed_data(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) == napi_ok && type == want;
}

bool get_f32(napi_env env, napi_value v, float** data, size_t* len) { return typed_data(env, v, napi_float32_array, (void**)data, len); }

// An Int32Array argument's ints and length; null when v is not one (or is empty).
const int32_t* get_i32(napi_env env, napi_value v, size_t* len) {
  void* p = nullptr;
  return typed_data(env, v, napi_int32_array, &p, len) ? (const int32_t*)p : nullptr;
}

// Copies a geometry argument of exactly n ints into out; false (and a thrown error naming fn) when v is not one.
bool get_geometry(napi_env env, napi_value v, void* out, size_t n, const char* fn) {
  size_t len = 0;
  const int32_t* p = get_i32(env, v, &len);
  if (!p || len != n) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: geometry must be an Int32Array(%zu)", fn, n);
    throw_msg(env, msg);
    return false;
  }
  memcpy(out, p, n * 4);
  return true;
}

const IsaEntry* find_entry(napi_env env, napi_value v) {
  char name[32];
  size_t n;
  if (napi_get_value_string_utf8(env, v, name, sizeof name, &n) != napi_ok) return nullptr;
  for (int i = 0; i < kIsaCount; i++)
    if (strcmp(kIsas[i].name, name) == 0 && kIsas[i].supported()) return &kIsas[i];
  return nullptr;
}

const XkTable* find_isa(napi_env env, napi_value v) {
  const IsaEntry* e = find_entry(env, v);
  return e ? e->table() : nullptr;
}

bool entry_fast(const IsaEntry* e) { return e && e->fast && e->fast() && e->table()->prepare_float_fast; }

void finalize_handle(napi_env, void* data, void*) {
  Handle* h = (Handle*)data;
  drop_peer(h);
  if (h->op) h->t->destroy(h->op);
  delete h;
}

// The JS handle owning h (h is freed here if that fails, and an error naming fn is thrown).
napi_value wrap_handle(napi_env env, Handle* h, const char* fn) {
  napi_value ext;
  if (napi_create_external(env, h, finalize_handle, nullptr, &ext) != napi_ok) {
    finalize_handle(env, h, nullptr);
    char msg[96];
    snprintf(msg, sizeof msg, "%s: cannot create handle", fn);
    return throw_msg(env, msg);
  }
  return ext;
}

Handle* get_handle(napi_env env, napi_value v) {
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return (Handle*)data;
}

// isas() -> names of the ISA paths this CPU can run, fastest first.
napi_value Isas(napi_env env, napi_callback_info) {
  napi_value arr;
  CHECK(napi_create_array(env, &arr));
  uint32_t k = 0;
  for (int i = 0; i < kIsaCount; i++) {
    if (!kIsas[i].supported()) continue;
    napi_value s;
    CHECK(napi_create_string_utf8(env, kIsas[i].name, NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, arr, k++, s));
  }
  return arr;
}

// fastKind(isa) -> what the ISA path's fast precision is on this CPU: "int8" (int8 where the runner allows it, FMA
// elsewhere), "fma" (every float convolution with FMA), or "" (none: float convolutions stay exact).
napi_value FastKind(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  const IsaEntry* e = argc >= 1 ? find_entry(env, argv[0]) : nullptr;
  napi_value r;
  CHECK(napi_create_string_utf8(env, entry_fast(e) ? e->fast_kind : "", NAPI_AUTO_LENGTH, &r));
  return r;
}

// prepare(isa, geom: Int32Array(15), weights, scale | null, bias, fast?) -> handle.
// scale === null means a float conv, otherwise a binary conv. fast (float convs only): 0 or absent
// = exact; 1 = with FMA; 2 = int8 (groups 1; with FMA on an ISA without int8 kernels), where the ISA has them, else
// exact.
napi_value Prepare(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 5) return throw_msg(env, "prepare: expected 5 arguments");
  const IsaEntry* entry = find_entry(env, argv[0]);
  if (!entry) return throw_msg(env, "prepare: ISA not available on this CPU");
  const XkTable* t = entry->table();
  int fast = 0;
  if (argc >= 6) {
    napi_valuetype ft;
    CHECK(napi_typeof(env, argv[5], &ft));
    if (ft == napi_number) CHECK(napi_get_value_int32(env, argv[5], &fast));
  }
  XkGeom g;
  static_assert(sizeof g == 15 * 4, "XkGeom is the 15 ints of the geometry argument");
  if (!get_geometry(env, argv[1], &g, 15, "prepare")) return nullptr;
  float *w, *scale = nullptr, *bias;
  size_t wlen, slen = 0, blen;
  if (!get_f32(env, argv[2], &w, &wlen)) return throw_msg(env, "prepare: weights must be a Float32Array");
  napi_valuetype st;
  CHECK(napi_typeof(env, argv[3], &st));
  const bool binary = st != napi_null && st != napi_undefined;
  if (binary && !get_f32(env, argv[3], &scale, &slen)) return throw_msg(env, "prepare: scale must be a Float32Array");
  if (!get_f32(env, argv[4], &bias, &blen)) return throw_msg(env, "prepare: bias must be a Float32Array");
  if (g.inC <= 0 || g.groups <= 0 || g.inC % g.groups || g.outC % g.groups || g.size <= 0 || g.stride <= 0 || g.pad < 0 ||
      g.outH <= 0 || g.outW <= 0 || g.outH != (g.inH + 2 * g.pad - g.size) / g.stride + 1 ||
      g.outW != (g.inW + 2 * g.pad - g.size) / g.stride + 1)
    return throw_msg(env, "prepare: inconsistent convolution geometry");
  const size_t wneed = (size_t)g.outC * (g.inC / g.groups) * g.size * g.size;
  if (wlen != wneed || blen != (size_t)g.outC || (binary && slen != (size_t)g.outC))
    return throw_msg(env, "prepare: weights/scale/bias lengths do not match the geometry");
  if (binary && g.groups != 1) return throw_msg(env, "prepare: binary convolutions have groups = 1");
  size_t outLen = (size_t)g.outC * g.outH * g.outW;
  const int inH0 = g.inH, inW0 = g.inW, outH0 = g.outH, outW0 = g.outW;
  if (g.poolSize != 0) {
    if (g.poolSize < 1 || g.poolStride < 1 || g.poolPadding < 0) return throw_msg(env, "prepare: bad maxpool geometry");
    const int ph = (g.outH + g.poolPadding - g.poolSize) / g.poolStride + 1, pw = (g.outW + g.poolPadding - g.poolSize) / g.poolStride + 1;
    if (ph < 1 || pw < 1) return throw_msg(env, "prepare: maxpool output is empty");
    outLen = (size_t)g.outC * ph * pw;
  } else if (g.size == 1 && g.stride == 1 && g.pad == 0) {
    // A 1x1 convolution is a plain GEMM over the flattened plane: one long row wastes no lanes at row ends.
    g.inW = g.outW = g.inH * g.inW;
    g.inH = g.outH = 1;
  }
  // Refused on every ISA, not only where the kernels count in 16-bit halves (kernels.h), so a model runs alike on every
  // CPU; the TypeScript side says so first, as a user error. No detector's layer comes near it.
  if (binary) {
    const size_t words = (size_t)((g.inC + 31) / 32) * g.size * g.size;
    if (words > XK_MAX_BINARY_WORDS) {
      char msg[160];
      snprintf(msg, sizeof msg, "prepare: a binary convolution of %zu 32-channel words per output (inC %d, %dx%d); at most %d", words, g.inC, g.size, g.size, XK_MAX_BINARY_WORDS);
      return throw_msg(env, msg);
    }
  }
  void* op = nullptr;
  if (binary) op = t->prepare_binary(&g, w, scale, bias);
  else if ((fast == 1 || fast == 2) && entry_fast(entry)) op = t->prepare_float_fast(&g, w, bias, fast);
  if (!op && !binary) op = t->prepare_float(&g, w, bias);
  if (!op) return throw_msg(env, "prepare: out of memory");
  Handle* h = new Handle{t, op, (size_t)g.inC * g.inH * g.inW, outLen, 1};
  h->inH = inH0;
  h->inW = inW0;
  h->outH = outH0;
  h->outW = outW0;
  return wrap_handle(env, h, "prepare");
}

// prepareMaxPool(isa, Int32Array [c, h, w, outH, outW, size, stride, padding]) -> handle.
napi_value PrepareMaxPool(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) return throw_msg(env, "prepareMaxPool: expected 2 arguments");
  const XkTable* t = find_isa(env, argv[0]);
  if (!t) return throw_msg(env, "prepareMaxPool: ISA not available on this CPU");
  int g[8];
  if (!get_geometry(env, argv[1], g, 8, "prepareMaxPool")) return nullptr;
  if (g[0] < 1 || g[1] < 1 || g[2] < 1 || g[3] < 1 || g[4] < 1 || g[5] < 1 || g[6] < 1 || g[7] < 0)
    return throw_msg(env, "prepareMaxPool: bad geometry");
  void* op = t->prepare_maxpool(g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
  if (!op) return throw_msg(env, "prepareMaxPool: out of memory");
  Handle* h = new Handle{t, op, (size_t)g[0] * g[1] * g[2], (size_t)g[0] * g[3] * g[4], 1};
  return wrap_handle(env, h, "prepareMaxPool");
}

// prepareYolo(isa, Int32Array [c, hw, classes, anchors, rawClasses], alpha, beta, fast?) -> handle.
// fast === true (where the ISA has the fast precision): float32 logistic, not bit-identical.
napi_value PrepareYolo(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 4) return throw_msg(env, "prepareYolo: expected 4 arguments");
  const IsaEntry* entry = find_entry(env, argv[0]);
  if (!entry) return throw_msg(env, "prepareYolo: ISA not available on this CPU");
  const XkTable* t = entry->table();
  bool fast = false;
  if (argc >= 5) {
    napi_valuetype ft;
    CHECK(napi_typeof(env, argv[4], &ft));
    if (ft == napi_boolean) CHECK(napi_get_value_bool(env, argv[4], &fast));
  }
  int g[5];
  if (!get_geometry(env, argv[1], g, 5, "prepareYolo")) return nullptr;
  double alpha, beta;
  if (napi_get_value_double(env, argv[2], &alpha) != napi_ok || napi_get_value_double(env, argv[3], &beta) != napi_ok)
    return throw_msg(env, "prepareYolo: alpha and beta must be numbers");
  if (g[0] < 1 || g[1] < 1 || g[2] < 0 || g[3] < 0 || (long)g[3] * (g[2] + 5) > g[0]) return throw_msg(env, "prepareYolo: bad geometry");
  void* op = t->prepare_yolo(g[0], g[1], g[2], g[3], g[4] != 0, (float)alpha, (float)beta, fast && entry_fast(entry) ? 1 : 0);
  if (!op) return throw_msg(env, "prepareYolo: out of memory");
  Handle* h = new Handle{t, op, (size_t)g[0] * g[1], (size_t)g[0] * g[1], 1};
  return wrap_handle(env, h, "prepareYolo");
}

// prepareUpsample(isa, Int32Array [c, h, w, stride], scale) -> handle.
napi_value PrepareUpsample(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 3) return throw_msg(env, "prepareUpsample: expected 3 arguments");
  const XkTable* t = find_isa(env, argv[0]);
  if (!t) return throw_msg(env, "prepareUpsample: ISA not available on this CPU");
  int g[4];
  if (!get_geometry(env, argv[1], g, 4, "prepareUpsample")) return nullptr;
  double scale;
  if (napi_get_value_double(env, argv[2], &scale) != napi_ok) return throw_msg(env, "prepareUpsample: scale must be a number");
  if (g[0] < 1 || g[1] < 1 || g[2] < 1 || g[3] < 1) return throw_msg(env, "prepareUpsample: bad geometry");
  void* op = t->prepare_upsample(g[0], g[1], g[2], g[3], (float)scale);
  if (!op) return throw_msg(env, "prepareUpsample: out of memory");
  const size_t n = (size_t)g[0] * g[1] * g[2];
  Handle* h = new Handle{t, op, n, n * g[3] * g[3], 1};
  return wrap_handle(env, h, "prepareUpsample");
}

// run(handle, input, output, threads)
napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Handle* h = argc >= 3 ? get_handle(env, argv[0]) : nullptr;
  if (!h || !h->op) return throw_msg(env, "run: invalid or disposed op");
  if (h->peerGone) return throw_msg(env, "run: the op linked to this one (link) was disposed");
  float *in, *out;
  size_t inLen, outLen;
  if (!get_f32(env, argv[1], &in, &inLen) || inLen < h->inLen) return throw_msg(env, "run: input must be a Float32Array of inC*inH*inW");
  if (!get_f32(env, argv[2], &out, &outLen) || outLen < h->outLen) return throw_msg(env, "run: output must be a Float32Array of outC*outH*outW");
  int threads = 1;
  if (argc >= 4) napi_get_value_int32(env, argv[3], &threads);
  xk_run(h->t, h->op, in, out, threads);
  return nullptr;
}

// link(producer, consumer, path?: Int32Array, dry?: boolean) -> boolean: the producer convolution
// writes (some of) the consumer binary convolution's packed input bits itself (XkTable::link_bits).
// path = [chOff, nsteps, then per step kind, size, stride, offset, oh, ow] (XkBitPath; absent: the
// producer's output is the consumer's whole input). Once linked, the producer's run() writes no
// output tensor, and the consumer's run() reads no input tensor once all its planes are linked
// (either may then be empty). dry: only whether it would link.
napi_value Link(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Handle* p = argc >= 2 ? get_handle(env, argv[0]) : nullptr;
  Handle* c = argc >= 2 ? get_handle(env, argv[1]) : nullptr;
  if (!p || !p->op || !c || !c->op) return throw_msg(env, "link: invalid or disposed op");
  XkBitPath path;
  memset(&path, 0, sizeof path);
  if (argc >= 3) {
    napi_valuetype pt;
    CHECK(napi_typeof(env, argv[2], &pt));
    if (pt != napi_undefined && pt != napi_null) {
      size_t len = 0;
      const int32_t* v = get_i32(env, argv[2], &len);
      if (!v || len < 2 || v[1] < 0 || v[1] > XK_MAX_BIT_STEPS || len != 2 + 6 * (size_t)v[1])
        return throw_msg(env, "link: path must be an Int32Array [chOff, nsteps, 6 per step]");
      path.chOff = v[0];
      path.nsteps = v[1];
      for (int i = 0; i < path.nsteps; i++) {
        const int32_t* q = v + 2 + 6 * i;
        path.steps[i] = XkBitStep{q[0], q[1], q[2], q[3], q[4], q[5]};
      }
    }
  }
  bool dry = false;
  if (argc >= 4) {
    napi_valuetype dt;
    CHECK(napi_typeof(env, argv[3], &dt));
    if (dt == napi_boolean) CHECK(napi_get_value_bool(env, argv[3], &dry));
  }
  path.srcH = p->outH;
  path.srcW = p->outW;
  path.dstH = c->inH;
  path.dstW = c->inW;
  int r = p != c && p->t == c->t && p->t->link_bits && !p->peerGone && !c->peerGone ? p->t->link_bits(p->op, c->op, &path, dry ? 1 : 0) : 0;
  if (r && !dry) {
    p->outLen = 0;
    if (r == 2) c->inLen = 0;
    bool known = false;
    for (Handle* o : p->peers) known = known || o == c;
    if (!known) {
      p->peers.push_back(c);
      c->peers.push_back(p);
    }
  }
  napi_value res;
  CHECK(napi_get_boolean(env, r != 0, &res));
  return res;
}

napi_value Describe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Handle* h = argc >= 1 ? get_handle(env, argv[0]) : nullptr;
  if (!h || !h->op) return throw_msg(env, "describe: invalid or disposed op");
  napi_value s;
  CHECK(napi_create_string_utf8(env, h->t->describe(h->op), NAPI_AUTO_LENGTH, &s));
  return s;
}

napi_value Dispose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Handle* h = argc >= 1 ? get_handle(env, argv[0]) : nullptr;
  if (h && h->op) {
    drop_peer(h);
    h->t->destroy(h->op);
    h->op = nullptr;
  }
  return nullptr;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"isas", nullptr, Isas, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"prepare", nullptr, Prepare, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fastKind", nullptr, FastKind, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"prepareMaxPool", nullptr, PrepareMaxPool, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"prepareYolo", nullptr, PrepareYolo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"prepareUpsample", nullptr, PrepareUpsample, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"run", nullptr, Run, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"link", nullptr, Link, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"describe", nullptr, Describe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"dispose", nullptr, Dispose, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
