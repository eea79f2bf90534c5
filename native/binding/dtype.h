// The element types a kernel export takes, and the one place that turns the
// run-time dtype of a call into the compile-time type of its kernel.
#pragma once

namespace normkit {
namespace binding {

enum class DType { kNone, kFloat32, kFloat64 };

// The C++ type of a dtype, passed to WithDType's callback as a value.
template <class T>
struct DTypeTag {
  using type = T;
};
template <class Tag>
using ValueOf = typename Tag::type;

// Calls fn(DTypeTag<float>{}) or fn(DTypeTag<double>{}) and returns what it
// returns; the callback is one generic lambda, so each kernel call is written
// once for both dtypes:
//   WithDType(x.dtype, [&](auto tag) { using T = ValueOf<decltype(tag)>; Kernel(x.as<const T>(), ...); });
// `dtype` is that of a present array (kFloat32 or kFloat64).
template <class Fn>
decltype(auto) WithDType(DType dtype, Fn&& fn) {
  if (dtype == DType::kFloat32) return fn(DTypeTag<float>{});
  return fn(DTypeTag<double>{});
}

}  // namespace binding
}  // namespace normkit
