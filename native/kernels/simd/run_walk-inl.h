// Run mode walkers ("Nchw", plan.h): one contiguous run of a single
// channel at a time, accumulators in registers, coefficients broadcast.
#pragma once

#include <cstdint>

#include "simd/common-inl.h"
#include "simd/simd.h"
#include "simd/value_ops-inl.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
