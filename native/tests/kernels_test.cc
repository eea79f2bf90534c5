// Every public kernel of native/kernels/*.h under one ISA (--isa=NAME),
// compared with the scalar reference; the scalar reference itself compared
// with the textbook formulas in long double. CTest runs this once per ISA the
// build contains; an ISA this CPU cannot execute exits 77 (skipped).
//
// Usage: kernels_test --isa=scalar|sse2|avx2|avx512|neon [--verbose] [test-name-filter]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "batch_norm.h"
#include "channel_stats.h"
#include "check.h"
#include "optimizer_update.h"
#include "plan.h"
#include "stream_copy.h"
#include "test_util.h"

namespace {

using namespace normkit_test;
using normkit::Isa;
using normkit::ChannelView;

Isa g_isa = Isa::kScalar;
bool g_verbose = false;

struct Shape {
  int64_t outer, channels, inner;
};

// Chosen to reach every walker and edge of plan.h, with sizes that leave
// tails for every vector width (4..16 lanes) and unroll.
const Shape kShapes[] = {
    // Channels-last, inner == 1 (row mode).
    {1, 1, 1},      // one value: variance exactly 0
    {2, 1, 1},      // one channel
    {37, 3, 1},     // odd rows, the tutorial's 3 channels
    {5, 17, 1},     // row_len not a divisor of any vector width
    {129, 31, 1},
    {64, 600, 1},
    {3, 1500, 1},   // row longer than kRowMaxBlockPositions: one wide block (workspace arrays)
    {3, 8200, 1},   // row longer than kRowMaxWideBlock: a wide block and a short one
    {1000, 130, 1}, // > kInlineValues: runs on the pool, several groups
    {1024, 4, 1},   // 4096 values: the largest tiny walk (simd/tiny_walk-inl.h), 16 periods
    {3, 5, 1},      // tiny walk shorter than one DVec period (all scalar)
    // Small inner (row mode with inner > 1).
    {4, 5, 3},
    {7, 3, 63},     // largest inner still in row mode
    {9, 2, 5},
    {31, 3, 43},    // tiny walk with a period of one row, not whole DVecs (AVX2/AVX-512), 31 periods
    {4, 40, 49},    // row longer than kRowMaxBlockPositions: blocks of whole channels
    {520, 23, 49},  // the same row walked whole (kRowWholeMinRows), arrays in the workspace
    {520, 1100, 2}, // inner > 1 with more channels than a row-mode item keeps on the stack
    // Channels-first, inner >= kRunMinInner (run mode).
    {2, 3, 64},     // smallest run mode (the plan's path: few periods of long runs)
    {16, 4, 64},    // run-mode layout on the tiny walk (16 periods)
    {2, 3, 70},
    {3, 5, 129},
    {1, 3, 70001},  // inner > kRunMaxPiece: runs split into pieces
    {2, 1100, 64},  // > kRunMaxBlockChannels: several channel blocks
    {4, 16, 1031},  // > kInlineValues; the training kernels fuse channels (plan.h)
    {1, 8, 65600},  // fused, runs split into two pieces
    {6, 20, 700},   // fused, the last item of channels a shorter block
};

// Shapes above kInlineValues, where the pool actually splits work.
const Shape kThreadedShapes[] = {{1000, 130, 1}, {1, 3, 70001}, {4, 16, 1031}, {300, 7, 40}, {6, 20, 700},
                                 {600, 1100, 1},   // wide channels-last blocks, three groups
                                 {520, 23, 49}};   // whole rows with inner > 1, five groups

template <class T>
struct Inputs {
  ChannelView l;
  std::vector<T> x, gamma, beta, moving_mean, moving_var, dy;
  std::vector<T> batch_mean, batch_inv_std;  // the exact batch statistics, rounded to T
  double epsilon = 1e-3;
};

template <class T>
struct Outputs {
  std::vector<T> mean, var;               // ChannelStats
  std::vector<T> t_mean, t_var, t_inv, y; // BatchNormTrainForward
  std::vector<T> yi;                      // BatchNormInferForward
  std::vector<T> dx, dgamma, dbeta;       // BatchNormBackward, training
  std::vector<T> dxf, dgammaf, dbetaf;    // BatchNormBackward, frozen statistics
};

int64_t Index(const ChannelView& l, int64_t o, int64_t c, int64_t i) {
  return (o * l.channels + c) * l.inner + i;
}

template <class T>
Inputs<T> MakeInputs(const Shape& s, uint64_t seed) {
  Inputs<T> in;
  in.l = ChannelView{s.outer, s.channels, s.inner};
  const int64_t n = in.l.count(), C = s.channels;
  // Channels get different means so a channel mix-up cannot pass.
  in.x = UniformVector<T>(n, seed, -3.0, 4.0);
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < s.inner; ++i) in.x[Index(in.l, o, c, i)] += static_cast<T>(0.5 * c);
  in.gamma = UniformVector<T>(C, seed + 1, 0.5, 2.0);
  in.beta = UniformVector<T>(C, seed + 2, -1.0, 1.0);
  in.moving_mean = UniformVector<T>(C, seed + 3, -1.0, 1.0);
  in.moving_var = UniformVector<T>(C, seed + 4, 0.5, 3.0);
  in.dy = UniformVector<T>(n, seed + 5, -1.0, 1.0);
  in.batch_mean.resize(C);
  in.batch_inv_std.resize(C);
  for (int64_t c = 0; c < C; ++c) {
    long double sum = 0, sq = 0;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) sum += in.x[Index(in.l, o, c, i)];
    const long double m = sum / in.l.per_channel();
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        const long double d = in.x[Index(in.l, o, c, i)] - m;
        sq += d * d;
      }
    in.batch_mean[c] = static_cast<T>(m);
    in.batch_inv_std[c] = static_cast<T>(1.0L / std::sqrt(sq / in.l.per_channel() + in.epsilon));
  }
  return in;
}

