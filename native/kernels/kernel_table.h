// The function-pointer table every ISA fills and the dispatcher selects.
//
// Each ISA is a namespace (normkit::scalar, normkit::sse2, normkit::avx2,
// normkit::avx512, normkit::neon) holding functions with the public names and
// signatures of channel_stats.h, batch_norm.h, optimizer_update.h and
// stream_copy.h, plus one `kTable` pointing at them. dispatch.cc forwards each
// public function through the active table, so an ISA is chosen once per call
// with a single indirect call and no name carries the ISA.
#pragma once

#include <cstdint>

#include "layout.h"

namespace normkit {

struct KernelTable {
  void (*channel_stats_f32)(const float*, Layout, float*, float*);
  void (*channel_stats_f64)(const double*, Layout, double*, double*);
  void (*train_forward_f32)(const float*, Layout, const float*, const float*,
                            double, float*, float*, float*, float*);
  void (*train_forward_f64)(const double*, Layout, const double*,
                            const double*, double, double*, double*, double*,
                            double*);
  void (*infer_forward_f32)(const float*, Layout, const float*, const float*,
                            const float*, const float*, double, float*);
  void (*infer_forward_f64)(const double*, Layout, const double*,
                            const double*, const double*, const double*,
                            double, double*);
  void (*backward_f32)(const float*, const float*, Layout, const float*,
                       const float*, const float*, bool, float*, float*,
                       float*);
  void (*backward_f64)(const double*, const double*, Layout, const double*,
                       const double*, const double*, bool, double*, double*,
                       double*);
  void (*sgd_f32)(float*, const float*, float*, int64_t, double, double, bool);
  void (*sgd_f64)(double*, const double*, double*, int64_t, double, double,
                  bool);
  void (*stream_copy_f32)(const float*, float*, int64_t);
  void (*stream_copy_f64)(const double*, double*, int64_t);
};

// The table of the ISA currently selected (see dispatch.h).
const KernelTable& ActiveKernels();

namespace scalar { extern const KernelTable kTable; }
#if defined(__x86_64__) || defined(_M_X64)
namespace sse2 { extern const KernelTable kTable; }
namespace avx2 { extern const KernelTable kTable; }
namespace avx512 { extern const KernelTable kTable; }
#elif defined(__aarch64__) || defined(_M_ARM64)
namespace neon { extern const KernelTable kTable; }
#endif

}  // namespace normkit
