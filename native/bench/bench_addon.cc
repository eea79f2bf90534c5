// The bench's own addon, build/Release/bench/normkit_bench.node: never part
// of what users install (binding.gyp builds it only where this folder exists,
// and package.json's "files" leaves it out). lib/native.ts's benchBinding()
// loads it.
//
//   noop(a, b)            the call-overhead floor: unwraps two typed arrays
//                         and returns, registered and entered exactly as the
//                         kernel exports (RegisterRaw, Entry, Args), so the
//                         floor moves with every change to their common path
//   streamCopy(src, dst)  the bandwidth roofline, with the active ISA and
//                         thread pool
//   backendInfo, setIsa, setNumThreads   as in the main addon (info.cc)
//
// It links its own copy of the kernels, whose state (active ISA, thread
// count) is its own: lib/native.ts copies the main addon's into it when it
// loads it and forwards every later setIsa / setNumThreads, so the roofline
// always runs at the ISA and thread count of the row it is compared with.
#include <napi.h>

#include "binding/args.h"
#include "binding/entry.h"
#include "binding/exports.h"
#include "kernels/stream_copy.h"

namespace normkit {
namespace binding {
namespace {

napi_value Noop(Args& a) {
  a.Array(0, "a");
  a.Array(1, "b");
  return nullptr;
}

struct CopyCall {
  ArrayArg src, dst;

  void Run() const {
    WithDType(src.dtype, [&](auto tag) {
      using T = ValueOf<decltype(tag)>;
      StreamCopy(src.as<const T>(), dst.as<T>(), static_cast<int64_t>(src.length));
    });
  }
};

CopyCall ParseCopy(Args& a) {
  CopyCall c;
  c.src = a.Array(0, "src");
  c.dst = a.Array(1, "dst");
  a.SameDType(c.src, {&c.dst});
  a.ExpectLength(c.dst, static_cast<int64_t>(c.src.length), "src.length");
  a.NoOverlap({&c.dst}, {&c.src});
  return c;
}

void RegisterBench(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "noop", Entry<Noop>);
  RegisterSync<CopyCall, ParseCopy>(env, exports, "streamCopy");
}

}  // namespace
}  // namespace binding
}  // namespace normkit

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  normkit::binding::RegisterBench(env, exports);
  normkit::binding::RegisterInfo(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(normkit_bench, Init)
