// The scalar reference: the ground truth every SIMD ISA is tested against,
// and the "scalar" ISA of the dispatcher.
//
// Written for obviousness, not speed: float64 accumulation, the textbook
// two-pass variance (mean first, then the mean of squared deviations), the
// unfolded formulas of batch_norm.h, one thread, values visited in memory
// order. Nothing here shares code with the SIMD kernels (simd/).
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernel_table.h"

namespace normkit {
namespace scalar {
namespace {

// Per-channel mean and biased variance in double, two passes.
template <class T>
void Moments(const T* x, const ChannelView& l, std::vector<double>& mean,
             std::vector<double>& var) {
  const int64_t C = l.channels;
  mean.assign(static_cast<size_t>(C), 0.0);
  var.assign(static_cast<size_t>(C), 0.0);
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const T* run = x + (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) mean[c] += static_cast<double>(run[i]);
    }
  }
  const double n = static_cast<double>(l.per_channel());
  for (int64_t c = 0; c < C; ++c) mean[c] /= n;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const T* run = x + (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double d = static_cast<double>(run[i]) - mean[c];
        var[c] += d * d;
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) var[c] /= n;
}

// y = (x - mean) * inv_std * gamma + beta, all in double.
template <class T>
void Normalize(const T* x, const ChannelView& l, const T* gamma, const T* beta,
               const std::vector<double>& mean, const std::vector<double>& inv_std, T* y) {
  const int64_t C = l.channels;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const double g = gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0;
      const double b = beta != nullptr ? static_cast<double>(beta[c]) : 0.0;
      const int64_t off = (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double xhat = (static_cast<double>(x[off + i]) - mean[c]) * inv_std[c];
        y[off + i] = static_cast<T>(xhat * g + b);
      }
    }
  }
}

}  // namespace

// The kernels of kernel_list.h for the scalar ISA.

template <class T>
void ChannelStats(const T* x, ChannelView l, T* mean, T* variance) {
  std::vector<double> m, v;
  Moments(x, l, m, v);
  for (int64_t c = 0; c < l.channels; ++c) {
    mean[c] = static_cast<T>(m[c]);
    variance[c] = static_cast<T>(v[c]);
  }
}

template <class T>
void BatchNormTrainForward(const T* x, ChannelView l, const T* gamma, const T* beta,
                           double epsilon, T* y, T* mean, T* variance, T* inv_std) {
  std::vector<double> m, v;
  Moments(x, l, m, v);
  std::vector<double> is(static_cast<size_t>(l.channels));
  for (int64_t c = 0; c < l.channels; ++c) {
    is[c] = 1.0 / std::sqrt(v[c] + epsilon);
    mean[c] = static_cast<T>(m[c]);
    variance[c] = static_cast<T>(v[c]);
    inv_std[c] = static_cast<T>(is[c]);
  }
  Normalize(x, l, gamma, beta, m, is, y);
}

template <class T>
void BatchNormInferForward(const T* x, ChannelView l, const T* gamma, const T* beta,
                           const T* mean, const T* variance, double epsilon, T* y) {
  std::vector<double> m(static_cast<size_t>(l.channels)), is(static_cast<size_t>(l.channels));
  for (int64_t c = 0; c < l.channels; ++c) {
    m[c] = static_cast<double>(mean[c]);
    is[c] = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
  }
  Normalize(x, l, gamma, beta, m, is, y);
}

template <class T>
void BatchNormBackward(const T* dy, const T* x, ChannelView l, const T* gamma, const T* mean,
                       const T* inv_std, bool training, T* dx, T* dgamma, T* dbeta) {
  const int64_t C = l.channels;
  std::vector<double> sdy(static_cast<size_t>(C), 0.0), sdyxhat(static_cast<size_t>(C), 0.0);
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const double m = static_cast<double>(mean[c]);
      const double is = static_cast<double>(inv_std[c]);
      const int64_t off = (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double g = static_cast<double>(dy[off + i]);
        sdy[c] += g;
        sdyxhat[c] += g * ((static_cast<double>(x[off + i]) - m) * is);
      }
    }
  }
  for (int64_t c = 0; c < C; ++c) {
    if (dbeta != nullptr) dbeta[c] = static_cast<T>(sdy[c]);
    if (dgamma != nullptr) dgamma[c] = static_cast<T>(sdyxhat[c]);
  }
  if (dx == nullptr) return;
  const double n = static_cast<double>(l.per_channel());
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const double m = static_cast<double>(mean[c]);
      const double is = static_cast<double>(inv_std[c]);
      const double gi = (gamma != nullptr ? static_cast<double>(gamma[c]) : 1.0) * is;
      const int64_t off = (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double g = static_cast<double>(dy[off + i]);
        if (training) {
          const double xhat = (static_cast<double>(x[off + i]) - m) * is;
          dx[off + i] = static_cast<T>(gi * (g - sdy[c] / n - xhat * sdyxhat[c] / n));
        } else {
          dx[off + i] = static_cast<T>(gi * g);
        }
      }
    }
  }
}

template <class T>
void StreamCopy(const T* src, T* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

NORMKIT_INSTANTIATE_KERNEL(ChannelStats)
NORMKIT_INSTANTIATE_KERNEL(BatchNormTrainForward)
NORMKIT_INSTANTIATE_KERNEL(BatchNormInferForward)
NORMKIT_INSTANTIATE_KERNEL(BatchNormBackward)
NORMKIT_INSTANTIATE_KERNEL(StreamCopy)
// SgdUpdate is defined in optimizer_update.cc, with the other optimizer kernels.

NORMKIT_DEFINE_KERNEL_TABLE()

}  // namespace scalar
}  // namespace normkit
