# Cross-compiles for 64-bit Arm Linux with Debian's g++-aarch64-linux-gnu and
# runs the resulting test executables under qemu-user: CTest prefixes every
# test command that is a target with CMAKE_CROSSCOMPILING_EMULATOR.
#   cmake -S . -B build-cmake/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# -L: the target's dynamic loader and libraries (libstdc++, libc) come from
# the Debian cross sysroot.
find_program(NORMKIT_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${NORMKIT_QEMU_AARCH64};-L;/usr/aarch64-linux-gnu")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
