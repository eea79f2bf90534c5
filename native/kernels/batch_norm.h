// Batch normalization forward and backward over the [outer, channels, inner] view.
#pragma once

#include "layout.h"

namespace normkit {

// Training forward: batch statistics, then
//   y = (x - mean[c]) * inv_std[c] * gamma[c] + beta[c],  inv_std = 1/sqrt(var + epsilon)
// folded into one per-channel scale and shift. Writes mean, the biased
// variance and inv_std (channels values each) for the backward pass.
// gamma == nullptr means 1, beta == nullptr means 0.
// Preconditions: layout.per_channel() >= 1; epsilon > 0 (finite); y may alias
// x (in-place), no other overlap.
void BatchNormTrainForward(const float* x, ChannelView layout, const float* gamma,
                           const float* beta, double epsilon, float* y,
                           float* mean, float* variance, float* inv_std);
void BatchNormTrainForward(const double* x, ChannelView layout, const double* gamma,
                           const double* beta, double epsilon, double* y,
                           double* mean, double* variance, double* inv_std);

// Inference forward with given (moving) statistics:
//   y = (x - mean[c]) / sqrt(variance[c] + epsilon) * gamma[c] + beta[c]
// Same nullptr and aliasing rules as the training forward.
void BatchNormInferForward(const float* x, ChannelView layout, const float* gamma,
                           const float* beta, const float* mean,
                           const float* variance, double epsilon, float* y);
void BatchNormInferForward(const double* x, ChannelView layout, const double* gamma,
                           const double* beta, const double* mean,
                           const double* variance, double epsilon, double* y);

// Backward. With xhat = (x - mean[c]) * inv_std[c] and n = layout.per_channel():
//   dbeta[c]  = sum dy
//   dgamma[c] = sum dy * xhat
//   training (statistics are functions of x):
//     dx = gamma[c] * inv_std[c] * (dy - dbeta[c]/n - xhat * dgamma[c]/n)
//   frozen statistics (inference mode):
//     dx = gamma[c] * inv_std[c] * dy
// Any of dx, dgamma, dbeta may be nullptr (not wanted). gamma == nullptr means 1.
// Preconditions: as the forward; dx may alias dy, no other overlap.
void BatchNormBackward(const float* dy, const float* x, ChannelView layout,
                       const float* gamma, const float* mean,
                       const float* inv_std, bool training, float* dx,
                       float* dgamma, float* dbeta);
void BatchNormBackward(const double* dy, const double* x, ChannelView layout,
                       const double* gamma, const double* mean,
                       const double* inv_std, bool training, double* dx,
                       double* dgamma, double* dbeta);

}  // namespace normkit
