// How every export is registered and entered: one style for the whole addon.
//
// Each export is a plain Node-API function (RegisterRaw) whose data pointer
// is its name, entered through one raw callback that unwraps the arguments
// into an Args on the stack and turns a thrown Napi::Error into the
// JavaScript exception. No node-addon-api wrapper sits in the call path:
// that path is what a call on a tiny tensor costs (bench/RESULTS.md, "Call
// overhead"), and the bench's noop floor is entered the same way.
//
// A kernel export is a `Call` (a plain struct of pointers, sizes and scalars
// with `Run() const`, which calls exactly one kernel and returns nothing or a
// number) and a parse function `Call Parse(Args&)` that does every check on
// the JS thread. RegisterKernel exports it three ways: sync, ...Async
// (async.h) and prepare... (prepared.h). Other exports are a body
// `napi_value Body(Args&)` registered with Entry<Body>.
#pragma once

#include <napi.h>

#include <type_traits>
#include <utility>

#include "args.h"
#include "async.h"
#include "prepared.h"

namespace normkit {
namespace binding {

// Registers `cb` as exports[name], with the name as its data pointer (what
// Args reads as the api name in every message).
inline void RegisterRaw(Napi::Env env, Napi::Object exports, const char* name, napi_callback cb) {
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, cb,
                                                      const_cast<char*>(name), &fn));
  exports.Set(name, Napi::Value(env, fn));
}

// The one sync entry: Body's result, or its Napi::Error thrown in JavaScript
// (as node-addon-api's own wrapper does). nullptr reads as undefined.
template <napi_value (*Body)(Args&)>
napi_value Entry(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info);
    return Body(args);
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

// The body of a sync kernel export: parse, run, return undefined (or the
// number Run returns).
template <class Call, Call (*Parse)(Args&)>
napi_value SyncCall(Args& args) {
  if constexpr (std::is_void_v<decltype(std::declval<const Call&>().Run())>) {
    Parse(args).Run();
    return nullptr;
  } else {
    return Napi::Number::New(args.env(), Parse(args).Run());
  }
}

// A kernel exported sync only (the optimizer steps: a few flops per element,
// never worth a thread hop).
template <class Call, Call (*Parse)(Args&)>
void RegisterSync(Napi::Env env, Napi::Object exports, const char* name) {
  RegisterRaw(env, exports, name, Entry<SyncCall<Call, Parse>>);
}

// The names of a kernel's three exports, e.g. {"channelStats",
// "channelStatsAsync", "prepareChannelStats"}: each is the api of its messages.
struct KernelNames {
  const char* sync;
  const char* async;
  const char* prepare;
};

template <class Call, Call (*Parse)(Args&)>
void RegisterKernel(Napi::Env env, Napi::Object exports, const KernelNames& names) {
  RegisterSync<Call, Parse>(env, exports, names.sync);
  RegisterRaw(env, exports, names.async, RunAsync<Call, Parse>);
  RegisterRaw(env, exports, names.prepare, Prepare<Call, Parse>);
}

}  // namespace binding
}  // namespace normkit
