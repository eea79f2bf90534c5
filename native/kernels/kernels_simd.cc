// The SIMD kernels, written once and compiled once per ISA (see simd.h and
// binding.gyp: one static library per ISA, each with its own -m flags).
//
// Every kernel is one or two streaming passes over the tensor:
//   ChannelStats           1 pass  (read x)                        4 B/value (f32)
//   BatchNormTrainForward  2 passes (read x; read x, write y)     12 B/value
//   BatchNormInferForward  1 pass  (read x, write y)              8 B/value
//   BatchNormBackward      2 passes (read dy, x; read dy, x, write dx) 20 B/value
// (channels-first training forward and backward fuse the two passes per
// channel when a channel fits in L2: 8 and 12 B/value; see "Channel-fused").
// Past the last-level cache a plain store also reads the line it writes;
// elementwise passes over such working sets store their output with
// streaming stores instead (plan.h StreamsStores), which do not.
// Sums and the folded affine transforms run in double (float32 is widened
// on load), which costs a few vector ops per value: close to what one core
// issues per byte of bandwidth, so the loops avoid anything more (no gathers,
// no per-value branches or divisions, no add-latency chains, no register
// spills) and prefetch ahead. On the AVX-512 development machine every pass
// measured within ~10% of a streaming copy, single thread.
//
// Two walkers implement every pass (see plan.h for when each is used):
//   ...Nhwc (row mode): a row of the item is a run of positions whose
//     channel is fixed per position; per-position accumulators (or
//     coefficients) live in small L1 arrays, and reductions keep a strip of
//     them in registers across a block of rows.
//   ...Nchw (run mode): one run of `inner` values of a single channel at a
//     time; accumulators stay in registers and coefficients are broadcast.
// Tensors of at most kTinyValues values take neither (no plan, no pool):
// the tiny walk below ("Tiny tensors"), where the call, not the bandwidth,
// is the cost.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernel_table.h"
#include "plan.h"
#include "simd.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Software prefetch into L2, kPrefetchBytes ahead of the loads. Once a
// tensor no longer fits in the last-level cache, a loop that does real work
// per byte keeps too few misses in flight for the hardware prefetcher alone:
// measured on the stats loop at 128 MB, 8 GB/s without, 12 GB/s with (and no
// change while the tensor is cache resident). Prefetches never fault, so
// running past the end of an array is harmless.
constexpr int64_t kPrefetchBytes = 4096;
static_assert(kPrefetchBytes == kFusePrefetchReach, "plan.h's fusion budget counts this reach");

// One prefetch per cache line of a block of `bytes` bytes starting at p.
template <int64_t kBytes>
inline void PrefetchBlock(const void* p) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < kBytes; off += 64) __builtin_prefetch(c + off, 0, 2);
}

// One prefetch per cache line of [p, p + bytes).
inline void PrefetchRun(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 2);
}

// Where a run walker's loads prefetch: as it reads a[i] (and b[i]) it
// prefetches a[i] and b[i] of these two streams. Ahead() is the default,
// kPrefetchBytes further along the same arrays; the fused walk aims them at
// the next channel instead (plan.h FusedPrefetchesNextChannel).
template <class T>
struct PrefetchStreams {
  const T* a;
  const T* b;
};

template <class T>
inline PrefetchStreams<T> Ahead(const T* a, const T* b) {
  constexpr int64_t kAhead = kPrefetchBytes / int64_t{sizeof(T)};
  return {a + kAhead, b + kAhead};
}

// Values before the first address of p aligned to a whole vector store
// (kLanes<T> values), so that an elementwise loop's stores never split a
// cache line: a misaligned output stream measured ~25% slower at 51 MB on
// AVX-512. Node's large ArrayBuffers start 16 bytes past a page boundary,
// so this is the common case there. 0 when p is not even T-aligned.
template <class T>
inline int64_t AlignHead(const T* p) {
  constexpr uintptr_t kBytes = kLanes<T> * sizeof(T);
  const uintptr_t mis = reinterpret_cast<uintptr_t>(p) % kBytes;
  if (mis % sizeof(T) != 0) return 0;
  return static_cast<int64_t>((kBytes - mis) % kBytes / sizeof(T));
}

// ---------------------------------------------------------------------------
// Per-value operations.
//
// Reductions accumulate two sums (s, q) from one or two inputs and a
// per-channel parameter p; elementwise ops map one or two inputs through
// per-channel coefficients. Each has a vector form and a scalar form with the
// same roundings.

// Statistics of x about a shift p (a value of the channel, so of dtype T):
//   s = sum d,  q = sum d^2,  d = x - p rounded to T, then widened to double.
// Subtracting in T first is one native op instead of two widened ones. For
// the values of a channel near p (within a factor 2 of it) x - p is exact
// (Sterbenz); otherwise d carries one rounding, 2^-24 relative for float,
// which moves M2 by at most 2 * 2^-24 * sqrt(q * M2), i.e. a relative
// 1.2e-7 * sqrt(1 + ((mean - p)/std)^2). See ComputeStats for the rest.
template <class T>
struct StatsOp {
  using NV = typename Native<T>::V;
  static constexpr bool kTwoInputs = false;
  static void Step(NV x, NV, NV p, DVec* s, DVec* q) {
    DVec d[kIn<T>];
    Native<T>::Widen(Native<T>::Sub(x, p), d);
    for (int h = 0; h < kIn<T>; ++h) {
      s[h] = Add(s[h], d[h]);
      q[h] = MulAdd(d[h], d[h], q[h]);
    }
  }
  static void Step1(T x, T, T p, double& s, double& q) {
    const double d = static_cast<double>(static_cast<T>(x - p));
    s += d;
    q = MulAddScalar(d, d, q);
  }
};

// The backward sums, inputs (dy, x), p = mean (dtype T):
//   s = sum dy,  q = sum dy * (x - mean),  x - mean rounded to T as above.
template <class T>
struct GradSumsOp {
  using NV = typename Native<T>::V;
  static constexpr bool kTwoInputs = true;
  static void Step(NV dy, NV x, NV m, DVec* s, DVec* q) {
    DVec g[kIn<T>], d[kIn<T>];
    Native<T>::Widen(dy, g);
    Native<T>::Widen(Native<T>::Sub(x, m), d);
    for (int h = 0; h < kIn<T>; ++h) {
      s[h] = Add(s[h], g[h]);
      q[h] = MulAdd(g[h], d[h], q[h]);
    }
  }
  static void Step1(T dy, T x, T m, double& s, double& q) {
    const double g = static_cast<double>(dy);
    s += g;
    q = MulAddScalar(g, static_cast<double>(static_cast<T>(x - m)), q);
  }
};

// y = x * c0 + c1 (the folded forward, see BatchNormTrainForward).
struct ScaleShiftOp {
  static constexpr bool kTwoInputs = false;
  static constexpr int kCoefs = 2;
  static DVec Apply(DVec x, DVec, const DVec* c) { return MulAdd(x, c[0], c[1]); }
  static double Apply1(double x, double, const double* c) {
    return MulAddScalar(x, c[0], c[1]);
  }
};

// dx = dy * c0 + (x * c1 + c2) (the folded training backward).
struct GradTrainOp {
  static constexpr bool kTwoInputs = true;
  static constexpr int kCoefs = 3;
  static DVec Apply(DVec dy, DVec x, const DVec* c) {
    return MulAdd(dy, c[0], MulAdd(x, c[1], c[2]));
  }
  static double Apply1(double dy, double x, const double* c) {
    return MulAddScalar(dy, c[0], MulAddScalar(x, c[1], c[2]));
  }
};

// dx = dy * c0 (backward through frozen statistics).
struct GradFrozenOp {
  static constexpr bool kTwoInputs = false;
  static constexpr int kCoefs = 1;
  static DVec Apply(DVec dy, DVec, const DVec* c) { return Mul(dy, c[0]); }
  static double Apply1(double dy, double, const double* c) { return dy * c[0]; }
};

// Loads the input vector at `i` of a (and of b when the op has two inputs).
template <class T, class Op>
inline void LoadInputs(const T* a, const T* b, int64_t i, DVec* va, DVec* vb) {
  LoadIn(a + i, va);
  if constexpr (Op::kTwoInputs) {
    LoadIn(b + i, vb);
  } else {
    for (int h = 0; h < kIn<T>; ++h) vb[h] = va[h];
  }
}

template <class Op, class T>
inline double Second(const T* b, int64_t i) {
  if constexpr (Op::kTwoInputs) {
    return static_cast<double>(b[i]);
  } else {
    return 0.0;
  }
}

// ---------------------------------------------------------------------------
// Run mode walkers (one channel, contiguous values, parameters broadcast).

// Adds the sums of a run of `len` values to *s_out, *q_out. Two input vectors
// per iteration into independent accumulators hide the add latency.
template <class T, class Op>
void SumRunNchw(const T* a, const T* b, int64_t len, T p, double* s_out,
                double* q_out, PrefetchStreams<T> pf) {
  using NV = typename Native<T>::V;
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  const NV pv = Native<T>::Set1(p);
  DVec s[2 * kN], q[2 * kN];
  for (int k = 0; k < 2 * kN; ++k) s[k] = q[k] = Zero();
  int64_t i = 0;
  constexpr int64_t kStepBytes = 2 * kL * int64_t{sizeof(T)};
  for (; i + 2 * kL <= len; i += 2 * kL) {
    PrefetchBlock<kStepBytes>(pf.a + i);
    if (Op::kTwoInputs) PrefetchBlock<kStepBytes>(pf.b + i);
    for (int u = 0; u < 2; ++u) {
      const NV va = Native<T>::Load(a + i + u * kL);
      const NV vb = Op::kTwoInputs ? Native<T>::Load(b + i + u * kL) : va;
      Op::Step(va, vb, pv, s + u * kN, q + u * kN);
    }
  }
  if (i + kL <= len) {
    const NV va = Native<T>::Load(a + i);
    const NV vb = Op::kTwoInputs ? Native<T>::Load(b + i) : va;
    Op::Step(va, vb, pv, s, q);
    i += kL;
  }
  for (int k = 1; k < 2 * kN; ++k) {
    s[0] = Add(s[0], s[k]);
    q[0] = Add(q[0], q[k]);
  }
  double sr = SumLanes(s[0]);
  double qr = SumLanes(q[0]);
  for (; i < len; ++i) Op::Step1(a[i], Op::kTwoInputs ? b[i] : a[i], p, sr, qr);
  *s_out += sr;
  *q_out += qr;
}

// Whether p is aligned for a whole input vector's store (AlignHead's target,
// which StreamOut requires).
template <class T>
inline bool VecAligned(const T* p) {
  return reinterpret_cast<uintptr_t>(p) % (kLanes<T> * sizeof(T)) == 0;
}

