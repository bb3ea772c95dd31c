#!/usr/bin/env bash
# Installs the Debian packages Silkie Edge builds and tests with.
# Every dependency comes from Debian's repository; see docs/DEPENDENCIES.md for why each is here.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config ninja-build clang libclang-rt-dev
  libvulkan-dev glslang-tools spirv-tools mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libturbojpeg0-dev libspng-dev libwebp-dev libcjson-dev libpcre2-dev libutf8proc-dev
  abigail-tools
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
