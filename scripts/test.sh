#!/usr/bin/env bash
# Installs the dependencies, builds with -Werror (gcc), runs the whole test suite on the first
# Vulkan device (lavapipe on machines without a GPU) with the validation layer on, then builds
# again with clang + AddressSanitizer/UndefinedBehaviorSanitizer and reruns the suite there.
# SILKIE_SKIP_SANITIZE=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSILKIE_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
./scripts/sdk-check.sh build   # install, vendor builds and runs of examples/ask.c, ABI check
if [ "${SILKIE_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSILKIE_WERROR=ON -DSILKIE_SANITIZE=ON \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  cmake --build build-asan -j"$jobs"
  # Leak checking runs on the CPU-only tests; with a Vulkan driver loaded LeakSanitizer's
  # tracer is unreliable (driver threads), and our own allocations are counted by the tests'
  # allocator checks anyway. ASan and UBSan errors fail every test.
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit "$@"
  ASAN_OPTIONS=detect_leaks=0 ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE "unit|slow" "$@"
fi
# arm64: cross build (scripts/build-arm64.sh), then under qemu-aarch64 with Debian's arm64
# lavapipe and validation layer the op tests and the f32 golden model test (docs/PORTING.md
# says why these and how long they take). SILKIE_SKIP_ARM64=1 skips this pass.
if [ "${SILKIE_SKIP_ARM64:-0}" != 1 ]; then
  ./scripts/build-arm64.sh
  # Left out: five tests whose f16 shaders abort LLVM 15's arm64 code generator inside that
  # lavapipe (a driver bug), and the two slowest under emulation (about a minute each alone).
  arm64_skip='^test_(convert|get_rows|matmul|matmul_back|attention|logsoftmax_gather|adamw)$'
  ctest --test-dir build-arm64 --output-on-failure -j"$jobs" -L op -E "$arm64_skip"
  ctest --test-dir build-arm64 --output-on-failure -R '^test_golden_model$'
fi