// One output vector: a plain store, or a streaming one (see plan.h
// StreamsStores) at an address VecAligned.
template <bool kStream, class T>
inline void Put(T* p, const DVec* v) {
  if constexpr (kStream) {
    StreamOut(p, v);
  } else {
    StoreOut(p, v);
  }
}

// The whole vectors of ApplyRunNchw from i on; returns where they end.
template <class T, class Op, bool kStream>
inline int64_t ApplyRunVectors(const T* a, const T* b, T* y, int64_t i, int64_t len,
                               const DVec* cv, PrefetchStreams<T> pf) {
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  constexpr int64_t kStepBytes = kL * int64_t{sizeof(T)};
  for (; i + kL <= len; i += kL) {
    PrefetchBlock<kStepBytes>(pf.a + i);
    if (Op::kTwoInputs) PrefetchBlock<kStepBytes>(pf.b + i);
    DVec va[kN], vb[kN], out[kN];
    LoadInputs<T, Op>(a, b, i, va, vb);
    for (int h = 0; h < kN; ++h) out[h] = Op::Apply(va[h], vb[h], cv);
    Put<kStream>(y + i, out);
  }
  return i;
}

// y[i] = Op(a[i], b[i]) for a run of one channel, coefficients c; `stream`
// asks for streaming stores (the caller then fences, see StoreFence).
template <class T, class Op>
void ApplyRunNchw(const T* a, const T* b, T* y, int64_t len, const double* c, bool stream,
                  PrefetchStreams<T> pf) {
  DVec cv[Op::kCoefs];
  for (int k = 0; k < Op::kCoefs; ++k) cv[k] = Set1(c[k]);
  int64_t i = 0;
  for (const int64_t head = Min(len, AlignHead(y)); i < head; ++i) {
    y[i] = static_cast<T>(Op::Apply1(static_cast<double>(a[i]), Second<Op>(b, i), c));
  }
  i = stream && VecAligned(y + i) ? ApplyRunVectors<T, Op, true>(a, b, y, i, len, cv, pf)
                                  : ApplyRunVectors<T, Op, false>(a, b, y, i, len, cv, pf);
  for (; i < len; ++i) {
    y[i] = static_cast<T>(Op::Apply1(static_cast<double>(a[i]), Second<Op>(b, i), c));
  }
}

// ---------------------------------------------------------------------------
// Row mode walkers: `segs` segments of `len` positions, segment k starting at
// k * stride; position j has parameter par[j] and accumulators s[j], q[j]
// (or coefficients coef[k * cstride + j]). Positions past the last
// whole input vector of a segment go through the scalar form.
//
// Reductions walk kSegBlock segments at a time in strips of kStrip input
// vectors: a strip's accumulators stay in registers for all kSegBlock
// segments and touch the L1 arrays once, instead of a load and a store per
// segment (which capped channels-last statistics at ~60% of the bandwidth).
// More than 8 segments per block measured slower (the strided strip walk
// then outruns the hardware prefetcher).
constexpr int64_t kSegBlock = 8;

// Input vectors per strip: as many as leave the accumulators and the
// temporaries in registers without spills. With AVX-512's 32 registers, six
// (24 accumulators, shifts read from memory) measured 26 GB/s on
// channels-last float32 statistics against 22 for four; eight spill. The
// 16-register ISAs use two. Rows wider than a strip finish with narrower
// strips (4, 2, 1), so no row pays a scalar loop for whole vectors.
constexpr int kStrip = kDLanes == 8 ? 6 : 2;

// Accumulates segments [k0, k1) over positions [j, j + kV * kLanes<T>).
template <class T, class Op, int kV>
inline void SumStrip(const T* a, const T* b, int64_t stride, int64_t k0, int64_t k1,
                     int64_t j, const T* par, double* s, double* q) {
  using NV = typename Native<T>::V;
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  DVec sv[kV * kN], qv[kV * kN];
  for (int h = 0; h < kV * kN; ++h) {
    sv[h] = LoadD(s + j + h * kDLanes);
    qv[h] = LoadD(q + j + h * kDLanes);
  }
  for (int64_t k = k0; k < k1; ++k) {
    const T* ra = a + k * stride + j;
    const T* rb = b + k * stride + j;
    // The same strip of the next block of segments: exactly what the next
    // block reads, about kPrefetchBytes ahead for typical rows.
    PrefetchBlock<kV * kL * int64_t{sizeof(T)}>(ra + kSegBlock * stride);
    if (Op::kTwoInputs) PrefetchBlock<kV * kL * int64_t{sizeof(T)}>(rb + kSegBlock * stride);
    for (int u = 0; u < kV; ++u) {
      const NV va = Native<T>::Load(ra + u * kL);
      const NV vb = Op::kTwoInputs ? Native<T>::Load(rb + u * kL) : va;
      Op::Step(va, vb, Native<T>::Load(par + j + u * kL), sv + u * kN, qv + u * kN);
    }
  }
  for (int h = 0; h < kV * kN; ++h) {
    StoreD(s + j + h * kDLanes, sv[h]);
    StoreD(q + j + h * kDLanes, qv[h]);
  }
}

template <class T, class Op>
void SumRowsNhwc(const T* a, const T* b, int64_t stride, int64_t segs,
                 int64_t len, const T* par, double* s, double* q) {
  constexpr int64_t kL = kLanes<T>;
  const int64_t vec_len = len / kL * kL;
  for (int64_t k0 = 0; k0 < segs; k0 += kSegBlock) {
    const int64_t k1 = Min(segs, k0 + kSegBlock);
    int64_t j = 0;
    for (; j + kStrip * kL <= vec_len; j += kStrip * kL) {
      SumStrip<T, Op, kStrip>(a, b, stride, k0, k1, j, par, s, q);
    }
    if (kStrip > 4 && j + 4 * kL <= vec_len) {
      SumStrip<T, Op, (kStrip > 4 ? 4 : 1)>(a, b, stride, k0, k1, j, par, s, q);
      j += 4 * kL;
    }
    if (kStrip > 2 && j + 2 * kL <= vec_len) {
      SumStrip<T, Op, (kStrip > 2 ? 2 : 1)>(a, b, stride, k0, k1, j, par, s, q);
      j += 2 * kL;
    }
    for (; j < vec_len; j += kL) SumStrip<T, Op, 1>(a, b, stride, k0, k1, j, par, s, q);
    for (int64_t k = k0; k < k1; ++k) {
      const T* ra = a + k * stride;
      const T* rb = b + k * stride;
      for (j = vec_len; j < len; ++j) {
        Op::Step1(ra[j], Op::kTwoInputs ? rb[j] : ra[j], par[j], s[j], q[j]);
      }
    }
  }
}

template <class T, class Op, bool kStream>
void ApplyRowsVectors(const T* a, const T* b, T* y, int64_t stride, int64_t segs,
                      int64_t len, const double* coef, int64_t cstride) {
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  for (int64_t k = 0; k < segs; ++k) {
    const T* ra = a + k * stride;
    const T* rb = b + k * stride;
    T* ry = y + k * stride;
    int64_t j = 0;
    for (; j + kL <= len; j += kL) {
      PrefetchBlock<kL * int64_t{sizeof(T)}>(ra + j + kPrefetchBytes / int64_t{sizeof(T)});
      if (Op::kTwoInputs) PrefetchBlock<kL * int64_t{sizeof(T)}>(rb + j + kPrefetchBytes / int64_t{sizeof(T)});
      DVec va[kN], vb[kN], out[kN];
      LoadInputs<T, Op>(ra, rb, j, va, vb);
      for (int h = 0; h < kN; ++h) {
        const int64_t off = j + h * kDLanes;
        DVec cv[Op::kCoefs];
        for (int c = 0; c < Op::kCoefs; ++c) cv[c] = LoadD(coef + c * cstride + off);
        out[h] = Op::Apply(va[h], vb[h], cv);
      }
      Put<kStream>(ry + j, out);
    }
    for (; j < len; ++j) {
      double cs[Op::kCoefs];
      for (int c = 0; c < Op::kCoefs; ++c) cs[c] = coef[c * cstride + j];
      ry[j] = static_cast<T>(Op::Apply1(static_cast<double>(ra[j]), Second<Op>(rb, j), cs));
    }
  }
}

// y = Op(a, b) over `segs` segments, coefficient c of position j at
// coef[c * cstride + j]; `stream` asks for streaming stores, taken when
// every segment's vectors are VecAligned (the caller fences).
template <class T, class Op>
void ApplyRowsNhwc(const T* a, const T* b, T* y, int64_t stride, int64_t segs,
                   int64_t len, const double* coef, int64_t cstride, bool stream) {
  if (stream && VecAligned(y) && stride % kLanes<T> == 0) {
    ApplyRowsVectors<T, Op, true>(a, b, y, stride, segs, len, coef, cstride);
  } else {
    ApplyRowsVectors<T, Op, false>(a, b, y, stride, segs, len, coef, cstride);
  }
}

// ---------------------------------------------------------------------------
// Items.

// The rectangle of the tensor one item covers.
struct ItemRange {
  int64_t group, c0, c1, u0, u1;
};

ItemRange RangeOf(const Plan& p, int64_t channels, int64_t item) {
  ItemRange r;
  r.group = item / p.blocks;
  const int64_t block = item % p.blocks;
  r.c0 = block * p.block_c;
  r.c1 = Min(channels, r.c0 + p.block_c);
  r.u0 = r.group * p.units_per_group;
  r.u1 = Min(p.units, r.u0 + p.units_per_group);
  return r;
}

// How a row-mode item walks its rows: as one flat pattern (single block and
// a short enough pattern) or row by row over its block of positions.
struct RowWalk {
  int64_t len;       // positions per segment
  int64_t first;     // offset of position 0 inside a row
  int64_t channels;  // channels cycled through by the positions (from r.c0)
  bool flat;         // segments are consecutive patterns, not rows
};

// A flat pattern never extends past the item's values: a small tensor would
// otherwise pay for setting up and reducing positions it never touches.
template <class T>
RowWalk RowWalkOf(const Plan& p, const Layout& l, const ItemRange& r) {
  const int64_t pattern = RowPatternLength(p.row_len, kLanes<T>);
  if (p.blocks == 1 && pattern <= kRowMaxPattern) {
    return {Min(pattern, (r.u1 - r.u0) * p.row_len), 0, l.channels, true};
  }
  return {(r.c1 - r.c0) * l.inner, r.c0 * l.inner, r.c1 - r.c0, false};
}

