// The one list of dispatched kernels. Each entry states a kernel's name,
// return type and parameters once; from it come the per-ISA table
// (kernel_table.h), the declaration of every ISA's implementation, every
// ISA's table fill (by name) and the public forwarders of dispatch.cc.
//
// Entry NORMKIT_KERNEL_<Name>(X, T) expands to
//   X(T, Name, return type, (parameters), (the parameters' names))
// with T the tensor dtype: every kernel exists for float and for double,
// and its parameters spell the dtype as T.
//
// Adding a kernel <Name>:
//   1. Declare its float and double overloads, with the contract, in the
//      public header of its concept (batch_norm.h, channel_stats.h, ...).
//   2. Add its entry below and append it to NORMKIT_KERNELS.
//   3. Implement it as `template <class T> <return type> <Name>(<parameters>)`
//      in namespace normkit::NORMKIT_ISA_NS of its concept's
//      simd/<concept>_simd.cc, and in namespace normkit::scalar (reference.cc
//      or its concept's baseline source), each followed by
//      NORMKIT_INSTANTIATE_KERNEL(<Name>).
//   4. Compare it with the scalar reference in native/tests/kernels_test.cc.
// Nothing else: the table fields, the fills and the forwarders are generated,
// and a definition whose signature differs from the entry does not compile.
#pragma once

#include <cstdint>

#include "layout.h"

#define NORMKIT_KERNEL_ChannelStats(X, T)                                                  \
  X(T, ChannelStats, void, (const T* x, ChannelView layout, T* mean, T* variance),         \
    (x, layout, mean, variance))

#define NORMKIT_KERNEL_BatchNormTrainForward(X, T)                                         \
  X(T, BatchNormTrainForward, void,                                                        \
    (const T* x, ChannelView layout, const T* gamma, const T* beta, double epsilon, T* y,  \
     T* mean, T* variance, T* inv_std),                                                    \
    (x, layout, gamma, beta, epsilon, y, mean, variance, inv_std))

#define NORMKIT_KERNEL_BatchNormInferForward(X, T)                                         \
  X(T, BatchNormInferForward, void,                                                        \
    (const T* x, ChannelView layout, const T* gamma, const T* beta, const T* mean,         \
     const T* variance, double epsilon, T* y),                                             \
    (x, layout, gamma, beta, mean, variance, epsilon, y))

#define NORMKIT_KERNEL_BatchNormBackward(X, T)                                             \
  X(T, BatchNormBackward, void,                                                            \
    (const T* dy, const T* x, ChannelView layout, const T* gamma, const T* mean,           \
     const T* inv_std, bool training, T* dx, T* dgamma, T* dbeta),                         \
    (dy, x, layout, gamma, mean, inv_std, training, dx, dgamma, dbeta))

#define NORMKIT_KERNEL_SgdUpdate(X, T)                                                     \
  X(T, SgdUpdate, void,                                                                    \
    (T* var, const T* grad, T* velocity, int64_t n, double learning_rate, double momentum, \
     bool nesterov),                                                                       \
    (var, grad, velocity, n, learning_rate, momentum, nesterov))

#define NORMKIT_KERNEL_StreamCopy(X, T) \
  X(T, StreamCopy, void, (const T* src, T* dst, int64_t n), (src, dst, n))

#define NORMKIT_KERNELS(X, T)                \
  NORMKIT_KERNEL_ChannelStats(X, T)          \
  NORMKIT_KERNEL_BatchNormTrainForward(X, T) \
  NORMKIT_KERNEL_BatchNormInferForward(X, T) \
  NORMKIT_KERNEL_BatchNormBackward(X, T)     \
  NORMKIT_KERNEL_SgdUpdate(X, T)             \
  NORMKIT_KERNEL_StreamCopy(X, T)