template <class T>
Outputs<T> Allocate(const ChannelView& l) {
  const size_t n = static_cast<size_t>(l.count()), C = static_cast<size_t>(l.channels);
  Outputs<T> out;
  for (auto* v : {&out.mean, &out.var, &out.t_mean, &out.t_var, &out.t_inv, &out.dgamma,
                  &out.dbeta, &out.dgammaf, &out.dbetaf})
    v->assign(C, T(-7));  // garbage that a kernel must overwrite
  for (auto* v : {&out.y, &out.yi, &out.dx, &out.dxf}) v->assign(n, T(-7));
  return out;
}

// Every kernel once, with whatever ISA and thread count are active.
template <class T>
Outputs<T> RunKernels(const Inputs<T>& in) {
  Outputs<T> out = Allocate<T>(in.l);
  normkit::ChannelStats(in.x.data(), in.l, out.mean.data(), out.var.data());
  normkit::BatchNormTrainForward(in.x.data(), in.l, in.gamma.data(), in.beta.data(), in.epsilon,
                                 out.y.data(), out.t_mean.data(), out.t_var.data(),
                                 out.t_inv.data());
  normkit::BatchNormInferForward(in.x.data(), in.l, in.gamma.data(), in.beta.data(),
                                 in.moving_mean.data(), in.moving_var.data(), in.epsilon,
                                 out.yi.data());
  normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                             in.batch_mean.data(), in.batch_inv_std.data(), true, out.dx.data(),
                             out.dgamma.data(), out.dbeta.data());
  normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                             in.batch_mean.data(), in.batch_inv_std.data(), false,
                             out.dxf.data(), out.dgammaf.data(), out.dbetaf.data());
  return out;
}

// The formulas of channel_stats.h and batch_norm.h, evaluated the plainest
// way in long double: the check on the scalar reference itself.
template <class T>
Outputs<T> Formulas(const Inputs<T>& in) {
  const ChannelView& l = in.l;
  const int64_t C = l.channels;
  const long double n = static_cast<long double>(l.per_channel());
  Outputs<T> out = Allocate<T>(l);
  for (int64_t c = 0; c < C; ++c) {
    long double sum = 0, sq = 0, sdy = 0, sdyxhat = 0;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) sum += in.x[Index(l, o, c, i)];
    const long double m = sum / n;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const long double d = in.x[Index(l, o, c, i)] - m;
        sq += d * d;
      }
    const long double v = sq / n;
    const long double inv = 1.0L / std::sqrt(v + in.epsilon);
    out.mean[c] = out.t_mean[c] = static_cast<T>(m);
    out.var[c] = out.t_var[c] = static_cast<T>(v);
    out.t_inv[c] = static_cast<T>(inv);
    const long double g = in.gamma[c], b = in.beta[c];
    const long double mi = in.moving_mean[c];
    const long double ii = 1.0L / std::sqrt(static_cast<long double>(in.moving_var[c]) + in.epsilon);
    const long double bm = in.batch_mean[c], bi = in.batch_inv_std[c];
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = Index(l, o, c, i);
        out.y[k] = static_cast<T>((in.x[k] - m) * inv * g + b);
        out.yi[k] = static_cast<T>((in.x[k] - mi) * ii * g + b);
        sdy += in.dy[k];
        sdyxhat += in.dy[k] * ((in.x[k] - bm) * bi);
      }
    out.dbeta[c] = out.dbetaf[c] = static_cast<T>(sdy);
    out.dgamma[c] = out.dgammaf[c] = static_cast<T>(sdyxhat);
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = Index(l, o, c, i);
        const long double xhat = (in.x[k] - bm) * bi;
        out.dx[k] = static_cast<T>(g * bi * (in.dy[k] - sdy / n - xhat * sdyxhat / n));
        out.dxf[k] = static_cast<T>(g * bi * in.dy[k]);
      }
  }
  return out;
}

// Per-value magnitudes each output's rounding error is proportional to (see
// WorstError): a mean is off by a fraction of the data's size, a sum by a
// fraction of the sum of |terms|, an output by a fraction of its terms.
template <class T>
struct Scales {
  double data;  // max |x|
  std::vector<double> y, yi, dx, dxf, dgamma, dbeta;
};