// Calls f(j, k) for every position j of a row walk, in order, with k its
// channel relative to the item's first channel. Counters instead of a
// division per position: the per-item setup must stay small next to the
// item's streaming (a division per position cost as much as the stream).
template <class F>
inline void ForEachPosition(const RowWalk& w, int64_t inner, F f) {
  int64_t k = 0, i = 0;
  for (int64_t j = 0; j < w.len; ++j) {
    f(j, k);
    if (++i == inner) {
      i = 0;
      if (++k == w.channels) k = 0;
    }
  }
}

// Sum of n consecutive doubles, four partial sums (the positions of one
// channel are summed here; a single chain would serialize on add latency).
inline double SumRange(const double* a, int64_t n) {
  double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    t0 += a[i];
    t1 += a[i + 1];
    t2 += a[i + 2];
    t3 += a[i + 3];
  }
  for (; i < n; ++i) t0 += a[i];
  return (t0 + t1) + (t2 + t3);
}

template <class T>
struct SumsArgs {
  const T* a;
  const T* b;
  Layout layout;
  const Plan* plan;
  // Per-channel parameter (the mean for GradSumsOp); nullptr: use a sample of
  // the item's data as the shift (StatsOp).
  const T* param;
  // [groups][channels][3]: StatsOp writes (n, mean, M2) of the item;
  // GradSumsOp writes (n, s, q).
  double* part;
};

// A reduction's three arrays of n entries: shifts (dtype T) and the two
// double sums. The caller's stack arrays of kStack entries, or, for more
// entries, the calling thread's RowWorkspace (plan.h).
template <class T>
struct SumArrays {
  T* par;
  double* s;
  double* q;
};

template <class T, int64_t kStack>
SumArrays<T> SumArraysFor(int64_t n, T (&par)[kStack], double (&s)[kStack], double (&q)[kStack]) {
  if (n <= kStack) return {par, s, q};
  const int64_t n8 = CeilDiv(n, 8) * 8;
  double* ws = static_cast<double*>(
      RowWorkspace(2 * n8 * int64_t{sizeof(double)} + n8 * int64_t{sizeof(T)}));
  return {reinterpret_cast<T*>(ws + 2 * n8), ws, ws + n8};
}

// The sums of a row-mode item's positions, added per channel to s[k], q[k]
// (k relative to the item's first channel; par[k] the channel's shift),
// through per-position arrays: on the stack, or for a whole row wider than
// them (plan.h kRowWholeMinRows) in the thread's workspace.
template <class T, class Op>
void SumRowBlock(const T* a, const T* b, int64_t row_len, int64_t rows, int64_t inner,
                 const RowWalk& w, const T* par, double* s, double* q) {
  alignas(64) T ppar_stack[kRowMaxPattern];
  alignas(64) double ps_stack[kRowMaxPattern];
  alignas(64) double pq_stack[kRowMaxPattern];
  const SumArrays<T> arrays = SumArraysFor(w.len, ppar_stack, ps_stack, pq_stack);
  T* ppar = arrays.par;
  double* ps = arrays.s;
  double* pq = arrays.q;
  ForEachPosition(w, inner, [&](int64_t j, int64_t k) {
    ppar[j] = par[k];
    ps[j] = pq[j] = 0.0;
  });
  if (w.flat) {
    const int64_t total = rows * row_len;
    const int64_t segs = total / w.len;
    SumRowsNhwc<T, Op>(a, b, w.len, segs, w.len, ppar, ps, pq);
    const int64_t tail = total - segs * w.len;
    if (tail > 0) {
      SumRowsNhwc<T, Op>(a + segs * w.len, b + segs * w.len, w.len, 1, tail, ppar, ps, pq);
    }
  } else {
    SumRowsNhwc<T, Op>(a, b, row_len, rows, w.len, ppar, ps, pq);
  }
  // Positions come in runs of `inner` of one channel, channels cycling.
  if (inner == 1) {
    for (int64_t j = 0, k = 0; j < w.len; ++j) {
      s[k] += ps[j];
      q[k] += pq[j];
      if (++k == w.channels) k = 0;
    }
  } else {
    for (int64_t j = 0, k = 0; j < w.len; j += inner) {
      s[k] += SumRange(ps + j, inner);
      q[k] += SumRange(pq + j, inner);
      if (++k == w.channels) k = 0;
    }
  }
}

// One item of a reduction: sums of every channel of the block over the
// group's units, written to the item's own partial slots.
template <class T, class Op>
void SumsItem(void* ctx, int64_t item) {
  const SumsArgs<T>& args = *static_cast<const SumsArgs<T>*>(ctx);
  const Plan& p = *args.plan;
  const Layout& l = args.layout;
  const int64_t channels = l.channels;
  const int64_t inner = l.inner;
  const ItemRange r = RangeOf(p, channels, item);
  const int64_t nb = r.c1 - r.c0;

  // Only a wide channels-last block (plan.h kRowMaxWideBlock; inner == 1)
  // has more channels than the stack arrays; its arrays go to the thread's
  // workspace, which SumRowBlock then must not take: it is never called
  // for such a block.
  alignas(64) T par_stack[kRunMaxBlockChannels];
  alignas(64) double s_stack[kRunMaxBlockChannels];
  alignas(64) double q_stack[kRunMaxBlockChannels];
  const bool wide = nb > kRunMaxBlockChannels;
  const SumArrays<T> arrays = SumArraysFor(nb, par_stack, s_stack, q_stack);
  T* par = arrays.par;
  double* s = arrays.s;
  double* q = arrays.q;
  for (int64_t k = 0; k < nb; ++k) s[k] = q[k] = 0.0;
  int64_t n = 0;

  if (p.run_mode) {
    const int64_t o0 = r.u0 / p.pieces;
    const int64_t i0 = (r.u0 % p.pieces) * p.piece_len;
    for (int64_t k = 0; k < nb; ++k) {
      par[k] = args.param != nullptr ? args.param[r.c0 + k]
                                     : args.a[((o0 * channels) + r.c0 + k) * inner + i0];
    }
    for (int64_t u = r.u0; u < r.u1; ++u) {
      const int64_t o = u / p.pieces;
      const int64_t start = (u % p.pieces) * p.piece_len;
      const int64_t len = Min(p.piece_len, inner - start);
      n += len;
      for (int64_t k = 0; k < nb; ++k) {
        const int64_t off = (o * channels + r.c0 + k) * inner + start;
        SumRunNchw<T, Op>(args.a + off, args.b + off, len, par[k], &s[k], &q[k],
                          Ahead(args.a + off, args.b + off));
      }
    }
  } else {
    const int64_t rows = r.u1 - r.u0;
    const int64_t base = r.u0 * p.row_len;
    n = rows * inner;
    for (int64_t k = 0; k < nb; ++k) {
      par[k] = args.param != nullptr ? args.param[r.c0 + k] : args.a[base + (r.c0 + k) * inner];
    }
    const RowWalk w = RowWalkOf<T>(p, l, r);
    const T* a = args.a + base + w.first;
    const T* b = args.b + base + w.first;
    if (wide) {
      // inner == 1 and one segment per row (the pattern is too long to be
      // flat): the positions are the block's channels, so par, s and q serve
      // as the per-position arrays directly.
      SumRowsNhwc<T, Op>(a, b, p.row_len, rows, w.len, par, s, q);
    } else {
      SumRowBlock<T, Op>(a, b, p.row_len, rows, inner, w, par, s, q);
    }
  }

  double* out = args.part + (r.group * channels + r.c0) * 3;
  const double dn = static_cast<double>(n);
  for (int64_t k = 0; k < nb; ++k, out += 3) {
    out[0] = dn;
    if (args.param == nullptr) {
      // Shifted sums to the item's (n, mean, M2); see ComputeStats.
      const double m2 = q[k] - s[k] * (s[k] / dn);
      out[1] = static_cast<double>(par[k]) + s[k] / dn;
      out[2] = m2 < 0.0 ? 0.0 : m2;  // clamps rounding below 0; NaN data stays NaN
    } else {
      out[1] = s[k];
      out[2] = q[k];
    }
  }
}

template <class T>
struct ApplyArgs {
  const T* a;
  const T* b;
  T* y;
  Layout layout;
  const Plan* plan;
  const double* coef;  // [kCoefs][channels]
  bool stream;         // streaming stores (plan.h StreamsStores)
};

// One item of an elementwise pass.
template <class T, class Op>
void ApplyItem(void* ctx, int64_t item) {
  const ApplyArgs<T>& args = *static_cast<const ApplyArgs<T>*>(ctx);
  const Plan& p = *args.plan;
  const Layout& l = args.layout;
  const int64_t channels = l.channels;
  const int64_t inner = l.inner;
  const ItemRange r = RangeOf(p, channels, item);

  if (p.run_mode) {
    for (int64_t u = r.u0; u < r.u1; ++u) {
      const int64_t o = u / p.pieces;
      const int64_t start = (u % p.pieces) * p.piece_len;
      const int64_t len = Min(p.piece_len, inner - start);
      for (int64_t c = r.c0; c < r.c1; ++c) {
        double cs[Op::kCoefs];
        for (int k = 0; k < Op::kCoefs; ++k) cs[k] = args.coef[k * channels + c];
        const int64_t off = (o * channels + c) * inner + start;
        ApplyRunNchw<T, Op>(args.a + off, args.b + off, args.y + off, len, cs, args.stream,
                            Ahead(args.a + off, args.b + off));
      }
    }
    if (args.stream) StoreFence();
    return;
  }

  const int64_t rows = r.u1 - r.u0;
  const int64_t base = r.u0 * p.row_len;
  const RowWalk w = RowWalkOf<T>(p, l, r);
  int64_t off = base + w.first;
  int64_t total = rows * p.row_len;
  // Aligned stores (see AlignHead): a flat walk sends its first `head`
  // values through the scalar form and starts its patterns at the next one,
  // so the coefficients are stored rotated by `head` (position j at index
  // j - head, mod the pattern length). Only when the pattern is whole
  // vectors: else every segment would shift the alignment again.
  const int64_t head =
      w.flat && w.len % kLanes<T> == 0 ? Min(total, AlignHead(args.y + off)) : 0;
  // Per-position coefficients: on the stack, or for a block wider than them
  // (plan.h kRowMaxWideBlock) in the thread's workspace.
  alignas(64) double coef_stack[Op::kCoefs * kRowMaxPattern];
  double* coef = coef_stack;
  int64_t cstride = kRowMaxPattern;
  if (w.len > kRowMaxPattern) {
    cstride = CeilDiv(w.len, 8) * 8;
    coef = static_cast<double*>(RowWorkspace(Op::kCoefs * cstride * int64_t{sizeof(double)}));
  }
  ForEachPosition(w, inner, [&](int64_t j, int64_t k) {
    const int64_t at = j >= head ? j - head : j - head + w.len;
    for (int c = 0; c < Op::kCoefs; ++c) {
      coef[c * cstride + at] = args.coef[c * channels + r.c0 + k];
    }
  });
  if (w.flat) {
    for (int64_t j = 0; j < head; ++j) {
      double cs[Op::kCoefs];
      for (int c = 0; c < Op::kCoefs; ++c) cs[c] = coef[c * cstride + j - head + w.len];
      args.y[off + j] = static_cast<T>(
          Op::Apply1(static_cast<double>(args.a[off + j]), Second<Op>(args.b + off, j), cs));
    }
    off += head;
    total -= head;
    const int64_t segs = total / w.len;
    ApplyRowsNhwc<T, Op>(args.a + off, args.b + off, args.y + off, w.len, segs, w.len, coef,
                         cstride, args.stream);
    const int64_t tail = total - segs * w.len;
    if (tail > 0) {
      const int64_t t = off + segs * w.len;
      ApplyRowsNhwc<T, Op>(args.a + t, args.b + t, args.y + t, w.len, 1, tail, coef, cstride,
                           args.stream);
    }
  } else {
    ApplyRowsNhwc<T, Op>(args.a + off, args.b + off, args.y + off, p.row_len, rows, w.len, coef,
                         cstride, args.stream);
  }
  if (args.stream) StoreFence();
}

