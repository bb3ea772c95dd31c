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
