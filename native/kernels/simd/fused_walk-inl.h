// The channel-fused walk of the channels-first training forward and
// backward (plan.h FusesChannels): both passes one channel at a time.
#pragma once

#include <cstdint>

#include "layout.h"
#include "plan.h"
#include "simd/common-inl.h"
#include "simd/run_walk-inl.h"
#include "simd/simd.h"
#include "simd/value_ops-inl.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

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
void ChannelPartials(const T* a, const T* b, const ChannelView& l, const Plan& p, int64_t c,
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
void ChannelApply(const T* a, const T* b, T* y, const ChannelView& l, const Plan& p, int64_t c,
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
  ChannelView layout;
  const Plan* plan;
  int64_t block;  // channels per item
  bool stream;    // streaming stores (plan.h StreamsStores)

  FusedWalk(const ChannelView& l, const Plan& p, bool streams)
      : layout(l), plan(&p), block(CeilDiv(l.channels, kFuseItems)), stream(streams) {}
  int64_t items() const { return CeilDiv(layout.channels, block); }
  // The first channel of an item, and one past its last.
  int64_t First(int64_t item) const { return item * block; }
  int64_t End(int64_t item) const { return Min(layout.channels, (item + 1) * block); }
};

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
