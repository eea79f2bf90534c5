// The async entry point of every kernel export (the sync one is entry.h's).
//
// A `Call` is a plain struct of pointers, sizes and scalars produced by a
// parse function from the arguments (all checks happen there, on the JS
// thread) with a `Run() const` that calls exactly one kernel. The sync export
// runs it at once; the ...Async export runs it on the libuv pool and returns
// a promise. While the work runs, the worker holds a reference to every typed
// array of the call, so none of their buffers can be collected. Invalid
// arguments reject the promise (nothing is queued); they never throw
// synchronously from an ...Async export and never crash.
//
// Caveat the references cannot cover: if JavaScript transfers (detaches) one
// of the buffers while the work runs, the bytes belong to the new owner;
// callers must not transfer buffers that an unsettled promise is using.
#pragma once

#include <napi.h>

#include <vector>

#include "args.h"

namespace normkit {
namespace binding {

template <class Call>
class KernelWorker final : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, const char* api, const Call& call,
               const std::vector<napi_value>& keep)
      : Napi::AsyncWorker(env, api),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(call) {
    refs_.reserve(keep.size());
    for (napi_value v : keep) refs_.push_back(Napi::Persistent(Napi::Object(env, v)));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { call_.Run(); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Call call_;
  std::vector<Napi::ObjectReference> refs_;
};

// The ...Async export of a kernel (see entry.h): a raw napi callback whose
// errors become a rejected promise. C++ exceptions never cross into V8.
template <class Call, Call (*Parse)(Args&)>
napi_value RunAsync(napi_env raw_env, napi_callback_info info) {
  Napi::Env env(raw_env);
  try {
    try {
      Args args(raw_env, info);
      const Call call = Parse(args);
      auto* worker = new KernelWorker<Call>(env, args.api(), call, args.arrays());
      Napi::Promise promise = worker->Promise();
      worker->Queue();
      return promise;
    } catch (const Napi::Error& e) {
      Napi::Promise::Deferred rejected = Napi::Promise::Deferred::New(env);
      rejected.Reject(e.Value());
      return rejected.Promise();
    }
  } catch (const Napi::Error& e) {  // creating the rejected promise failed
    e.ThrowAsJavaScriptException();
    return nullptr;
  }
}

}  // namespace binding
}  // namespace normkit
