// Row mode walkers ("Nhwc", plan.h): segments of positions whose channel is
// fixed per position, with per-position accumulators or coefficients in
// small L1 arrays.
#pragma once

#include <cstdint>

#include "simd/common-inl.h"
#include "simd/simd.h"
#include "simd/value_ops-inl.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

// A walk covers `segs` segments of `len` positions, segment k starting at
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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
