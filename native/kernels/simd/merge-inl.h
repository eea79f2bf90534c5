// Merging the reductions' per-group partials into per-channel results.
#pragma once

#include <cstdint>

#include "simd/common-inl.h"
#include "simd/simd.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

// Per channel over groups in group order, so the result does not depend on
// which thread produced which partial. Loops run group by group over a
// range of channels, following the [group][channel] layout.

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

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
