// Runtime ISA choice and the public kernel entry points (which forward
// through the active table, see kernel_table.h). Compiled for the baseline
// CPU: nothing here may execute an instruction the CPU lacks.
#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "batch_norm.h"
#include "channel_stats.h"
#include "kernel_table.h"
#include "optimizer_update.h"
#include "stream_copy.h"

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(_MSC_VER)
#include <cpuid.h>
#elif defined(_MSC_VER) && defined(_M_X64)
#include <immintrin.h>
#include <intrin.h>
#endif

namespace normkit {
namespace {

#if defined(__x86_64__) || defined(_M_X64)

void Cpuid(unsigned leaf, unsigned subleaf, unsigned r[4]) {
#if defined(_MSC_VER)
  int regs[4];
  __cpuidex(regs, static_cast<int>(leaf), static_cast<int>(subleaf));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(regs[i]);
#else
  __cpuid_count(leaf, subleaf, r[0], r[1], r[2], r[3]);
#endif
}

// XCR0: which register states the OS saves on context switch. A CPU can
// report AVX/AVX-512 while the OS has not enabled the state (then the
// instructions fault), so both cpuid and xgetbv must agree.
uint64_t Xcr0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
#endif
}

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512 = false;
};

CpuFeatures DetectCpu() {
  CpuFeatures f;
  unsigned r[4];
  Cpuid(0, 0, r);
  const unsigned max_leaf = r[0];
  Cpuid(1, 0, r);
  const bool fma = (r[2] >> 12) & 1;
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  if (!osxsave || !avx || max_leaf < 7) return f;
  const uint64_t xcr0 = Xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xE6) == 0xE6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  Cpuid(7, 0, r);
  const bool avx2 = (r[1] >> 5) & 1;
  const bool avx512f = (r[1] >> 16) & 1;
  const bool avx512dq = (r[1] >> 17) & 1;
  const bool avx512bw = (r[1] >> 30) & 1;
  const bool avx512vl = (r[1] >> 31) & 1;
  f.avx2_fma = os_ymm && avx2 && fma;
  f.avx512 = f.avx2_fma && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  return f;
}

bool CpuExecutes(Isa isa) {
  static const CpuFeatures features = DetectCpu();
  switch (isa) {
    case Isa::kScalar:
    case Isa::kSse2: return true;  // baseline of x86-64
    case Isa::kAvx2: return features.avx2_fma;
    case Isa::kAvx512: return features.avx512;
    default: return false;
  }
}

const KernelTable* TableOf(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return &scalar::kTable;
    case Isa::kSse2: return &sse2::kTable;
    case Isa::kAvx2: return &avx2::kTable;
    case Isa::kAvx512: return &avx512::kTable;
    default: return nullptr;
  }
}

#elif defined(__aarch64__) || defined(_M_ARM64)

// Advanced SIMD (NEON) is mandatory on AArch64.
bool CpuExecutes(Isa isa) { return isa == Isa::kScalar || isa == Isa::kNeon; }

const KernelTable* TableOf(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return &scalar::kTable;
    case Isa::kNeon: return &neon::kTable;
    default: return nullptr;
  }
}

#else

bool CpuExecutes(Isa isa) { return isa == Isa::kScalar; }
const KernelTable* TableOf(Isa isa) { return isa == Isa::kScalar ? &scalar::kTable : nullptr; }

#endif

constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kSse2, Isa::kNeon, Isa::kAvx2, Isa::kAvx512};

Isa InitialIsa() {
  Isa forced;
  const char* env = std::getenv("NORMKIT_ISA");
  if (env != nullptr && ParseIsa(env, &forced) && IsaSupported(forced)) return forced;
  return BestSupportedIsa();
}

// One atomic slot: a kernel call reads it once, so a concurrent setIsa()
// switches whole calls, never the middle of one.
std::atomic<int>& ActiveIsaSlot() {
  static std::atomic<int> isa{static_cast<int>(InitialIsa())};
  return isa;
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kSse2: return "sse2";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "unknown";
}

bool ParseIsa(const char* name, Isa* out) {
  for (Isa isa : kAllIsas) {
    if (std::strcmp(name, IsaName(isa)) == 0) {
      *out = isa;
      return true;
    }
  }
  return false;
}

bool IsaSupported(Isa isa) { return TableOf(isa) != nullptr && CpuExecutes(isa); }

Isa BestSupportedIsa() {
  Isa best = Isa::kScalar;
  for (Isa isa : kAllIsas) {  // ordered from least to most capable
    if (IsaSupported(isa)) best = isa;
  }
  return best;
}

Isa ActiveIsa() { return static_cast<Isa>(ActiveIsaSlot().load(std::memory_order_acquire)); }

bool SetActiveIsa(Isa isa) {
  if (!IsaSupported(isa)) return false;
  ActiveIsaSlot().store(static_cast<int>(isa), std::memory_order_release);
  return true;
}

const KernelTable& ActiveKernels() { return *TableOf(ActiveIsa()); }

// The public kernels of channel_stats.h, batch_norm.h, optimizer_update.h
// and stream_copy.h, one forwarder per entry of kernel_list.h and dtype.
#define NORMKIT_KERNEL_FORWARDER(T, name, ret, params, args) \
  ret name params { return ActiveKernels().Of<T>().name args; }
NORMKIT_KERNELS(NORMKIT_KERNEL_FORWARDER, float)
NORMKIT_KERNELS(NORMKIT_KERNEL_FORWARDER, double)
#undef NORMKIT_KERNEL_FORWARDER

}  // namespace normkit
