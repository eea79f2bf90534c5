# The one list of normkit's C++ sources, included by binding.gyp (and parsed
# by CMakeLists.txt). Paths are relative to the package root.
{
  'variables': {
    # Compiled once, for the baseline CPU, into the addon.
    'normkit_kernel_sources': [
      'native/kernels/dispatch.cc',
      'native/kernels/optimizer_update.cc',
      'native/kernels/plan.cc',
      'native/kernels/reference.cc',
      'native/kernels/thread_pool.cc',
    ],
    # Compiled once per ISA, each time with other -m flags and one of
    # NORMKIT_SIMD_SSE2 / _AVX2 / _AVX512 / _NEON: one source per kernel
    # concept plus the ISA's kernel table.
    'normkit_simd_sources': [
      'native/kernels/simd/batch_norm_simd.cc',
      'native/kernels/simd/channel_stats_simd.cc',
      'native/kernels/simd/kernel_table_simd.cc',
      'native/kernels/simd/optimizer_update_simd.cc',
      'native/kernels/simd/stream_copy_simd.cc',
    ],
    'normkit_binding_sources': [
      'native/binding/addon.cc',
      'native/binding/batch_norm.cc',
      'native/binding/bench.cc',
      'native/binding/info.cc',
      'native/binding/optimizer.cc',
      'native/binding/prepared.cc',
      'native/binding/stats.cc',
    ],
  },
}
