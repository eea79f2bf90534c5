// Tensors over 2^31 elements (DESIGN.md: indexing is 64-bit), for every ISA.
//
// Default run ("large"): the reducing kernels (ChannelStats; BatchNormBackward
// without dx) only read their input, so the tensor is an untouched anonymous
// mapping: every page of it is the kernel's shared zero page, and 8.6 GB of
// float32 costs a few MB of RAM. Only the first values and the last pages,
// beyond index 2^31, are written. A 32-bit index would crash (negative
// offset) or wrap and sum the start twice and the end never; both show.
//
// --resident ("slow", opt-in): the writing kernels too, on a real 8.6 GB
// float32 buffer, in place, for the scalar reference and the best ISA.
#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "batch_norm.h"
#include "channel_stats.h"
#include "check.h"
#include "test_util.h"

namespace {

using namespace normkit_test;
using normkit::Isa;
using normkit::ChannelView;

constexpr int64_t k2p31 = int64_t{1} << 31;

class Mapping {
 public:
  explicit Mapping(int64_t count) : bytes_(static_cast<size_t>(count) * sizeof(float)) {
    // MAP_NORESERVE: no swap is reserved for pages that are never written.
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    data_ = p == MAP_FAILED ? nullptr : static_cast<float*>(p);
  }
  ~Mapping() {
    if (data_ != nullptr) munmap(data_, bytes_);
  }
  float* data() const { return data_; }

