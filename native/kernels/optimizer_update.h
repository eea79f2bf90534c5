// Per-element optimizer updates, in place, one call per variable.
//
// Each rule is the `update_step` of Keras 3 (keras/src/optimizers/<name>.py).
// Per element, the whole step is evaluated in double from the stored values
// and every result is rounded to T once, when it is stored; Keras evaluates
// the same expressions in the variable's dtype, so float32 results agree to
// float32 rounding and float64 results to a few ulps.
//
// Common preconditions (checked by the binding, asserted nowhere here):
// n >= 0; every array holds n values; `grad` overlaps no array the kernel
// writes, and the written arrays (var and the slots) are pairwise disjoint;
// an optional slot is nullptr exactly when the kernel's comment says it is
// unused. Hyper-parameters are finite (grad_scale may be NaN, see below).
#pragma once

#include <cstdint>

namespace normkit {

// What Keras' base optimizer does before every update_step
// (`_clip_gradients`, then `_apply_weight_decay`), fused into the update loop
// so that no clipped gradient or decayed variable is ever materialized:
//
//   g   = grad * grad_scale                  clipnorm:        scale = c / max(||grad||, c)
//                                            global_clipnorm: scale = c / max(||all grads||, c),
//                                                             NaN when that norm is not finite
//   g   = min(max(g, -clip_value), clip_value)   only when clip_value > 0 (clipvalue)
//   var = var - var * decay                  decoupled weight decay, decay = weight_decay * lr
//                                            (0: none)
//
// The rule below then reads `g` for the gradient and the decayed `var`.
// NaN gradients (or a NaN grad_scale) propagate into the variable, as in Keras.
struct StepPrelude {
  double grad_scale = 1.0;
  double clip_value = 0.0;
  double decay = 0.0;
};

// Keras SGD (no prelude; dispatched to the active ISA, see kernel_table.h):
//   momentum == 0:  var -= lr * grad                      (velocity unused, may be nullptr)
//   otherwise:      v = momentum * v - lr * grad
//                   var += nesterov ? momentum * v - lr * grad : v
// Preconditions: n >= 0; arrays hold n values; grad does not overlap var or velocity.
void SgdUpdate(float* var, const float* grad, float* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov);
void SgdUpdate(double* var, const double* grad, double* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov);

// SgdUpdate's rule after the prelude (baseline C++, not dispatched).
void SgdStep(float* var, const float* grad, float* velocity, int64_t n,
             const StepPrelude& prelude, double learning_rate, double momentum,
             bool nesterov);
void SgdStep(double* var, const double* grad, double* velocity, int64_t n,
             const StepPrelude& prelude, double learning_rate, double momentum,
             bool nesterov);

// Keras Adam / AdamW (AdamW is Adam with a non-zero prelude.decay), step t >= 1
// (the optimizer's iterations + 1):
//   alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   m += (g - m) * (1 - beta1)
//   v += (g^2 - v) * (1 - beta2)
//   amsgrad: v_hat = max(v_hat, v), and v_hat replaces v below (v_hat nullptr: no amsgrad)
//   var -= m * alpha / (sqrt(v) + epsilon)
// epsilon sits outside the square root and is not bias-corrected ("epsilon
// hat" of Kingma & Ba); TensorFlow.js adds it to sqrt(v / (1 - beta2^t)).
// Preconditions: 0 <= beta1 < 1, 0 <= beta2 < 1, epsilon >= 0, t >= 1.
struct AdamHyper {
  double learning_rate, beta1, beta2, epsilon;
  int64_t step;
};
void AdamStep(float* var, const float* grad, float* m, float* v, float* v_hat,
              int64_t n, const StepPrelude& prelude, const AdamHyper& h);
void AdamStep(double* var, const double* grad, double* m, double* v, double* v_hat,
              int64_t n, const StepPrelude& prelude, const AdamHyper& h);

// Keras RMSprop:
//   velocity = rho * velocity + (1 - rho) * g^2
//   centered: average_grad = rho * average_grad + (1 - rho) * g
//             denominator = velocity - average_grad^2 + epsilon
//   else:     denominator = velocity + epsilon     (average_grad unused, may be nullptr)
//   increment = lr * g / sqrt(denominator)
//   momentum > 0: moment = momentum * moment + increment; var -= moment
//   else:         var -= increment                 (moment unused, may be nullptr)
// epsilon sits inside the square root (unlike Adam).
// Preconditions: momentum >= 0; epsilon >= 0.
struct RmspropHyper {
  double learning_rate, rho, momentum, epsilon;
  bool centered;
};
void RmspropStep(float* var, const float* grad, float* velocity, float* moment,
                 float* average_grad, int64_t n, const StepPrelude& prelude,
                 const RmspropHyper& h);
void RmspropStep(double* var, const double* grad, double* velocity, double* moment,
                 double* average_grad, int64_t n, const StepPrelude& prelude,
                 const RmspropHyper& h);

// Keras Adagrad (the accumulator starts at initial_accumulator_value):
//   accumulator += g^2
//   var -= lr * g / sqrt(accumulator + epsilon)
// Preconditions: epsilon >= 0.
void AdagradStep(float* var, const float* grad, float* accumulator, int64_t n,
                 const StepPrelude& prelude, double learning_rate, double epsilon);
void AdagradStep(double* var, const double* grad, double* accumulator, int64_t n,
                 const StepPrelude& prelude, double learning_rate, double epsilon);

// sum(x[i]^2) accumulated in double, in memory order: the squared L2 norm
// that clipnorm and global_clipnorm need (Keras: ops.sum(ops.square(g))).
double SumOfSquares(const float* x, int64_t n);
double SumOfSquares(const double* x, int64_t n);

}  // namespace normkit
