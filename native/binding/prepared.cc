// runPrepared(handle) and the handles of prepareX (see prepared.h).
#include "prepared.h"

#include "entry.h"
#include "errors.h"
#include "exports.h"

namespace normkit {
namespace binding {
namespace {

// Marks the externals this addon created, so runPrepared never reads an
// external of anyone else as a call.
const napi_type_tag kPreparedTag = {0x6e6f726d6b697470ULL, 0x7265706172656431ULL};

void Finalize(napi_env env, void* data, void*) {
  auto* call = static_cast<PreparedCall*>(data);
  for (napi_ref r : call->refs) napi_delete_reference(env, r);
  delete call;
}

napi_value RunPrepared(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value handle = nullptr;
  void* data = nullptr;
  bool ours = false;
  if (napi_get_cb_info(env, info, &argc, &handle, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_check_object_type_tag(env, handle, &kPreparedTag, &ours) != napi_ok || !ours ||
      napi_get_value_external(env, handle, &data) != napi_ok) {
    napi_throw_type_error(env, nullptr,
                          "runPrepared: expected handle to be a prepared kernel call of this "
                          "addon, got another value");
    return nullptr;
  }
  static_cast<const PreparedCall*>(data)->Run();
  return nullptr;
}

}  // namespace

napi_value WrapPrepared(napi_env env, PreparedCall* call, const std::vector<napi_value>& arrays) {
  napi_value external = nullptr;
  napi_status status = napi_ok;
  for (napi_value v : arrays) {
    napi_ref ref = nullptr;
    status = napi_create_reference(env, v, 1, &ref);
    if (status != napi_ok) break;
    call->refs.push_back(ref);
  }
  if (status == napi_ok) status = napi_create_external(env, call, Finalize, nullptr, &external);
  if (status != napi_ok) {
    Finalize(env, call, nullptr);
    NAPI_THROW_IF_FAILED(env, status, nullptr);
  }
  // From here the external owns the call (its finalizer deletes it).
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, external, &kPreparedTag), nullptr);
  return external;
}

void RegisterPrepared(Napi::Env env, Napi::Object exports) {
  RegisterRaw(env, exports, "runPrepared", RunPrepared);
}

}  // namespace binding
}  // namespace normkit
