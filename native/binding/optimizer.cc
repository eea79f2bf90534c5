// Optimizer exports (formulas in optimizer_update.h). All sync: one step of
// one variable is a few flops per element, never worth a thread hop.
//
//   sgdUpdate(variable, grad, velocity|null, learningRate, momentum, nesterov
//             [, gradScale, clipValue, decay])
//   adamUpdate(variable, grad, m, v, vHat|null, learningRate, beta1, beta2, epsilon,
//              step, amsgrad [, gradScale, clipValue, decay])
//   rmspropUpdate(variable, grad, velocity, moment|null, averageGradient|null,
//                 learningRate, rho, momentum, epsilon, centered
//                 [, gradScale, clipValue, decay])
//   adagradUpdate(variable, grad, accumulator, learningRate, epsilon
//                 [, gradScale, clipValue, decay])
//   sumOfSquares(x) -> number
//
// The optional trailing triple is the StepPrelude (clipping and decoupled
// weight decay); when it is absent or the identity, sgdUpdate runs the
// per-ISA SgdUpdate, otherwise the fused SgdStep.
#include "optimizer_update.h"

#include <string>

#include "args.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

// A number that is >= 0 and finite, or NaN when `nan_ok` (a NaN gradient
// scale is how a non-finite global norm poisons the step, as in Keras).
double NonNegative(Args& a, const Napi::CallbackInfo& info, size_t index, const char* name,
                   bool nan_ok) {
  const Napi::Value v = info[index];
  const std::string what =
      std::string(name) + (nan_ok ? " to be a finite number >= 0 or NaN" : " to be a finite number >= 0");
  if (!v.IsNumber()) ThrowTypeError(a.env(), a.api(), what, Describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  const bool ok = (d >= 0.0 && d - d == 0.0) || (nan_ok && d != d);
  if (!ok) ThrowRangeError(a.env(), a.api(), what, Describe(v));
  return d;
}

// The optional (gradScale, clipValue, decay) triple at `index`: all three or none.
StepPrelude ParsePrelude(Args& a, const Napi::CallbackInfo& info, size_t index, bool* present) {
  StepPrelude p;
  *present = !info[index].IsUndefined();
  if (!*present) return p;
  p.grad_scale = NonNegative(a, info, index, "gradScale", true);
  p.clip_value = NonNegative(a, info, index + 1, "clipValue", false);
  p.decay = a.Finite(index + 2, "decay");
  return p;
}

bool IsIdentity(const StepPrelude& p) {
  return p.grad_scale == 1.0 && p.clip_value == 0.0 && p.decay == 0.0;
}

void RequireSlot(Args& a, const ArrayArg& slot, const char* when) {
  if (!slot.present()) {
    ThrowTypeError(a.env(), a.api(),
                   std::string(slot.name) + " to be a Float32Array or Float64Array " + when,
                   "null");
  }
}

struct SgdCall {
  ArrayArg variable, grad, velocity;
  double learning_rate, momentum;
  bool nesterov;
  bool fused;
  StepPrelude prelude;

  void Run() const {
    const auto n = static_cast<int64_t>(variable.length);
    if (variable.dtype == DType::kFloat32) {
      if (fused) {
        SgdStep(variable.as<float>(), grad.as<const float>(), velocity.as<float>(), n, prelude,
                learning_rate, momentum, nesterov);
      } else {
        SgdUpdate(variable.as<float>(), grad.as<const float>(), velocity.as<float>(), n,
                  learning_rate, momentum, nesterov);
      }
    } else {
      if (fused) {
        SgdStep(variable.as<double>(), grad.as<const double>(), velocity.as<double>(), n,
                prelude, learning_rate, momentum, nesterov);
      } else {
        SgdUpdate(variable.as<double>(), grad.as<const double>(), velocity.as<double>(), n,
                  learning_rate, momentum, nesterov);
      }
    }
  }
};

Napi::Value SgdSync(const Napi::CallbackInfo& info) {
  Args a(info, "sgdUpdate");
  SgdCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.velocity = a.OptionalArray(2, "velocity");
  c.learning_rate = a.Finite(3, "learningRate");
  c.momentum = a.Finite(4, "momentum");
  c.nesterov = a.Boolean(5, "nesterov");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, info, 6, &has_prelude);
  c.fused = has_prelude && !IsIdentity(c.prelude);
  a.SameDType(c.variable, {&c.grad, &c.velocity});
  if (c.momentum != 0.0) RequireSlot(a, c.velocity, "when momentum != 0");
  const auto n = static_cast<int64_t>(c.variable.length);
  a.ExpectLength(c.grad, n, "variable.length");
  a.ExpectLength(c.velocity, n, "variable.length");
  a.NoOverlap({&c.variable, &c.velocity}, {&c.grad});
  c.Run();
  return info.Env().Undefined();
}

struct AdamCall {
  ArrayArg variable, grad, m, v, v_hat;
  AdamHyper hyper;
  StepPrelude prelude;

  void Run() const {
    const auto n = static_cast<int64_t>(variable.length);
    if (variable.dtype == DType::kFloat32) {
      AdamStep(variable.as<float>(), grad.as<const float>(), m.as<float>(), v.as<float>(),
               v_hat.as<float>(), n, prelude, hyper);
    } else {
      AdamStep(variable.as<double>(), grad.as<const double>(), m.as<double>(), v.as<double>(),
               v_hat.as<double>(), n, prelude, hyper);
    }
  }
};

