// The dispatcher of dispatch.h: names, support checks, forcing an ISA, and
// the ISA chosen at load (NORMKIT_ISA), which CTest sets per run.
//
// Usage: dispatch_test --expect-initial=best|<isa>
#include <cstdio>
#include <cstring>

#include "check.h"
#include "dispatch.h"
#include "kernel_table.h"
#include "test_util.h"

namespace {

using namespace normkit_test;
using normkit::Isa;

// Read before any test can call SetActiveIsa.
Isa g_initial;

TEST(NamesRoundTrip) {
  for (Isa isa : kAllIsas) {
    Isa parsed;
    CHECK(normkit::ParseIsa(normkit::IsaName(isa), &parsed) && parsed == isa, "round trip of %s",
          normkit::IsaName(isa));
  }
  Isa out = Isa::kAvx2;
  CHECK(!normkit::ParseIsa("mmx", &out) && out == Isa::kAvx2, "unknown name accepted or out changed");
  CHECK(!normkit::ParseIsa("AVX2", &out), "names are lower-case only");
  CHECK(!normkit::ParseIsa("", &out), "empty name accepted");
}

TEST(SupportIsConsistent) {
  CHECK(normkit::IsaSupported(Isa::kScalar), "scalar must always be supported");
  CHECK(normkit::IsaSupported(normkit::BestSupportedIsa()), "best ISA not supported");
#if defined(__x86_64__) || defined(_M_X64)
  CHECK(normkit::IsaSupported(Isa::kSse2), "sse2 is the x86-64 baseline");
  CHECK(!normkit::IsaSupported(Isa::kNeon), "neon reported on x86-64");
  // AVX-512 implies AVX2 in dispatch.cc's detection.
  CHECK(!normkit::IsaSupported(Isa::kAvx512) || normkit::IsaSupported(Isa::kAvx2),
        "avx512 without avx2");
#elif defined(__aarch64__) || defined(_M_ARM64)
  CHECK(normkit::IsaSupported(Isa::kNeon), "neon is mandatory on AArch64");
  CHECK(!normkit::IsaSupported(Isa::kAvx2) && !normkit::IsaSupported(Isa::kSse2),
        "x86 ISA reported on AArch64");
#endif
  // Best is the most capable supported one (kAllIsas is ordered).
  Isa best = Isa::kScalar;
  for (Isa isa : kAllIsas)
    if (normkit::IsaSupported(isa)) best = isa;
  CHECK(best == normkit::BestSupportedIsa(), "BestSupportedIsa %s, expected %s",
        normkit::IsaName(normkit::BestSupportedIsa()), normkit::IsaName(best));
}

TEST(SetActiveIsaAcceptsOnlySupported) {
  const Isa before = normkit::ActiveIsa();
  for (Isa isa : kAllIsas) {
    const bool ok = normkit::SetActiveIsa(isa);
    CHECK(ok == normkit::IsaSupported(isa), "SetActiveIsa(%s) returned %d", normkit::IsaName(isa), ok);
    if (ok) {
      CHECK(normkit::ActiveIsa() == isa, "ActiveIsa after SetActiveIsa(%s)", normkit::IsaName(isa));
    }
    normkit::SetActiveIsa(before);
    if (!ok) {
      CHECK(normkit::ActiveIsa() == before, "a refused SetActiveIsa(%s) changed the ISA",
            normkit::IsaName(isa));
    }
  }
}

// Every ISA's table, generated from kernel_list.h, has every kernel of the
// list for both dtypes (a table the build contains, whether or not this CPU
// can run it: nothing is called).
void CheckComplete(const char* isa, const normkit::KernelTable& table) {
#define NORMKIT_CHECK_FIELD(T, name, ret, params, args)                              \
  CHECK(table.Of<T>().name != nullptr, "%s table lacks %s for %s", isa, #name, #T);
  NORMKIT_KERNELS(NORMKIT_CHECK_FIELD, float)
  NORMKIT_KERNELS(NORMKIT_CHECK_FIELD, double)
#undef NORMKIT_CHECK_FIELD
}

TEST(TablesAreComplete) {
  CheckComplete("scalar", normkit::scalar::kTable);
#if defined(__x86_64__) || defined(_M_X64)
  CheckComplete("sse2", normkit::sse2::kTable);
  CheckComplete("avx2", normkit::avx2::kTable);
  CheckComplete("avx512", normkit::avx512::kTable);
#elif defined(__aarch64__) || defined(_M_ARM64)
  CheckComplete("neon", normkit::neon::kTable);
#endif
}

TEST(InitialIsaFollowsEnvironment) {
  const char* expect = Option("expect-initial", "best");
  Isa want = normkit::BestSupportedIsa();
  if (std::strcmp(expect, "best") != 0) {
    CHECK(normkit::ParseIsa(expect, &want), "bad --expect-initial=%s", expect);
  }
  CHECK(g_initial == want, "initial ISA %s, expected %s", normkit::IsaName(g_initial),
        normkit::IsaName(want));
}

}  // namespace

int main(int argc, char** argv) {
  g_initial = normkit::ActiveIsa();
  ParseArgs(argc, argv);
  Isa expected;
  const char* expect = Option("expect-initial", "best");
  if (std::strcmp(expect, "best") != 0 && normkit::ParseIsa(expect, &expected) &&
      !normkit::IsaSupported(expected)) {
    std::printf("dispatch_test: this CPU cannot run %s: skipped\n", expect);
    return kSkipped;
  }
  return RunAll();
}
