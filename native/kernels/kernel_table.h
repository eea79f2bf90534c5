// The function-pointer table every ISA fills and the dispatcher selects,
// generated from kernel_list.h (which says how to add a kernel).
//
// Each ISA is a namespace (normkit::scalar, normkit::sse2, normkit::avx2,
// normkit::avx512, normkit::neon) holding, for every kernel of the list, a
// function template with the kernel's name, instantiated for float and
// double next to its definition, plus one `kTable` pointing at those
// instances. dispatch.cc forwards each public function through the active
// table, so an ISA is chosen once per call with a single indirect call and no
// name carries the ISA.
#pragma once

#include <type_traits>

#include "kernel_list.h"
#include "layout.h"

namespace normkit {

// One pointer per kernel, named as the kernel, for one dtype.
template <class T>
struct TypedKernels {
#define NORMKIT_KERNEL_FIELD(T, name, ret, params, args) ret(*name) params = nullptr;
  NORMKIT_KERNELS(NORMKIT_KERNEL_FIELD, T)
#undef NORMKIT_KERNEL_FIELD
};

struct KernelTable {
  TypedKernels<float> f32;
  TypedKernels<double> f64;

  template <class T>
  const TypedKernels<T>& Of() const {
    static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value,
                  "kernels take float or double tensors");
    if constexpr (std::is_same<T, float>::value) {
      return f32;
    } else {
      return f64;
    }
  }
};

// The table of the ISA currently selected (see dispatch.h).
const KernelTable& ActiveKernels();

// What each ISA namespace holds: the kernels of the list and the table.
#define NORMKIT_KERNEL_DECLARATION(T, name, ret, params, args) \
  template <class T>                                           \
  ret name params;
#define NORMKIT_DECLARE_ISA_KERNELS()                   \
  NORMKIT_KERNELS(NORMKIT_KERNEL_DECLARATION, T)        \
  extern const KernelTable kTable;

namespace scalar { NORMKIT_DECLARE_ISA_KERNELS() }
#if defined(__x86_64__) || defined(_M_X64)
namespace sse2 { NORMKIT_DECLARE_ISA_KERNELS() }
namespace avx2 { NORMKIT_DECLARE_ISA_KERNELS() }
namespace avx512 { NORMKIT_DECLARE_ISA_KERNELS() }
#elif defined(__aarch64__) || defined(_M_ARM64)
namespace neon { NORMKIT_DECLARE_ISA_KERNELS() }
#endif

// After the definition of kernel `name` in an ISA namespace: its float and
// double instances, which that ISA's table points at. A definition whose
// signature differs from the list's entry leaves these without a
// definition, a compile error.
#define NORMKIT_KERNEL_INSTANCE(T, name, ret, params, args) template ret name<T> params;
#define NORMKIT_INSTANTIATE_KERNEL(name)                \
  NORMKIT_KERNEL_##name(NORMKIT_KERNEL_INSTANCE, float) \
  NORMKIT_KERNEL_##name(NORMKIT_KERNEL_INSTANCE, double)

// Once per ISA, inside its namespace: kTable, every field set by name to the
// kernel of the same name. Filled at compile time (constexpr), so the table
// is constant data and never depends on static initialization order.
#define NORMKIT_KERNEL_ASSIGN(T, name, ret, params, args) kernels.name = &name<T>;
#define NORMKIT_DEFINE_KERNEL_TABLE()                                             \
  template <class T>                                                              \
  constexpr TypedKernels<T> ThisIsasKernels() {                                   \
    TypedKernels<T> kernels;                                                      \
    NORMKIT_KERNELS(NORMKIT_KERNEL_ASSIGN, T)                                     \
    return kernels;                                                               \
  }                                                                               \
  constexpr KernelTable kThisIsasTable{ThisIsasKernels<float>(), ThisIsasKernels<double>()}; \
  extern const KernelTable kTable = kThisIsasTable;

}  // namespace normkit
