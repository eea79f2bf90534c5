// StreamCopy (stream_copy.h) for one ISA: the bandwidth roofline, with the
// loads, stores and work split of the elementwise kernels.
#include "stream_copy.h"

#include <cstdint>
#include <cstring>

#include "kernel_table.h"
#include "plan.h"
#include "simd/common-inl.h"
#include "simd/simd.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

struct CopyArgs {
  const char* src;
  char* dst;
  int64_t bytes;
  bool stream;  // streaming stores, as an elementwise pass over the same working set
};

constexpr int64_t kCopyChunkBytes = int64_t{1} << 18;

// The aligned whole vectors of a copy chunk, from byte i; returns where they end.
template <bool kStream>
inline int64_t CopyVectors(const char* src, char* dst, int64_t i, int64_t end) {
  const auto put = [&](int64_t at) {
    if constexpr (kStream) {
      StreamCopyVec(src + at, dst + at);
    } else {
      CopyVec(src + at, dst + at);
    }
  };
  for (; i + 4 * kCopyBytes <= end; i += 4 * kCopyBytes) {
    put(i);
    put(i + kCopyBytes);
    put(i + 2 * kCopyBytes);
    put(i + 3 * kCopyBytes);
  }
  for (; i + kCopyBytes <= end; i += kCopyBytes) put(i);
  return i;
}

void CopyItem(void* ctx, int64_t item) {
  const CopyArgs& c = *static_cast<const CopyArgs*>(ctx);
  const int64_t b0 = item * kCopyChunkBytes;
  const int64_t b1 = Min(c.bytes, b0 + kCopyChunkBytes);
  int64_t i = b0;
  // Aligned stores, as the elementwise kernels do (see AlignHead), and
  // streaming ones where they would stream: the roofline is the best copy
  // of the same working set, whatever the buffers' alignment.
  const int64_t head = Min(b1 - b0, static_cast<int64_t>(
      (kCopyBytes - reinterpret_cast<uintptr_t>(c.dst + b0) % kCopyBytes) % kCopyBytes));
  if (head > 0) {
    std::memcpy(c.dst + i, c.src + i, static_cast<size_t>(head));
    i += head;
  }
  if (c.stream) {
    i = CopyVectors<true>(c.src, c.dst, i, b1);
  } else {
    i = CopyVectors<false>(c.src, c.dst, i, b1);
  }
  if (i < b1) std::memcpy(c.dst + i, c.src + i, static_cast<size_t>(b1 - i));
  if (c.stream) StoreFence();
}

}  // namespace

template <class T>
void StreamCopy(const T* src, T* dst, int64_t n) {
  const int64_t bytes = n * static_cast<int64_t>(sizeof(T));
  CopyArgs args{reinterpret_cast<const char*>(src), reinterpret_cast<char*>(dst), bytes,
                StreamsStores(2 * bytes)};
  ParallelFor(CeilDiv(args.bytes, kCopyChunkBytes), n, &CopyItem, &args);
}

NORMKIT_INSTANTIATE_KERNEL(StreamCopy)

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
