// What the per-ISA sources share beyond simd.h's vectors: index helpers,
// software prefetch, aligned and streaming output stores, a short sum.
//
// The -inl.h headers of this folder hold the walking code every per-ISA
// source (simd/*_simd.cc) is built from; each includes what it uses. As in
// simd.h, everything sits in an anonymous namespace inside the ISA
// namespace: each translation unit of an ISA library gets its own copy (no
// ODR clash between the per-concept sources of one ISA, no AVX-512 copy
// substituted into another ISA's code). The walkers are templates
// instantiated in the translation unit of the kernel that calls them, so no
// hot call crosses a translation-unit boundary.
#pragma once

#include <cstdint>

#include "plan.h"
#include "simd/simd.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

int64_t Min(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Software prefetch into L2, kPrefetchBytes ahead of the loads. Once a
// tensor no longer fits in the last-level cache, a loop that does real work
// per byte keeps too few misses in flight for the hardware prefetcher alone:
// measured on the stats loop at 128 MB, 8 GB/s without, 12 GB/s with (and no
// change while the tensor is cache resident). Prefetches never fault, so
// running past the end of an array is harmless.
constexpr int64_t kPrefetchBytes = 4096;
static_assert(kPrefetchBytes == kFusePrefetchReach, "plan.h's fusion budget counts this reach");

// One prefetch per cache line of a block of `bytes` bytes starting at p.
template <int64_t kBytes>
inline void PrefetchBlock(const void* p) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < kBytes; off += 64) __builtin_prefetch(c + off, 0, 2);
}

// One prefetch per cache line of [p, p + bytes).
inline void PrefetchRun(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 2);
}

// Where a run walker's loads prefetch: as it reads a[i] (and b[i]) it
// prefetches a[i] and b[i] of these two streams. Ahead() is the default,
// kPrefetchBytes further along the same arrays; the fused walk aims them at
// the next channel instead (plan.h FusedPrefetchesNextChannel).
template <class T>
struct PrefetchStreams {
  const T* a;
  const T* b;
};

template <class T>
inline PrefetchStreams<T> Ahead(const T* a, const T* b) {
  constexpr int64_t kAhead = kPrefetchBytes / int64_t{sizeof(T)};
  return {a + kAhead, b + kAhead};
}

// Values before the first address of p aligned to a whole vector store
// (kLanes<T> values), so that an elementwise loop's stores never split a
// cache line: a misaligned output stream measured ~25% slower at 51 MB on
// AVX-512. Node's large ArrayBuffers start 16 bytes past a page boundary,
// so this is the common case there. 0 when p is not even T-aligned.
template <class T>
inline int64_t AlignHead(const T* p) {
  constexpr uintptr_t kBytes = kLanes<T> * sizeof(T);
  const uintptr_t mis = reinterpret_cast<uintptr_t>(p) % kBytes;
  if (mis % sizeof(T) != 0) return 0;
  return static_cast<int64_t>((kBytes - mis) % kBytes / sizeof(T));
}

// Whether p is aligned for a whole input vector's store (AlignHead's target,
// which StreamOut requires).
template <class T>
inline bool VecAligned(const T* p) {
  return reinterpret_cast<uintptr_t>(p) % (kLanes<T> * sizeof(T)) == 0;
}

// One output vector: a plain store, or a streaming one (see plan.h
// StreamsStores) at an address VecAligned.
template <bool kStream, class T>
inline void Put(T* p, const DVec* v) {
  if constexpr (kStream) {
    StreamOut(p, v);
  } else {
    StoreOut(p, v);
  }
}

// Sum of n consecutive doubles, four partial sums (the positions of one
// channel are summed here; a single chain would serialize on add latency).
inline double SumRange(const double* a, int64_t n) {
  double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    t0 += a[i];
    t1 += a[i + 1];
    t2 += a[i + 2];
    t3 += a[i + 3];
  }
  for (; i < n; ++i) t0 += a[i];
  return (t0 + t1) + (t2 + t3);
}

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