// ---------------------------------------------------------------------------
// Merging partials: per channel over groups in group order, so the result
// does not depend on which thread produced which partial. Loops run group by
// group over a range of channels, following the [group][channel] layout.

struct MergeArgs {
  const double* part;  // [groups][channels][3]
  int64_t groups;
  int64_t channels;
  bool stats;      // statistics (n, mean, M2), else plain sums (n, s, q)
  double* first;   // stats: mean;      sums: s
  double* second;  // stats: variance;  sums: q
};

constexpr int64_t kMergeChannels = 4096;

void MergeItem(void* ctx, int64_t item) {
  const MergeArgs& m = *static_cast<const MergeArgs*>(ctx);
  const int64_t c0 = item * kMergeChannels;
  const int64_t c1 = Min(m.channels, c0 + kMergeChannels);
  for (int64_t c = c0; c < c1; ++c) m.first[c] = m.second[c] = 0.0;
  if (!m.stats) {
    for (int64_t g = 0; g < m.groups; ++g) {
      const double* rec = m.part + (g * m.channels + c0) * 3;
      for (int64_t c = c0; c < c1; ++c, rec += 3) {
        m.first[c] += rec[1];
        m.second[c] += rec[2];
      }
    }
    return;
  }
  // Pass 1: the channel mean M = sum n_g mean_g / n (first holds sum n_g
  // mean_g, second holds n meanwhile).
  for (int64_t g = 0; g < m.groups; ++g) {
    const double* rec = m.part + (g * m.channels + c0) * 3;
    for (int64_t c = c0; c < c1; ++c, rec += 3) {
      m.first[c] = MulAddScalar(rec[0], rec[1], m.first[c]);
      m.second[c] += rec[0];
    }
  }
  for (int64_t c = c0; c < c1; ++c) m.first[c] /= m.second[c];
  // Pass 2: M2 = sum (M2_g + n_g (mean_g - M)^2), every term >= 0 (so no
  // cancellation); the variance is M2 / n. Accumulated in place of n, which
  // is re-derived from the partials.
  for (int64_t c = c0; c < c1; ++c) m.second[c] = 0.0;
  double n_total = 0.0;
  for (int64_t g = 0; g < m.groups; ++g) {
    const double* rec = m.part + (g * m.channels + c0) * 3;
    n_total += rec[0];
    for (int64_t c = c0; c < c1; ++c, rec += 3) {
      const double d = rec[1] - m.first[c];
      m.second[c] += MulAddScalar(rec[0] * d, d, rec[2]);
    }
  }
  for (int64_t c = c0; c < c1; ++c) m.second[c] /= n_total;
}

void Merge(MergeArgs& m) {
  ParallelFor(CeilDiv(m.channels, kMergeChannels), m.groups * m.channels, &MergeItem, &m);
}

// ---------------------------------------------------------------------------
// Tiny tensors (at most kTinyValues values, e.g. the tutorial's [2,4,4,3]):
// what they cost is the call, not the bandwidth, so they skip the plan, the
// items, the partials and the merge (and the prefetches and the thread
// pool) and run in straight loops over data that sits in L1. Whether a
// tensor takes this path depends on its layout alone (and the ISA's vector
// width), never on the thread count, so results stay bit-identical for
// every thread count. Measured against the plan's path on every ISA, the
// tiny walk is faster up to 4096 values except for long channel runs with
// few periods (see TinyWalkOf); at 8192 it gains ~10% at most.
//
// The tensor is walked as a flat sequence of `count` values cut into
// periods of P values, P a multiple of the row length R = channels * inner
// (position j of a period has channel (j / inner) % channels) and of the
// DVec width kDLanes when lcm(R, kDLanes) fits in kTinyMaxPeriod. Each pass
// keeps one accumulator (or coefficient) per position of a period, runs
// DVecs along the period (a scalar tail when P is not a multiple of
// kDLanes; same roundings), and reductions then fold the P positions down
// to one row and to channels in a fixed order.
//
// Statistics are the shifted sums of the large path, in double, over the
// whole tensor at once: d = x - p with p the channel's first value (exact
// in double for float data), s = sum d, q = sum d^2, mean = p + s / n,
// M2 = q - s^2 / n. The cancellation in M2 costs about
// eps_double * (1 + (mean - p)^2 / var) relative, and since p is one of the
// n values, (p - mean)^2 <= n * var: at most ~4097 * 2^-53 = 5e-13 here,
// whatever the data (1e4 + N(0, 1) included). A constant channel gets
// exactly its value as mean and variance 0.
constexpr int64_t kTinyValues = 4096;
constexpr int64_t kTinyMaxPeriod = 1024;

struct TinyWalk {
  int64_t count;    // values
  int64_t row_len;  // R = channels * inner
  int64_t base;     // lcm(R, kDLanes) when it fits, else R (a period is base * 2^k, or count)
  int64_t period;   // P: a multiple of R, <= kTinyMaxPeriod
};

// Whether `l` takes the tiny path, and its walk. The period is the shortest
// multiple of R that is a multiple of kDLanes (when it fits, else R: a
// scalar tail per period), doubled while a position would see more than 16
// periods (the add-latency chain of its accumulator), and at most the whole
// tensor. Patterns and folds cost O(P), so P stays short for the smallest
// tensors.
bool TinyWalkOf(const Layout& l, TinyWalk* w) {
  const int64_t count = l.count();
  const int64_t row = l.channels * l.inner;
  if (count > kTinyValues || row > kTinyMaxPeriod) return false;
  // lcm(row, kDLanes): kDLanes is a power of two, so doubling gets there
  // (and `% kDLanes` is a mask, not a division).
  static_assert((kDLanes & (kDLanes - 1)) == 0, "kDLanes is a power of two");
  int64_t lcm = row;
  while (lcm % kDLanes != 0) lcm *= 2;
  const int64_t base = lcm <= kTinyMaxPeriod ? lcm : row;
  int64_t period = base;
  // Doubling needs whole DVecs (FillPatterns copies in DVecs); a row too
  // long for that already spans 16+ DVecs.
  while (base == lcm && count > 16 * period && 2 * period <= kTinyMaxPeriod) period *= 2;
  if (period > count) period = count;  // count is a multiple of R too
  // Long runs of one channel with few periods (e.g. [4,3,256]): the plan's
  // run mode streams them with accumulators in registers and little setup;
  // the tiny walk's per-position accumulators measured 1.3-1.6x slower there.
  if (l.inner >= kRunMinInner && count < 8 * period) return false;
  *w = {count, row, base, period};
  return true;
}

// pat[k * kTinyMaxPeriod + j] = v[k * channels + (j / inner) % channels] for
// j < w.period and k < kPatterns: the base by a counter loop (not row copies,
// which a compiler turns into memcpy calls that cost more than the copy at
// this size), then doubled with DVec copies (the base is a multiple of
// kDLanes whenever the period is longer).
template <int kPatterns>
void FillPatterns(const double* v, int64_t channels, int64_t inner, const TinyWalk& w, double* pat) {
  const int64_t base = Min(w.base, w.period);
  if (inner == 1) {
    for (int64_t j = 0, c = 0; j < base; ++j) {
      for (int k = 0; k < kPatterns; ++k) pat[k * kTinyMaxPeriod + j] = v[k * channels + c];
      if (++c == channels) c = 0;
    }
  } else {
    for (int64_t j = 0, c = 0; j < base; j += inner) {
      for (int k = 0; k < kPatterns; ++k) {
        const double value = v[k * channels + c];
        for (int64_t i = 0; i < inner; ++i) pat[k * kTinyMaxPeriod + j + i] = value;
      }
      if (++c == channels) c = 0;
    }
  }
  for (int64_t len = base; len < w.period; len *= 2) {
    for (int k = 0; k < kPatterns; ++k) {
      double* p = pat + k * kTinyMaxPeriod;
      for (int64_t j = 0; j < len; j += kDLanes) StoreD(p + len + j, LoadD(p + j));
    }
  }
}

// Adds the `period` positions of s and q into their first `row` (positions
// `row` apart have the same channel): halving while the row count is even,
// then the odd rest row by row. A fixed order, independent of anything but
// the walk.
void FoldRows(double* s, double* q, int64_t row, int64_t period) {
  int64_t rows = period / row;
  while (rows % 2 == 0) {
    rows /= 2;
    const int64_t half = rows * row;
    for (int64_t j = 0; j < half; ++j) {
      s[j] += s[half + j];
      q[j] += q[half + j];
    }
  }
  for (int64_t r = 1; r < rows; ++r) {
    for (int64_t j = 0; j < row; ++j) {
      s[j] += s[r * row + j];
      q[j] += q[r * row + j];
    }
  }
}

// Channel c's total of a folded row: its `inner` consecutive positions (in
// DVecs, four partial sums, for long runs: a scalar loop over a few hundred
// positions would cost as much as the pass).
inline double ChannelTotal(const double* row_acc, int64_t c, int64_t inner) {
  if (inner == 1) return row_acc[c];
  const double* a = row_acc + c * inner;
  if (inner < 4 * kDLanes) return SumRange(a, inner);
  DVec t[4] = {Zero(), Zero(), Zero(), Zero()};
  int64_t i = 0;
  for (; i + 4 * kDLanes <= inner; i += 4 * kDLanes) {
    for (int u = 0; u < 4; ++u) t[u] = Add(t[u], LoadD(a + i + u * kDLanes));
  }
  for (; i + kDLanes <= inner; i += kDLanes) t[0] = Add(t[0], LoadD(a + i));
  double total = SumLanes(Add(Add(t[0], t[1]), Add(t[2], t[3])));
  for (; i < inner; ++i) total += a[i];
  return total;
}

