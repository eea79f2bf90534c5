// Prepared calls: a kernel call parsed and checked once, then run any number
// of times through runPrepared(handle) with no argument unwrapping.
//
// prepareX(...) takes exactly X's arguments and runs X's parse function
// (every type, length and aliasing check), then returns an external that
// holds the parsed call (its data pointers) and a strong reference to each
// of its typed arrays, released when the external is collected.
// runPrepared(handle) runs the call on the arrays' current contents.
//
// Why: unwrapping a typed array through Node-API costs ~30 ns, so a
// six-array call on a tiny tensor pays ~6x the kernel's own time before it
// starts; a service's hot loop calls with the same buffers every time.
//
// What the handle cannot see: a buffer detached (transferred) or shrunk
// after prepare. The data pointers would then be stale, so the caller must
// check, right before each run, that every array still has its prepared
// length (a detached view reads as length 0). lib/kernels/prepared.ts's
// PreparedKernel does; runPrepared is not a public export. Pointers of
// attached arrays never move: parse already moved any on-heap typed array
// off the heap (napi_get_typedarray_info does when asked for the data).
#pragma once

#include <napi.h>

#include <vector>

#include "args.h"

namespace normkit {
namespace binding {

class PreparedCall {
 public:
  virtual ~PreparedCall() = default;
  virtual void Run() const = 0;

  std::vector<napi_ref> refs;  // one per typed array of the call
};

template <class Call>
class PreparedCallOf final : public PreparedCall {
 public:
  explicit PreparedCallOf(const Call& call) : call_(call) {}
  void Run() const override { call_.Run(); }

 private:
  Call call_;
};

// Wraps `call` (which owns nothing yet) in an external with references to
// `arrays`; throws a Napi::Error when Node-API refuses.
napi_value WrapPrepared(napi_env env, PreparedCall* call, const std::vector<napi_value>& arrays);

template <class Call, Call (*Parse)(Args&)>
napi_value Prepare(napi_env env, napi_callback_info info) {
  try {
    Args args(env, info);
    const Call call = Parse(args);  // before args.arrays(): parsing collects them
    return WrapPrepared(env, new PreparedCallOf<Call>(call), args.arrays());
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  }
  return nullptr;
}

}  // namespace binding
}  // namespace normkit
