#!/usr/bin/env bash
# The C++ kernel tests (native/tests, CTest) in one of the CMake builds.
#
#   bash scripts/native-tests.sh cmake-js  the addon with `npx cmake-js` into
#                                          build-cmake/build, plus the tests in
#                                          the same tree; all tests, the >2^31
#                                          'large' one included, and with
#                                          NORMKIT_SLOW_TESTS=1 the 8.6 GB
#                                          resident 'slow' one too
#   bash scripts/native-tests.sh kernels   Node-free: plain cmake, kernels + tests
#   bash scripts/native-tests.sh asan      Node-free, -DNORMKIT_SANITIZE=address,undefined
#   bash scripts/native-tests.sh arm64     cross-compiled for aarch64, run under qemu-user
#
# Extra arguments go to ctest (e.g. -R kernels.avx2, -L slow). The 'large'
# test is left out under sanitizers and qemu: it streams 2^31 values several
# times, which instrumentation or emulation stretches to minutes, and 64-bit
# indexing does not depend on either.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

variant="${1:-kernels}"
shift || true
jobs="${NORMKIT_JOBS:-2}"

configure_and_build() {  # <build dir> <cmake args...>
  local dir="$1"
  shift
  cmake -S . -B "$dir" "$@"
  cmake --build "$dir" -j "$jobs"
}

case "$variant" in
  cmake-js)
    dir=build-cmake/build
    slow=OFF
    [ "${NORMKIT_SLOW_TESTS:-0}" = 1 ] && slow=ON
    npx cmake-js build --out "$dir" --parallel "$jobs" --CDNORMKIT_BUILD_TESTS=ON \
      --CDNORMKIT_SLOW_TESTS=$slow
    ctest_args=()
    ;;
  kernels)
    dir=build-cmake/kernels
    configure_and_build "$dir"
    ctest_args=()
    ;;
  asan)
    dir=build-cmake/asan
    configure_and_build "$dir" -DNORMKIT_SANITIZE=address,undefined
    # Leak checks on; every UBSan finding is fatal (-fno-sanitize-recover).
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:check_initialization_order=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
    ctest_args=(-LE large)
    ;;
  arm64)
    for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
      if ! command -v "$tool" >/dev/null 2>&1; then
        echo "native-tests.sh: $tool not found (Debian: apt-get install g++-aarch64-linux-gnu qemu-user)" >&2
        exit 2
      fi
    done
    dir=build-cmake/arm64
    configure_and_build "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
    ctest_args=(-LE large)
    ;;
  *)
    echo "usage: native-tests.sh cmake-js|kernels|asan|arm64 [ctest args]" >&2
    exit 2
    ;;
esac

ctest --test-dir "$dir" -j "$jobs" --output-on-failure "${ctest_args[@]}" "$@"