// Per-position reductions of the tiny walk, in double: a (and b) widened,
// p the position's parameter; s and/or q accumulate.
struct TinyShiftedSums {  // d = a - p: s += d, q += d^2
  static constexpr bool kTwoInputs = false, kSums = true, kSquares = true;
  static void Step(DVec a, DVec, DVec p, DVec& s, DVec& q) {
    const DVec d = Sub(a, p);
    s = Add(s, d);
    q = MulAdd(d, d, q);
  }
  static void Step1(double a, double, double p, double& s, double& q) {
    const double d = a - p;
    s += d;
    q = MulAddScalar(d, d, q);
  }
};
struct TinyGradSums {  // a = dy, b = x, p = mean: s += dy, q += dy * (x - mean)
  static constexpr bool kTwoInputs = true, kSums = true, kSquares = true;
  static void Step(DVec a, DVec b, DVec p, DVec& s, DVec& q) {
    s = Add(s, a);
    q = MulAdd(a, Sub(b, p), q);
  }
  static void Step1(double a, double b, double p, double& s, double& q) {
    s += a;
    q = MulAddScalar(a, b - p, q);
  }
};

// The passes work one DVec (kDLanes values, widened on load) at a time: a
// period then only needs to be a multiple of kDLanes, not of a whole input
// vector, which keeps P short for small rows. With many periods they run
// column by column: kU DVec positions of the period at once, through every
// whole period, with the accumulators (or coefficients) in registers, then
// the partial last period (`tail` values); positions past the last whole
// DVec go through the scalar forms (same roundings). With few periods they
// run row by row (SumRowsTiny, ApplyRowsTiny).
template <class T, class Op, int kU>
inline void SumColumns(const T* a, const T* b, const TinyWalk& w, int64_t full, int64_t tail,
                       int64_t j, const double* pat, double* s, double* q) {
  const int64_t P = w.period;
  DVec vs[kU], vq[kU], vp[kU];
  for (int u = 0; u < kU; ++u) {
    vs[u] = vq[u] = Zero();
    vp[u] = LoadD(pat + j + u * kDLanes);
  }
  for (int64_t k = 0; k < full; ++k) {
    const T* ra = a + k * P + j;
    const T* rb = b + k * P + j;
    for (int u = 0; u < kU; ++u) {
      const DVec va = LoadOne(ra + u * kDLanes);
      const DVec vb = Op::kTwoInputs ? LoadOne(rb + u * kDLanes) : va;
      Op::Step(va, vb, vp[u], vs[u], vq[u]);
    }
  }
  const T* ta = a + full * P;
  const T* tb = b + full * P;
  for (int u = 0; u < kU; ++u) {
    const int64_t o = j + u * kDLanes;
    if (o + kDLanes <= tail) {
      const DVec va = LoadOne(ta + o);
      const DVec vb = Op::kTwoInputs ? LoadOne(tb + o) : va;
      Op::Step(va, vb, vp[u], vs[u], vq[u]);
    }
    if (Op::kSums) StoreD(s + o, vs[u]);
    if (Op::kSquares) StoreD(q + o, vq[u]);
    if (o + kDLanes <= tail) continue;
    for (int64_t i = o; i < tail; ++i) {  // the tail ends inside this DVec
      double unused = 0.0;
      Op::Step1(static_cast<double>(ta[i]), Second<Op>(tb, i), pat[i], Op::kSums ? s[i] : unused,
                Op::kSquares ? q[i] : unused);
    }
  }
}

// Fewer whole periods than this: row by row instead, accumulators in L1
// (the first period, always whole, initializes them); a column group's setup
// would cost about as much as its few steps.
constexpr int64_t kTinyColumnPeriods = 8;

template <class T, class Op>
void SumRowsTiny(const T* a, const T* b, const TinyWalk& w, const double* pat, double* s, double* q) {
  for (int64_t k = 0; k < w.count; k += w.period) {
    const T* ra = a + k;
    const T* rb = b + k;
    const int64_t len = Min(w.period, w.count - k);
    const bool first = k == 0;  // always a whole period
    int64_t j = 0;
    for (; j + kDLanes <= len; j += kDLanes) {
      const DVec va = LoadOne(ra + j);
      const DVec vb = Op::kTwoInputs ? LoadOne(rb + j) : va;
      DVec vs = Op::kSums && !first ? LoadD(s + j) : Zero();
      DVec vq = Op::kSquares && !first ? LoadD(q + j) : Zero();
      Op::Step(va, vb, LoadD(pat + j), vs, vq);
      if (Op::kSums) StoreD(s + j, vs);
      if (Op::kSquares) StoreD(q + j, vq);
    }
    for (; j < len; ++j) {
      double vs = Op::kSums && !first ? s[j] : 0.0;
      double vq = Op::kSquares && !first ? q[j] : 0.0;
      Op::Step1(static_cast<double>(ra[j]), Second<Op>(rb, j), pat[j], vs, vq);
      if (Op::kSums) s[j] = vs;
      if (Op::kSquares) q[j] = vq;
    }
  }
}

// Per-position sums over the walk: s[j] and/or q[j] for j < period.
template <class T, class Op>
void TinySums(const T* a, const T* b, const TinyWalk& w, const double* pat, double* s, double* q) {
  const int64_t P = w.period;
  const int64_t full = w.count / P;
  if (full < kTinyColumnPeriods) return SumRowsTiny<T, Op>(a, b, w, pat, s, q);
  const int64_t tail = w.count - full * P;
  const int64_t vec_len = P / kDLanes * kDLanes;
  int64_t j = 0;
  for (; j + 4 * kDLanes <= vec_len; j += 4 * kDLanes) {
    SumColumns<T, Op, 4>(a, b, w, full, tail, j, pat, s, q);
  }
  for (; j < vec_len; j += kDLanes) SumColumns<T, Op, 1>(a, b, w, full, tail, j, pat, s, q);
  for (; j < P; ++j) {  // P = R, not a multiple of kDLanes
    double vs = 0.0, vq = 0.0;
    for (int64_t k = 0; k < full; ++k) {
      Op::Step1(static_cast<double>(a[k * P + j]), Second<Op>(b, k * P + j), pat[j], vs, vq);
    }
    if (j < tail) Op::Step1(static_cast<double>(a[full * P + j]), Second<Op>(b, full * P + j), pat[j], vs, vq);
    if (Op::kSums) s[j] = vs;
    if (Op::kSquares) q[j] = vq;
  }
}

template <class T, class Op, int kU>
inline void ApplyColumns(const T* a, const T* b, T* y, const TinyWalk& w, int64_t full,
                         int64_t tail, int64_t j, const double* coef) {
  const int64_t P = w.period;
  DVec cv[kU][Op::kCoefs];
  for (int u = 0; u < kU; ++u) {
    for (int c = 0; c < Op::kCoefs; ++c) cv[u][c] = LoadD(coef + c * kTinyMaxPeriod + j + u * kDLanes);
  }
  for (int64_t k = 0; k < full; ++k) {
    const T* ra = a + k * P + j;
    const T* rb = b + k * P + j;
    T* ry = y + k * P + j;
    for (int u = 0; u < kU; ++u) {
      const DVec va = LoadOne(ra + u * kDLanes);
      const DVec vb = Op::kTwoInputs ? LoadOne(rb + u * kDLanes) : va;
      StoreOne(ry + u * kDLanes, Op::Apply(va, vb, cv[u]));
    }
  }
  const T* ta = a + full * P;
  const T* tb = b + full * P;
  T* ty = y + full * P;
  for (int u = 0; u < kU; ++u) {
    const int64_t o = j + u * kDLanes;
    if (o + kDLanes <= tail) {
      const DVec va = LoadOne(ta + o);
      const DVec vb = Op::kTwoInputs ? LoadOne(tb + o) : va;
      StoreOne(ty + o, Op::Apply(va, vb, cv[u]));
      continue;
    }
    for (int64_t i = o; i < tail; ++i) {
      double cs[Op::kCoefs];
      for (int c = 0; c < Op::kCoefs; ++c) cs[c] = coef[c * kTinyMaxPeriod + i];
      ty[i] = static_cast<T>(Op::Apply1(static_cast<double>(ta[i]), Second<Op>(tb, i), cs));
    }
  }
}

template <class T, class Op>
void ApplyRowsTiny(const T* a, const T* b, T* y, const TinyWalk& w, const double* coef) {
  for (int64_t k = 0; k < w.count; k += w.period) {
    const T* ra = a + k;
    const T* rb = b + k;
    T* ry = y + k;
    const int64_t len = Min(w.period, w.count - k);
    int64_t j = 0;
    for (; j + kDLanes <= len; j += kDLanes) {
      const DVec va = LoadOne(ra + j);
      const DVec vb = Op::kTwoInputs ? LoadOne(rb + j) : va;
      DVec cv[Op::kCoefs];
      for (int c = 0; c < Op::kCoefs; ++c) cv[c] = LoadD(coef + c * kTinyMaxPeriod + j);
      StoreOne(ry + j, Op::Apply(va, vb, cv));
    }
    for (; j < len; ++j) {
      double cs[Op::kCoefs];
      for (int c = 0; c < Op::kCoefs; ++c) cs[c] = coef[c * kTinyMaxPeriod + j];
      ry[j] = static_cast<T>(Op::Apply1(static_cast<double>(ra[j]), Second<Op>(rb, j), cs));
    }
  }
}

// y = Op(a, b) with per-position coefficients coef[k * kTinyMaxPeriod + j].
template <class T, class Op>
void TinyApply(const T* a, const T* b, T* y, const TinyWalk& w, const double* coef) {
  const int64_t P = w.period;
  const int64_t full = w.count / P;
  if (full < kTinyColumnPeriods) return ApplyRowsTiny<T, Op>(a, b, y, w, coef);
  const int64_t tail = w.count - full * P;
  const int64_t vec_len = P / kDLanes * kDLanes;
  int64_t j = 0;
  for (; j + 4 * kDLanes <= vec_len; j += 4 * kDLanes) {
    ApplyColumns<T, Op, 4>(a, b, y, w, full, tail, j, coef);
  }
  for (; j < vec_len; j += kDLanes) ApplyColumns<T, Op, 1>(a, b, y, w, full, tail, j, coef);
  for (; j < P; ++j) {  // P = R, not a multiple of kDLanes
    double cs[Op::kCoefs];
    for (int c = 0; c < Op::kCoefs; ++c) cs[c] = coef[c * kTinyMaxPeriod + j];
    for (int64_t k = 0; k < full + (j < tail ? 1 : 0); ++k) {
      const int64_t i = k * P + j;
      y[i] = static_cast<T>(Op::Apply1(static_cast<double>(a[i]), Second<Op>(b, i), cs));
    }
  }
}

