// SgdUpdate (optimizer_update.h) for one ISA: fixed chunks of the flat
// arrays on the pool. Its scalar twin, with the same expression order, is
// optimizer_update.cc's SgdStep.
#include "optimizer_update.h"

#include <cstdint>

#include "kernel_table.h"
#include "simd/common-inl.h"
#include "simd/simd.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

// Fixed chunks of the flat arrays, one item each.
constexpr int64_t kFlatChunk = int64_t{1} << 15;

template <class T>
struct SgdArgs {
  T* var;
  const T* grad;
  T* vel;
  int64_t n;
  double lr, momentum;
  bool nesterov;
};

// Keras SGD in double (see optimizer_update.h):
//   momentum == 0: var = var - lr * g
//   else:          v = momentum * v - lr * g
//                  var = var + (nesterov ? momentum * v - lr * g : v)
template <class T>
void SgdItem(void* ctx, int64_t item) {
  const SgdArgs<T>& s = *static_cast<const SgdArgs<T>*>(ctx);
  constexpr int kN = kIn<T>;
  constexpr int64_t kL = kLanes<T>;
  const int64_t i0 = item * kFlatChunk;
  const int64_t i1 = Min(s.n, i0 + kFlatChunk);
  const DVec neg_lr = Set1(-s.lr);
  const DVec mom = Set1(s.momentum);
  int64_t i = i0;
  for (; i + kL <= i1; i += kL) {
    DVec v[kN], g[kN];
    LoadIn(s.var + i, v);
    LoadIn(s.grad + i, g);
    if (s.momentum == 0.0) {
      for (int h = 0; h < kN; ++h) v[h] = MulAdd(g[h], neg_lr, v[h]);
    } else {
      DVec u[kN];
      LoadIn(s.vel + i, u);
      for (int h = 0; h < kN; ++h) {
        const DVec step = Mul(g[h], neg_lr);
        u[h] = MulAdd(mom, u[h], step);
        v[h] = Add(v[h], s.nesterov ? MulAdd(mom, u[h], step) : u[h]);
      }
      StoreOut(s.vel + i, u);
    }
    StoreOut(s.var + i, v);
  }
  for (; i < i1; ++i) {
    const double g = static_cast<double>(s.grad[i]);
    double v = static_cast<double>(s.var[i]);
    if (s.momentum == 0.0) {
      v = MulAddScalar(g, -s.lr, v);
    } else {
      const double step = g * -s.lr;
      const double u = MulAddScalar(s.momentum, static_cast<double>(s.vel[i]), step);
      v = v + (s.nesterov ? MulAddScalar(s.momentum, u, step) : u);
      s.vel[i] = static_cast<T>(u);
    }
    s.var[i] = static_cast<T>(v);
  }
}

}  // namespace

template <class T>
void SgdUpdate(T* var, const T* grad, T* velocity, int64_t n, double lr, double momentum,
               bool nesterov) {
  SgdArgs<T> args{var, grad, velocity, n, lr, momentum, nesterov};
  ParallelFor(CeilDiv(n, kFlatChunk), n, &SgdItem<T>, &args);
}

NORMKIT_INSTANTIATE_KERNEL(SgdUpdate)

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
