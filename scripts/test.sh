#!/usr/bin/env bash
# Installs the dependencies, builds with -Werror, and runs the whole test suite on the first
# Vulkan device (lavapipe on machines without a GPU) with the validation layer on.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSILKIE_WERROR=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
