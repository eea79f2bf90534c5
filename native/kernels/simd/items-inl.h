// The work items of the plan's path (plan.h): one item of a reduction
// (SumsItem) or of an elementwise pass (ApplyItem) walks its rectangle of the
// tensor with the run or row walkers and writes only its own outputs.
#pragma once

#include <cstdint>

#include "layout.h"
#include "plan.h"
#include "simd/common-inl.h"
#include "simd/row_walk-inl.h"
#include "simd/run_walk-inl.h"
#include "simd/simd.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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
RowWalk RowWalkOf(const Plan& p, const ChannelView& l, const ItemRange& r) {
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

template <class T>
struct SumsArgs {
  const T* a;
  const T* b;
  ChannelView layout;
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
  const ChannelView& l = args.layout;
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
  ChannelView layout;
  const Plan* plan;
  const double* coef;  // [kCoefs][channels]
  bool stream;         // streaming stores (plan.h StreamsStores)
};

// One item of an elementwise pass.
template <class T, class Op>
void ApplyItem(void* ctx, int64_t item) {
  const ApplyArgs<T>& args = *static_cast<const ApplyArgs<T>*>(ctx);
  const Plan& p = *args.plan;
  const ChannelView& l = args.layout;
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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
