#!/usr/bin/env bash
# Runs an arm64 Linux program here under qemu-aarch64 (user-mode emulation), with the arm64
# C library, Mesa's lavapipe and the Khronos validation layer from the sysroot that
# scripts/build-arm64.sh unpacked:
#   scripts/run-arm64.sh PROGRAM [ARGS...]
# SILKIE_ARM64_SYSROOT names another sysroot (default build-arm64/sysroot; / for arm64
# packages installed through multiarch). ctest in build-arm64 runs every test through this.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 PROGRAM [ARGS...]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
sysroot=${SILKIE_ARM64_SYSROOT:-$root/build-arm64/sysroot}
icd=$sysroot/lvp_icd.json
[ -f "$icd" ] || icd=$sysroot/usr/share/vulkan/icd.d/lvp_icd.aarch64.json
if [ ! -f "$icd" ]; then
  echo "run-arm64: no arm64 lavapipe under $sysroot (run scripts/build-arm64.sh)" >&2
  exit 1
fi
# The ELF interpreter and every library the program or the driver opens by absolute path are
# looked up under the sysroot first.
export QEMU_LD_PREFIX=$sysroot
# Only the arm64 lavapipe: the machine's own manifests name x86-64 drivers. The loader reads
# VK_DRIVER_FILES; VK_ICD_FILENAMES is its older name, still read by older loaders.
export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
export VK_LAYER_PATH=$sysroot/usr/share/vulkan/explicit_layer.d
exec qemu-aarch64 "$@"