template <class T>
Scales<T> MakeScales(const Inputs<T>& in) {
  const ChannelView& l = in.l;
  const int64_t C = l.channels, n = l.count();
  const double per = static_cast<double>(l.per_channel());
  Scales<T> s;
  s.data = 0;
  // A plain compare, not std::fmax: Debian's aarch64 g++ 12 crashes
  // (internal compiler error) vectorizing an fmax reduction at -O3.
  for (T v : in.x) {
    const double a = std::fabs(static_cast<double>(v));
    if (a > s.data) s.data = a;
  }
  s.y.resize(n);
  s.yi.resize(n);
  s.dx.resize(n);
  s.dxf.resize(n);
  s.dgamma.assign(C, 0.0);
  s.dbeta.assign(C, 0.0);
  for (int64_t c = 0; c < C; ++c) {
    const double g = std::fabs(static_cast<double>(in.gamma[c]));
    const double b = std::fabs(static_cast<double>(in.beta[c]));
    const double bm = std::fabs(static_cast<double>(in.batch_mean[c]));
    const double bi = static_cast<double>(in.batch_inv_std[c]);
    const double mm = std::fabs(static_cast<double>(in.moving_mean[c]));
    const double mi = 1.0 / std::sqrt(static_cast<double>(in.moving_var[c]) + in.epsilon);
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = Index(l, o, c, i);
        const double ax = std::fabs(static_cast<double>(in.x[k]));
        const double ady = std::fabs(static_cast<double>(in.dy[k]));
        s.y[k] = (ax + bm) * bi * g + b;  // batch stats ~ the forward's own
        s.yi[k] = (ax + mm) * mi * g + b;
        s.dbeta[c] += ady;
        s.dgamma[c] += ady * (ax + bm) * bi;
        s.dxf[k] = g * bi * ady;
      }
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t k = Index(l, o, c, i);
        const double ax = std::fabs(static_cast<double>(in.x[k]));
        const double ady = std::fabs(static_cast<double>(in.dy[k]));
        s.dx[k] = g * bi * (ady + s.dbeta[c] / per + (ax + bm) * bi * s.dgamma[c] / per);
      }
  }
  return s;
}

// Tolerance on WorstError's ratio (the worst seen on AVX-512/AVX2/SSE2:
// 1.6e-7 for float32, 1.9e-14 for float64). A broken kernel (wrong channel, missed
// tail, lost partial sum) is off by O(1); rounding differences between two
// correct evaluation orders are a few units of the dtype's epsilon times
// sqrt(values summed). The float32 kernels also round x - shift to float
// before widening (simd/value_ops-inl.h, StatsOp), which costs up to about
// 2^-24 * |x - shift| / |x - mean| per value, hence the wider float32 bound.
template <class T>
double Tolerance() {
  return sizeof(T) == 4 ? 2e-6 : 1e-12;
}

template <class T>
void Compare(const char* what, const char* context, const std::vector<T>& got,
             const std::vector<T>& want, const double* scale, double scale1) {
  const Worst w = WorstError(got.data(), want.data(), static_cast<int64_t>(want.size()), scale, scale1);
  if (g_verbose) std::printf("    %-9s %-40s worst %.3g\n", what, context, w.ratio);
  CHECK(w.ratio <= Tolerance<T>(), "%s %s: [%lld] got %.17g, want %.17g (error ratio %.3g > %.3g)",
        what, context, static_cast<long long>(w.index), w.got, w.want, w.ratio, Tolerance<T>());
}

template <class T>
void CompareAll(const char* context, const Inputs<T>& in, const Outputs<T>& got,
                const Outputs<T>& want) {
  const Scales<T> s = MakeScales(in);
  Compare("mean", context, got.mean, want.mean, nullptr, s.data);
  Compare("variance", context, got.var, want.var, nullptr, 0.0);
  Compare("t.mean", context, got.t_mean, want.t_mean, nullptr, s.data);
  Compare("t.var", context, got.t_var, want.t_var, nullptr, 0.0);
  Compare("t.invstd", context, got.t_inv, want.t_inv, nullptr, 0.0);
  Compare("t.y", context, got.y, want.y, s.y.data(), 0.0);
  Compare("i.y", context, got.yi, want.yi, s.yi.data(), 0.0);
  Compare("b.dx", context, got.dx, want.dx, s.dx.data(), 0.0);
  Compare("b.dgamma", context, got.dgamma, want.dgamma, s.dgamma.data(), 0.0);
  Compare("b.dbeta", context, got.dbeta, want.dbeta, s.dbeta.data(), 0.0);
  Compare("f.dx", context, got.dxf, want.dxf, s.dxf.data(), 0.0);
  Compare("f.dgamma", context, got.dgammaf, want.dgammaf, s.dgamma.data(), 0.0);
  Compare("f.dbeta", context, got.dbetaf, want.dbetaf, s.dbeta.data(), 0.0);
}

template <class T>
void CheckBitIdentical(const char* context, const Outputs<T>& a, const Outputs<T>& b) {
  const std::vector<T> Outputs<T>::*fields[] = {
      &Outputs<T>::mean, &Outputs<T>::var,    &Outputs<T>::t_mean,  &Outputs<T>::t_var,
      &Outputs<T>::t_inv, &Outputs<T>::y,     &Outputs<T>::yi,      &Outputs<T>::dx,
      &Outputs<T>::dgamma, &Outputs<T>::dbeta, &Outputs<T>::dxf,    &Outputs<T>::dgammaf,
      &Outputs<T>::dbetaf};
  const char* names[] = {"mean", "variance", "t.mean", "t.var", "t.invstd", "t.y", "i.y",
                         "b.dx", "b.dgamma", "b.dbeta", "f.dx", "f.dgamma", "f.dbeta"};
  for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); ++f) {
    CHECK(BitIdentical(a.*fields[f], b.*fields[f]), "%s %s: results differ bit-wise", names[f],
          context);
  }
}

template <class T>
std::string Context(const Shape& s) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s %s [%lld,%lld,%lld]", normkit::IsaName(g_isa), DtypeName<T>(),
                static_cast<long long>(s.outer), static_cast<long long>(s.channels),
                static_cast<long long>(s.inner));
  return buf;
}

template <class T>
void MatchesScalarReference() {
  uint64_t seed = 100;
  for (const Shape& s : kShapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    Outputs<T> want, got;
    {
      IsaScope scalar(Isa::kScalar);
      want = RunKernels(in);
    }
    {
      IsaScope isa(g_isa);
      got = RunKernels(in);
    }
    CompareAll(Context<T>(s).c_str(), in, got, want);
  }
}