// Mean and biased variance per channel in double (see above).
template <class T>
void TinyStats(const T* x, const Layout& l, const TinyWalk& w, double* mean_d, double* var_d) {
  const int64_t channels = l.channels, inner = l.inner;
  const double n = static_cast<double>(l.per_channel());
  alignas(64) double pat[kTinyMaxPeriod];
  alignas(64) double s[kTinyMaxPeriod];
  alignas(64) double q[kTinyMaxPeriod];
  for (int64_t c = 0; c < channels; ++c) mean_d[c] = static_cast<double>(x[c * inner]);
  FillPatterns<1>(mean_d, channels, inner, w, pat);
  TinySums<T, TinyShiftedSums>(x, x, w, pat, s, q);
  FoldRows(s, q, w.row_len, w.period);
  for (int64_t c = 0; c < channels; ++c) {
    const double sc = ChannelTotal(s, c, inner);
    const double m2 = ChannelTotal(q, c, inner) - sc * (sc / n);
    mean_d[c] += sc / n;
    var_d[c] = (m2 < 0.0 ? 0.0 : m2) / n;  // clamps rounding below 0; NaN data stays NaN
  }
}

// Channel sums of the backward: sdy = sum dy, sdyx = sum dy * (x - mean).
template <class T>
void TinyGradSumsOf(const T* dy, const T* x, const Layout& l, const TinyWalk& w, const T* mean,
                    double* sdy, double* sdyx) {
  const int64_t channels = l.channels, inner = l.inner;
  alignas(64) double pat[kTinyMaxPeriod];
  alignas(64) double s[kTinyMaxPeriod];
  alignas(64) double q[kTinyMaxPeriod];
  for (int64_t c = 0; c < channels; ++c) sdy[c] = static_cast<double>(mean[c]);
  FillPatterns<1>(sdy, channels, inner, w, pat);
  TinySums<T, TinyGradSums>(dy, x, w, pat, s, q);
  FoldRows(s, q, w.row_len, w.period);
  for (int64_t c = 0; c < channels; ++c) {
    sdy[c] = ChannelTotal(s, c, inner);
    sdyx[c] = ChannelTotal(q, c, inner);
  }
}

// ---------------------------------------------------------------------------
// Channel-fused run mode (channels-first training forward and backward).
//
// The two-pass walk streams the whole tensor twice, so x (and dy) come from
// memory twice. When one channel's values fit in L2 with room to spare
// (FusesChannels in plan.h says when), the fused walk runs both passes one
// channel at a time: the second pass then re-reads the channel from L2, and
// memory sees every input value once. Traffic falls from 12 to 8 bytes per
// float32 value for the training forward and from 20 to 12 for the
// backward. Measured on [32,128,28,28] at one thread: the forward 1.2x and
// the backward 1.3x faster than the two-pass walk.
//
// An item is a block of consecutive channels (kFuseItems items), so the
// loads' prefetch, which runs past a channel's run into the next channel's
// run of the same row, fetches what the same thread reads next. One channel
// per item measured 20% slower than the two-pass walk at two threads: a
// thread's overshoot then fetched the channel the other thread was reading,
// into the wrong L2.
//
// When a run is no longer than that prefetch distance, each pass aims its
// prefetch at the next channel instead (plan.h FusedPrefetchesNextChannel):
// the statistics pass at the first input, the apply pass at the second (for
// the forward, x again), both at the value in step with the one read. The next
// channel's reads from memory are then spread over both passes of this one,
// instead of mostly over the first, whose compute on L2-resident values left
// memory idle. Measured at one thread (best of 15-31 calls, same run):
// [32,128,28,28] backward 1.68 -> 1.56 ms, [96,64,28,28] backward 3.67 ->
// 2.88 ms, [128,32,28,28] forward 1.27 -> 1.16 ms; at two threads
// [32,128,28,28] forward 0.67 -> 0.62 ms, [96,64,28,28] backward 2.12 ->
// 1.78 ms. Runs longer than the distance keep the default: aiming across
// the whole channel there measured slower ([64,64,56,56] forward 4.7 ->
// 5.6 ms), as the hardware prefetcher already streams within long runs.
//
// Results are bit-identical to the two-pass walk's, so whether a layout
// fuses changes no bit: a channel's sums run over the same groups of units,
// with the same shifts, through the same SumRunNchw calls in the same order,
// and ChannelMerge replays MergeItem's arithmetic for one channel. The
// native tests compare the two walks bit for bit (SetFuseBudgetForTesting).

// One channel's per-group partial records, (n, mean, M2) or (n, s, q).
constexpr int64_t kFusePartials = kMaxGroups * 3;

// The partials of channel c over every group of the plan, into rec[g * 3].
// Op, shifts and run order as SumsItem's (param: nullptr for statistics).
// Each run is a stride away from the previous one, on another page, so the
// head of the next run is fetched while this one streams. The loads'
// prefetch reaches into the next channel, which the same thread reads next
// (see above; measured: 1.25x on [32,128,28,28] backward against stopping
// at a run's end).
template <class T, class Op>
void ChannelPartials(const T* a, const T* b, const Layout& l, const Plan& p, int64_t c,
                     const T* param, double* rec) {
  const bool next_channel = FusedPrefetchesNextChannel(l, p, int64_t{sizeof(T)});
  const int64_t channels = l.channels, inner = l.inner;
  for (int64_t g = 0; g < p.groups; ++g, rec += 3) {
    const int64_t u0 = g * p.units_per_group;
    const int64_t u1 = Min(p.units, u0 + p.units_per_group);
    const int64_t o0 = u0 / p.pieces;
    const int64_t i0 = (u0 % p.pieces) * p.piece_len;
    const T par = param != nullptr ? param[c] : a[(o0 * channels + c) * inner + i0];
    double s = 0.0, q = 0.0;
    int64_t n = 0;
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / p.pieces;
      const int64_t start = (u % p.pieces) * p.piece_len;
      const int64_t len = Min(p.piece_len, inner - start);
      const int64_t off = (o * channels + c) * inner + start;
      if (u + 1 < p.units) {
        const bool same_row = u % p.pieces + 1 < p.pieces;
        const int64_t next = off + (same_row ? len : channels * inner - start);
        const int64_t next_len = Min(p.piece_len, same_row ? inner - start - len : inner);
        const int64_t bytes = Min(kPrefetchBytes, next_len * int64_t{sizeof(T)});
        PrefetchRun(a + next, bytes);
        if (Op::kTwoInputs) PrefetchRun(b + next, bytes);
      }
      n += len;
      SumRunNchw<T, Op>(a + off, b + off, len, par, &s, &q,
                        next_channel ? PrefetchStreams<T>{a + off + inner, a + off + inner}
                                     : Ahead(a + off, b + off));
    }
    const double dn = static_cast<double>(n);
    rec[0] = dn;
    if (param == nullptr) {
      const double m2 = q - s * (s / dn);
      rec[1] = static_cast<double>(par) + s / dn;
      rec[2] = m2 < 0.0 ? 0.0 : m2;
    } else {
      rec[1] = s;
      rec[2] = q;
    }
  }
}

// MergeItem for one channel, same operations in the same order.
void ChannelMerge(const double* rec, int64_t groups, bool stats, double* first, double* second) {
  double f = 0.0, sec = 0.0;
  if (!stats) {
    for (int64_t g = 0; g < groups; ++g, rec += 3) {
      f += rec[1];
      sec += rec[2];
    }
    *first = f;
    *second = sec;
    return;
  }
  for (int64_t g = 0; g < groups; ++g) {
    f = MulAddScalar(rec[g * 3], rec[g * 3 + 1], f);
    sec += rec[g * 3];
  }
  f /= sec;
  sec = 0.0;
  double n_total = 0.0;
  for (int64_t g = 0; g < groups; ++g) {
    n_total += rec[g * 3];
    const double d = rec[g * 3 + 1] - f;
    sec += MulAddScalar(rec[g * 3] * d, d, rec[g * 3 + 2]);
  }
  *first = f;
  *second = sec / n_total;
}

// Applies Op with coefficients cs to every run of channel c. The runs are
// in L2 after the first pass; the loads' prefetch again reaches into the
// next channel (see above).
template <class T, class Op>
void ChannelApply(const T* a, const T* b, T* y, const Layout& l, const Plan& p, int64_t c,
                  const double* cs, bool stream) {
  const bool next_channel = FusedPrefetchesNextChannel(l, p, int64_t{sizeof(T)});
  for (int64_t u = 0; u < p.units; ++u) {
    const int64_t o = u / p.pieces;
    const int64_t start = (u % p.pieces) * p.piece_len;
    const int64_t len = Min(p.piece_len, l.inner - start);
    const int64_t off = (o * l.channels + c) * l.inner + start;
    ApplyRunNchw<T, Op>(a + off, b + off, y + off, len, cs, stream,
                        next_channel ? PrefetchStreams<T>{b + off + l.inner, b + off + l.inner}
                                     : Ahead(a + off, b + off));
  }
}

// Items of a fused walk (blocks of consecutive channels, see above).
constexpr int64_t kFuseItems = 16;

// What the items of both fused kernels share.
struct FusedWalk {
  Layout layout;
  const Plan* plan;
  int64_t block;  // channels per item
  bool stream;    // streaming stores (plan.h StreamsStores)

  FusedWalk(const Layout& l, const Plan& p, bool streams)
      : layout(l), plan(&p), block(CeilDiv(l.channels, kFuseItems)), stream(streams) {}
  int64_t items() const { return CeilDiv(layout.channels, block); }
  // The first channel of an item, and one past its last.
  int64_t First(int64_t item) const { return item * block; }
  int64_t End(int64_t item) const { return Min(layout.channels, (item + 1) * block); }
};


// ---------------------------------------------------------------------------
// Kernels.

