// Optimizer update kernels (formulas and preconditions in optimizer_update.h).
//
// Plain loops compiled for the baseline CPU: an optimizer step touches each
// element once with a handful of flops, and the variables it updates (gamma,
// beta) hold one value per channel, so call overhead dominates and SIMD would
// buy nothing measurable. The one exception is SgdUpdate, which sits in the
// per-ISA kernel table; its scalar entry (the reference the SIMD versions are
// tested against) is defined here as SgdStep without a prelude.
//
// Every element is computed in double from the stored values and rounded to
// T once per stored result; the expression order of SgdStep is that of the
// SIMD SgdUpdate, so both round identically (the build forbids FP
// contraction).
#include "optimizer_update.h"

#include <cmath>
#include <cstdint>

#include "kernel_table.h"

namespace normkit {
namespace {

// The gradient after clipping (StepPrelude): scale, then clamp. Comparisons
// are false for NaN, so a NaN gradient or scale stays NaN.
inline double ClippedGradient(double g, const StepPrelude& p) {
  g *= p.grad_scale;
  if (p.clip_value > 0.0) {
    if (g > p.clip_value) {
      g = p.clip_value;
    } else if (g < -p.clip_value) {
      g = -p.clip_value;
    }
  }
  return g;
}

// The variable after decoupled weight decay (Keras: var - var * wd * lr).
inline double DecayedVariable(double w, const StepPrelude& p) {
  return p.decay != 0.0 ? w - w * p.decay : w;
}

template <class T>
void SgdStepT(T* var, const T* grad, T* velocity, int64_t n, const StepPrelude& p,
              double lr, double momentum, bool nesterov) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = ClippedGradient(static_cast<double>(grad[i]), p);
    double w = DecayedVariable(static_cast<double>(var[i]), p);
    if (momentum == 0.0) {
      w -= lr * g;
    } else {
      const double u = momentum * static_cast<double>(velocity[i]) - lr * g;
      w += nesterov ? momentum * u - lr * g : u;
      velocity[i] = static_cast<T>(u);
    }
    var[i] = static_cast<T>(w);
  }
}

template <class T>
void AdamStepT(T* var, const T* grad, T* m, T* v, T* v_hat, int64_t n, const StepPrelude& p,
               const AdamHyper& h) {
  const double t = static_cast<double>(h.step);
  const double alpha =
      h.learning_rate * std::sqrt(1.0 - std::pow(h.beta2, t)) / (1.0 - std::pow(h.beta1, t));
  const double one_minus_beta1 = 1.0 - h.beta1;
  const double one_minus_beta2 = 1.0 - h.beta2;
  for (int64_t i = 0; i < n; ++i) {
    const double g = ClippedGradient(static_cast<double>(grad[i]), p);
    const double w = DecayedVariable(static_cast<double>(var[i]), p);
    const double mi = static_cast<double>(m[i]);
    const double vi = static_cast<double>(v[i]);
    const double m_new = mi + (g - mi) * one_minus_beta1;
    const double v_new = vi + (g * g - vi) * one_minus_beta2;
    double denom_v = v_new;
    if (v_hat != nullptr) {
      const double vh = static_cast<double>(v_hat[i]);
      // max that keeps a NaN from either side (std::max would drop one).
      denom_v = (vh >= v_new || std::isnan(vh)) ? vh : v_new;
      v_hat[i] = static_cast<T>(denom_v);
    }
    m[i] = static_cast<T>(m_new);
    v[i] = static_cast<T>(v_new);
    var[i] = static_cast<T>(w - m_new * alpha / (std::sqrt(denom_v) + h.epsilon));
  }
}