Napi::Value AdamSync(const Napi::CallbackInfo& info) {
  Args a(info, "adamUpdate");
  AdamCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.m = a.Array(2, "m");
  c.v = a.Array(3, "v");
  c.v_hat = a.OptionalArray(4, "vHat");
  c.hyper.learning_rate = a.Finite(5, "learningRate");
  c.hyper.beta1 = a.Finite(6, "beta1");
  c.hyper.beta2 = a.Finite(7, "beta2");
  c.hyper.epsilon = a.Finite(8, "epsilon");
  c.hyper.step = a.Dim(9, "step");
  const bool amsgrad = a.Boolean(10, "amsgrad");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, info, 11, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.m, &c.v, &c.v_hat});
  if (amsgrad) RequireSlot(a, c.v_hat, "when amsgrad is true");
  if (!amsgrad && c.v_hat.present()) {
    ThrowTypeError(a.env(), a.api(), "vHat to be null when amsgrad is false", "a typed array");
  }
  const auto n = static_cast<int64_t>(c.variable.length);
  for (const ArrayArg* x : {&c.grad, &c.m, &c.v, &c.v_hat}) a.ExpectLength(*x, n, "variable.length");
  a.NoOverlap({&c.variable, &c.m, &c.v, &c.v_hat}, {&c.grad});
  c.Run();
  return info.Env().Undefined();
}

struct RmspropCall {
  ArrayArg variable, grad, velocity, moment, average_grad;
  RmspropHyper hyper;
  StepPrelude prelude;

  void Run() const {
    const auto n = static_cast<int64_t>(variable.length);
    if (variable.dtype == DType::kFloat32) {
      RmspropStep(variable.as<float>(), grad.as<const float>(), velocity.as<float>(),
                  moment.as<float>(), average_grad.as<float>(), n, prelude, hyper);
    } else {
      RmspropStep(variable.as<double>(), grad.as<const double>(), velocity.as<double>(),
                  moment.as<double>(), average_grad.as<double>(), n, prelude, hyper);
    }
  }
};

Napi::Value RmspropSync(const Napi::CallbackInfo& info) {
  Args a(info, "rmspropUpdate");
  RmspropCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.velocity = a.Array(2, "velocity");
  c.moment = a.OptionalArray(3, "moment");
  c.average_grad = a.OptionalArray(4, "averageGradient");
  c.hyper.learning_rate = a.Finite(5, "learningRate");
  c.hyper.rho = a.Finite(6, "rho");
  c.hyper.momentum = NonNegative(a, info, 7, "momentum", false);
  c.hyper.epsilon = a.Finite(8, "epsilon");
  c.hyper.centered = a.Boolean(9, "centered");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, info, 10, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.velocity, &c.moment, &c.average_grad});
  if (c.hyper.momentum > 0.0) RequireSlot(a, c.moment, "when momentum > 0");
  if (c.hyper.centered) RequireSlot(a, c.average_grad, "when centered is true");
  const auto n = static_cast<int64_t>(c.variable.length);
  for (const ArrayArg* x : {&c.grad, &c.velocity, &c.moment, &c.average_grad}) {
    a.ExpectLength(*x, n, "variable.length");
  }
  a.NoOverlap({&c.variable, &c.velocity, &c.moment, &c.average_grad}, {&c.grad});
  c.Run();
  return info.Env().Undefined();
}

struct AdagradCall {
  ArrayArg variable, grad, accumulator;
  double learning_rate, epsilon;
  StepPrelude prelude;

  void Run() const {
    const auto n = static_cast<int64_t>(variable.length);
    if (variable.dtype == DType::kFloat32) {
      AdagradStep(variable.as<float>(), grad.as<const float>(), accumulator.as<float>(), n,
                  prelude, learning_rate, epsilon);
    } else {
      AdagradStep(variable.as<double>(), grad.as<const double>(), accumulator.as<double>(), n,
                  prelude, learning_rate, epsilon);
    }
  }
};

Napi::Value AdagradSync(const Napi::CallbackInfo& info) {
  Args a(info, "adagradUpdate");
  AdagradCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.accumulator = a.Array(2, "accumulator");
  c.learning_rate = a.Finite(3, "learningRate");
  c.epsilon = a.Finite(4, "epsilon");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, info, 5, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.accumulator});
  const auto n = static_cast<int64_t>(c.variable.length);
  a.ExpectLength(c.grad, n, "variable.length");
  a.ExpectLength(c.accumulator, n, "variable.length");
  a.NoOverlap({&c.variable, &c.accumulator}, {&c.grad});
  c.Run();
  return info.Env().Undefined();
}

Napi::Value SumOfSquaresSync(const Napi::CallbackInfo& info) {
  Args a(info, "sumOfSquares");
  const ArrayArg x = a.Array(0, "x");
  const auto n = static_cast<int64_t>(x.length);
  const double sum = x.dtype == DType::kFloat32 ? SumOfSquares(x.as<const float>(), n)
                                                : SumOfSquares(x.as<const double>(), n);
  return Napi::Number::New(info.Env(), sum);
}

}  // namespace

void RegisterOptimizer(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdSync, "sgdUpdate"));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamSync, "adamUpdate"));
  exports.Set("rmspropUpdate", Napi::Function::New(env, RmspropSync, "rmspropUpdate"));
  exports.Set("adagradUpdate", Napi::Function::New(env, AdagradSync, "adagradUpdate"));
  exports.Set("sumOfSquares", Napi::Function::New(env, SumOfSquaresSync, "sumOfSquares"));
}

}  // namespace binding
}  // namespace normkit
