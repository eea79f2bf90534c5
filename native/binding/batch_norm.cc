// batchNormTrain, batchNormInfer, batchNormBackward, each with its ...Async
// and prepare... twins.
#include "kernels/batch_norm.h"

#include "args.h"
#include "entry.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

// batchNormTrain(x, outer, channels, inner, gamma|null, beta|null, epsilon,
//                y, mean, variance, invStd)
struct TrainCall {
  ArrayArg x, gamma, beta, y, mean, variance, inv_std;
  Layout layout;
  double epsilon;

  void Run() const {
    WithDType(x.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      BatchNormTrainForward(x.as<const T>(), layout, gamma.as<const T>(), beta.as<const T>(),
                            epsilon, y.as<T>(), mean.as<T>(), variance.as<T>(), inv_std.as<T>());
    });
  }
};

TrainCall ParseTrain(Args& a) {
  TrainCall c;
  c.x = a.Array(0, "x");
  c.layout = a.Dims(1);
  c.gamma = a.OptionalArray(4, "gamma");
  c.beta = a.OptionalArray(5, "beta");
  c.epsilon = a.Epsilon(6, "epsilon");
  c.y = a.Array(7, "y");
  c.mean = a.Array(8, "mean");
  c.variance = a.Array(9, "variance");
  c.inv_std = a.Array(10, "invStd");
  a.SameDType(c.x, {&c.gamma, &c.beta, &c.y, &c.mean, &c.variance, &c.inv_std});
  a.ExpectShapes(c.layout, {&c.x, &c.y}, {&c.gamma, &c.beta, &c.mean, &c.variance, &c.inv_std});
  a.NoOverlap({&c.y, &c.mean, &c.variance, &c.inv_std}, {&c.x, &c.gamma, &c.beta}, &c.y, &c.x);
  return c;
}

// batchNormInfer(x, outer, channels, inner, gamma|null, beta|null, mean,
//                variance, epsilon, y)
struct InferCall {
  ArrayArg x, gamma, beta, mean, variance, y;
  Layout layout;
  double epsilon;

  void Run() const {
    WithDType(x.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      BatchNormInferForward(x.as<const T>(), layout, gamma.as<const T>(), beta.as<const T>(),
                            mean.as<const T>(), variance.as<const T>(), epsilon, y.as<T>());
    });
  }
};

InferCall ParseInfer(Args& a) {
  InferCall c;
  c.x = a.Array(0, "x");
  c.layout = a.Dims(1);
  c.gamma = a.OptionalArray(4, "gamma");
  c.beta = a.OptionalArray(5, "beta");
  c.mean = a.Array(6, "mean");
  c.variance = a.Array(7, "variance");
  c.epsilon = a.Epsilon(8, "epsilon");
  c.y = a.Array(9, "y");
  a.SameDType(c.x, {&c.gamma, &c.beta, &c.mean, &c.variance, &c.y});
  a.ExpectShapes(c.layout, {&c.x, &c.y}, {&c.gamma, &c.beta, &c.mean, &c.variance});
  a.NoOverlap({&c.y}, {&c.x, &c.gamma, &c.beta, &c.mean, &c.variance}, &c.y, &c.x);
  return c;
}

// batchNormBackward(dy, x, outer, channels, inner, gamma|null, mean, invStd,
//                   training, dx|null, dgamma|null, dbeta|null)
struct BackwardCall {
  ArrayArg dy, x, gamma, mean, inv_std, dx, dgamma, dbeta;
  Layout layout;
  bool training;

  void Run() const {
    WithDType(x.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      BatchNormBackward(dy.as<const T>(), x.as<const T>(), layout, gamma.as<const T>(),
                        mean.as<const T>(), inv_std.as<const T>(), training, dx.as<T>(),
                        dgamma.as<T>(), dbeta.as<T>());
    });
  }
};

BackwardCall ParseBackward(Args& a) {
  BackwardCall c;
  c.dy = a.Array(0, "dy");
  c.x = a.Array(1, "x");
  c.layout = a.Dims(2);
  c.gamma = a.OptionalArray(5, "gamma");
  c.mean = a.Array(6, "mean");
  c.inv_std = a.Array(7, "invStd");
  c.training = a.Boolean(8, "training");
  c.dx = a.OptionalArray(9, "dx");
  c.dgamma = a.OptionalArray(10, "dgamma");
  c.dbeta = a.OptionalArray(11, "dbeta");
  a.SameDType(c.x, {&c.dy, &c.gamma, &c.mean, &c.inv_std, &c.dx, &c.dgamma, &c.dbeta});
  a.ExpectShapes(c.layout, {&c.dy, &c.x, &c.dx}, {&c.gamma, &c.mean, &c.inv_std, &c.dgamma, &c.dbeta});
  a.NoOverlap({&c.dx, &c.dgamma, &c.dbeta}, {&c.dy, &c.x, &c.gamma, &c.mean, &c.inv_std},
              &c.dx, &c.dy);
  return c;
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  RegisterKernel<TrainCall, ParseTrain>(
      env, exports, {"batchNormTrain", "batchNormTrainAsync", "prepareBatchNormTrain"});
  RegisterKernel<InferCall, ParseInfer>(
      env, exports, {"batchNormInfer", "batchNormInferAsync", "prepareBatchNormInfer"});
  RegisterKernel<BackwardCall, ParseBackward>(
      env, exports, {"batchNormBackward", "batchNormBackwardAsync", "prepareBatchNormBackward"});
}

}  // namespace binding
}  // namespace normkit
