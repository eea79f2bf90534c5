// batchNormTrain, batchNormInfer, batchNormBackward and their ...Async twins.
#include "batch_norm.h"

#include "args.h"
#include "async.h"
#include "exports.h"
#include "prepared.h"

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
    if (x.dtype == DType::kFloat32) {
      BatchNormTrainForward(x.as<const float>(), layout, gamma.as<const float>(),
                            beta.as<const float>(), epsilon, y.as<float>(), mean.as<float>(),
                            variance.as<float>(), inv_std.as<float>());
    } else {
      BatchNormTrainForward(x.as<const double>(), layout, gamma.as<const double>(),
                            beta.as<const double>(), epsilon, y.as<double>(),
                            mean.as<double>(), variance.as<double>(), inv_std.as<double>());
    }
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
  a.ExpectCount(c.x, c.layout);
  a.ExpectCount(c.y, c.layout);
  for (const ArrayArg* v : {&c.gamma, &c.beta, &c.mean, &c.variance, &c.inv_std}) {
    a.ExpectChannels(*v, c.layout);
  }
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
    if (x.dtype == DType::kFloat32) {
      BatchNormInferForward(x.as<const float>(), layout, gamma.as<const float>(),
                            beta.as<const float>(), mean.as<const float>(),
                            variance.as<const float>(), epsilon, y.as<float>());
    } else {
      BatchNormInferForward(x.as<const double>(), layout, gamma.as<const double>(),
                            beta.as<const double>(), mean.as<const double>(),
                            variance.as<const double>(), epsilon, y.as<double>());
    }
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
  a.ExpectCount(c.x, c.layout);
  a.ExpectCount(c.y, c.layout);
  for (const ArrayArg* v : {&c.gamma, &c.beta, &c.mean, &c.variance}) {
    a.ExpectChannels(*v, c.layout);
  }
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
    if (x.dtype == DType::kFloat32) {
      BatchNormBackward(dy.as<const float>(), x.as<const float>(), layout,
                        gamma.as<const float>(), mean.as<const float>(),
                        inv_std.as<const float>(), training, dx.as<float>(), dgamma.as<float>(),
                        dbeta.as<float>());
    } else {
      BatchNormBackward(dy.as<const double>(), x.as<const double>(), layout,
                        gamma.as<const double>(), mean.as<const double>(),
                        inv_std.as<const double>(), training, dx.as<double>(),
                        dgamma.as<double>(), dbeta.as<double>());
    }
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
  a.ExpectCount(c.dy, c.layout);
  a.ExpectCount(c.x, c.layout);
  a.ExpectCount(c.dx, c.layout);
  for (const ArrayArg* v : {&c.gamma, &c.mean, &c.inv_std, &c.dgamma, &c.dbeta}) {
    a.ExpectChannels(*v, c.layout);
  }
  a.NoOverlap({&c.dx, &c.dgamma, &c.dbeta}, {&c.dy, &c.x, &c.gamma, &c.mean, &c.inv_std},
              &c.dx, &c.dy);
  return c;
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "batchNormTrain", RunSync<TrainCall, ParseTrain>);
  RegisterRaw(env, exports, "batchNormTrainAsync", RunAsync<TrainCall, ParseTrain>);
  RegisterRaw(env, exports, "batchNormInfer", RunSync<InferCall, ParseInfer>);
  RegisterRaw(env, exports, "batchNormInferAsync", RunAsync<InferCall, ParseInfer>);
  RegisterRaw(env, exports, "batchNormBackward", RunSync<BackwardCall, ParseBackward>);
  RegisterRaw(env, exports, "batchNormBackwardAsync", RunAsync<BackwardCall, ParseBackward>);
  RegisterRaw(env, exports, "prepareBatchNormTrain", Prepare<TrainCall, ParseTrain>);
  RegisterRaw(env, exports, "prepareBatchNormInfer", Prepare<InferCall, ParseInfer>);
  RegisterRaw(env, exports, "prepareBatchNormBackward", Prepare<BackwardCall, ParseBackward>);
}

}  // namespace binding
}  // namespace normkit
