// Bench helpers: noop(a, b), the call-overhead floor (unwraps two typed
// arrays exactly as a kernel export does, then returns), and
// streamCopy(src, dst), the bandwidth roofline.
#include "stream_copy.h"

#include "args.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

// Registered and entered exactly as the kernel exports (RegisterRaw, Args),
// so the floor moves with every change to their common path.
napi_value Noop(napi_env env, napi_callback_info info) {
  try {
    Args a(env, info);
    a.Array(0, "a");
    a.Array(1, "b");
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Args a(info, "streamCopy");
  const ArrayArg src = a.Array(0, "src");
  const ArrayArg dst = a.Array(1, "dst");
  a.SameDType(src, {&dst});
  a.ExpectLength(dst, static_cast<int64_t>(src.length), "src.length");
  a.NoOverlap({&dst}, {&src});
  const auto n = static_cast<int64_t>(src.length);
  if (src.dtype == DType::kFloat32) {
    StreamCopy(src.as<const float>(), dst.as<float>(), n);
  } else {
    StreamCopy(src.as<const double>(), dst.as<double>(), n);
  }
  return info.Env().Undefined();
}

}  // namespace

void RegisterBench(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "noop", Noop);
  exports.Set("streamCopy", Napi::Function::New(env, Copy, "streamCopy"));
}

}  // namespace binding
}  // namespace normkit