TEST(MatchesScalarReference) {
  MatchesScalarReference<float>();
  MatchesScalarReference<double>();
}

// The ground truth checked in turn: the scalar reference against the
// formulas in long double (only in the scalar run; it does not depend on
// the ISA under test).
template <class T>
void ReferenceMatchesFormulas() {
  uint64_t seed = 200;
  for (const Shape& s : kShapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    Outputs<T> got;
    {
      IsaScope scalar(Isa::kScalar);
      got = RunKernels(in);
    }
    CompareAll((Context<T>(s) + " vs formulas").c_str(), in, got, Formulas(in));
  }
}

TEST(ReferenceMatchesFormulas) {
  if (g_isa != Isa::kScalar) return;
  ReferenceMatchesFormulas<float>();
  ReferenceMatchesFormulas<double>();
}

// Fixed reduction order (thread_pool.h): 1 and 3 threads must agree to the
// bit, and so must two runs with 3 threads.
template <class T>
void ThreadCountDoesNotChangeResults() {
  IsaScope isa(g_isa);
  uint64_t seed = 300;
  for (const Shape& s : kThreadedShapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    Outputs<T> one, three, again;
    {
      ThreadsScope t(1);
      one = RunKernels(in);
    }
    {
      ThreadsScope t(3);
      three = RunKernels(in);
      again = RunKernels(in);
    }
    const std::string ctx = Context<T>(s);
    CheckBitIdentical((ctx + " 1 vs 3 threads").c_str(), one, three);
    CheckBitIdentical((ctx + " 3 threads twice").c_str(), three, again);
  }
}

TEST(ThreadCountDoesNotChangeResults) {
  ThreadCountDoesNotChangeResults<float>();
  ThreadCountDoesNotChangeResults<double>();
}

// The channel-fused walk (plan.h FusesChannels) against the two-pass walk:
// bit for bit, at 1 and 3 threads, with a 2 MiB budget (what this project's
// development machine has) whatever this machine's L2. Every shape must fuse
// the forward (2 arrays) and all but the piece-split one the backward (3),
// else the test fails: a shape that silently stopped fusing would compare
// the two-pass walk with itself.
template <class T>
void FusedMatchesTwoPass() {
  IsaScope isa(g_isa);
  constexpr int64_t kBudget = int64_t{2} << 20;
  const Shape shapes[] = {{4, 16, 1031}, {1, 8, 65600}, {6, 20, 700}, {2, 9, 2500}};
  uint64_t seed = 900;
  for (const Shape& s : shapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    const std::string name = Context<T>(s);
    const normkit::Plan plan = normkit::MakePlan(in.l);
    normkit::SetFuseBudgetForTesting(kBudget);
    const bool pieces = plan.pieces > 1;
    CHECK(normkit::FusesChannels(in.l, plan, sizeof(T), 2) || (pieces && sizeof(T) == 8),
          "%s: the forward does not fuse", name.c_str());
    CHECK(normkit::FusesChannels(in.l, plan, sizeof(T), 3) || pieces, "%s: the backward does not fuse",
          name.c_str());
    for (int threads : {1, 3}) {
      ThreadsScope t(threads);
      normkit::SetFuseBudgetForTesting(0);
      const Outputs<T> two_pass = RunKernels(in);
      normkit::SetFuseBudgetForTesting(kBudget);
      const Outputs<T> fused = RunKernels(in);
      const std::string ctx = name + (threads == 1 ? " 1 thread" : " 3 threads");
      CheckBitIdentical((ctx + " fused vs two-pass").c_str(), fused, two_pass);
    }
  }
  normkit::SetFuseBudgetForTesting(normkit::kMachineFuseBudget);
}

TEST(FusedMatchesTwoPass) {
  FusedMatchesTwoPass<float>();
  FusedMatchesTwoPass<double>();
}

// The fusion rule (plan.h FusesChannels, FusedPrefetchesNextChannel) on the
// float32 shapes it was measured on, at a 2 MiB L2: each decision below is
// the faster walk there (the measurements are in plan.h).
TEST(FuseRuleFollowsMeasuredShapes) {
  struct Case {
    normkit::ChannelView l;
    bool forward, backward, next_channel;
  };
  const Case cases[] = {
      {{32, 128, 784}, true, true, true},      // both fused, next-channel prefetch
      {{96, 64, 784}, true, true, true},       // 847 pages in the backward
      {{160, 32, 784}, true, false, true},     // 847 pages in the forward
      {{192, 32, 784}, false, false, true},    // 1017 pages: two passes are faster
      {{112, 64, 784}, true, false, true},     // backward: 988 pages
      {{128, 128, 196}, false, false, true},   // runs of 784 bytes: too short
      {{64, 64, 3136}, true, false, false},    // long runs: the default prefetch
      {{128, 32, 3136}, false, false, false},   // over the L2 budget
  };
  normkit::SetFuseBudgetForTesting(int64_t{2} << 20);
  for (const Case& c : cases) {
    const normkit::Plan plan = normkit::MakePlan(c.l);
    char name[64];
    std::snprintf(name, sizeof name, "[%lld,%lld,%lld]", static_cast<long long>(c.l.outer),
                  static_cast<long long>(c.l.channels), static_cast<long long>(c.l.inner));
    CHECK(normkit::FusesChannels(c.l, plan, 4, 2) == c.forward, "%s: forward fuses %d", name,
          !c.forward);
    CHECK(normkit::FusesChannels(c.l, plan, 4, 3) == c.backward, "%s: backward fuses %d", name,
          !c.backward);
    CHECK(normkit::FusedPrefetchesNextChannel(c.l, plan, 4) == c.next_channel,
          "%s: next-channel prefetch %d", name, !c.next_channel);
  }
  normkit::SetFuseBudgetForTesting(normkit::kMachineFuseBudget);
}

