// Throw helpers: every message reads `<api>: expected <what>, got <actual>`.
// TypeError for a wrong type, RangeError for a bad size or value. The addon
// is built with NAPI_CPP_EXCEPTIONS: a throw unwinds to the export wrapper,
// which turns it into a JavaScript exception (or a rejected promise, see
// async.h); native code never aborts on user input.
#pragma once

#include <napi.h>

#include <string>

namespace normkit {
namespace binding {

[[noreturn]] inline void ThrowTypeError(Napi::Env env, const char* api,
                                        const std::string& what,
                                        const std::string& actual) {
  throw Napi::TypeError::New(env, std::string(api) + ": expected " + what + ", got " + actual);
}

[[noreturn]] inline void ThrowRangeError(Napi::Env env, const char* api,
                                         const std::string& what,
                                         const std::string& actual) {
  throw Napi::RangeError::New(env, std::string(api) + ": expected " + what + ", got " + actual);
}

inline const char* TypedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: break;  // kinds newer than these headers (Node 24's napi_float16_array, ...)
  }
  return "TypedArray";
}

// A short description of a value for the `got ...` part. Never calls user
// code (no toString on objects).
inline std::string Describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return v.As<Napi::Boolean>().Value() ? "true" : "false";
    case napi_number: return v.ToString().Utf8Value();
    case napi_string: {
      std::string s = v.As<Napi::String>().Utf8Value();
      if (s.size() > 40) s = s.substr(0, 40) + "...";
      return "\"" + s + "\"";
    }
    case napi_bigint: return "a bigint";
    case napi_symbol: return "a symbol";
    case napi_function: return "a function";
    default: break;
  }
  if (v.IsTypedArray()) {
    const Napi::TypedArray t = v.As<Napi::TypedArray>();
    return std::string(TypedArrayName(t.TypedArrayType())) + "(" +
           std::to_string(t.ElementLength()) + ")";
  }
  if (v.IsArrayBuffer()) return "an ArrayBuffer";
  if (v.IsDataView()) return "a DataView";
  if (v.IsArray()) return "an Array";
  return "an object";
}

}  // namespace binding
}  // namespace normkit
