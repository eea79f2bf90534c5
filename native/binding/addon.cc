// The addon's entry point: registers the exports of every concept file.
// The TypeScript interface of these exports is NativeBinding in lib/native.ts.
// The bench's helpers (noop, streamCopy) are not here: they are an addon of
// their own (native/bench/) that is never shipped.
#include <napi.h>

#include "exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  normkit::binding::RegisterStats(env, exports);
  normkit::binding::RegisterBatchNorm(env, exports);
  normkit::binding::RegisterOptimizer(env, exports);
  normkit::binding::RegisterInfo(env, exports);
  normkit::binding::RegisterPrepared(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(normkit, Init)
