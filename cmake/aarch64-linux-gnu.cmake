# Cross build for 64-bit Arm Linux with Debian's cross compiler (gcc-aarch64-linux-gnu,
# g++-aarch64-linux-gnu) against Debian's arm64 packages. scripts/build-arm64.sh uses it:
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#         -DSILKIE_ARM64_SYSROOT=$PWD/build-arm64/sysroot
# SILKIE_ARM64_SYSROOT is a folder with the arm64 .debs unpacked into it; left empty, the arm64
# packages are taken from this machine's own multiarch install (apt-get install libfoo-dev:arm64).
# Shaders are still compiled by the build machine's glslangValidator: SPIR-V is the same for
# every target, so nothing built here has to run on the build machine.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(SILKIE_ARM64_SYSROOT "" CACHE PATH "folder with Debian's arm64 packages unpacked (empty: /)")
# try_compile projects read this file again and need the same answer.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SILKIE_ARM64_SYSROOT)
if(SILKIE_ARM64_SYSROOT)
  set(CMAKE_SYSROOT ${SILKIE_ARM64_SYSROOT})
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${SILKIE_ARM64_SYSROOT})
endif()
# The build machine's own .pc files describe its own libraries: look only at the arm64 ones.
set(_sk_pc "${SILKIE_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig")
set(ENV{PKG_CONFIG_LIBDIR} "${_sk_pc}:${SILKIE_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Programs (glslangValidator, git) from the build machine; headers and libraries from arm64.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest runs the arm64 tests under qemu-aarch64 through this wrapper, which takes the arm64
# lavapipe and validation layer from the same sysroot.
if(NOT CMAKE_CROSSCOMPILING_EMULATOR)
  get_filename_component(_sk_run "${CMAKE_CURRENT_LIST_DIR}/../scripts/run-arm64.sh" ABSOLUTE)
  set(_sk_sysroot "${SILKIE_ARM64_SYSROOT}")
  if(NOT _sk_sysroot)
    set(_sk_sysroot /)
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR env "SILKIE_ARM64_SYSROOT=${_sk_sysroot}" "${_sk_run}")
endif()
