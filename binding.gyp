# normkit's addon. Everything except the per-ISA kernel libraries compiles for
# the baseline CPU (never a host-tuned -march: prebuilt binaries must run on any
# x86-64 / arm64 machine). node-gyp cannot give one file its own flags inside a
# target, so native/kernels/simd/*_simd.cc are compiled by one static library per ISA, each
# with that ISA's flags and namespace macro, and all are linked into the addon;
# dispatch.cc picks one at run time.
{
  'includes': ['native/sources.gypi'],
  'target_defaults': {
    'include_dirs': ['native/kernels'],
    'defines': [
      'NAPI_VERSION=8',
      'NODE_ADDON_API_DISABLE_DEPRECATED',
      'NAPI_CPP_EXCEPTIONS',
    ],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17'],
    # -ffp-contract=off: a*b+c is never fused behind our back, so vector lanes
    # and scalar tails round identically (fusion is always spelled out).
    'cflags': ['-O3', '-fPIC', '-fvisibility=hidden', '-ffp-contract=off'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-fvisibility-inlines-hidden'],
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
      'sources': [
        '<@(normkit_kernel_sources)',
        '<@(normkit_binding_sources)',
      ],
      'include_dirs': [
        "<!(node -p \"require('node-addon-api').include_dir\")",
      ],
      'defines': [
        "NORMKIT_VERSION=<!(node -p \"require('./package.json').version\")",
      ],
      'conditions': [
        ['target_arch=="x64"', {
          'dependencies': ['normkit_sse2', 'normkit_avx2', 'normkit_avx512'],
        }],
        ['target_arch=="arm64"', {
          'dependencies': ['normkit_neon'],
        }],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'normkit_sse2',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'defines': ['NORMKIT_SIMD_SSE2'],
          'cflags': ['-msse2'],
          'xcode_settings': {'OTHER_CFLAGS': ['-msse2', '-ffp-contract=off']},
        },
        {
          'target_name': 'normkit_avx2',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'defines': ['NORMKIT_SIMD_AVX2'],
          'cflags': ['-mavx2', '-mfma'],
          'xcode_settings': {'OTHER_CFLAGS': ['-mavx2', '-mfma', '-ffp-contract=off']},
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX2']}},
        },
        {
          'target_name': 'normkit_avx512',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'defines': ['NORMKIT_SIMD_AVX512'],
          'cflags': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma'],
          'xcode_settings': {
            'OTHER_CFLAGS': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2',
                             '-mfma', '-ffp-contract=off'],
          },
          'msvs_settings': {'VCCLCompilerTool': {'AdditionalOptions': ['/arch:AVX512']}},
        },
      ],
    }],
    ['target_arch=="arm64"', {
      'targets': [
        {
          'target_name': 'normkit_neon',
          'type': 'static_library',
          'sources': ['<@(normkit_simd_sources)'],
          'defines': ['NORMKIT_SIMD_NEON'],
        },
      ],
    }],
  ],
}