// A 64-byte-aligned buffer for an output of n values starting up to
// kLine - 1 elements past its aligned start.
template <class T>
struct LineBuffer {
  static constexpr int64_t kLine = 64 / sizeof(T);
  explicit LineBuffer(int64_t n) : buf(n + 2 * kLine) {}
  // The output starting `offset` elements past a 64-byte boundary.
  T* at(int64_t offset) {
    const auto mis = reinterpret_cast<uintptr_t>(buf.data()) % 64;
    return buf.data() + static_cast<int64_t>((64 - mis) % 64 / sizeof(T)) + offset;
  }
  std::vector<T> buf;
};

// Runs the three elementwise kernels with their output at y and checks
// each against `want` bit for bit (the per-channel outputs go to scratch).
template <class T>
void CheckOutputsAt(const Inputs<T>& in, T* y, const Outputs<T>& want, const std::string& ctx) {
  const int64_t n = in.l.count(), C = in.l.channels;
  std::vector<T> m(C), v(C), inv(C), dg(C), db(C);
  normkit::BatchNormTrainForward(in.x.data(), in.l, in.gamma.data(), in.beta.data(), in.epsilon,
                                 y, m.data(), v.data(), inv.data());
  CHECK(BitIdentical(std::vector<T>(y, y + n), want.y), "train y %s", ctx.c_str());
  normkit::BatchNormInferForward(in.x.data(), in.l, in.gamma.data(), in.beta.data(),
                                 in.moving_mean.data(), in.moving_var.data(), in.epsilon, y);
  CHECK(BitIdentical(std::vector<T>(y, y + n), want.yi), "infer y %s", ctx.c_str());
  normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                             in.batch_mean.data(), in.batch_inv_std.data(), true, y, dg.data(),
                             db.data());
  CHECK(BitIdentical(std::vector<T>(y, y + n), want.dx), "backward dx %s", ctx.c_str());
}

// Elementwise passes peel a scalar head so that their vector stores are
// aligned (simd/common-inl.h AlignHead), so where an output starts changes how
// its values are computed; the scalar and vector forms round alike, so it
// must not change a bit. Outputs at every element offset within a 64-byte
// line against offset 0.
template <class T>
void OutputAlignmentDoesNotChangeResults() {
  IsaScope isa(g_isa);
  const Shape shapes[] = {{37, 3, 1}, {1000, 130, 1}, {300, 64, 1}, {4, 16, 1031}, {3, 5, 129}, {7, 3, 63}};
  uint64_t seed = 1300;
  for (const Shape& s : shapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    const Outputs<T> want = RunKernels(in);
    LineBuffer<T> out(in.l.count());
    for (int64_t k = 0; k < LineBuffer<T>::kLine; ++k) {
      CheckOutputsAt(in, out.at(k), want, Context<T>(s) + " output offset " + std::to_string(k));
    }
  }
}

TEST(OutputAlignmentDoesNotChangeResults) {
  OutputAlignmentDoesNotChangeResults<float>();
  OutputAlignmentDoesNotChangeResults<double>();
}

// Streaming (non-temporal) stores (plan.h StreamsStores) against plain ones:
// bit for bit, every kernel, with the threshold forced to 0 (every pass
// over the plan streams) and to "never", at 1 and 3 threads, with the output
// at an aligned start, one element past it (streaming then follows the
// scalar head, or falls back where the rows cannot align), and in place.
template <class T>
void StreamingStoresDoNotChangeResults() {
  IsaScope isa(g_isa);
  constexpr int64_t kNever = int64_t{1} << 62;
  CHECK(normkit::StreamThresholdBytes() > 0 &&
            normkit::StreamThresholdBytes() <= normkit::kStreamMaxThresholdBytes,
        "machine threshold %lld out of (0, kStreamMaxThresholdBytes]",
        static_cast<long long>(normkit::StreamThresholdBytes()));
  CHECK(!normkit::StreamsStores(1), "a 1-byte working set streams");
  uint64_t seed = 1700;
  for (const Shape& s : kShapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    const int64_t C = s.channels;
    for (int threads : {1, 3}) {
      ThreadsScope t(threads);
      normkit::SetStreamThresholdForTesting(kNever);
      const Outputs<T> plain = RunKernels(in);
      normkit::SetStreamThresholdForTesting(0);
      CHECK(normkit::StreamsStores(1), "threshold 0 does not stream");
      const Outputs<T> streamed = RunKernels(in);
      const std::string ctx = Context<T>(s) + (threads == 1 ? " 1 thread" : " 3 threads");
      CheckBitIdentical((ctx + " streaming vs plain stores").c_str(), streamed, plain);
      LineBuffer<T> out(in.l.count());
      for (int64_t k : {0, 1}) {
        CheckOutputsAt(in, out.at(k), plain, ctx + " streamed output at element " + std::to_string(k));
      }
      std::vector<T> same = in.x, m(C), v(C), inv(C);
      normkit::BatchNormTrainForward(same.data(), in.l, in.gamma.data(), in.beta.data(), in.epsilon,
                                     same.data(), m.data(), v.data(), inv.data());
      CHECK(BitIdentical(same, plain.y), "train y in place %s streamed", ctx.c_str());
    }
  }
  normkit::SetStreamThresholdForTesting(normkit::kMachineStreamThreshold);
}

