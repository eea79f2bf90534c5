// The views of layout.h: ChannelView's counts, StridedView's helpers on the
// shapes lib/ops/broadcast.ts's planStrided produces, and 64-bit extents.
//
// Usage: views_test [test-name-filter]
#include <cstdint>
#include <type_traits>

#include "check.h"
#include "layout.h"

namespace {

using normkit::ChannelView;
using normkit::StridedView;

// Kernels take the views by value: plain data, copied without allocation.
static_assert(std::is_trivially_copyable<ChannelView>::value, "ChannelView is plain data");
static_assert(std::is_trivially_copyable<StridedView>::value, "StridedView is plain data");
static_assert(std::is_same<normkit::Layout, ChannelView>::value, "Layout is ChannelView's alias");

// A view with every stride 0, to be filled by the test.
StridedView View(int rank, int operands, const int64_t* shape) {
  StridedView v{};
  v.rank = rank;
  v.operands = operands;
  for (int d = 0; d < rank; ++d) v.shape[d] = shape[d];
  return v;
}

TEST(ChannelViewCounts) {
  const ChannelView nhwc{2 * 4 * 4, 3, 1};  // the tutorial's [2,4,4,3], axis -1
  CHECK(nhwc.count() == 96 && nhwc.per_channel() == 32, "NHWC counts %lld %lld",
        static_cast<long long>(nhwc.count()), static_cast<long long>(nhwc.per_channel()));
  const ChannelView nchw{2, 3, 4 * 4};  // [2,3,4,4], axis 1
  CHECK(nchw.count() == 96 && nchw.per_channel() == 32, "NCHW counts %lld %lld",
        static_cast<long long>(nchw.count()), static_cast<long long>(nchw.per_channel()));
}

// planStrided([2,3,4], [[2,3,4], [2,3,4]]): same-shape operands collapse
// to one run of 24, both streaming.
TEST(StridedSameShapeIsOneRun) {
  const int64_t shape[] = {24};
  StridedView v = View(1, 2, shape);
  v.strides[0][0] = 1;
  v.strides[1][0] = 1;
  CHECK(v.count() == 24 && v.run_length() == 24, "count %lld, run %lld",
        static_cast<long long>(v.count()), static_cast<long long>(v.run_length()));
  CHECK(v.run_stride(0) == 1 && v.run_stride(1) == 1, "both operands stream");
  CHECK(v.extent(0) == 24 && v.extent(1) == 24, "extents %lld %lld",
        static_cast<long long>(v.extent(0)), static_cast<long long>(v.extent(1)));
}

// planStrided([2,3,4], [[2,3,4], [3,1]]): the second operand repeats along
// the outer and inner dimensions (stride 0) and holds 3 values.
TEST(StridedBroadcastOperand) {
  const int64_t shape[] = {2, 3, 4};
  StridedView v = View(3, 2, shape);
  const int64_t out[] = {12, 4, 1}, x[] = {0, 1, 0};
  for (int d = 0; d < 3; ++d) {
    v.strides[0][d] = out[d];
    v.strides[1][d] = x[d];
  }
  CHECK(v.count() == 24 && v.run_length() == 4, "count %lld, run %lld",
        static_cast<long long>(v.count()), static_cast<long long>(v.run_length()));
  CHECK(v.run_stride(0) == 1 && v.run_stride(1) == 0, "output streams, x repeats along the run");
  CHECK(v.extent(0) == v.count(), "a dense output's extent is its count: %lld",
        static_cast<long long>(v.extent(0)));
  CHECK(v.extent(1) == 3, "the broadcast operand's extent: %lld", static_cast<long long>(v.extent(1)));
}

// A scalar operand: one run, stride 0, one value.
TEST(StridedScalarOperand) {
  const int64_t shape[] = {7};
  StridedView v = View(1, 2, shape);
  v.strides[0][0] = 1;
  CHECK(v.extent(1) == 1 && v.run_stride(1) == 0, "scalar extent %lld",
        static_cast<long long>(v.extent(1)));
}

// Extents past 2^31 (and 2^32) stay exact: the view is 64-bit throughout.
TEST(StridedLargeExtents) {
  const int64_t k2p31 = int64_t{1} << 31;
  const int64_t shape[] = {3, k2p31};
  StridedView v = View(2, 2, shape);
  v.strides[0][0] = k2p31;
  v.strides[0][1] = 1;
  v.strides[1][0] = 1;  // a transposed read: [k2p31, 3] walked column-wise
  v.strides[1][1] = 3;
  CHECK(v.count() == 3 * k2p31, "count %lld", static_cast<long long>(v.count()));
  CHECK(v.extent(0) == 3 * k2p31 && v.extent(1) == 3 * k2p31, "extents %lld %lld",
        static_cast<long long>(v.extent(0)), static_cast<long long>(v.extent(1)));
}

}  // namespace

TEST_MAIN()
