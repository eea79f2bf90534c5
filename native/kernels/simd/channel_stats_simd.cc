// ChannelStats (channel_stats.h) for one ISA: the statistics of the Walker
// (walker-inl.h), rounded to the tensor dtype.
#include "channel_stats.h"

#include <cstdint>

#include "kernel_table.h"
#include "plan.h"
#include "simd/simd.h"
#include "simd/walker-inl.h"

namespace normkit {
namespace NORMKIT_ISA_NS {

template <class T>
void ChannelStats(const T* x, ChannelView l, T* mean, T* variance) {
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

NORMKIT_INSTANTIATE_KERNEL(ChannelStats)

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
