// Argument unwrapping for the exports: the binding's half of the validation
// boundary (types, lengths, aliasing). Meaning (shapes, axes, ranges) is
// checked in TypeScript first; these checks repeat the cheap ones because the
// binding can be called directly, and a kernel trusts its preconditions.
//
// Rules: float arrays are Float32Array or Float64Array, all of one dtype per
// call, over a live (not detached) ArrayBuffer or a SharedArrayBuffer; sizes
// are positive safe integers whose product matches the lengths; epsilon is
// finite and > 0; outputs overlap neither inputs nor each other, except for
// the one in-place pair a kernel header allows, which must then be the very
// same bytes.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "dtype.h"
#include "errors.h"
#include "kernels/layout.h"

namespace normkit {
namespace binding {

// A float typed-array argument after the type checks.
struct ArrayArg {
  const char* name = nullptr;
  DType dtype = DType::kNone;  // kNone: an optional argument passed as null/undefined
  void* data = nullptr;
  size_t length = 0;
  size_t byte_length = 0;

  bool present() const { return dtype != DType::kNone; }
  template <class T>
  T* as() const { return static_cast<T*>(data); }
};

class Args {
 public:
  // Arguments past this index read as undefined (no export takes more).
  static constexpr size_t kMaxArgs = 16;

  // Every export is a raw napi_callback (see entry.h): one napi_get_cb_info
  // into a stack array. node-addon-api's CallbackInfo holds 6 values inline and
  // heap-allocates (and asks V8 a second time) beyond that, which every
  // kernel export (10-12 arguments) would pay on each call. `api` is the
  // callback's data pointer (the export's name) unless given.
  Args(napi_env env, napi_callback_info info, const char* api = nullptr) : env_(env), api_(api) {
    size_t argc = kMaxArgs;
    void* data = nullptr;
    NAPI_THROW_IF_FAILED_VOID(env, napi_get_cb_info(env, info, &argc, argv_, nullptr, &data));
    if (api_ == nullptr) api_ = static_cast<const char*>(data);
  }

  Napi::Env env() const { return Napi::Env(env_); }
  const char* api() const { return api_; }
  Napi::Value Arg(size_t index) const { return Napi::Value(env_, argv_[index]); }

  // Every typed array unwrapped so far (async calls keep them alive).
  std::vector<napi_value> arrays() const { return std::vector<napi_value>(arrays_, arrays_ + count_); }

  ArrayArg Array(size_t index, const char* name) { return Unwrap(index, name, false); }
  ArrayArg OptionalArray(size_t index, const char* name) { return Unwrap(index, name, true); }

  // outer, channels, inner at index, index + 1, index + 2.
  Layout Dims(size_t index) {
    Layout l;
    l.outer = Dim(index, "outer");
    l.channels = Dim(index + 1, "channels");
    l.inner = Dim(index + 2, "inner");
    if (l.outer > INT64_MAX / l.channels || l.outer * l.channels > INT64_MAX / l.inner) {
      ThrowRangeError(env(), api_, "outer*channels*inner to fit in 64 bits", Product(l));
    }
    return l;
  }