TEST(StreamingStoresDoNotChangeResults) {
  StreamingStoresDoNotChangeResults<float>();
  StreamingStoresDoNotChangeResults<double>();
}

// batch_norm.h allows y to alias x and dx to alias dy.
template <class T>
void InPlaceMatchesOutOfPlace() {
  IsaScope isa(g_isa);
  uint64_t seed = 400;
  for (const Shape& s : kShapes) {
    const Inputs<T> in = MakeInputs<T>(s, seed += 10);
    const Outputs<T> out = RunKernels(in);
    const std::string ctx = Context<T>(s);
    const int64_t C = s.channels;
    std::vector<T> buf = in.x, m(C), v(C), inv(C);
    normkit::BatchNormTrainForward(buf.data(), in.l, in.gamma.data(), in.beta.data(), in.epsilon,
                                   buf.data(), m.data(), v.data(), inv.data());
    CHECK(BitIdentical(buf, out.y), "train forward in place %s", ctx.c_str());
    CHECK(BitIdentical(m, out.t_mean) && BitIdentical(v, out.t_var) && BitIdentical(inv, out.t_inv),
          "train forward statistics in place %s", ctx.c_str());
    buf = in.x;
    normkit::BatchNormInferForward(buf.data(), in.l, in.gamma.data(), in.beta.data(),
                                   in.moving_mean.data(), in.moving_var.data(), in.epsilon,
                                   buf.data());
    CHECK(BitIdentical(buf, out.yi), "infer forward in place %s", ctx.c_str());
    for (bool training : {true, false}) {
      buf = in.dy;
      std::vector<T> dg(C), db(C);
      normkit::BatchNormBackward(buf.data(), in.x.data(), in.l, in.gamma.data(),
                                 in.batch_mean.data(), in.batch_inv_std.data(), training,
                                 buf.data(), dg.data(), db.data());
      CHECK(BitIdentical(buf, training ? out.dx : out.dxf), "backward dx in place (%s) %s",
            training ? "training" : "frozen", ctx.c_str());
      CHECK(BitIdentical(dg, training ? out.dgamma : out.dgammaf) &&
                BitIdentical(db, training ? out.dbeta : out.dbetaf),
            "backward sums with dx in place (%s) %s", training ? "training" : "frozen", ctx.c_str());
    }
  }
}

TEST(InPlaceMatchesOutOfPlace) {
  InPlaceMatchesOutOfPlace<float>();
  InPlaceMatchesOutOfPlace<double>();
}

// nullptr gamma means 1, beta 0; nullptr dx / dgamma / dbeta are not
// computed, and leaving one out changes nothing in the others.
template <class T>
void OptionalArguments() {
  IsaScope isa(g_isa);
  uint64_t seed = 500;
  for (const Shape& s : kShapes) {
    Inputs<T> in = MakeInputs<T>(s, seed += 10);
    const int64_t C = s.channels, n = in.l.count();
    const std::string ctx = Context<T>(s);
    std::vector<T> gamma = in.gamma, beta = in.beta;
    in.gamma.assign(C, T(1));
    in.beta.assign(C, T(0));
    const Outputs<T> ref = RunKernels(in);
    std::vector<T> y(n), m(C), v(C), inv(C);
    normkit::BatchNormTrainForward(in.x.data(), in.l, nullptr, nullptr, in.epsilon, y.data(),
                                   m.data(), v.data(), inv.data());
    CHECK(BitIdentical(y, ref.y), "train forward, gamma/beta nullptr %s", ctx.c_str());
    normkit::BatchNormInferForward(in.x.data(), in.l, nullptr, nullptr, in.moving_mean.data(),
                                   in.moving_var.data(), in.epsilon, y.data());
    CHECK(BitIdentical(y, ref.yi), "infer forward, gamma/beta nullptr %s", ctx.c_str());
    std::vector<T> dx(n), dg(C), db(C);
    normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, nullptr, in.batch_mean.data(),
                               in.batch_inv_std.data(), true, dx.data(), dg.data(), db.data());
    CHECK(BitIdentical(dx, ref.dx) && BitIdentical(dg, ref.dgamma) && BitIdentical(db, ref.dbeta),
          "backward, gamma nullptr %s", ctx.c_str());

    in.gamma = gamma;
    in.beta = beta;
    const Outputs<T> full = RunKernels(in);
    for (bool training : {true, false}) {
      const std::vector<T>& want_dx = training ? full.dx : full.dxf;
      const std::vector<T>& want_dg = training ? full.dgamma : full.dgammaf;
      const std::vector<T>& want_db = training ? full.dbeta : full.dbetaf;
      std::fill(dg.begin(), dg.end(), T(-7));
      std::fill(db.begin(), db.end(), T(-7));
      normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                                 in.batch_mean.data(), in.batch_inv_std.data(), training, nullptr,
                                 dg.data(), db.data());
      CHECK(BitIdentical(dg, want_dg) && BitIdentical(db, want_db),
            "backward without dx (%s) %s", training ? "training" : "frozen", ctx.c_str());
      std::fill(dx.begin(), dx.end(), T(-7));
      normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                                 in.batch_mean.data(), in.batch_inv_std.data(), training,
                                 dx.data(), nullptr, nullptr);
      CHECK(BitIdentical(dx, want_dx), "backward dx only (%s) %s",
            training ? "training" : "frozen", ctx.c_str());
      std::fill(db.begin(), db.end(), T(-7));
      normkit::BatchNormBackward(in.dy.data(), in.x.data(), in.l, in.gamma.data(),
                                 in.batch_mean.data(), in.batch_inv_std.data(), training, nullptr,
                                 nullptr, db.data());
      CHECK(BitIdentical(db, want_db), "backward dbeta only (%s) %s",
            training ? "training" : "frozen", ctx.c_str());
    }
  }
}

