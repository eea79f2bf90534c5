// The tiny walk: tensors of at most kTinyValues values, without a plan,
// items or the pool.
#pragma once

#include <cstdint>

#include "layout.h"
#include "plan.h"
#include "simd/common-inl.h"
#include "simd/simd.h"
#include "simd/value_ops-inl.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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
bool TinyWalkOf(const ChannelView& l, TinyWalk* w) {
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
void TinyStats(const T* x, const ChannelView& l, const TinyWalk& w, double* mean_d, double* var_d) {
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
void TinyGradSumsOf(const T* dy, const T* x, const ChannelView& l, const TinyWalk& w, const T* mean,
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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