  // A positive safe integer (1 .. 2^53 - 1).
  int64_t Dim(size_t index, const char* name) {
    double d;
    if (napi_get_value_double(env_, argv_[index], &d) != napi_ok) {
      ThrowTypeError(env(), api_, std::string(name) + " to be a positive safe integer", Describe(Arg(index)));
    }
    if (!(d >= 1.0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      ThrowRangeError(env(), api_, std::string(name) + " to be a positive safe integer", Describe(Arg(index)));
    }
    return static_cast<int64_t>(d);
  }

  double Finite(size_t index, const char* name) {
    double d;
    if (napi_get_value_double(env_, argv_[index], &d) != napi_ok) {
      ThrowTypeError(env(), api_, std::string(name) + " to be a finite number", Describe(Arg(index)));
    }
    if (!(d - d == 0.0)) ThrowRangeError(env(), api_, std::string(name) + " to be a finite number", Describe(Arg(index)));
    return d;
  }

  double Epsilon(size_t index, const char* name) {
    double d;
    if (napi_get_value_double(env_, argv_[index], &d) != napi_ok) {
      ThrowTypeError(env(), api_, std::string(name) + " to be a finite number > 0", Describe(Arg(index)));
    }
    if (!(d > 0.0 && d - d == 0.0)) {
      ThrowRangeError(env(), api_, std::string(name) + " to be a finite number > 0", Describe(Arg(index)));
    }
    return d;
  }

  // A number that is >= 0 and finite, or NaN when `nan_ok` (a NaN gradient
  // scale is how a non-finite global norm poisons an optimizer step, as in Keras).
  double NonNegative(size_t index, const char* name, bool nan_ok) {
    double d;
    const bool number = napi_get_value_double(env_, argv_[index], &d) == napi_ok;
    if (number && ((d >= 0.0 && d - d == 0.0) || (nan_ok && d != d))) return d;
    const std::string what =
        std::string(name) + (nan_ok ? " to be a finite number >= 0 or NaN" : " to be a finite number >= 0");
    if (!number) ThrowTypeError(env(), api_, what, Describe(Arg(index)));
    ThrowRangeError(env(), api_, what, Describe(Arg(index)));
  }

  // An optional trailing argument left out (or passed as undefined).
  bool IsUndefined(size_t index) const {
    napi_valuetype t;
    return napi_typeof(env_, argv_[index], &t) == napi_ok && t == napi_undefined;
  }

  bool Boolean(size_t index, const char* name) {
    bool b;
    if (napi_get_value_bool(env_, argv_[index], &b) != napi_ok) {
      ThrowTypeError(env(), api_, std::string(name) + " to be a boolean", Describe(Arg(index)));
    }
    return b;
  }

  // Every present array has the dtype of `first`.
  void SameDType(const ArrayArg& first, std::initializer_list<const ArrayArg*> others) {
    for (const ArrayArg* a : others) {
      if (a->present() && a->dtype != first.dtype) {
        ThrowTypeError(env(), api_,
                       std::string(a->name) + " to be a " + DTypeName(first.dtype) + " like " +
                           first.name,
                       DTypeName(a->dtype));
      }
    }
  }

  void ExpectCount(const ArrayArg& a, const Layout& l) {
    if (!a.present() || static_cast<uint64_t>(a.length) == static_cast<uint64_t>(l.count())) return;
    ThrowLength(a, l.count(), ("outer*channels*inner = " + Product(l)).c_str());
  }

  void ExpectChannels(const ArrayArg& a, const Layout& l) {
    ExpectLength(a, l.channels, "channels");
  }

  void ExpectLength(const ArrayArg& a, int64_t expected, const char* why) {
    if (a.present() && static_cast<uint64_t>(a.length) != static_cast<uint64_t>(expected)) {
      ThrowLength(a, expected, why);
    }
  }

  // The [outer, channels, inner] checks, in order: each of `per_value` holds
  // outer*channels*inner values, each of `per_channel` holds channels.
  void ExpectShapes(const Layout& l, std::initializer_list<const ArrayArg*> per_value,
                    std::initializer_list<const ArrayArg*> per_channel) {
    for (const ArrayArg* a : per_value) ExpectCount(*a, l);
    for (const ArrayArg* a : per_channel) ExpectChannels(*a, l);
  }

  // Each of `arrays` holds `expected` values (`why` says where that comes from).
  void ExpectLengths(std::initializer_list<const ArrayArg*> arrays, int64_t expected, const char* why) {
    for (const ArrayArg* a : arrays) ExpectLength(*a, expected, why);
  }

  // Outputs overlap no input and no other output; `in_place_out` may instead
  // be exactly `in_place_in` (same bytes), as the kernel headers allow.
  void NoOverlap(std::initializer_list<const ArrayArg*> outputs,
                 std::initializer_list<const ArrayArg*> inputs,
                 const ArrayArg* in_place_out = nullptr,
                 const ArrayArg* in_place_in = nullptr) {
    for (auto o = outputs.begin(); o != outputs.end(); ++o) {
      for (auto p = o + 1; p != outputs.end(); ++p) Disjoint(**o, **p, false);
      for (const ArrayArg* in : inputs) {
        Disjoint(**o, *in, *o == in_place_out && in == in_place_in);
      }
    }
  }

 private:
  static const char* DTypeName(DType d) {
    return d == DType::kFloat32 ? "Float32Array" : "Float64Array";
  }

  static std::string Product(const Layout& l) {
    return std::to_string(l.outer) + "*" + std::to_string(l.channels) + "*" +
           std::to_string(l.inner);
  }

  [[noreturn]] void ThrowLength(const ArrayArg& a, int64_t expected, const char* why) {
    ThrowRangeError(env(), api_,
                    std::string(a.name) + " to have length " + std::to_string(expected) + " (" +
                        why + ")",
                    std::to_string(a.length));
  }

  // Absent arrays and empty ones have byte_length 0 and never overlap.
  void Disjoint(const ArrayArg& out, const ArrayArg& in, bool may_be_same) {
    const auto o0 = reinterpret_cast<uintptr_t>(out.data);
    const auto i0 = reinterpret_cast<uintptr_t>(in.data);
    if (!(o0 < i0 + in.byte_length && i0 < o0 + out.byte_length)) return;
    if (out.byte_length == 0 || in.byte_length == 0) return;
    if (may_be_same) {
      if (o0 == i0 && out.byte_length == in.byte_length) return;
      ThrowRangeError(env(), api_,
                      std::string(out.name) + " to be " + in.name +
                          " itself (in place) or not to share memory with it",
                      "a partial overlap");
    }
    ThrowRangeError(env(), api_,
                    std::string(out.name) + " not to share memory with " + in.name,
                    "overlapping arrays");
  }

  // The fast path is one napi_get_typedarray_info call per array, without
  // the ArrayBuffer handle (only an empty view needs it, for the detached
  // check): this runs for every argument of every call, and the bench's
  // call-overhead floor (noop) unwraps two arrays exactly like this.
  // Messages are only built on the way to a throw.
  ArrayArg Unwrap(size_t index, const char* name, bool optional) {
    const napi_value v = argv_[index];
    ArrayArg a;
    a.name = name;
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (napi_get_typedarray_info(env_, v, &type, &length, &data, nullptr, nullptr) == napi_ok &&
        (type == napi_float32_array || type == napi_float64_array)) {
      const bool f32 = type == napi_float32_array;
      a.dtype = f32 ? DType::kFloat32 : DType::kFloat64;
      a.byte_length = length * (f32 ? sizeof(float) : sizeof(double));
      // Views of a transferred (detached) ArrayBuffer report length 0, so
      // only empty views need the check; a SharedArrayBuffer is never detached.
      if (length == 0) CheckNotDetached(v, a);
      a.data = data;
      a.length = length;
      if (count_ < kMaxArrays) arrays_[count_++] = v;
      return a;
    }
    if (optional) {
      napi_valuetype t;
      if (napi_typeof(env_, v, &t) == napi_ok && (t == napi_null || t == napi_undefined)) return a;
    }
    ThrowTypeError(env(), api_,
                   std::string(name) + " to be a Float32Array or Float64Array" +
                       (optional ? " or null" : ""),
                   Describe(Arg(index)));
  }

  void CheckNotDetached(napi_value v, const ArrayArg& a) {
    napi_value buffer;
    NAPI_THROW_IF_FAILED_VOID(env_, napi_get_typedarray_info(env_, v, nullptr, nullptr, nullptr, &buffer, nullptr));
    bool detached = false;
    NAPI_THROW_IF_FAILED_VOID(env_, napi_is_detached_arraybuffer(env_, buffer, &detached));
    if (detached) {
      ThrowTypeError(env(), api_, std::string(a.name) + " to be backed by a live ArrayBuffer",
                     std::string(DTypeName(a.dtype)) + " over a detached ArrayBuffer");
    }
  }

  static constexpr size_t kMaxArrays = 16;
  napi_env env_;
  const char* api_;
  napi_value argv_[kMaxArgs];
  napi_value arrays_[kMaxArrays];
  size_t count_ = 0;
};

}  // namespace binding
}  // namespace normkit
