// The two ways of walking a ChannelView tensor (the Walker below), which the
// normalization kernels (channel_stats_simd.cc, batch_norm_simd.cc) are
// written against. Like every source in simd/, it is compiled once per ISA
// (see simd.h and binding.gyp: one static library per ISA, each with its
// own -m flags).
//
// Every kernel is one or two streaming passes over the tensor:
//   ChannelStats           1 pass  (read x)                        4 B/value (f32)
//   BatchNormTrainForward  2 passes (read x; read x, write y)     12 B/value
//   BatchNormInferForward  1 pass  (read x, write y)              8 B/value
//   BatchNormBackward      2 passes (read dy, x; read dy, x, write dx) 20 B/value
// (channels-first training forward and backward fuse the two passes per
// channel when a channel fits in L2: 8 and 12 B/value; see fused_walk-inl.h).
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
// Two walkers implement every pass (see plan.h for when each is used), cut
// into work items by items-inl.h and merged by merge-inl.h:
//   ...Nhwc (row mode, row_walk-inl.h): a row of the item is a run of
//     positions whose channel is fixed per position; per-position
//     accumulators (or coefficients) live in small L1 arrays, and
//     reductions keep a strip of them in registers across a block of rows.
//   ...Nchw (run mode, run_walk-inl.h): one run of `inner` values of a
//     single channel at a time; accumulators stay in registers and
//     coefficients are broadcast.
// Tensors of at most kTinyValues values take neither (no plan, no pool):
// the tiny walk (tiny_walk-inl.h), where the call, not the bandwidth,
// is the cost.
#pragma once

#include <cstdint>

#include "layout.h"
#include "plan.h"
#include "simd/items-inl.h"
#include "simd/merge-inl.h"
#include "simd/simd.h"
#include "simd/tiny_walk-inl.h"
#include "simd/value_ops-inl.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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
void ComputeStats(const T* x, const ChannelView& l, const Plan& p, double* mean_d, double* var_d) {
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
  explicit Walker(const ChannelView& l) : l_(l), tiny_(TinyWalkOf(l, &w_)) {
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

  // Whether the two passes fuse per channel (see fused_walk-inl.h);
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
  ChannelView l_;
  TinyWalk w_;
  bool tiny_;
  Plan p_{};
};

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
