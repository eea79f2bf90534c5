// The tiny vector abstraction the per-ISA sources (simd/*_simd.cc and the
// -inl.h walkers they include) are written against. Exactly one of
// NORMKIT_SIMD_SSE2 / _AVX2 / _AVX512 / _NEON is defined by the build for
// each static library that compiles those sources; it selects the
// intrinsics below and the namespace (NORMKIT_ISA_NS) the kernels live in.
//
// All arithmetic is on vectors of doubles (DVec, kDLanes lanes): float32
// input is widened on load and narrowed on store, so sums and the folded
// affine transform are computed in double whatever the tensor dtype. An
// "input vector" is the values that fill kIn<T> DVecs: 2*kDLanes floats or
// kDLanes doubles.
//
// Everything here is in an anonymous namespace inside the ISA namespace, so
// the per-ISA copies of these inline functions are distinct symbols and the
// linker can never substitute an AVX-512 copy into another ISA's code.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(NORMKIT_SIMD_AVX512)
#define NORMKIT_ISA_NS avx512
#include <immintrin.h>
#elif defined(NORMKIT_SIMD_AVX2)
#define NORMKIT_ISA_NS avx2
#include <immintrin.h>
#elif defined(NORMKIT_SIMD_SSE2)
#define NORMKIT_ISA_NS sse2
#include <emmintrin.h>
#elif defined(NORMKIT_SIMD_NEON)
#define NORMKIT_ISA_NS neon
#include <arm_neon.h>
#else
#error "the sources in simd/ need one of NORMKIT_SIMD_SSE2/AVX2/AVX512/NEON"
#endif

namespace normkit {
namespace NORMKIT_ISA_NS {
namespace {

#if defined(NORMKIT_SIMD_AVX512)

using DVec = __m512d;
constexpr int kDLanes = 8;
inline DVec Zero() { return _mm512_setzero_pd(); }
inline DVec Set1(double v) { return _mm512_set1_pd(v); }
inline DVec LoadD(const double* p) { return _mm512_loadu_pd(p); }
inline void StoreD(double* p, DVec v) { _mm512_storeu_pd(p, v); }
inline DVec Add(DVec a, DVec b) { return _mm512_add_pd(a, b); }
inline DVec Sub(DVec a, DVec b) { return _mm512_sub_pd(a, b); }
inline DVec Mul(DVec a, DVec b) { return _mm512_mul_pd(a, b); }
inline DVec MulAdd(DVec a, DVec b, DVec c) { return _mm512_fmadd_pd(a, b, c); }
using FVec = __m512;
inline FVec LoadF(const float* p) { return _mm512_loadu_ps(p); }
inline FVec Set1F(float v) { return _mm512_set1_ps(v); }
inline FVec SubF(FVec a, FVec b) { return _mm512_sub_ps(a, b); }
// One full-width load, then both halves converted from the register: the
// memory-operand form of vcvtps2pd zmm measured ~40% slower here.
// The all-lanes maskz conversions are the same instructions as
// _mm512_cvtps_pd / _mm512_cvtpd_ps; they avoid GCC 12's false
// -Wmaybe-uninitialized on the _mm256_undefined_ps() inside the plain forms.
inline void Widen(FVec f, DVec* v) {
  __m256 low;  // the low half without _mm512_castps512_ps256 (same warning)
  std::memcpy(&low, &f, sizeof(low));
  v[0] = _mm512_maskz_cvtps_pd(0xFF, low);
  v[1] = _mm512_maskz_cvtps_pd(
      0xFF, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(f), 1)));
}
// Both halves joined in a register, then one 64-byte store: two 32-byte
// stores measured ~10% slower on a 51 MB stream (more store-buffer entries,
// and on a misaligned output twice the line-split stores).
inline __m512 Narrow(const DVec* v) {
  const __m512 low = _mm512_insertf32x8(_mm512_setzero_ps(), _mm512_maskz_cvtpd_ps(0xFF, v[0]), 0);
  return _mm512_insertf32x8(low, _mm512_maskz_cvtpd_ps(0xFF, v[1]), 1);
}
inline void StoreOut(float* p, const DVec* v) { _mm512_storeu_ps(p, Narrow(v)); }
inline void StoreOut(double* p, const DVec* v) { _mm512_storeu_pd(p, v[0]); }
inline void StreamOut(float* p, const DVec* v) { _mm512_stream_ps(p, Narrow(v)); }
inline void StreamOut(double* p, const DVec* v) { _mm512_stream_pd(p, v[0]); }
inline DVec LoadOne(const float* p) { return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p)); }
inline void StoreOne(float* p, DVec v) { _mm256_storeu_ps(p, _mm512_maskz_cvtpd_ps(0xFF, v)); }
constexpr int kCopyBytes = 64;
inline void CopyVec(const char* src, char* dst) {
  _mm512_storeu_si512(dst, _mm512_loadu_si512(src));
}
inline void StreamCopyVec(const char* src, char* dst) {
  _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), _mm512_loadu_si512(src));
}
constexpr bool kHasFma = true;

#elif defined(NORMKIT_SIMD_AVX2)

