// Streaming copy with the active ISA and thread pool: the bandwidth roofline
// the bench compares every kernel against (same loads, stores and work split
// as the batch-norm kernels, no arithmetic). Like them, it writes with
// streaming stores when its working set (source and destination) is past
// plan.h's StreamThresholdBytes, so the roofline is the best copy the
// machine does at that size, not one that pays a read-for-ownership.
#pragma once

#include <cstdint>

namespace normkit {

// dst[i] = src[i] for i < n. Preconditions: n >= 0; src and dst hold n values
// and do not overlap.
void StreamCopy(const float* src, float* dst, int64_t n);
void StreamCopy(const double* src, double* dst, int64_t n);

}  // namespace normkit
