// The per-value operations every walk is instantiated with: the two
// reductions (statistics, backward sums) and the three elementwise maps
// (forward fold, training and frozen backward), each in a vector and a
// scalar form with the same roundings.
#pragma once

#include <cstdint>

#include "simd/simd.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