template <class T>
void RmspropStepT(T* var, const T* grad, T* velocity, T* moment, T* average_grad, int64_t n,
                  const StepPrelude& p, const RmspropHyper& h) {
  const double rho = h.rho;
  const double one_minus_rho = 1.0 - h.rho;
  const bool use_momentum = h.momentum > 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double g = ClippedGradient(static_cast<double>(grad[i]), p);
    const double w = DecayedVariable(static_cast<double>(var[i]), p);
    const double vel = rho * static_cast<double>(velocity[i]) + one_minus_rho * (g * g);
    velocity[i] = static_cast<T>(vel);
    double denominator;
    if (h.centered) {
      const double avg = rho * static_cast<double>(average_grad[i]) + one_minus_rho * g;
      average_grad[i] = static_cast<T>(avg);
      denominator = vel - avg * avg + h.epsilon;
    } else {
      denominator = vel + h.epsilon;
    }
    const double increment = h.learning_rate * g / std::sqrt(denominator);
    if (use_momentum) {
      const double mom = h.momentum * static_cast<double>(moment[i]) + increment;
      moment[i] = static_cast<T>(mom);
      var[i] = static_cast<T>(w - mom);
    } else {
      var[i] = static_cast<T>(w - increment);
    }
  }
}

template <class T>
void AdagradStepT(T* var, const T* grad, T* accumulator, int64_t n, const StepPrelude& p,
                  double lr, double epsilon) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = ClippedGradient(static_cast<double>(grad[i]), p);
    const double w = DecayedVariable(static_cast<double>(var[i]), p);
    const double acc = static_cast<double>(accumulator[i]) + g * g;
    accumulator[i] = static_cast<T>(acc);
    var[i] = static_cast<T>(w - lr * g / std::sqrt(acc + epsilon));
  }
}

template <class T>
double SumOfSquaresT(const T* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double xi = static_cast<double>(x[i]);
    sum += xi * xi;
  }
  return sum;
}

}  // namespace

void SgdStep(float* var, const float* grad, float* velocity, int64_t n,
             const StepPrelude& prelude, double learning_rate, double momentum,
             bool nesterov) {
  SgdStepT(var, grad, velocity, n, prelude, learning_rate, momentum, nesterov);
}
void SgdStep(double* var, const double* grad, double* velocity, int64_t n,
             const StepPrelude& prelude, double learning_rate, double momentum,
             bool nesterov) {
  SgdStepT(var, grad, velocity, n, prelude, learning_rate, momentum, nesterov);
}

void AdamStep(float* var, const float* grad, float* m, float* v, float* v_hat, int64_t n,
              const StepPrelude& prelude, const AdamHyper& h) {
  AdamStepT(var, grad, m, v, v_hat, n, prelude, h);
}
void AdamStep(double* var, const double* grad, double* m, double* v, double* v_hat,
              int64_t n, const StepPrelude& prelude, const AdamHyper& h) {
  AdamStepT(var, grad, m, v, v_hat, n, prelude, h);
}

void RmspropStep(float* var, const float* grad, float* velocity, float* moment,
                 float* average_grad, int64_t n, const StepPrelude& prelude,
                 const RmspropHyper& h) {
  RmspropStepT(var, grad, velocity, moment, average_grad, n, prelude, h);
}
void RmspropStep(double* var, const double* grad, double* velocity, double* moment,
                 double* average_grad, int64_t n, const StepPrelude& prelude,
                 const RmspropHyper& h) {
  RmspropStepT(var, grad, velocity, moment, average_grad, n, prelude, h);
}

void AdagradStep(float* var, const float* grad, float* accumulator, int64_t n,
                 const StepPrelude& prelude, double learning_rate, double epsilon) {
  AdagradStepT(var, grad, accumulator, n, prelude, learning_rate, epsilon);
}
void AdagradStep(double* var, const double* grad, double* accumulator, int64_t n,
                 const StepPrelude& prelude, double learning_rate, double epsilon) {
  AdagradStepT(var, grad, accumulator, n, prelude, learning_rate, epsilon);
}

double SumOfSquares(const float* x, int64_t n) { return SumOfSquaresT(x, n); }
double SumOfSquares(const double* x, int64_t n) { return SumOfSquaresT(x, n); }

// The scalar ISA's SgdUpdate (kernel_list.h).
namespace scalar {
template <class T>
void SgdUpdate(T* var, const T* grad, T* velocity, int64_t n, double learning_rate,
               double momentum, bool nesterov) {
  SgdStepT(var, grad, velocity, n, StepPrelude{}, learning_rate, momentum, nesterov);
}
NORMKIT_INSTANTIATE_KERNEL(SgdUpdate)
}  // namespace scalar

}  // namespace normkit
