// The boundary between the N-API glue (addon.cc, plain C++) and the per-ISA kernel translation
// units (isa_*.cc, each compiled with its own -m flags). Only C types cross it, so nothing
// compiled with AVX-512 can leak into code that runs before the CPU check.
#pragma once
#include <stdint.h>

enum XkAct { XK_LINEAR = 0, XK_LEAKY = 1, XK_RELU = 2 };

struct XkGeom {
  int inC, inH, inW, outC, outH, outW, size, stride, pad, groups, act;
  int shape;  // 0 = pick the faster kernel shape, 1 = pixels in lanes, 2 = filters in lanes (tests)
  int poolSize, poolStride, poolPadding;  // poolSize 0: no maxpool; else darknet's maxpool on the output
};

// What lies between a producer's output and a consumer's input in a bit link, all in sign bits:
// darknet's maxpool is the OR of the window's taps (max > 0 iff some tap > 0; a window without
// taps gives 0), upsample replicates each pixel stride x stride times.
enum XkBitStepKind { XK_BIT_POOL = 1, XK_BIT_UPSAMPLE = 2 };
struct XkBitStep {
  int kind, size, stride, offset, oh, ow;  // pool: window offset (trunc(-padding/2)) and output size; upsample: stride only
};
#define XK_MAX_BIT_STEPS 8
// Binary convolutions take at most this many 32-channel words per output, ceil(inC / 32) x kernel area: the AVX2 and
// SSE kernels count mismatches in the two 16-bit halves of each lane (XK_COUNT_HALVES), at most 16 per word and half.
#define XK_MAX_BINARY_WORDS 4095
struct XkBitPath {
  int chOff;        // the producer's channel 0 is the consumer's input channel chOff (multiple of 32)
  int srcH, srcW;   // the producer's convolution output (before any fused pool), not flattened
  int dstH, dstW;   // the consumer's input, not flattened
  int nsteps;
  XkBitStep steps[XK_MAX_BIT_STEPS];
};

// A prepared convolution. run = pack(in) once, then compute(items [begin, end)) on any threads
// (items write disjoint outputs), then finish(out) (darknet's leaky tail) once.
struct XkTable {
  const char* name;
  void* (*prepare_float)(const XkGeom* g, const float* w, const float* bias);
  void* (*prepare_binary)(const XkGeom* g, const float* w, const float* scale, const float* bias);
  void* (*prepare_maxpool)(int c, int h, int w, int oh, int ow, int size, int stride, int padding);
  // fast != 0 (fast precision only): the logistic in float32 instead of V8's double exp;
  // raw_classes != 0: class scores copied, not activated (the runner's lazy yolo)
  void* (*prepare_yolo)(int c, int hw, int classes, int anchors, int raw_classes, float alpha, float beta, int fast);
  void* (*prepare_upsample)(int c, int h, int w, int stride, float scale);
  int (*items)(void* op);
  void (*pack)(void* op, const float* in, int part, int parts);
  void (*compute)(void* op, const float* in, float* out, int begin, int end);
  void (*finish)(void* op, float* out);
  const char* (*describe)(void* op);  // which kernel shape was chosen, for benchmarks
  void (*destroy)(void* op);
  // Opt-in fast precision (may be null: the ISA has no such path), NOT bit-identical to darknet
  // (docs/kernels.md has the measured tolerance). mode 1: a float convolution with fused
  // multiply-add; mode 2: in int8 (groups 1) with per-filter weight scales and a per-frame input
  // scale and zero point. Returns null where the mode does not apply.
  void* (*prepare_float_fast)(const XkGeom* g, const float* w, const float* bias, int mode);
  // Bit output: convolution `producer` writes the sign bits (x > 0) of its (activated, pooled)
  // output, carried through `path` (maxpools, upsamples, a channel offset: a route slice), straight
  // into the packed input of binary convolution `consumer`, whose run() then skips sign packing of
  // those channels; the producer writes no floats. A producer may feed several consumers and a
  // consumer take several producers (disjoint 32-channel planes). 2 = linked and every input plane
  // of the consumer is now linked, 1 = linked, 0 = not applicable (nothing changed). dry != 0: only
  // says whether it would link, changes nothing.
  int (*link_bits)(void* producer, void* consumer, const XkBitPath* path, int dry);
  // The threads the coming run() computes on (before pack): a kernel whose per-frame preparation
  // is serial (the sign estimate's quantisation) may take another path when it has company.
  void (*run_threads)(void* op, int threads);
};


extern "C" {
const XkTable* xk_table_avx512();
const XkTable* xk_table_avx2();
const XkTable* xk_table_popcnt();
const XkTable* xk_table_neon();
}
