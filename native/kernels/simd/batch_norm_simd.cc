// BatchNormTrainForward, BatchNormInferForward and BatchNormBackward
// (batch_norm.h) for one ISA: per-channel folds of the formulas into one or
// two multiply-adds per value, applied by the Walker (walker-inl.h) or, for
// channels-first training, by the channel-fused walk (fused_walk-inl.h).
#include "batch_norm.h"

#include <cmath>
#include <cstdint>

#include "kernel_table.h"
#include "plan.h"
#include "simd/fused_walk-inl.h"
#include "simd/simd.h"
#include "simd/value_ops-inl.h"
#include "simd/walker-inl.h"
#include "thread_pool.h"

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

// The forward fold. With inv_std = 1/sqrt(var + epsilon),
//   y = (x - mean) * inv_std * gamma + beta
//     = x * scale + shift,  scale = gamma * inv_std,  shift = beta - mean * scale,
// one multiply-add per value. scale and shift stay in double and the
// multiply-add runs in double: in float32, shift = beta - mean*scale would be
// rounded at the magnitude of mean*scale, an absolute error of about
// |mean/std| * 6e-8 on an output of order one (6e-4 for data at 1e4 +- 1);
// in double that error is 1e-16 * |mean/std| and y is correctly rounded to
// float in all practical cases.
// One channel's forward fold: returns inv_std, sets scale and shift.
template <class T>
inline double TrainFold(const T* gamma, const T* beta, int64_t c, double mean, double var,
                        double epsilon, double* scale, double* shift) {
  const double is = 1.0 / std::sqrt(var + epsilon);
  *scale = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
  *shift = (beta != nullptr ? static_cast<double>(beta[c]) : 0.0) - mean * *scale;
  return is;
}

template <class T>
struct FusedTrainArgs {
  const T* x;
  const T* gamma;
  const T* beta;
  double epsilon;
  T* y;
  T* mean;
  T* variance;
  T* inv_std;
  FusedWalk walk;
};

// Both training-forward passes over each channel of a block (an item).
template <class T>
void FusedTrainItem(void* ctx, int64_t item) {
  const FusedTrainArgs<T>& f = *static_cast<const FusedTrainArgs<T>*>(ctx);
  const FusedWalk& w = f.walk;
  alignas(64) double rec[kFusePartials];
  for (int64_t c = w.First(item), end = w.End(item); c < end; ++c) {
    ChannelPartials<T, StatsOp<T>>(f.x, f.x, w.layout, *w.plan, c, nullptr, rec);
    double mean_d, var_d, cs[2];
    ChannelMerge(rec, w.plan->groups, true, &mean_d, &var_d);
    const double is = TrainFold(f.gamma, f.beta, c, mean_d, var_d, f.epsilon, &cs[0], &cs[1]);
    f.mean[c] = static_cast<T>(mean_d);
    f.variance[c] = static_cast<T>(var_d);
    f.inv_std[c] = static_cast<T>(is);
    ChannelApply<T, ScaleShiftOp>(f.x, f.x, f.y, w.layout, *w.plan, c, cs, w.stream);
  }
  if (w.stream) StoreFence();
}

}  // namespace

template <class T>
void BatchNormTrainForward(const T* x, ChannelView l, const T* gamma, const T* beta,
                           double epsilon, T* y, T* mean, T* variance, T* inv_std) {
  const int64_t channels = l.channels;
  const Walker<T> walk(l);
  if (walk.Fuses(2)) {
    FusedTrainArgs<T> args{x, gamma, beta, epsilon, y, mean, variance, inv_std,
                           FusedWalk(l, walk.plan(), walk.Streams(2))};
    ParallelFor(args.walk.items(), l.count(), &FusedTrainItem<T>, &args);
    return;
  }
  Scratch scratch(4 * channels);
  double* mean_d = scratch.data();
  double* var_d = mean_d + channels;
  double* coef = var_d + channels;  // [scale | shift]
  walk.Stats(x, mean_d, var_d);
  for (int64_t c = 0; c < channels; ++c) {
    const double is = TrainFold(gamma, beta, c, mean_d[c], var_d[c], epsilon, &coef[c],
                                &coef[channels + c]);
    mean[c] = static_cast<T>(mean_d[c]);
    variance[c] = static_cast<T>(var_d[c]);
    inv_std[c] = static_cast<T>(is);
  }
  walk.template Apply<ScaleShiftOp>(x, x, y, coef);
}

template <class T>
void BatchNormInferForward(const T* x, ChannelView l, const T* gamma, const T* beta,
                           const T* mean, const T* variance, double epsilon, T* y) {
  const int64_t channels = l.channels;
  const Walker<T> walk(l);
  Scratch scratch(2 * channels);
  double* coef = scratch.data();
  for (int64_t c = 0; c < channels; ++c) {
    const double is = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    const double scale = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
    coef[c] = scale;
    coef[channels + c] = (beta != nullptr ? static_cast<double>(beta[c]) : 0.0) -
                         static_cast<double>(mean[c]) * scale;
  }
  walk.template Apply<ScaleShiftOp>(x, x, y, coef);
}

