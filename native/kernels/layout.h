// The one view of a tensor that every normkit kernel takes.
//
// A tensor of any rank normalized over one axis (or over several adjacent
// axes, flattened) is viewed as a row-major [outer, channels, inner] block:
//   channels-last  (NHWC, axis = -1): outer = N*H*W, inner = 1
//   channels-first (NCHW, axis =  1): outer = N,     inner = H*W
// Element (o, c, i) lives at index (o * channels + c) * inner + i.
// Every per-channel reduction runs over the outer * inner values of a channel.
#pragma once

#include <cstdint>

namespace normkit {

struct Layout {
  int64_t outer;     // >= 1
  int64_t channels;  // >= 1
  int64_t inner;     // >= 1

  int64_t count() const { return outer * channels * inner; }
  // Number of values that each channel statistic is computed over.
  int64_t per_channel() const { return outer * inner; }
};

}  // namespace normkit
