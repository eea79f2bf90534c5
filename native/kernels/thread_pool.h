// The kernels' persistent worker pool.
//
// Size: NORMKIT_NUM_THREADS when set (a positive integer), else
// std::thread::hardware_concurrency(); SetNumThreads changes it. The count
// includes the calling thread, so n threads means n - 1 workers. Workers are
// created on first parallel use and sleep on a condition variable when idle.
//
// Results never depend on the thread count: callers split work into items
// whose boundaries are fixed by the tensor shape alone, each item writes its
// own slot, and partial results are merged in item order afterwards. Which
// thread runs an item therefore changes nothing.
#pragma once

#include <cstdint>

namespace normkit {

// Below this many values a call runs inline on the calling thread: waking a
// worker costs more than streaming 256 KB.
constexpr int64_t kInlineValues = int64_t{1} << 16;

int NumThreads();
// n >= 1. Waits for a running job to finish before resizing.
void SetNumThreads(int n);

// Runs fn(ctx, i) for every i in [0, items), then returns. Runs everything
// inline when items <= 1, total_values < kInlineValues, the pool has one
// thread, or the pool is busy with another caller's job (so concurrent
// callers, e.g. async workers, never wait on each other). fn must not throw.
void ParallelFor(int64_t items, int64_t total_values,
                 void (*fn)(void* ctx, int64_t item), void* ctx);

}  // namespace normkit
