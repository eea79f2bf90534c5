// How every SIMD kernel splits a [outer, channels, inner] tensor into work
// items. Shared by all ISAs and compiled once, for the baseline CPU.
//
// Two walking modes, chosen by `inner`:
//   * row mode ("Nhwc" kernels, inner < kRunMinInner): each outer row is one
//     contiguous run of row_len = channels*inner values; vectors run across
//     channels (and the few inner values of each), with one accumulator or
//     coefficient per position of a repeating pattern. Channels-last
//     (inner == 1) is the main case; small inner (2..63) reuses it.
//   * run mode ("Nchw" kernels, inner >= kRunMinInner): vectors run along
//     inner inside each (outer, channel) run; per-channel values are
//     broadcast.
//
// Items: the reduction axis of a channel (outer rows, or outer*pieces runs)
// is cut into `groups` of units_per_group units, the channels into `blocks`
// of block_c channels; item (g, b) = g * blocks + b. Every boundary depends
// on the layout alone, never on the thread count or the ISA, and each item
// writes only its own (group, channel) partial slots, so reductions merged
// in group order are bit-identical for every thread count.
#pragma once

#include <cstdint>

#include "layout.h"

namespace normkit {

constexpr int64_t kRunMinInner = 64;
// Run mode splits longer inner runs into pieces so a channel-first tensor with
// a tiny outer (e.g. [1, 3, 1e7]) still yields many items.
constexpr int64_t kRunMaxPiece = int64_t{1} << 16;
constexpr int64_t kRunMaxBlockChannels = 1024;
// Row mode: at most this many positions (channels*inner) per block, so the
// per-position accumulators of an item (20-24 bytes each) stay in L1. When a
// row needs several blocks, a block spans a multiple of 16 positions (the
// widest vector) wherever the channel boundaries allow, so block walks have
// no scalar tail.
constexpr int64_t kRowMaxBlockPositions = 1024;
// Channels-last rows (inner == 1) take blocks of up to this many positions
// instead, so rows of up to 8192 channels are walked whole: blocks of 1024
// channels read and write a wide row in 4 KiB pieces a row apart, which
// measured 60-70% of the roofline on [2048,2048] and [512,8192] against
// 90-98% walked whole. Longer blocks (16384) lost again in the reductions,
// whose per-position sums then live in L2. The per-position arrays of such
// walks come from RowWorkspace.
constexpr int64_t kRowMaxWideBlock = 8192;
// Rows with inner > 1 of up to kRowMaxWideBlock positions are walked whole
// too, but only in tensors of at least kRowWholeMinRows rows, with at most
// kRunMaxBlockChannels channels (a row-mode item with inner > 1 keeps its
// per-channel arrays on the stack; its per-position ones may take the
// workspace), and in groups of at least kRowMinGroupRows rows. An item first lays out its block's
// per-position shifts or coefficients, which must stay small next to the
// rows it streams (whole rows of 6272 positions, [256,128,7,7]: statistics
// at 50% of the roofline in groups of 11 rows, 84% in groups of 64). With
// fewer than 8 such groups the pool has too few items: [64,128,7,7] ran
// 1.7x slower at two threads than in 1024-position blocks. Measured at one
// thread, whole rows against blocks: [1024,64,7,7] infer 86 -> 95% of the
// roofline, backward 76 -> 93%; [512,128,5,5] 85 -> 94%, 75 -> 92%.
constexpr int64_t kRowWholeMinRows = 512;
constexpr int64_t kRowMinGroupRows = 64;
// Row mode with a single block streams whole rows as one flat array whose
// channel pattern repeats every lcm(row_len, vector width) values; patterns
// longer than this fall back to walking row by row. Also the size of the
// per-position arrays, so it is >= kRowMaxBlockPositions.
constexpr int64_t kRowMaxPattern = 1024;
// Target values per item, and a cap on groups (it bounds partial storage to
// kMaxGroups * channels records).
constexpr int64_t kItemValues = int64_t{1} << 16;
// ...and at least this many values per channel per item: the per-item
// setup and the merge cost per (group, channel), which must stay small next
// to the values each group streams for a channel (wide channels-last rows).
constexpr int64_t kMinValuesPerChannel = 256;
constexpr int64_t kMaxGroups = 256;

struct Plan {
  bool run_mode;
  int64_t row_len;          // row mode: channels * inner
  int64_t piece_len;        // run mode: values per piece of an inner run (last may be shorter)
  int64_t pieces;           // run mode: pieces per inner run
  int64_t units;            // row mode: outer; run mode: outer * pieces
  int64_t units_per_group;  // row mode with one block: a multiple of 128 / gcd(row_len, 128)
  int64_t groups;
  int64_t block_c;
  int64_t blocks;
};

Plan MakePlan(const ChannelView& layout);

// Channel-fused run mode (simd/fused_walk-inl.h): the channels-first training
// forward and backward run both passes one channel at a time, so the second
// pass re-reads the channel from L2 instead of memory. Only when
//   * the plan is in run mode with at least kFuseMinChannels channels
//     (fewer leave too few items to balance across threads),
//   * a run is at least kFuseMinRunBytes long. Shorter runs lose (measured
//     on this machine: runs of 256 and 400 bytes fused at 70-90% of the
//     two-pass speed at one thread; runs of 512-1024 bytes 5-12% faster at
//     one thread but 2-20% slower at two, [64,128,14,14] and
//     [128,128,14,14]; with the default prefetch, before the walk aimed it
//     at the next channel, [256,64,14,14] fused at 60%),
//   * one channel's footprint fits in this core's L2 (FuseBudgetBytes):
//     its values of every input and the output, plus the 4 KiB each input
//     run's prefetch reaches past its end (for runs of at most 4 KiB that
//     reach is the next channel's run, see FusedPrefetchesNextChannel).
//     Over budget the fused walk thrashes L2 ([128,32,28,28] backward at
//     2 MiB: 1.4x slower than two passes),
//   * and the pages one channel's runs touch, in every array that holds
//     them at once, are at most kFuseMaxPages: past that the fused walk
//     lost to two passes although the bytes fit (4 KiB pages, a run of b
//     bytes touches 1 + b/4096 on average; measured on this machine:
//     850 pages 2-10% faster, 914 5% slower, 1020 12% slower).
// `arrays` counts the inputs and the output, `value_bytes` is sizeof(T).
// The choice may depend on the machine (its L2 size) but never changes a
// result: fused results are bit-identical to the two-pass walk's.
constexpr int64_t kFuseMinChannels = 8;
constexpr int64_t kFuseMinRunBytes = 2048;
constexpr int64_t kFusePrefetchReach = 4096;
constexpr int64_t kFuseMaxPages = 880;
constexpr int64_t kPageBytes = 4096;
// The L2 size of a core when the system does not say (sysconf): the
// smallest common one, so an unknown machine never thrashes.
constexpr int64_t kFuseFallbackL2Bytes = int64_t{512} << 10;
int64_t FuseBudgetBytes();
bool FusesChannels(const ChannelView& layout, const Plan& plan, int64_t value_bytes,
                   int64_t arrays);

// Whether a fused walk aims its loads' prefetch at the next channel, the
// first input in the statistics pass and the second in the apply pass
// (simd/fused_walk-inl.h): whole-row runs no longer than kFusePrefetchReach, where
// the default prefetch would overshoot into the next channel anyway.
bool FusedPrefetchesNextChannel(const ChannelView& layout, const Plan& plan,
                                int64_t value_bytes);

// Test hook: the budget FusesChannels assumes instead of this machine's
// (0: nothing fuses, every kernel takes the two-pass walk;
// kMachineFuseBudget: back to FuseBudgetBytes()). The native tests compare
// the two walks bit for bit, with a budget that fuses on every machine.
constexpr int64_t kMachineFuseBudget = -1;
void SetFuseBudgetForTesting(int64_t bytes);

// Streaming (non-temporal) stores for the output of an elementwise pass
// (simd/run_walk-inl.h, simd/row_walk-inl.h), used when the op's working
// set, every distinct array it reads or writes, exceeds
// StreamThresholdBytes(). A plain store first
// reads the line it writes (read-for-ownership) and later writes it back:
// once the arrays no longer fit in the last-level cache that is 3 memory
// transfers per output line instead of 1. Measured on this machine with a
// 51 MB float32 array per stream: a copy at 24 GB/s with plain stores, 29
// with streaming ones; at 102 MB, 15 against 22. Below the cache the
// streaming stores cost 2-4% (the output is evicted, and the next reader
// misses), so small tensors keep plain stores; the crossover measured at a
// working set of 64-80 MB here.
// The threshold is the last-level cache size sysconf reports, capped at
// kStreamMaxThresholdBytes: on a virtual machine sysconf reports the
// host's whole L3 (480 MB here), of which a guest gets far less.
// The choice changes speed only, never a result (the same values are
// stored either way).
constexpr int64_t kStreamMaxThresholdBytes = int64_t{64} << 20;
int64_t StreamThresholdBytes();
bool StreamsStores(int64_t working_set_bytes);

// Test hook: the threshold StreamsStores assumes instead of this machine's
// (0: every pass streams; a huge value: none does; kMachineStreamThreshold:
// back to StreamThresholdBytes()).
constexpr int64_t kMachineStreamThreshold = -1;
void SetStreamThresholdForTesting(int64_t bytes);

// Pattern length of the single-block row mode for vectors of `lanes` values
// (a power of two <= 128): the smallest multiple of lcm(row_len, lanes) that is
// a power-of-two multiple and >= 128 values, so every accumulator of the
// pattern is revisited only after >= 128 values (no add-latency chain). It
// divides lcm(row_len, 128), which is why groups are aligned to that.
int64_t RowPatternLength(int64_t row_len, int64_t lanes);

// A 64-byte-aligned workspace of at least `bytes` bytes for the calling
// thread, for row walks wider than the stack arrays (kRowMaxWideBlock): kept
// and reused by every later call on the thread, grown when a call needs
// more, so a steady-state loop neither allocates nor faults pages. One user
// at a time per thread (a work item, which never nests). Allocation failure
// aborts, as Scratch does.
void* RowWorkspace(int64_t bytes);

// Scratch doubles for one kernel call (partials, per-channel coefficients):
// on the stack when small, else one heap block per call, never in a loop.
// Allocation failure aborts, as V8 does when it runs out of memory.
class Scratch {
 public:
  explicit Scratch(int64_t count);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  double* data() const { return data_; }

 private:
  static constexpr int64_t kInline = 512;
  double* data_;
  double* heap_;
  alignas(64) double inline_[kInline];
};

}  // namespace normkit