// Mean and biased variance per channel, in double, into mean_d / var_d.
//
// Why shift and merge: the one-pass E[x^2] - E[x]^2 loses everything when
// the mean is large against the spread (1e4 + N(0, 1) in float32 leaves no
// significant bit of the variance). Each item instead accumulates, in
// double, s = sum d and q = sum d^2 of d = x - p with p a sample of the same
// channel in the item (its first value), so d is of the order of the spread
// and the cancellation in M2 = q - s^2/n costs only about
// eps_double * ((mean - p)^2 / var) relative, negligible for any sample.
// The items' (n_g, mean_g = p + s/n_g, M2_g) are then merged per channel in
// group order with the parallel-variance identity (Chan et al.; the
// pairwise update applied to all groups at once),
//   n = sum n_g,  M = sum n_g mean_g / n,
//   M2 = sum (M2_g + n_g (mean_g - M)^2),
// whose terms are all >= 0, so the merge adds no cancellation; it needs no
// division per group, unlike the pairwise form. The variance is M2 / n.
// Item boundaries and the merge order depend only on the layout, so the
// result is bit-identical for every thread count.
template <class T>
void ComputeStats(const T* x, const Layout& l, const Plan& p, double* mean_d, double* var_d) {
  Scratch part(p.groups * l.channels * 3);
  SumsArgs<T> sums{x, x, l, &p, nullptr, part.data()};
  ParallelFor(p.groups * p.blocks, l.count(), &SumsItem<T, StatsOp<T>>, &sums);
  MergeArgs m{part.data(), p.groups, l.channels, true, mean_d, var_d};
  Merge(m);
}

// The two ways of walking a tensor: the tiny walk when the layout takes it,
// else the plan's items on the pool. Per-channel arrays in and out are the
// same for both, so each kernel below is written once.
template <class T>
class Walker {
 public:
  explicit Walker(const Layout& l) : l_(l), tiny_(TinyWalkOf(l, &w_)) {
    if (!tiny_) p_ = MakePlan(l);
  }

  void Stats(const T* x, double* mean_d, double* var_d) const {
    if (tiny_) {
      TinyStats(x, l_, w_, mean_d, var_d);
    } else {
      ComputeStats(x, l_, p_, mean_d, var_d);
    }
  }

  // sdy = sum dy, sdyx = sum dy * (x - mean), per channel.
  void GradSums(const T* dy, const T* x, const T* mean, double* sdy, double* sdyx) const {
    if (tiny_) {
      TinyGradSumsOf(dy, x, l_, w_, mean, sdy, sdyx);
      return;
    }
    Scratch part(p_.groups * l_.channels * 3);
    SumsArgs<T> sums{dy, x, l_, &p_, mean, part.data()};
    ParallelFor(p_.groups * p_.blocks, l_.count(), &SumsItem<T, GradSumsOp<T>>, &sums);
    MergeArgs m{part.data(), p_.groups, l_.channels, false, sdy, sdyx};
    Merge(m);
  }

  // Whether the two passes fuse per channel (see "Channel-fused run mode");
  // `arrays` counts the inputs and the output.
  bool Fuses(int arrays) const { return !tiny_ && FusesChannels(l_, p_, sizeof(T), arrays); }
  // Whether an elementwise pass over `arrays` arrays (inputs and output)
  // stores its output with streaming stores (plan.h StreamsStores).
  bool Streams(int arrays) const {
    return !tiny_ && StreamsStores(l_.count() * int64_t{sizeof(T)} * arrays);
  }
  const Plan& plan() const { return p_; }

  // y = Op(a, b) with per-channel coefficients coef[k * channels + c].
  template <class Op>
  void Apply(const T* a, const T* b, T* y, const double* coef) const {
    if (tiny_) {
      alignas(64) double pat[Op::kCoefs * kTinyMaxPeriod];
      FillPatterns<Op::kCoefs>(coef, l_.channels, l_.inner, w_, pat);
      TinyApply<T, Op>(a, b, y, w_, pat);
      return;
    }
    ApplyArgs<T> args{a, b, y, l_, &p_, coef, Streams(Op::kTwoInputs ? 3 : 2)};
    ParallelFor(p_.groups * p_.blocks, l_.count(), &ApplyItem<T, Op>, &args);
  }

 private:
  Layout l_;
  TinyWalk w_;
  bool tiny_;
  Plan p_{};
};

template <class T>
void ChannelStatsT(const T* x, Layout l, T* mean, T* variance) {
  const Walker<T> walk(l);
  Scratch stats(2 * l.channels);
  double* mean_d = stats.data();
  double* var_d = mean_d + l.channels;
  walk.Stats(x, mean_d, var_d);
  for (int64_t c = 0; c < l.channels; ++c) {
    mean[c] = static_cast<T>(mean_d[c]);
    variance[c] = static_cast<T>(var_d[c]);
  }
}

// The forward fold. With inv_std = 1/sqrt(var + epsilon),
//   y = (x - mean) * inv_std * gamma + beta
//     = x * scale + shift,  scale = gamma * inv_std,  shift = beta - mean * scale,
// one multiply-add per value. scale and shift stay in double and the
// multiply-add runs in double: in float32, shift = beta - mean*scale would be
// rounded at the magnitude of mean*scale, an absolute error of about
// |mean/std| * 6e-8 on an output of order one (6e-4 for data at 1e4 +- 1);
// in double that error is 1e-16 * |mean/std| and y is correctly rounded to
// float in all practical cases.
// One channel's forward fold: returns inv_std, sets scale and shift.
template <class T>
inline double TrainFold(const T* gamma, const T* beta, int64_t c, double mean, double var,
                        double epsilon, double* scale, double* shift) {
  const double is = 1.0 / std::sqrt(var + epsilon);
  *scale = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
  *shift = (beta != nullptr ? static_cast<double>(beta[c]) : 0.0) - mean * *scale;
  return is;
}

template <class T>
struct FusedTrainArgs {
  const T* x;
  const T* gamma;
  const T* beta;
  double epsilon;
  T* y;
  T* mean;
  T* variance;
  T* inv_std;
  FusedWalk walk;
};

// Both training-forward passes over each channel of a block (an item).
template <class T>
void FusedTrainItem(void* ctx, int64_t item) {
  const FusedTrainArgs<T>& f = *static_cast<const FusedTrainArgs<T>*>(ctx);
  const FusedWalk& w = f.walk;
  alignas(64) double rec[kFusePartials];
  for (int64_t c = w.First(item), end = w.End(item); c < end; ++c) {
    ChannelPartials<T, StatsOp<T>>(f.x, f.x, w.layout, *w.plan, c, nullptr, rec);
    double mean_d, var_d, cs[2];
    ChannelMerge(rec, w.plan->groups, true, &mean_d, &var_d);
    const double is = TrainFold(f.gamma, f.beta, c, mean_d, var_d, f.epsilon, &cs[0], &cs[1]);
    f.mean[c] = static_cast<T>(mean_d);
    f.variance[c] = static_cast<T>(var_d);
    f.inv_std[c] = static_cast<T>(is);
    ChannelApply<T, ScaleShiftOp>(f.x, f.x, f.y, w.layout, *w.plan, c, cs, w.stream);
  }
  if (w.stream) StoreFence();
}

template <class T>
void TrainForwardT(const T* x, Layout l, const T* gamma, const T* beta,
                   double epsilon, T* y, T* mean, T* variance, T* inv_std) {
  const int64_t channels = l.channels;
  const Walker<T> walk(l);
  if (walk.Fuses(2)) {
    FusedTrainArgs<T> args{x, gamma, beta, epsilon, y, mean, variance, inv_std,
                           FusedWalk(l, walk.plan(), walk.Streams(2))};
    ParallelFor(args.walk.items(), l.count(), &FusedTrainItem<T>, &args);
    return;
  }
  Scratch scratch(4 * channels);
  double* mean_d = scratch.data();
  double* var_d = mean_d + channels;
  double* coef = var_d + channels;  // [scale | shift]
  walk.Stats(x, mean_d, var_d);
  for (int64_t c = 0; c < channels; ++c) {
    const double is = TrainFold(gamma, beta, c, mean_d[c], var_d[c], epsilon, &coef[c],
                                &coef[channels + c]);
    mean[c] = static_cast<T>(mean_d[c]);
    variance[c] = static_cast<T>(var_d[c]);
    inv_std[c] = static_cast<T>(is);
  }
  walk.template Apply<ScaleShiftOp>(x, x, y, coef);
}

template <class T>
void InferForwardT(const T* x, Layout l, const T* gamma, const T* beta,
                   const T* mean, const T* variance, double epsilon, T* y) {
  const int64_t channels = l.channels;
  const Walker<T> walk(l);
  Scratch scratch(2 * channels);
  double* coef = scratch.data();
  for (int64_t c = 0; c < channels; ++c) {
    const double is = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    const double scale = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
    coef[c] = scale;
    coef[channels + c] = (beta != nullptr ? static_cast<double>(beta[c]) : 0.0) -
                         static_cast<double>(mean[c]) * scale;
  }
  walk.template Apply<ScaleShiftOp>(x, x, y, coef);
}

// One channel's backward coefficients (see BackwardT): cs[0] = a, and for
// training cs[1] = b, cs[2] = k.
template <class T>
inline void BackwardFold(const T* gamma, const T* mean, const T* inv_std, int64_t c, double n,
                         bool training, double sdy, double sdyx, double* cs) {
  const double is = static_cast<double>(inv_std[c]);
  const double a = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
  cs[0] = a;
  if (training) {
    const double b = -a * is * (is * sdyx) / n;
    cs[1] = b;
    cs[2] = -a * sdy / n - b * static_cast<double>(mean[c]);
  }
}

template <class T>
struct FusedBackwardArgs {
  const T* dy;
  const T* x;
  const T* gamma;
  const T* mean;
  const T* inv_std;
  T* dx;
  T* dgamma;
  T* dbeta;
  FusedWalk walk;
};

// Both training-backward passes over each channel of a block (an item).
template <class T>
void FusedBackwardItem(void* ctx, int64_t item) {
  const FusedBackwardArgs<T>& f = *static_cast<const FusedBackwardArgs<T>*>(ctx);
  const FusedWalk& w = f.walk;
  const double n = static_cast<double>(w.layout.per_channel());
  alignas(64) double rec[kFusePartials];
  for (int64_t c = w.First(item), end = w.End(item); c < end; ++c) {
    ChannelPartials<T, GradSumsOp<T>>(f.dy, f.x, w.layout, *w.plan, c, f.mean, rec);
    double sdy, sdyx, cs[3];
    ChannelMerge(rec, w.plan->groups, false, &sdy, &sdyx);
    if (f.dbeta != nullptr) f.dbeta[c] = static_cast<T>(sdy);
    if (f.dgamma != nullptr) f.dgamma[c] = static_cast<T>(static_cast<double>(f.inv_std[c]) * sdyx);
    BackwardFold(f.gamma, f.mean, f.inv_std, c, n, true, sdy, sdyx, cs);
    ChannelApply<T, GradTrainOp>(f.dy, f.x, f.dx, w.layout, *w.plan, c, cs, w.stream);
  }
  if (w.stream) StoreFence();
}

