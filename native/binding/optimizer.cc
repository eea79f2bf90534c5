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
#include "kernels/optimizer_update.h"

#include <string>

#include "args.h"
#include "entry.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

// The optional (gradScale, clipValue, decay) triple at `index`: all three or none.
StepPrelude ParsePrelude(Args& a, size_t index, bool* present) {
  StepPrelude p;
  *present = !a.IsUndefined(index);
  if (!*present) return p;
  p.grad_scale = a.NonNegative(index, "gradScale", true);
  p.clip_value = a.NonNegative(index + 1, "clipValue", false);
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

int64_t Count(const ArrayArg& variable) { return static_cast<int64_t>(variable.length); }

struct SgdCall {
  ArrayArg variable, grad, velocity;
  double learning_rate, momentum;
  bool nesterov;
  bool fused;
  StepPrelude prelude;

  void Run() const {
    WithDType(variable.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      if (fused) {
        SgdStep(variable.as<T>(), grad.as<const T>(), velocity.as<T>(), Count(variable), prelude,
                learning_rate, momentum, nesterov);
      } else {
        SgdUpdate(variable.as<T>(), grad.as<const T>(), velocity.as<T>(), Count(variable),
                  learning_rate, momentum, nesterov);
      }
    });
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
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, 6, &has_prelude);
  c.fused = has_prelude && !IsIdentity(c.prelude);
  a.SameDType(c.variable, {&c.grad, &c.velocity});
  if (c.momentum != 0.0) RequireSlot(a, c.velocity, "when momentum != 0");
  a.ExpectLengths({&c.grad, &c.velocity}, Count(c.variable), "variable.length");
  a.NoOverlap({&c.variable, &c.velocity}, {&c.grad});
  return c;
}

struct AdamCall {
  ArrayArg variable, grad, m, v, v_hat;
  AdamHyper hyper;
  StepPrelude prelude;

  void Run() const {
    WithDType(variable.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      AdamStep(variable.as<T>(), grad.as<const T>(), m.as<T>(), v.as<T>(), v_hat.as<T>(),
               Count(variable), prelude, hyper);
    });
  }
};

AdamCall ParseAdam(Args& a) {
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
  c.prelude = ParsePrelude(a, 11, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.m, &c.v, &c.v_hat});
  if (amsgrad) RequireSlot(a, c.v_hat, "when amsgrad is true");
  if (!amsgrad && c.v_hat.present()) {
    ThrowTypeError(a.env(), a.api(), "vHat to be null when amsgrad is false", "a typed array");
  }
  a.ExpectLengths({&c.grad, &c.m, &c.v, &c.v_hat}, Count(c.variable), "variable.length");
  a.NoOverlap({&c.variable, &c.m, &c.v, &c.v_hat}, {&c.grad});
  return c;
}

struct RmspropCall {
  ArrayArg variable, grad, velocity, moment, average_grad;
  RmspropHyper hyper;
  StepPrelude prelude;

  void Run() const {
    WithDType(variable.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      RmspropStep(variable.as<T>(), grad.as<const T>(), velocity.as<T>(), moment.as<T>(),
                  average_grad.as<T>(), Count(variable), prelude, hyper);
    });
  }
};

RmspropCall ParseRmsprop(Args& a) {
  RmspropCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.velocity = a.Array(2, "velocity");
  c.moment = a.OptionalArray(3, "moment");
  c.average_grad = a.OptionalArray(4, "averageGradient");
  c.hyper.learning_rate = a.Finite(5, "learningRate");
  c.hyper.rho = a.Finite(6, "rho");
  c.hyper.momentum = a.NonNegative(7, "momentum", false);
  c.hyper.epsilon = a.Finite(8, "epsilon");
  c.hyper.centered = a.Boolean(9, "centered");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, 10, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.velocity, &c.moment, &c.average_grad});
  if (c.hyper.momentum > 0.0) RequireSlot(a, c.moment, "when momentum > 0");
  if (c.hyper.centered) RequireSlot(a, c.average_grad, "when centered is true");
  a.ExpectLengths({&c.grad, &c.velocity, &c.moment, &c.average_grad}, Count(c.variable),
                  "variable.length");
  a.NoOverlap({&c.variable, &c.velocity, &c.moment, &c.average_grad}, {&c.grad});
  return c;
}

struct AdagradCall {
  ArrayArg variable, grad, accumulator;
  double learning_rate, epsilon;
  StepPrelude prelude;

  void Run() const {
    WithDType(variable.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      AdagradStep(variable.as<T>(), grad.as<const T>(), accumulator.as<T>(), Count(variable),
                  prelude, learning_rate, epsilon);
    });
  }
};

AdagradCall ParseAdagrad(Args& a) {
  AdagradCall c;
  c.variable = a.Array(0, "variable");
  c.grad = a.Array(1, "grad");
  c.accumulator = a.Array(2, "accumulator");
  c.learning_rate = a.Finite(3, "learningRate");
  c.epsilon = a.Finite(4, "epsilon");
  bool has_prelude = false;
  c.prelude = ParsePrelude(a, 5, &has_prelude);
  a.SameDType(c.variable, {&c.grad, &c.accumulator});
  a.ExpectLengths({&c.grad, &c.accumulator}, Count(c.variable), "variable.length");
  a.NoOverlap({&c.variable, &c.accumulator}, {&c.grad});
  return c;
}

// sumOfSquares(x) -> sum(x[i]^2), accumulated in double.
struct SumOfSquaresCall {
  ArrayArg x;

  double Run() const {
    return WithDType(x.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      return SumOfSquares(x.as<const T>(), Count(x));
    });
  }
};

SumOfSquaresCall ParseSumOfSquares(Args& a) { return SumOfSquaresCall{a.Array(0, "x")}; }

}  // namespace

void RegisterOptimizer(Napi::Env env, Napi::Object exports) {
  RegisterSync<SgdCall, ParseSgd>(env, exports, "sgdUpdate");
  RegisterSync<AdamCall, ParseAdam>(env, exports, "adamUpdate");
  RegisterSync<RmspropCall, ParseRmsprop>(env, exports, "rmspropUpdate");
  RegisterSync<AdagradCall, ParseAdagrad>(env, exports, "adagradUpdate");
  RegisterSync<SumOfSquaresCall, ParseSumOfSquares>(env, exports, "sumOfSquares");
}

}  // namespace binding
}  // namespace normkit