namespace {

// One channel's backward coefficients (see BatchNormBackward): cs[0] = a, and for
// training cs[1] = b, cs[2] = k.
template <class T>
inline void BackwardFold(const T* gamma, const T* mean, const T* inv_std, int64_t c, double n,
                         bool training, double sdy, double sdyx, double* cs) {
  const double is = static_cast<double>(inv_std[c]);
  const double a = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
  cs[0] = a;
  if (training) {
    const double b = -a * is * (is * sdyx) / n;
    cs[1] = b;
    cs[2] = -a * sdy / n - b * static_cast<double>(mean[c]);
  }
}

template <class T>
struct FusedBackwardArgs {
  const T* dy;
  const T* x;
  const T* gamma;
  const T* mean;
  const T* inv_std;
  T* dx;
  T* dgamma;
  T* dbeta;
  FusedWalk walk;
};

// Both training-backward passes over each channel of a block (an item).
template <class T>
void FusedBackwardItem(void* ctx, int64_t item) {
  const FusedBackwardArgs<T>& f = *static_cast<const FusedBackwardArgs<T>*>(ctx);
  const FusedWalk& w = f.walk;
  const double n = static_cast<double>(w.layout.per_channel());
  alignas(64) double rec[kFusePartials];
  for (int64_t c = w.First(item), end = w.End(item); c < end; ++c) {
    ChannelPartials<T, GradSumsOp<T>>(f.dy, f.x, w.layout, *w.plan, c, f.mean, rec);
    double sdy, sdyx, cs[3];
    ChannelMerge(rec, w.plan->groups, false, &sdy, &sdyx);
    if (f.dbeta != nullptr) f.dbeta[c] = static_cast<T>(sdy);
    if (f.dgamma != nullptr) f.dgamma[c] = static_cast<T>(static_cast<double>(f.inv_std[c]) * sdyx);
    BackwardFold(f.gamma, f.mean, f.inv_std, c, n, true, sdy, sdyx, cs);
    ChannelApply<T, GradTrainOp>(f.dy, f.x, f.dx, w.layout, *w.plan, c, cs, w.stream);
  }
  if (w.stream) StoreFence();
}

}  // namespace

// Backward. Pass 1 (when dgamma, dbeta or the training dx need them) sums,
// per channel, sdy = sum dy and sdyx = sum dy * (x - mean) in double; then
//   dbeta = sdy,  dgamma = inv_std * sdyx.
// Pass 2 folds the training formula, with xhat = (x - mean) * inv_std and
// a = gamma * inv_std,
//   dx = a * (dy - dbeta/n - xhat * dgamma/n)
//      = dy * a + x * b + k,  b = -a * inv_std * dgamma / n,  k = -a * dbeta / n - b * mean,
// evaluated in double like the forward fold (b*x + k cancels at the scale of
// the mean). With frozen statistics dx = dy * a.
template <class T>
void BatchNormBackward(const T* dy, const T* x, ChannelView l, const T* gamma, const T* mean,
                       const T* inv_std, bool training, T* dx, T* dgamma, T* dbeta) {
  const int64_t channels = l.channels;
  const bool need_sums = training || dgamma != nullptr || dbeta != nullptr;
  if (!need_sums && dx == nullptr) return;
  const Walker<T> walk(l);
  if (training && dx != nullptr && walk.Fuses(3)) {
    FusedBackwardArgs<T> args{dy, x, gamma, mean, inv_std, dx, dgamma, dbeta,
                              FusedWalk(l, walk.plan(), walk.Streams(3))};
    ParallelFor(args.walk.items(), l.count(), &FusedBackwardItem<T>, &args);
    return;
  }
  Scratch scratch(5 * channels);
  double* sdy = scratch.data();
  double* sdyx = sdy + channels;
  double* coef = sdyx + channels;  // up to 3 * channels
  if (need_sums) {
    walk.GradSums(dy, x, mean, sdy, sdyx);
    for (int64_t c = 0; c < channels; ++c) {
      if (dbeta != nullptr) dbeta[c] = static_cast<T>(sdy[c]);
      if (dgamma != nullptr) {
        dgamma[c] = static_cast<T>(static_cast<double>(inv_std[c]) * sdyx[c]);
      }
    }
  }
  if (dx == nullptr) return;
  const double n = static_cast<double>(l.per_channel());
  for (int64_t c = 0; c < channels; ++c) {
    double cs[3];
    BackwardFold(gamma, mean, inv_std, c, n, training, training ? sdy[c] : 0.0,
                 training ? sdyx[c] : 0.0, cs);
    coef[c] = cs[0];
    if (training) {
      coef[channels + c] = cs[1];
      coef[2 * channels + c] = cs[2];
    }
  }
  if (training) {
    walk.template Apply<GradTrainOp>(dy, x, dx, coef);
  } else {
    walk.template Apply<GradFrozenOp>(dy, x, dx, coef);
  }
}

NORMKIT_INSTANTIATE_KERNEL(BatchNormTrainForward)
NORMKIT_INSTANTIATE_KERNEL(BatchNormInferForward)
NORMKIT_INSTANTIATE_KERNEL(BatchNormBackward)

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
