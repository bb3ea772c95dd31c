#!/usr/bin/env bash
# Cross-builds Silkie Edge for 64-bit Arm Linux into build-arm64/ (docs/PORTING.md).
#   scripts/build-arm64.sh [ARGS for cmake --build, e.g. --target test_rms_norm]
# Installs the build machine's part from Debian (cross gcc, qemu-user, cmake, glslang) and
# unpacks Debian's arm64 packages into build-arm64/sysroot with a private apt state, so the
# machine's own package set is not touched. Delete build-arm64/sysroot to fetch them again.
# scripts/run-arm64.sh runs the result; ctest in build-arm64 uses it for every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=$root/build-arm64
sysroot=$build/sysroot

host_pkgs=(
  cmake ninja-build pkg-config glslang-tools
  gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user
)
# The arm64 side of scripts/setup.sh's list, plus what the programs need at run time there.
arm64_pkgs=(
  libc6-dev libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers
  libturbojpeg0-dev libspng-dev libwebp-dev libcjson-dev libpcre2-dev libutf8proc-dev
)

missing=()
for p in "${host_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# arm64 sysroot. apt runs with its own package lists, cache and an empty dpkg status under
# build-arm64/apt, so it resolves the full arm64 dependency closure (libc6 included) and only
# downloads; the host's sources, keys and proxy settings still apply.
stamp=$sysroot/.packages
if [ "$(cat "$stamp" 2>/dev/null)" != "${arm64_pkgs[*]}" ]; then
  apt_dir=$build/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  : > "$apt_dir/status"
  rm -f "$apt_dir"/archives/*.deb   # a package list's leftovers would be unpacked too
  apt_arm64=(apt-get -qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64
             -o Dir::State::Lists="$apt_dir/lists" -o Dir::State::status="$apt_dir/status"
             -o Dir::Cache::archives="$apt_dir/archives" -o Debug::NoLocking=1)
  "${apt_arm64[@]}" update
  "${apt_arm64[@]}" install -y --download-only --no-install-recommends "${arm64_pkgs[@]}"
  rm -rf "$sysroot"
  for deb in "$apt_dir"/archives/*.deb; do
    dpkg-deb -x "$deb" "$sysroot"
  done
  # Debian's development links may be absolute (libm.so -> /lib/aarch64-linux-gnu/libm.so.6);
  # point them into the sysroot, relatively, or the linker would follow them onto this machine.
  find "$sysroot" -type l -lname '/*' -print0 |
    while IFS= read -r -d '' link; do
      ln -sfnr "$sysroot$(readlink "$link")" "$link"
    done
  echo "${arm64_pkgs[*]}" > "$stamp"
fi
# The lavapipe manifest names its library by absolute path; this copy, which run-arm64.sh hands
# to the Vulkan loader, names the sysroot's (written each time: the tree may have moved).
sed 's#"library_path": *"/#"library_path": "'"$sysroot"'/#' \
  "$sysroot/usr/share/vulkan/icd.d/lvp_icd.aarch64.json" > "$sysroot/lvp_icd.json"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSILKIE_WERROR=ON \
      -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
      -DSILKIE_ARM64_SYSROOT="$sysroot"
cmake --build "$build" -j"$(nproc)" "$@"
