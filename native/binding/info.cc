// backendInfo(), setIsa(name), setNumThreads(n).
#include <string>

#include "args.h"
#include "dispatch.h"
#include "errors.h"
#include "exports.h"
#include "plan.h"
#include "thread_pool.h"

// NORMKIT_VERSION is the bare package.json version (binding.gyp passes it).
#define NORMKIT_STR2(x) #x
#define NORMKIT_STR(x) NORMKIT_STR2(x)

namespace normkit {
namespace binding {
namespace {

constexpr Isa kIsasLowFirst[] = {Isa::kScalar, Isa::kSse2, Isa::kNeon, Isa::kAvx2, Isa::kAvx512};
constexpr int kMaxThreads = 1024;

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", IsaName(ActiveIsa()));
  Napi::Array available = Napi::Array::New(env);
  uint32_t n = 0;
  for (Isa isa : kIsasLowFirst) {
    if (IsaSupported(isa)) available.Set(n++, IsaName(isa));
  }
  out.Set("isaAvailable", available);
  out.Set("threads", NumThreads());
  out.Set("version", NORMKIT_STR(NORMKIT_VERSION));
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("fuseBudgetBytes", static_cast<double>(FuseBudgetBytes()));
  out.Set("streamThresholdBytes", static_cast<double>(StreamThresholdBytes()));
  return out;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string choices;
  for (Isa isa : kIsasLowFirst) {
    if (IsaSupported(isa)) choices += (choices.empty() ? "\"" : ", \"") + std::string(IsaName(isa)) + "\"";
  }
  const std::string what = "name to be one of " + choices + " (this build and CPU)";
  const Napi::Value v = info[0];
  if (!v.IsString()) ThrowTypeError(env, "setIsa", what, Describe(v));
  Isa isa;
  if (!ParseIsa(v.As<Napi::String>().Utf8Value().c_str(), &isa) || !SetActiveIsa(isa)) {
    ThrowRangeError(env, "setIsa", what, Describe(v));
  }
  return env.Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setNumThreads");
  const int64_t n = a.Dim(0, "n");
  if (n > kMaxThreads) {
    ThrowRangeError(info.Env(), "setNumThreads", "n to be at most " + std::to_string(kMaxThreads),
                    std::to_string(n));
  }
  SetNumThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetThreads, "setNumThreads"));
}

}  // namespace binding
}  // namespace normkit
