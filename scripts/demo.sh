#!/usr/bin/env bash
# Installs the dependencies, builds, generates the built-in demo model (random weights with the
# real Qwen-VL-Chat structure, tiny sizes) and asks it about the bundled photo. The answer is a
# pipeline self-test, not language: the weights are random.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
./build/firmware-tools/silkie-make-demo build/demo-model
./build/firmware-tools/cli/silkie ask --model build/demo-model --image build/demo-model/demo.jpg \
    --greedy --max-tokens 24 "What is in this picture?"