TEST(OptionalArguments) {
  OptionalArguments<float>();
  OptionalArguments<double>();
}

// DESIGN.md: statistics exact to float32 rounding for values 1e4 + N(0, 1),
// where a one-pass E[x^2] - E[x]^2 in float32 loses every digit (1e8 * 2^-24
// = 6 against a variance of 1). Checked against long double directly, not
// against the scalar reference, for every ISA.
TEST(OffsetDataStaysAccurate) {
  IsaScope isa(g_isa);
  const Shape shapes[] = {{8192, 3, 1}, {4, 3, 4096}, {33, 5, 7}, {300, 3, 1}};
  uint64_t seed = 600;
  for (const Shape& s : shapes) {
    const ChannelView l{s.outer, s.channels, s.inner};
    const int64_t n = l.count(), C = s.channels;
    Rng rng(seed += 10);
    std::vector<float> x(n);
    for (float& v : x) v = static_cast<float>(1e4 + rng.Normal());
    std::vector<float> mean(C), var(C), tm(C), tv(C), ti(C), y(n);
    normkit::ChannelStats(x.data(), l, mean.data(), var.data());
    normkit::BatchNormTrainForward(x.data(), l, nullptr, nullptr, 1e-3, y.data(), tm.data(),
                                   tv.data(), ti.data());
    const std::string ctx = Context<float>(s);
    double worst_var = 0, worst_y = 0;
    for (int64_t c = 0; c < C; ++c) {
      long double sum = 0, sq = 0;
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) sum += x[Index(l, o, c, i)];
      const long double m = sum / l.per_channel();
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          const long double d = x[Index(l, o, c, i)] - m;
          sq += d * d;
        }
      const long double v = sq / l.per_channel();
      // The mean is a float near 1e4: one ulp there is 2^-10.
      CHECK(std::fabs(static_cast<long double>(mean[c]) - m) <= 0x1p-10L,
            "offset mean %s c=%lld: got %.9g, want %.9Lg", ctx.c_str(), static_cast<long long>(c),
            mean[c], m);
      const double rel = static_cast<double>(std::fabs((var[c] - v) / v));
      worst_var = std::fmax(worst_var, rel);
      // 2^-24 rounding of the output plus the x - shift rounding of
      // simd/value_ops-inl.h (~1.2e-7 * sqrt(1 + ((mean - shift) / std)^2)).
      CHECK(rel <= 2e-6, "offset variance %s c=%lld: got %.9g, want %.9Lg (rel %.3g)", ctx.c_str(),
            static_cast<long long>(c), var[c], v, rel);
      CHECK(tv[c] == var[c] && tm[c] == mean[c], "train forward statistics differ from ChannelStats %s",
            ctx.c_str());
      const long double inv = 1.0L / std::sqrt(v + 1e-3L);
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t i = 0; i < s.inner; ++i) {
          const int64_t k = Index(l, o, c, i);
          const double err = static_cast<double>(std::fabs(y[k] - (x[k] - m) * inv));
          worst_y = std::fmax(worst_y, err);
        }
    }
    if (g_verbose) std::printf("    offset %s: worst var rel %.3g, worst |dy| %.3g\n", ctx.c_str(), worst_var, worst_y);
    // y ~ N(0, 1): float32 rounding of y (6e-8 * |y|) plus the variance error.
    CHECK(worst_y <= 1e-5, "offset y %s: worst abs error %.3g", ctx.c_str(), worst_y);
  }
}

// A constant channel never gets a negative variance (1/sqrt(var + eps) would
// be wrong or NaN). The SIMD kernels shift by a value of the channel, which
// makes every deviation exactly 0; the scalar reference's textbook mean (a
// plain sum of n values, divided) may be off by up to n ulps, leaving a
// variance of at most (n ulps)^2.
template <class T>
void ConstantChannel() {
  IsaScope isa(g_isa);
  const double value = static_cast<T>(1e4 + 0.1);
  const double ulp = value * std::numeric_limits<T>::epsilon();
  for (const Shape& s : {Shape{100, 3, 1}, Shape{2, 3, 300}, Shape{1000, 130, 1}}) {
    Inputs<T> in = MakeInputs<T>(s, 700);
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) in.x[Index(in.l, o, 1, i)] = static_cast<T>(value);
    const Outputs<T> out = RunKernels(in);
    const std::string ctx = Context<T>(s);
    const bool exact = g_isa != Isa::kScalar;
    const double bound = static_cast<double>(in.l.per_channel()) * ulp;
    for (T v : {out.var[1], out.t_var[1]}) {
      CHECK(exact ? v == T(0) : (v >= T(0) && v <= bound * bound),
            "constant channel variance %s: %.17g", ctx.c_str(), static_cast<double>(v));
    }
    CHECK(exact ? out.mean[1] == static_cast<T>(value) : std::fabs(out.mean[1] - value) <= bound,
          "constant channel mean %s: %.17g", ctx.c_str(), static_cast<double>(out.mean[1]));
  }
}

TEST(ConstantChannelHasZeroVariance) {
  ConstantChannel<float>();
  ConstantChannel<double>();
}

