#include "plan.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include <unistd.h>

namespace normkit {
namespace {

std::atomic<int64_t> g_fuse_budget{kMachineFuseBudget};
std::atomic<int64_t> g_stream_threshold{kMachineStreamThreshold};

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }
int64_t Gcd(int64_t a, int64_t b) {
  while (b != 0) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

}  // namespace

Plan MakePlan(const ChannelView& layout) {
  Plan p{};
  const int64_t channels = layout.channels;
  const int64_t inner = layout.inner;
  int64_t unit_values_per_channel;
  int64_t align = 1;
  if (inner >= kRunMinInner) {
    p.run_mode = true;
    p.pieces = CeilDiv(inner, kRunMaxPiece);
    p.piece_len = RoundUp(CeilDiv(inner, p.pieces), 64);
    p.pieces = CeilDiv(inner, p.piece_len);
    p.units = layout.outer * p.pieces;
    unit_values_per_channel = std::min(p.piece_len, inner);
    const int64_t max_block = std::clamp<int64_t>(
        kItemValues / unit_values_per_channel, 1, kRunMaxBlockChannels);
    p.blocks = CeilDiv(channels, max_block);
  } else {
    p.run_mode = false;
    p.row_len = channels * inner;
    p.units = layout.outer;
    unit_values_per_channel = inner;
    const int64_t max_block = inner == 1 ? kRowMaxWideBlock : kRowMaxBlockPositions;
    const bool whole = p.row_len <= max_block ||
                       (p.row_len <= kRowMaxWideBlock && layout.outer >= kRowWholeMinRows &&
                        channels <= kRunMaxBlockChannels);
    if (whole) {
      p.blocks = 1;
      p.block_c = channels;
      align = 128 / Gcd(p.row_len, 128);
    } else {
      // A multiple of m channels spans a multiple of 16 positions; inner < 64
      // keeps 16 * inner / gcd(inner, 16) <= 1008 within the block limit.
      const int64_t m = 16 / Gcd(inner, 16);
      p.block_c = std::max<int64_t>(m, max_block / inner / m * m);
      p.blocks = CeilDiv(channels, p.block_c);
    }
  }
  if (p.run_mode) {
    p.block_c = CeilDiv(channels, p.blocks);
    p.blocks = CeilDiv(channels, p.block_c);
  }
  const int64_t unit_values = p.block_c * unit_values_per_channel;
  int64_t per_group = RoundUp(std::max({CeilDiv(kItemValues, unit_values),
                                        CeilDiv(kMinValuesPerChannel, unit_values_per_channel),
                                        p.run_mode ? int64_t{1} : kRowMinGroupRows}),
                              align);
  if (CeilDiv(p.units, per_group) > kMaxGroups) {
    per_group = RoundUp(CeilDiv(p.units, kMaxGroups), align);
  }
  p.units_per_group = per_group;
  p.groups = CeilDiv(p.units, per_group);
  return p;
}

void SetFuseBudgetForTesting(int64_t bytes) { g_fuse_budget.store(bytes, std::memory_order_relaxed); }

int64_t FuseBudgetBytes() {
  static const int64_t bytes = [] {
#ifdef _SC_LEVEL2_CACHE_SIZE
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 > 0) return static_cast<int64_t>(l2);
#endif
    return kFuseFallbackL2Bytes;
  }();
  return bytes;
}

bool FusedPrefetchesNextChannel(const ChannelView& layout, const Plan& plan,
                                int64_t value_bytes) {
  return plan.pieces == 1 && layout.inner * value_bytes <= kFusePrefetchReach;
}

bool FusesChannels(const ChannelView& layout, const Plan& plan, int64_t value_bytes,
                   int64_t arrays) {
  if (!plan.run_mode ||
      layout.channels < kFuseMinChannels || plan.groups > kMaxGroups ||
      layout.inner * value_bytes < kFuseMinRunBytes) {
    return false;
  }
  const int64_t forced = g_fuse_budget.load(std::memory_order_relaxed);
  const int64_t budget = forced == kMachineFuseBudget ? FuseBudgetBytes() : forced;
  const int64_t inputs = arrays - 1;
  const int64_t reach = plan.units * kFusePrefetchReach * inputs;
  if (reach >= budget || layout.per_channel() > (budget - reach) / (arrays * value_bytes)) {
    return false;
  }
  // Arrays whose runs of this channel are in cache at once: all of them,
  // and the next channel's inputs when the walk prefetches those.
  const bool next = FusedPrefetchesNextChannel(layout, plan, value_bytes);
  const int64_t held = arrays + (next ? inputs : 0);
  const int64_t run_bytes = std::min(plan.piece_len, layout.inner) * value_bytes;
  return plan.units * held * (kPageBytes + run_bytes) / kPageBytes <= kFuseMaxPages;
}

void SetStreamThresholdForTesting(int64_t bytes) {
  g_stream_threshold.store(bytes, std::memory_order_relaxed);
}

int64_t StreamThresholdBytes() {
  static const int64_t bytes = [] {
#ifdef _SC_LEVEL3_CACHE_SIZE
    const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (l3 > 0) return std::min(static_cast<int64_t>(l3), kStreamMaxThresholdBytes);
#endif
    return kStreamMaxThresholdBytes;
  }();
  return bytes;
}

bool StreamsStores(int64_t working_set_bytes) {
  const int64_t forced = g_stream_threshold.load(std::memory_order_relaxed);
  return working_set_bytes > (forced == kMachineStreamThreshold ? StreamThresholdBytes() : forced);
}

int64_t RowPatternLength(int64_t row_len, int64_t lanes) {
  int64_t len = row_len / Gcd(row_len, lanes) * lanes;
  while (len < 128) len *= 2;
  return len;
}

void* RowWorkspace(int64_t bytes) {
  struct Block {
    void* data = nullptr;
    int64_t bytes = 0;
    ~Block() { ::operator delete(data, std::align_val_t{64}); }
  };
  thread_local Block block;
  if (block.bytes < bytes) {
    void* grown = ::operator new(static_cast<size_t>(bytes), std::align_val_t{64}, std::nothrow);
    if (grown == nullptr) {
      std::fprintf(stderr, "normkit: out of memory allocating a %lld-byte row workspace\n",
                   static_cast<long long>(bytes));
      std::abort();
    }
    ::operator delete(block.data, std::align_val_t{64});
    block.data = grown;
    block.bytes = bytes;
  }
  return block.data;
}

Scratch::Scratch(int64_t count) : data_(inline_), heap_(nullptr) {
  if (count > kInline) {
    heap_ = new (std::nothrow) double[static_cast<size_t>(count)];
    if (heap_ == nullptr) {
      std::fprintf(stderr, "normkit: out of memory allocating %lld scratch doubles\n",
                   static_cast<long long>(count));
      std::abort();
    }
    data_ = heap_;
  }
}

Scratch::~Scratch() { delete[] heap_; }

}  // namespace normkit
