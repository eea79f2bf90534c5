#!/usr/bin/env bash
# Proof that the shipped x64 binary runs on any x86-64 CPU, not only on the
# AVX-512 machine that built it: under qemu-user with `-cpu qemu64` (plain
# x86-64: SSE2, no SSSE3/SSE4/AVX; qemu raises SIGILL for any instruction the
# emulated CPU lacks) the prebuilt addon must load, choose sse2 and pass the
# smoke test, and the C++ kernel tests must pass for scalar and sse2 and be
# skipped (77) for avx2/avx512. A baseline-compiled unit that used AVX
# (e.g. -march=native leaking in) would die here with SIGILL.
#
# Usage: bash scripts/baseline-cpu-proof.sh [kernels_test binary]
#   (default: build-cmake/build/native/tests/kernels_test from native-tests.sh cmake-js)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ "$(uname -m)" != x86_64 ]; then
  echo "baseline-cpu-proof: x86-64 hosts only"
  exit 0
fi
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found (Debian: qemu-user)" >&2; exit 2; }
baseline=(qemu-x86_64 -cpu qemu64)
kernels_test="${1:-build-cmake/build/native/tests/kernels_test}"

# PREBUILDS_ONLY: node-gyp-build skips build/Release, so the prebuilt
# (stripped, shipped) binary is the one under test.
echo "-- prebuilds/linux-x64 under ${baseline[*]}"
isa="$(PREBUILDS_ONLY=1 "${baseline[@]}" "$(command -v node)" -p \
        "require('node-gyp-build')('.').backendInfo().isa")"
if [ "$isa" != sse2 ]; then
  echo "baseline-cpu-proof: the addon chose '$isa' on a CPU without AVX" >&2
  exit 1
fi
PREBUILDS_ONLY=1 "${baseline[@]}" "$(command -v node)" test/native/smoke.cjs | tail -1

echo "-- C++ kernel tests under ${baseline[*]}"
for isa in scalar sse2; do
  "${baseline[@]}" "$kernels_test" --isa="$isa" | tail -1
done
for isa in avx2 avx512; do
  set +e
  "${baseline[@]}" "$kernels_test" --isa="$isa" > /dev/null
  code=$?
  set -e
  if [ "$code" != 77 ]; then
    echo "baseline-cpu-proof: kernels_test --isa=$isa exited $code, expected 77 (skipped)" >&2
    exit 1
  fi
  echo "$isa: skipped, as it must be on this CPU"
done
echo "baseline-cpu-proof OK"
