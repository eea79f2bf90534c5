// backendInfo(), setIsa(name), setNumThreads(n).
#include <string>

#include "args.h"
#include "entry.h"
#include "errors.h"
#include "exports.h"
#include "kernels/dispatch.h"
#include "kernels/plan.h"
#include "kernels/thread_pool.h"

// NORMKIT_VERSION is the bare package.json version (binding.gyp passes it).
#define NORMKIT_STR2(x) #x
#define NORMKIT_STR(x) NORMKIT_STR2(x)

namespace normkit {
namespace binding {
namespace {

constexpr Isa kIsasLowFirst[] = {Isa::kScalar, Isa::kSse2, Isa::kNeon, Isa::kAvx2, Isa::kAvx512};
constexpr int kMaxThreads = 1024;

napi_value BackendInfo(Args& a) {
  Napi::Env env = a.env();
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

napi_value SetIsa(Args& a) {
  std::string choices;
  for (Isa isa : kIsasLowFirst) {
    if (IsaSupported(isa)) choices += (choices.empty() ? "\"" : ", \"") + std::string(IsaName(isa)) + "\"";
  }
  const std::string what = "name to be one of " + choices + " (this build and CPU)";
  const Napi::Value v = a.Arg(0);
  if (!v.IsString()) ThrowTypeError(a.env(), a.api(), what, Describe(v));
  Isa isa;
  if (!ParseIsa(v.As<Napi::String>().Utf8Value().c_str(), &isa) || !SetActiveIsa(isa)) {
    ThrowRangeError(a.env(), a.api(), what, Describe(v));
  }
  return nullptr;
}

napi_value SetThreads(Args& a) {
  const int64_t n = a.Dim(0, "n");
  if (n > kMaxThreads) {
    ThrowRangeError(a.env(), a.api(), "n to be at most " + std::to_string(kMaxThreads),
                    std::to_string(n));
  }
  SetNumThreads(static_cast<int>(n));
  return nullptr;
}

}  // namespace

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "backendInfo", Entry<BackendInfo>);
  RegisterRaw(env, exports, "setIsa", Entry<SetIsa>);
  RegisterRaw(env, exports, "setNumThreads", Entry<SetThreads>);
}

}  // namespace binding
}  // namespace normkit
