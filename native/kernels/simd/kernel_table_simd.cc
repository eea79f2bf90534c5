// This ISA's kernel table (kernel_table.h): every kernel of kernel_list.h,
// set by name to the instances that the per-concept sources of the same ISA
// library (simd/*_simd.cc) define.
#include "kernel_table.h"
#include "simd/simd.h"

namespace normkit {
namespace NORMKIT_ISA_NS {

NORMKIT_DEFINE_KERNEL_TABLE()

}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