 private:
  size_t bytes_;
  float* data_;
};

struct Shape {
  int64_t outer, channels, inner;
};

// Both walkers, with element offsets past 2^31 inside one row (row mode)
// and at the start of runs (run mode, outer > 1).
const Shape kShapes[] = {
    {(k2p31 + 4096) / 4, 4, 1},  // channels-last: 2^31 + 4096 values
    {3, 2, 357913942},           // channels-first: 2^31 + 4 values, runs start past 2^31
};

// Exactly representable, channel-dependent, never zero.
float Pattern(int64_t k) { return 1.0f + 0.25f * static_cast<float>(k % 7); }

struct Expected {
  std::vector<long double> sum, sq;  // per channel: sum x, sum x^2 (zeros add nothing)
};

// Writes the first `head` and last `tail` values and returns their sums.
Expected WriteSparse(float* x, const ChannelView& l, int64_t head, int64_t tail) {
  Expected e{std::vector<long double>(l.channels, 0.0L), std::vector<long double>(l.channels, 0.0L)};
  const int64_t n = l.count();
  auto put = [&](int64_t k) {
    const float v = Pattern(k);
    x[k] = v;
    const int64_t c = (k / l.inner) % l.channels;
    e.sum[c] += v;
    e.sq[c] += static_cast<long double>(v) * v;
  };
  for (int64_t k = 0; k < head; ++k) put(k);
  for (int64_t k = n - tail; k < n; ++k) put(k);
  return e;
}

double Rel(double got, long double want) {
  return want == 0 ? std::fabs(got) : static_cast<double>(std::fabs((got - want) / want));
}

void SparseCase(const Shape& s) {
  const ChannelView l{s.outer, s.channels, s.inner};
  const int64_t n = l.count(), C = s.channels;
  CHECK(n > k2p31, "shape is not past 2^31");
  Mapping map(n);
  if (map.data() == nullptr) {
    CHECK(false, "mmap of %lld floats failed", static_cast<long long>(n));
    return;
  }
  float* x = map.data();
  const Expected e = WriteSparse(x, l, 64, 8192);
  const long double per = static_cast<long double>(l.per_channel());
  std::vector<float> want_mean(C), ones(C, 1.0f);
  std::vector<long double> want_var(C), want_dgamma(C);
  for (int64_t c = 0; c < C; ++c) {
    const long double m = e.sum[c] / per;
    want_mean[c] = static_cast<float>(m);
    want_var[c] = e.sq[c] / per - m * m;  // exact enough in long double for these few values
    // dgamma with dy = x, mean = want_mean, inv_std = 1: sum x (x - mean).
    want_dgamma[c] = e.sq[c] - static_cast<long double>(want_mean[c]) * e.sum[c];
  }
  for (Isa isa : kAllIsas) {
    IsaScope scope(isa);
    if (!scope.ok()) continue;
    char ctx[96];
    std::snprintf(ctx, sizeof ctx, "%s [%lld,%lld,%lld]", normkit::IsaName(isa),
                  static_cast<long long>(s.outer), static_cast<long long>(s.channels),
                  static_cast<long long>(s.inner));
    std::printf("  %s\n", ctx);
    std::fflush(stdout);
    std::vector<float> mean(C, -7.0f), var(C, -7.0f), dg(C, -7.0f), db(C, -7.0f);
    normkit::ChannelStats(x, l, mean.data(), var.data());
    normkit::BatchNormBackward(x, x, l, nullptr, want_mean.data(), ones.data(), true, nullptr,
                               dg.data(), db.data());
    for (int64_t c = 0; c < C; ++c) {
      // float32 outputs of double sums: a few float roundings at most.
      CHECK(Rel(mean[c], e.sum[c] / per) <= 1e-6, "%s mean[%lld] %.9g want %.9Lg", ctx,
            static_cast<long long>(c), mean[c], e.sum[c] / per);
      CHECK(Rel(var[c], want_var[c]) <= 1e-5, "%s variance[%lld] %.9g want %.9Lg", ctx,
            static_cast<long long>(c), var[c], want_var[c]);
      CHECK(Rel(db[c], e.sum[c]) <= 1e-6, "%s dbeta[%lld] %.9g want %.9Lg", ctx,
            static_cast<long long>(c), db[c], e.sum[c]);
      CHECK(Rel(dg[c], want_dgamma[c]) <= 1e-5, "%s dgamma[%lld] %.9g want %.9Lg", ctx,
            static_cast<long long>(c), dg[c], want_dgamma[c]);
    }
  }
}

TEST(SparseReductionsPast2p31) {
  for (const Shape& s : kShapes) SparseCase(s);
}

// The writing kernels over 2^31 + 17 resident float32 values, in place.
TEST(ResidentForwardPast2p31) {
  if (Option("resident", nullptr) == nullptr) return;
  const ChannelView l{(k2p31 + 17) / 3 + 1, 3, 1};
  const int64_t n = l.count();
  Mapping map(n);
  if (map.data() == nullptr) {
    CHECK(false, "mmap of %lld floats failed", static_cast<long long>(n));
    return;
  }
  float* x = map.data();
  // Values -2..2 in a period of 5, coprime with the 3 channels, so every
  // channel sees each value equally often up to a remainder.
  auto value = [](int64_t k) { return static_cast<float>(k % 5) - 2.0f; };
  const int64_t probes[] = {0, 1, k2p31 - 1, k2p31, k2p31 + 1, n - 2, n - 1};
  for (Isa isa : {Isa::kScalar, normkit::BestSupportedIsa()}) {
    IsaScope scope(isa);
    std::printf("  %s: writing %lld values\n", normkit::IsaName(isa), static_cast<long long>(n));
    std::fflush(stdout);
    for (int64_t k = 0; k < n; ++k) x[k] = value(k);
    // Inference with mean 0, variance 1 - eps: y = 2 x + 1 up to the rounding of 1/sqrt(1).
    const float gamma[3] = {2, 2, 2}, beta[3] = {1, 1, 1}, mean0[3] = {0, 0, 0};
    const float var1[3] = {1.0f - 1e-3f, 1.0f - 1e-3f, 1.0f - 1e-3f};
    normkit::BatchNormInferForward(x, l, gamma, beta, mean0, var1, 1e-3, x);
    for (int64_t k : probes) {
      CHECK(std::fabs(x[k] - (2.0f * value(k) + 1.0f)) <= 1e-5f, "%s infer y[%lld] = %.9g",
            normkit::IsaName(isa), static_cast<long long>(k), x[k]);
    }
    // Training forward on y = 2x + 1 in place: y' = (y - mean) * inv_std.
    std::vector<float> m(3), v(3), inv(3);
    normkit::BatchNormTrainForward(x, l, nullptr, nullptr, 1e-3, x, m.data(), v.data(), inv.data());
    for (int64_t c = 0; c < 3; ++c) {
      // Mean of 2x + 1 over a channel is ~1 (x averages ~0), variance ~8.
      CHECK(std::fabs(m[c] - 1.0f) < 1e-3f && std::fabs(v[c] - 8.0f) < 1e-2f,
            "%s train stats c=%lld: mean %.9g variance %.9g", normkit::IsaName(isa),
            static_cast<long long>(c), m[c], v[c]);
    }
    for (int64_t k : probes) {
      const int64_t c = k % 3;
      const float want = ((2.0f * value(k) + 1.0f) - m[c]) * inv[c];
      CHECK(std::fabs(x[k] - want) <= 1e-5f, "%s train y[%lld] = %.9g want %.9g",
            normkit::IsaName(isa), static_cast<long long>(k), x[k], want);
    }
  }
}

}  // namespace

TEST_MAIN()
