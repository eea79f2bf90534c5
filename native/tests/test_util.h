// Helpers shared by the kernel tests: deterministic data, scoped ISA and
// thread-count settings, and error measures with explicit scales.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "dispatch.h"
#include "layout.h"
#include "thread_pool.h"

namespace normkit_test {

using normkit::Isa;
using normkit::ChannelView;

// Every ISA the dispatcher knows, least capable first.
constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kSse2, Isa::kNeon, Isa::kAvx2, Isa::kAvx512};

// splitmix64: the same values on every platform and compiler, unlike
// <random>'s distributions, so a failure reproduces under qemu too.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Standard normal (Box-Muller; the second value is dropped for simplicity).
  double Normal() {
    const double u = 1.0 - Uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * Uniform());
  }

 private:
  uint64_t state_;
};

template <class T>
std::vector<T> UniformVector(int64_t n, uint64_t seed, double lo, double hi) {
  Rng rng(seed);
  std::vector<T> v(static_cast<size_t>(n));
  for (T& e : v) e = static_cast<T>(rng.Uniform(lo, hi));
  return v;
}

// Sets the active ISA for a scope and restores the previous one.
class IsaScope {
 public:
  explicit IsaScope(Isa isa) : previous_(normkit::ActiveIsa()) {
    ok_ = normkit::SetActiveIsa(isa);
  }
  ~IsaScope() { normkit::SetActiveIsa(previous_); }
  bool ok() const { return ok_; }

 private:
  Isa previous_;
  bool ok_;
};

class ThreadsScope {
 public:
  explicit ThreadsScope(int n) : previous_(normkit::NumThreads()) { normkit::SetNumThreads(n); }
  ~ThreadsScope() { normkit::SetNumThreads(previous_); }

 private:
  int previous_;
};

// The worst |got - want| / (|want| + scale[i]) over n values, with its index.
// scale carries the magnitude the error is naturally proportional to (the
// data's size for a mean, the sum of |terms| for a sum) so one tolerance per
// dtype fits every kernel. NaN in exactly one of the two is an infinite error.
struct Worst {
  double ratio = 0.0;
  int64_t index = -1;
  double got = 0.0;
  double want = 0.0;
};

template <class T>
Worst WorstError(const T* got, const T* want, int64_t n, const double* scale, double scale1 = 0.0) {
  Worst w;
  for (int64_t i = 0; i < n; ++i) {
    const double g = static_cast<double>(got[i]);
    const double r = static_cast<double>(want[i]);
    double ratio;
    if (std::isnan(g) || std::isnan(r)) {
      ratio = std::isnan(g) && std::isnan(r) ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (g == r) {
      ratio = 0.0;
    } else {
      const double s = scale != nullptr ? scale[i] : scale1;
      ratio = std::fabs(g - r) / (std::fabs(r) + s);
    }
    if (w.index < 0 || ratio > w.ratio) {
      w.ratio = ratio;
      w.index = i;
      w.got = g;
      w.want = r;
    }
  }
  return w;
}

template <class T>
bool BitIdentical(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

template <class T>
const char* DtypeName() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

}  // namespace normkit_test