// Backward. Pass 1 (when dgamma, dbeta or the training dx need them) sums,
// per channel, sdy = sum dy and sdyx = sum dy * (x - mean) in double; then
//   dbeta = sdy,  dgamma = inv_std * sdyx.
// Pass 2 folds the training formula, with xhat = (x - mean) * inv_std and
// a = gamma * inv_std,
//   dx = a * (dy - dbeta/n - xhat * dgamma/n)
//      = dy * a + x * b + k,  b = -a * inv_std * dgamma / n,  k = -a * dbeta / n - b * mean,
// evaluated in double like the forward fold (b*x + k cancels at the scale of
// the mean). With frozen statistics dx = dy * a.
template <class T>
void BackwardT(const T* dy, const T* x, Layout l, const T* gamma, const T* mean,
               const T* inv_std, bool training, T* dx, T* dgamma, T* dbeta) {
  const int64_t channels = l.channels;
  const bool need_sums = training || dgamma != nullptr || dbeta != nullptr;
  if (!need_sums && dx == nullptr) return;
  const Walker<T> walk(l);
  if (training && dx != nullptr && walk.Fuses(3)) {
    FusedBackwardArgs<T> args{dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                              FusedWalk(l, walk.plan(), walk.Streams(3))};
    ParallelFor(args.walk.items(), l.count(), &FusedBackwardItem<T>, &args);
    return;
  }
  Scratch scratch(5 * channels);
  double* sdy = scratch.data();
  double* sdyx = sdy + channels;
  double* coef = sdyx + channels;  // up to 3 * channels
  if (need_sums) {
    walk.GradSums(dy, x, mean, sdy, sdyx);
    for (int64_t c = 0; c < channels; ++c) {
      if (dbeta != nullptr) dbeta[c] = static_cast<T>(sdy[c]);
      if (dgamma != nullptr) {
        dgamma[c] = static_cast<T>(static_cast<double>(inv_std[c]) * sdyx[c]);
      }
    }
  }
  if (dx == nullptr) return;
  const double n = static_cast<double>(l.per_channel());
  for (int64_t c = 0; c < channels; ++c) {
    double cs[3];
    BackwardFold(gamma, mean, inv_std, c, n, training, training ? sdy[c] : 0.0,
                 training ? sdyx[c] : 0.0, cs);
    coef[c] = cs[0];
    if (training) {
      coef[channels + c] = cs[1];
      coef[2 * channels + c] = cs[2];
    }
  }
  if (training) {
    walk.template Apply<GradTrainOp>(dy, x, dx, coef);
  } else {
    walk.template Apply<GradFrozenOp>(dy, x, dx, coef);
  }
}

// ---------------------------------------------------------------------------
// Flat kernels (optimizer update, stream copy): fixed chunks of the array.

constexpr int64_t kFlatChunk = int64_t{1} << 15;

template <class T>
struct SgdArgs {
  T* var;
  const T* grad;
  T* vel;
  int64_t n;
  double lr, momentum;
  bool nesterov;
};

// Keras SGD in double (see optimizer_update.h):
//   momentum == 0: var = var - lr * g
//   else:          v = momentum * v - lr * g
//                  var = var + (nesterov ? momentum * v - lr * g : v)
template <class T>
void SgdItem(void* ctx, int64_t item) {
  const SgdArgs<T>& s = *static_cast<const SgdArgs<T>*>(ctx);
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  const int64_t i0 = item * kFlatChunk;
  const int64_t i1 = Min(s.n, i0 + kFlatChunk);
  const DVec neg_lr = Set1(-s.lr);
  const DVec mom = Set1(s.momentum);
  int64_t i = i0;
  for (; i + kL <= i1; i += kL) {
    DVec v[kN], g[kN];
    LoadIn(s.var + i, v);
    LoadIn(s.grad + i, g);
    if (s.momentum == 0.0) {
      for (int h = 0; h < kN; ++h) v[h] = MulAdd(g[h], neg_lr, v[h]);
    } else {
      DVec u[kN];
      LoadIn(s.vel + i, u);
      for (int h = 0; h < kN; ++h) {
        const DVec step = Mul(g[h], neg_lr);
        u[h] = MulAdd(mom, u[h], step);
        v[h] = Add(v[h], s.nesterov ? MulAdd(mom, u[h], step) : u[h]);
      }
      StoreOut(s.vel + i, u);
    }
    StoreOut(s.var + i, v);
  }
  for (; i < i1; ++i) {
    const double g = static_cast<double>(s.grad[i]);
    double v = static_cast<double>(s.var[i]);
    if (s.momentum == 0.0) {
      v = MulAddScalar(g, -s.lr, v);
    } else {
      const double step = g * -s.lr;
      const double u = MulAddScalar(s.momentum, static_cast<double>(s.vel[i]), step);
      v = v + (s.nesterov ? MulAddScalar(s.momentum, u, step) : u);
      s.vel[i] = static_cast<T>(u);
    }
    s.var[i] = static_cast<T>(v);
  }
}

template <class T>
void SgdT(T* var, const T* grad, T* velocity, int64_t n, double lr,
          double momentum, bool nesterov) {
  SgdArgs<T> args{var, grad, velocity, n, lr, momentum, nesterov};
  ParallelFor(CeilDiv(n, kFlatChunk), n, &SgdItem<T>, &args);
}

struct CopyArgs {
  const char* src;
  char* dst;
  int64_t bytes;
  bool stream;  // streaming stores, as an elementwise pass over the same working set
};

constexpr int64_t kCopyChunkBytes = int64_t{1} << 18;

// The aligned whole vectors of a copy chunk, from byte i; returns where they end.
template <bool kStream>
inline int64_t CopyVectors(const char* src, char* dst, int64_t i, int64_t end) {
  const auto put = [&](int64_t at) {
    if constexpr (kStream) {
      StreamCopyVec(src + at, dst + at);
    } else {
      CopyVec(src + at, dst + at);
    }
  };
  for (; i + 4 * kCopyBytes <= end; i += 4 * kCopyBytes) {
    put(i);
    put(i + kCopyBytes);
    put(i + 2 * kCopyBytes);
    put(i + 3 * kCopyBytes);
  }
  for (; i + kCopyBytes <= end; i += kCopyBytes) put(i);
  return i;
}

void CopyItem(void* ctx, int64_t item) {
  const CopyArgs& c = *static_cast<const CopyArgs*>(ctx);
  const int64_t b0 = item * kCopyChunkBytes;
  const int64_t b1 = Min(c.bytes, b0 + kCopyChunkBytes);
  int64_t i = b0;
  // Aligned stores, as the elementwise kernels do (see AlignHead), and
  // streaming ones where they would stream: the roofline is the best copy
  // of the same working set, whatever the buffers' alignment.
  const int64_t head = Min(b1 - b0, static_cast<int64_t>(
      (kCopyBytes - reinterpret_cast<uintptr_t>(c.dst + b0) % kCopyBytes) % kCopyBytes));
  if (head > 0) {
    std::memcpy(c.dst + i, c.src + i, static_cast<size_t>(head));
    i += head;
  }
  if (c.stream) {
    i = CopyVectors<true>(c.src, c.dst, i, b1);
  } else {
    i = CopyVectors<false>(c.src, c.dst, i, b1);
  }
  if (i < b1) std::memcpy(c.dst + i, c.src + i, static_cast<size_t>(b1 - i));
  if (c.stream) StoreFence();
}

template <class T>
void StreamCopyT(const T* src, T* dst, int64_t n) {
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  CopyArgs args{reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst), bytes,
                StreamsStores(2 * bytes)};
  ParallelFor(CeilDiv(args.bytes, kCopyChunkBytes), n, &CopyItem, &args);
}

}  // namespace

// The public signatures (channel_stats.h, batch_norm.h, ...), for this ISA.

void ChannelStats(const float* x, Layout l, float* mean, float* variance) {
  ChannelStatsT(x, l, mean, variance);
}
void ChannelStats(const double* x, Layout l, double* mean, double* variance) {
  ChannelStatsT(x, l, mean, variance);
}
void BatchNormTrainForward(const float* x, Layout l, const float* gamma,
                           const float* beta, double epsilon, float* y,
                           float* mean, float* variance, float* inv_std) {
  TrainForwardT(x, l, gamma, beta, epsilon, y, mean, variance, inv_std);
}
void BatchNormTrainForward(const double* x, Layout l, const double* gamma,
                           const double* beta, double epsilon, double* y,
                           double* mean, double* variance, double* inv_std) {
  TrainForwardT(x, l, gamma, beta, epsilon, y, mean, variance, inv_std);
}
void BatchNormInferForward(const float* x, Layout l, const float* gamma,
                           const float* beta, const float* mean,
                           const float* variance, double epsilon, float* y) {
  InferForwardT(x, l, gamma, beta, mean, variance, epsilon, y);
}
void BatchNormInferForward(const double* x, Layout l, const double* gamma,
                           const double* beta, const double* mean,
                           const double* variance, double epsilon, double* y) {
  InferForwardT(x, l, gamma, beta, mean, variance, epsilon, y);
}
void BatchNormBackward(const float* dy, const float* x, Layout l,
                       const float* gamma, const float* mean,
                       const float* inv_std, bool training, float* dx,
                       float* dgamma, float* dbeta) {
  BackwardT(dy, x, l, gamma, mean, inv_std, training, dx, dgamma, dbeta);
}
void BatchNormBackward(const double* dy, const double* x, Layout l,
                       const double* gamma, const double* mean,
                       const double* inv_std, bool training, double* dx,
                       double* dgamma, double* dbeta) {
  BackwardT(dy, x, l, gamma, mean, inv_std, training, dx, dgamma, dbeta);
}
void SgdUpdate(float* var, const float* grad, float* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov) {
  SgdT(var, grad, velocity, n, learning_rate, momentum, nesterov);
}
void SgdUpdate(double* var, const double* grad, double* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov) {
  SgdT(var, grad, velocity, n, learning_rate, momentum, nesterov);
}
void StreamCopy(const float* src, float* dst, int64_t n) { StreamCopyT(src, dst, n); }
void StreamCopy(const double* src, double* dst, int64_t n) { StreamCopyT(src, dst, n); }

extern const KernelTable kTable = {
    &ChannelStats,          &ChannelStats,          &BatchNormTrainForward,
    &BatchNormTrainForward, &BatchNormInferForward, &BatchNormInferForward,
    &BatchNormBackward,     &BatchNormBackward,     &SgdUpdate,
    &SgdUpdate,             &StreamCopy,            &StreamCopy,
};

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