// NaN in one channel's data makes that channel's statistics and outputs NaN
// and leaves the other channels as they were (DESIGN.md: NaN propagates).
template <class T>
void NanPropagates() {
  IsaScope isa(g_isa);
  for (const Shape& s : {Shape{50, 3, 1}, Shape{3, 3, 100}, Shape{1000, 130, 1}}) {
    const Inputs<T> clean = MakeInputs<T>(s, 800);
    Inputs<T> in = clean;
    in.x[Index(in.l, s.outer / 2, 1, s.inner / 2)] = std::numeric_limits<T>::quiet_NaN();
    const Outputs<T> a = RunKernels(clean);
    const Outputs<T> b = RunKernels(in);
    const std::string ctx = Context<T>(s);
    CHECK(std::isnan(b.mean[1]) && std::isnan(b.var[1]) && std::isnan(b.t_inv[1]),
          "NaN channel statistics %s", ctx.c_str());
    for (int64_t c : {int64_t{0}, int64_t{2}}) {
      CHECK(a.mean[c] == b.mean[c] && a.var[c] == b.var[c], "NaN leaked into channel %lld %s",
            static_cast<long long>(c), ctx.c_str());
    }
    CHECK(std::isnan(b.y[Index(in.l, 0, 1, 0)]) && !std::isnan(b.y[Index(in.l, 0, 0, 0)]),
          "NaN in y %s", ctx.c_str());
  }
}

TEST(NanPropagates) {
  NanPropagates<float>();
  NanPropagates<double>();
}

template <class T>
void SgdMatchesScalar() {
  const int64_t sizes[] = {1, 3, 8, 17, 69, 1000, 70001};
  struct Hyper { double lr, momentum; bool nesterov; };
  const Hyper hypers[] = {{0.01, 0.0, false}, {0.1, 0.9, false}, {0.05, 0.5, true}};
  uint64_t seed = 900;
  for (int64_t n : sizes) {
    for (const Hyper& h : hypers) {
      const std::vector<T> var0 = UniformVector<T>(n, seed += 3, -2, 2);
      const std::vector<T> grad = UniformVector<T>(n, seed + 1, -1, 1);
      const std::vector<T> vel0 = UniformVector<T>(n, seed + 2, -0.1, 0.1);
      std::vector<T> want_var = var0, want_vel = vel0, got_var = var0, got_vel = vel0;
      T* want_v = h.momentum == 0.0 ? nullptr : want_vel.data();
      T* got_v = h.momentum == 0.0 ? nullptr : got_vel.data();
      {
        IsaScope scalar(Isa::kScalar);
        normkit::SgdUpdate(want_var.data(), grad.data(), want_v, n, h.lr, h.momentum, h.nesterov);
      }
      {
        IsaScope isa(g_isa);
        normkit::SgdUpdate(got_var.data(), grad.data(), got_v, n, h.lr, h.momentum, h.nesterov);
      }
      char ctx[96];
      std::snprintf(ctx, sizeof ctx, "%s %s n=%lld momentum=%g nesterov=%d",
                    normkit::IsaName(g_isa), DtypeName<T>(), static_cast<long long>(n), h.momentum,
                    h.nesterov);
      // Each value is one short formula: a few roundings of |var| + |lr*g|.
      Compare("sgd.var", ctx, got_var, want_var, nullptr, 1.0);
      Compare("sgd.vel", ctx, got_vel, want_vel, nullptr, 1.0);
    }
  }
}

TEST(SgdMatchesScalar) {
  SgdMatchesScalar<float>();
  SgdMatchesScalar<double>();
}

template <class T>
void StreamCopyIsExact() {
  IsaScope isa(g_isa);
  // Odd offsets: the copy may not assume aligned pointers. Threshold 0:
  // with streaming stores, as a copy over a large working set runs.
  for (int64_t threshold : {normkit::kMachineStreamThreshold, int64_t{0}})
  for (int64_t n : {0, 1, 5, 17, 1000, 200001}) {
    normkit::SetStreamThresholdForTesting(threshold);
    for (int64_t offset : {0, 1, 3}) {
      const std::vector<T> src = UniformVector<T>(n + offset, 1000 + n, -1, 1);
      std::vector<T> dst(n + offset + 1, T(-7));
      normkit::StreamCopy(src.data() + offset, dst.data() + offset, n);
      bool ok = dst[n + offset] == T(-7);  // nothing written past the end
      for (int64_t i = 0; i < n; ++i) ok = ok && dst[offset + i] == src[offset + i];
      CHECK(ok, "StreamCopy %s %s n=%lld offset=%lld threshold=%lld", normkit::IsaName(g_isa),
            DtypeName<T>(), static_cast<long long>(n), static_cast<long long>(offset),
            static_cast<long long>(threshold));
    }
  }
  normkit::SetStreamThresholdForTesting(normkit::kMachineStreamThreshold);
}

TEST(StreamCopyIsExact) {
  StreamCopyIsExact<float>();
  StreamCopyIsExact<double>();
}

}  // namespace

int main(int argc, char** argv) {
  ParseArgs(argc, argv);
  g_verbose = Option("verbose", nullptr) != nullptr || std::getenv("NORMKIT_TEST_VERBOSE") != nullptr;
  const char* name = Option("isa", normkit::IsaName(normkit::BestSupportedIsa()));
  if (!normkit::ParseIsa(name, &g_isa)) {
    std::fprintf(stderr, "kernels_test: unknown ISA '%s'\n", name);
    return 2;
  }
  if (!normkit::IsaSupported(g_isa)) {
    std::printf("kernels_test: this build or CPU cannot run %s: skipped\n", name);
    return kSkipped;
  }
  std::printf("kernels_test: ISA %s, pool of %d threads\n", name, normkit::NumThreads());
  return RunAll();
}
