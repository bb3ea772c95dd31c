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
  # Leaks inside the Vulkan driver and validation layer are theirs; ours are also counted by
  # the allocator checks in the tests themselves.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE slow "$@"
fi
