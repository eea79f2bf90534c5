// Per-element optimizer updates, in place, one call per variable.
#pragma once

#include <cstdint>

namespace normkit {

// Keras SGD:
//   momentum == 0:  var -= lr * grad                      (velocity unused, may be nullptr)
//   otherwise:      v = momentum * v - lr * grad
//                   var += nesterov ? momentum * v - lr * grad : v
// Preconditions: n >= 0; arrays hold n values; grad does not overlap var or velocity.
void SgdUpdate(float* var, const float* grad, float* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov);
void SgdUpdate(double* var, const double* grad, double* velocity, int64_t n,
               double learning_rate, double momentum, bool nesterov);

}  // namespace normkit
