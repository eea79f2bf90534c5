// sgdUpdate(variable, grad, velocity|null, learningRate, momentum, nesterov)
#include "optimizer_update.h"

#include "args.h"
#include "async.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

struct SgdCall {
  ArrayArg variable, grad, velocity;
  double learning_rate, momentum;
  bool nesterov;

  void Run() const {
    const auto n = static_cast<int64_t>(variable.length);
    if (variable.dtype == DType::kFloat32) {
      SgdUpdate(variable.as<float>(), grad.as<const float>(), velocity.as<float>(), n,
                learning_rate, momentum, nesterov);
    } else {
      SgdUpdate(variable.as<double>(), grad.as<const double>(), velocity.as<double>(), n,
                learning_rate, momentum, nesterov);
    }
  }
};

SgdCall ParseSgd(Args& a) {
  SgdCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.velocity = a.OptionalArray(2, "velocity");
  c.learning_rate = a.Finite(3, "learningRate");
  c.momentum = a.Finite(4, "momentum");
  c.nesterov = a.Boolean(5, "nesterov");
  a.SameDType(c.variable, {&c.grad, &c.velocity});
  if (c.momentum != 0.0 && !c.velocity.present()) {
    ThrowTypeError(a.env(), a.api(),
                   "velocity to be a Float32Array or Float64Array when momentum != 0", "null");
  }
  const auto n = static_cast<int64_t>(c.variable.length);
  a.ExpectLength(c.grad, n, "variable.length");
  a.ExpectLength(c.velocity, n, "variable.length");
  a.NoOverlap({&c.variable, &c.velocity}, {&c.grad});
  return c;
}

Napi::Value SgdSync(const Napi::CallbackInfo& info) {
  return RunSync<SgdCall, ParseSgd>(info, "sgdUpdate");
}

}  // namespace

void RegisterOptimizer(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdSync, "sgdUpdate"));
}

}  // namespace binding
}  // namespace normkit
