// Per-channel statistics over the [outer, channels, inner] view.
#pragma once

#include "layout.h"

namespace normkit {

// mean[c]     = (1/n) * sum x(o, c, i)
// variance[c] = (1/n) * sum (x(o, c, i) - mean[c])^2     (biased, n = outer*inner)
//
// Exact to the rounding of the output type even for badly scaled data
// (values 1e4 + N(0, 1)): accumulation is never a one-pass E[x^2] - E[x]^2 in
// the input precision. Results are bit-identical for every thread count.
//
// Preconditions: layout dims >= 1; x holds layout.count() values; mean and
// variance hold layout.channels values each and do not overlap x.
void ChannelStats(const float* x, ChannelView layout, float* mean, float* variance);
void ChannelStats(const double* x, ChannelView layout, double* mean, double* variance);

}  // namespace normkit
