# normkit's addon. What is compiled, and with which flags, is native/build.json
# (shared with CMakeLists.txt; why there, see its why_this_file); this file
# arranges it into node-gyp targets.
#
# Everything except the per-ISA kernel libraries compiles for the baseline CPU
# (never a host-tuned -march: prebuilt binaries must run on any x86-64 / arm64
# machine). node-gyp cannot give one file its own flags inside a target, so the
# SIMD sources are compiled by one static library per ISA, each with that ISA's
# flags and namespace macro; dispatch.cc picks one at run time. normkit_kernels
# depends on them, so whatever links normkit_kernels links them all.
#
# normkit_bench (build/Release/normkit_bench.addon) is the bench's own addon
# (native/bench/): built only where its sources are, i.e. in a checkout, never
# from the published package; named so that nothing looking for the addon in
# build/Release can pick it (lib/native.ts's benchBinding() loads it by path).
{
  'includes': ['native/build.json'],
  'variables': {
    'normkit_with_bench%': "<!(node -p \"require('fs').existsSync('native/bench')\")",
  },
  'target_defaults': {
    'defines': ['<@(normkit_defines)'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17'],
    'cflags': ['<@(normkit_cflags)'],
    'cflags_cc': ['<@(normkit_cflags_cc)'],
    'xcode_settings': {
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
      'GCC_OPTIMIZATION_LEVEL': '3',
      'OTHER_CFLAGS': ['-ffp-contract=off'],
      'MACOSX_DEPLOYMENT_TARGET': '11.0',
    },
    'msvs_settings': {
      'VCCLCompilerTool': {
        'ExceptionHandling': 1,
        'AdditionalOptions': ['/std:c++17', '/fp:precise'],
      },
    },
  },
  'targets': [
    {
      'target_name': 'normkit',
      'sources': ['<@(normkit_binding_sources)'],
      'dependencies': ['normkit_kernels'],
      'include_dirs': [
        '<@(normkit_binding_includes)',
        "<!(node -p \"require('node-addon-api').include_dir\")",
      ],
      'defines': ["NORMKIT_VERSION=<!(node -p \"require('./package.json').version\")"],
    },
    {
      'target_name': 'normkit_kernels',
      'type': 'static_library',
      'sources': ['<@(normkit_kernel_sources)'],
      'include_dirs': ['<@(normkit_kernel_includes)'],
      'conditions': [
        ['target_arch=="x64"', {'dependencies': ['normkit_sse2', 'normkit_avx2', 'normkit_avx512']}],
        ['target_arch=="arm64"', {'dependencies': ['normkit_neon']}],
      ],
    },
  ],
  'conditions': [
    ['normkit_with_bench=="true"', {
      'targets': [
        {
          'target_name': 'normkit_bench',
          # Not *.node: node-gyp-build and prebuildify each take the first
          # *.node they list in build/Release, and node-gyp's make always puts
          # a module there (product_dir only adds a copy elsewhere). A
          # target_condition, because node-gyp's addon.gypi sets 'node' in one.
          'target_conditions': [['_type=="loadable_module"', {'product_extension': 'addon'}]],
          'sources': ['<@(normkit_bench_sources)'],
          'dependencies': ['normkit_kernels'],
          'include_dirs': [
            '<@(normkit_binding_includes)',
            "<!(node -p \"require('node-addon-api').include_dir\")",
          ],
          'defines': ["NORMKIT_VERSION=<!(node -p \"require('./package.json').version\")"],
        },
      ],
    }],
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'normkit_sse2',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'include_dirs': ['<@(normkit_kernel_includes)'],
          'defines': ['<@(normkit_isa_sse2_defines)'],
          'cflags': ['<@(normkit_isa_sse2_cflags)'],
          'xcode_settings': {'OTHER_CFLAGS': ['<@(normkit_isa_sse2_cflags)', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['<@(normkit_isa_sse2_msvc)']}},
        },
        {
          'target_name': 'normkit_avx2',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'include_dirs': ['<@(normkit_kernel_includes)'],
          'defines': ['<@(normkit_isa_avx2_defines)'],
          'cflags': ['<@(normkit_isa_avx2_cflags)'],
          'xcode_settings': {'OTHER_CFLAGS': ['<@(normkit_isa_avx2_cflags)', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['<@(normkit_isa_avx2_msvc)']}},
        },
        {
          'target_name': 'normkit_avx512',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'include_dirs': ['<@(normkit_kernel_includes)'],
          'defines': ['<@(normkit_isa_avx512_defines)'],
          'cflags': ['<@(normkit_isa_avx512_cflags)'],
          'xcode_settings': {'OTHER_CFLAGS': ['<@(normkit_isa_avx512_cflags)', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['<@(normkit_isa_avx512_msvc)']}},
        },
      ],
    }],
    ['target_arch=="arm64"', {
      'targets': [
        {
          'target_name': 'normkit_neon',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'include_dirs': ['<@(normkit_kernel_includes)'],
          'defines': ['<@(normkit_isa_neon_defines)'],
          'cflags': ['<@(normkit_isa_neon_cflags)'],
          'xcode_settings': {'OTHER_CFLAGS': ['<@(normkit_isa_neon_cflags)', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['<@(normkit_isa_neon_msvc)']}},
        },
      ],
    }],
  ],
}
