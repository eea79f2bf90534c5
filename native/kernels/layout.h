// The views of a tensor that normkit kernels take: plain values, passed by
// value, with 64-bit extents (tensors over 2^31 elements work).
//
//   ChannelView  [outer, channels, inner]: the normalization kernels
//                (statistics, batch norm), one channel in the middle.
//   StridedView  a shape and one stride per operand and dimension: the
//                elementwise kernels over operands that broadcast to a
//                common shape.
//
// A kernel's header says which view it takes; what the binding or lib/ does
// to bring a tensor into that view (flattening adjacent axes, collapsing
// broadcast dimensions) happens before the kernel is called.
#pragma once

#include <cstdint>

namespace normkit {

// A tensor of any rank normalized over one axis (or over several adjacent
// axes, flattened) viewed as a row-major [outer, channels, inner] block:
//   channels-last  (NHWC, axis = -1): outer = N*H*W, inner = 1
//   channels-first (NCHW, axis =  1): outer = N,     inner = H*W
// Element (o, c, i) lives at index (o * channels + c) * inner + i.
// Every per-channel reduction runs over the outer * inner values of a channel.
struct ChannelView {
  int64_t outer;     // >= 1
  int64_t channels;  // >= 1
  int64_t inner;     // >= 1

  int64_t count() const { return outer * channels * inner; }
  // Number of values that each channel statistic is computed over.
  int64_t per_channel() const { return outer * inner; }
};

// The name every kernel signature used before StridedView existed; the
// binding still spells it so.
using Layout = ChannelView;

// The iteration space of an elementwise op whose operands broadcast to one
// shape, as lib/ops/broadcast.ts's StridedPlan describes it (planStrided /
// collapsePlan): `rank` dimensions of extent shape[d], outermost first, and
// for operand k the element stride strides[k][d] it moves by along
// dimension d. A stride of 0 repeats the operand along that dimension (a
// broadcast or missing dimension of it); a contiguous operand of the full
// shape has its row-major strides [..., shape[rank-1], 1]. Operand 0 is the
// output, dense and row-major; operands 1.. are the inputs, in the order the
// kernel's header gives.
//
// The TypeScript side collapses the space before the call: size-1
// dimensions are dropped and neighbouring dimensions that every operand
// walks as one contiguous run are merged, so the innermost dimension is the
// longest run a kernel can stream and rank is 1 for same-shape operands. A
// kernel walks the innermost dimension as runs of shape[rank-1] values and
// the outer dimensions as an odometer (broadcast.ts forEachRun). Offsets
// are in elements, never bytes, so one view serves every dtype.
//
// Fixed-size arrays keep the view a plain value that a kernel call copies
// without allocating. The bounds are what a kernel may assume: a caller
// whose collapsed space has more dimensions or operands must not build a
// StridedView of it (broadcast.ts walks any rank in TypeScript).
constexpr int kStridedMaxRank = 8;
constexpr int kStridedMaxOperands = 4;

struct StridedView {
  int rank;      // 1 to kStridedMaxRank
  int operands;  // 1 to kStridedMaxOperands
  int64_t shape[kStridedMaxRank];                         // each >= 1 (no empty tensor)
  int64_t strides[kStridedMaxOperands][kStridedMaxRank];  // elements; >= 0

  // Values of the iteration space (of the output).
  int64_t count() const {
    int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= shape[d];
    return n;
  }
  // Length of the innermost run, and operand k's stride along it (1: it
  // streams, 0: one value repeated along the run).
  int64_t run_length() const { return shape[rank - 1]; }
  int64_t run_stride(int k) const { return strides[k][rank - 1]; }
  // One past the largest element offset operand k reaches: the number of
  // values its buffer must hold.
  int64_t extent(int k) const {
    int64_t last = 0;
    for (int d = 0; d < rank; ++d) last += (shape[d] - 1) * strides[k][d];
    return last + 1;
  }
};

}  // namespace normkit