using DVec = __m256d;
constexpr int kDLanes = 4;
inline DVec Zero() { return _mm256_setzero_pd(); }
inline DVec Set1(double v) { return _mm256_set1_pd(v); }
inline DVec LoadD(const double* p) { return _mm256_loadu_pd(p); }
inline void StoreD(double* p, DVec v) { _mm256_storeu_pd(p, v); }
inline DVec Add(DVec a, DVec b) { return _mm256_add_pd(a, b); }
inline DVec Sub(DVec a, DVec b) { return _mm256_sub_pd(a, b); }
inline DVec Mul(DVec a, DVec b) { return _mm256_mul_pd(a, b); }
inline DVec MulAdd(DVec a, DVec b, DVec c) { return _mm256_fmadd_pd(a, b, c); }
using FVec = __m256;
inline FVec LoadF(const float* p) { return _mm256_loadu_ps(p); }
inline FVec Set1F(float v) { return _mm256_set1_ps(v); }
inline FVec SubF(FVec a, FVec b) { return _mm256_sub_ps(a, b); }
inline void Widen(FVec f, DVec* v) {
  v[0] = _mm256_cvtps_pd(_mm256_castps256_ps128(f));
  v[1] = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
}
inline void StoreOut(float* p, const DVec* v) {
  _mm_storeu_ps(p, _mm256_cvtpd_ps(v[0]));
  _mm_storeu_ps(p + 4, _mm256_cvtpd_ps(v[1]));
}
inline void StoreOut(double* p, const DVec* v) { _mm256_storeu_pd(p, v[0]); }
inline void StreamOut(float* p, const DVec* v) {
  _mm256_stream_ps(p, _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(v[0])),
                                           _mm256_cvtpd_ps(v[1]), 1));
}
inline void StreamOut(double* p, const DVec* v) { _mm256_stream_pd(p, v[0]); }
inline DVec LoadOne(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
inline void StoreOne(float* p, DVec v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v)); }
constexpr int kCopyBytes = 32;
inline void CopyVec(const char* src, char* dst) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
}
inline void StreamCopyVec(const char* src, char* dst) {
  _mm256_stream_si256(reinterpret_cast<__m256i*>(dst),
                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
}
constexpr bool kHasFma = true;

#elif defined(NORMKIT_SIMD_SSE2)

using DVec = __m128d;
constexpr int kDLanes = 2;
inline DVec Zero() { return _mm_setzero_pd(); }
inline DVec Set1(double v) { return _mm_set1_pd(v); }
inline DVec LoadD(const double* p) { return _mm_loadu_pd(p); }
inline void StoreD(double* p, DVec v) { _mm_storeu_pd(p, v); }
inline DVec Add(DVec a, DVec b) { return _mm_add_pd(a, b); }
inline DVec Sub(DVec a, DVec b) { return _mm_sub_pd(a, b); }
inline DVec Mul(DVec a, DVec b) { return _mm_mul_pd(a, b); }
// No FMA in SSE2: two roundings, matched by MulAddScalar below.
inline DVec MulAdd(DVec a, DVec b, DVec c) { return _mm_add_pd(_mm_mul_pd(a, b), c); }
using FVec = __m128;
inline FVec LoadF(const float* p) { return _mm_loadu_ps(p); }
inline FVec Set1F(float v) { return _mm_set1_ps(v); }
inline FVec SubF(FVec a, FVec b) { return _mm_sub_ps(a, b); }
inline void Widen(FVec f, DVec* v) {
  v[0] = _mm_cvtps_pd(f);
  v[1] = _mm_cvtps_pd(_mm_movehl_ps(f, f));
}
inline __m128 Narrow(const DVec* v) { return _mm_movelh_ps(_mm_cvtpd_ps(v[0]), _mm_cvtpd_ps(v[1])); }
inline void StoreOut(float* p, const DVec* v) { _mm_storeu_ps(p, Narrow(v)); }
inline void StoreOut(double* p, const DVec* v) { _mm_storeu_pd(p, v[0]); }
inline void StreamOut(float* p, const DVec* v) { _mm_stream_ps(p, Narrow(v)); }
inline void StreamOut(double* p, const DVec* v) { _mm_stream_pd(p, v[0]); }
// Two floats move as one 64-bit integer lane: _mm_loadl_epi64 and
// _mm_storel_epi64 take unaligned pointers, where _mm_load_sd/_mm_store_sd
// would access a double at a 4-byte-aligned address (undefined behaviour,
// which UBSan reports, for a Float32Array view at an odd offset).
inline DVec LoadOne(const float* p) {
  return _mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline void StoreOne(float* p, DVec v) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(_mm_cvtpd_ps(v)));
}
constexpr int kCopyBytes = 16;
inline void CopyVec(const char* src, char* dst) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
}
inline void StreamCopyVec(const char* src, char* dst) {
  _mm_stream_si128(reinterpret_cast<__m128i*>(dst),
                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
}
constexpr bool kHasFma = false;

#elif defined(NORMKIT_SIMD_NEON)

using DVec = float64x2_t;
constexpr int kDLanes = 2;
inline DVec Zero() { return vdupq_n_f64(0.0); }
inline DVec Set1(double v) { return vdupq_n_f64(v); }
inline DVec LoadD(const double* p) { return vld1q_f64(p); }
inline void StoreD(double* p, DVec v) { vst1q_f64(p, v); }
inline DVec Add(DVec a, DVec b) { return vaddq_f64(a, b); }
inline DVec Sub(DVec a, DVec b) { return vsubq_f64(a, b); }
inline DVec Mul(DVec a, DVec b) { return vmulq_f64(a, b); }
inline DVec MulAdd(DVec a, DVec b, DVec c) { return vfmaq_f64(c, a, b); }
using FVec = float32x4_t;
inline FVec LoadF(const float* p) { return vld1q_f32(p); }
inline FVec Set1F(float v) { return vdupq_n_f32(v); }
inline FVec SubF(FVec a, FVec b) { return vsubq_f32(a, b); }
inline void Widen(FVec f, DVec* v) {
  v[0] = vcvt_f64_f32(vget_low_f32(f));
  v[1] = vcvt_high_f64_f32(f);
}
inline void StoreOut(float* p, const DVec* v) {
  vst1q_f32(p, vcvt_high_f32_f64(vcvt_f32_f64(v[0]), v[1]));
}
inline void StoreOut(double* p, const DVec* v) { vst1q_f64(p, v[0]); }
// No non-temporal store intrinsic in ACLE: streaming falls back to plain stores.
inline void StreamOut(float* p, const DVec* v) { StoreOut(p, v); }
inline void StreamOut(double* p, const DVec* v) { StoreOut(p, v); }
inline DVec LoadOne(const float* p) { return vcvt_f64_f32(vld1_f32(p)); }
inline void StoreOne(float* p, DVec v) { vst1_f32(p, vcvt_f32_f64(v)); }
constexpr int kCopyBytes = 16;
inline void CopyVec(const char* src, char* dst) {
  vst1q_u8(reinterpret_cast<uint8_t*>(dst),
           vld1q_u8(reinterpret_cast<const uint8_t*>(src)));
}
inline void StreamCopyVec(const char* src, char* dst) { CopyVec(src, dst); }
constexpr bool kHasFma = true;

#endif

// Non-temporal stores (StreamOut, StreamCopyVec) write whole vectors past
// the caches, without first reading the line (read-for-ownership); they need
// an address aligned to the vector (kLanes<T> values, kCopyBytes). They are
// weakly ordered: a work item that used them ends with StoreFence(), before
// the pool publishes its completion, so whoever reads the output sees it.
inline void StoreFence() {
#if defined(NORMKIT_SIMD_NEON)
  // StreamOut is a plain store here.
#else
  _mm_sfence();
#endif
}

// Scalar twin of MulAdd for tails: the same rounding as the vector lanes, so
// a value gets the same result whether it lands in a vector or in a tail
// (the build passes -ffp-contract=off, so a*b+c is never fused silently).
inline double MulAddScalar(double a, double b, double c) {
  if constexpr (kHasFma) {
    return __builtin_fma(a, b, c);
  } else {
    return a * b + c;
  }
}

// One DVec of kDLanes values of the tensor dtype, widened / narrowed (the
// float forms are per ISA above).
inline DVec LoadOne(const double* p) { return LoadD(p); }
inline void StoreOne(double* p, DVec v) { StoreD(p, v); }

// Sum of the lanes, lowest lane first (a fixed order).
inline double SumLanes(DVec v) {
  alignas(64) double lanes[kDLanes];
  StoreD(lanes, v);
  double s = lanes[0];
  for (int i = 1; i < kDLanes; ++i) s += lanes[i];
  return s;
}

// DVecs per input vector, and values per input vector.
template <class T>
constexpr int kIn = static_cast<int>(sizeof(double) / sizeof(T));
template <class T>
constexpr int64_t kLanes = int64_t{kIn<T>} * kDLanes;

// Vectors of the tensor dtype itself (FVec for float, DVec for double), for
// the one operation done before widening: subtracting a per-channel value of
// the same dtype (see StatsOp in value_ops-inl.h).
template <class T>
struct Native;
template <>
struct Native<float> {
  using V = FVec;
  static V Load(const float* p) { return LoadF(p); }
  static V Set1(float v) { return Set1F(v); }
  static V Sub(V a, V b) { return SubF(a, b); }
  static void Widen(V f, DVec* v) { normkit::NORMKIT_ISA_NS::Widen(f, v); }
};
template <>
struct Native<double> {
  using V = DVec;
  static V Load(const double* p) { return LoadD(p); }
  static V Set1(double v) { return normkit::NORMKIT_ISA_NS::Set1(v); }
  static V Sub(V a, V b) { return normkit::NORMKIT_ISA_NS::Sub(a, b); }
  static void Widen(V f, DVec* v) { v[0] = f; }
};

// Loads one input vector widened to kIn<T> DVecs.
template <class T>
inline void LoadIn(const T* p, DVec* v) {
  Native<T>::Widen(Native<T>::Load(p), v);
}

}  // namespace
}  // namespace NORMKIT_ISA_NS
}  // namespace normkit
