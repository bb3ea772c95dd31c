#!/usr/bin/env bash
# Uses the SDK as a vendor does (docs/SDK.md): installs BUILD_DIR into a temporary prefix and
# checks the layout, builds examples/ask.c with pkg-config and again through examples/cmake
# (find_package), runs both on the tiny golden model, then runs scripts/abi-check.sh.
# Without the golden data (../shared/golden/tiny-a) the two runs are skipped, nothing else.
#   scripts/sdk-check.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
golden=$root/../shared/golden/tiny-a
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "sdk-check: $*" >&2
  exit 1
}
quiet() {   # runs a command, showing its output only when it fails
  "$@" > "$tmp/log" 2>&1 || { cat "$tmp/log" >&2; fail "failed: $*"; }
}
start=$SECONDS

header=$root/runtime/include/silkie/silkie.h
part() { sed -n "s/^#define SILKIE_VERSION_$1 \+\([0-9]\+\).*/\1/p" "$header"; }
major=$(part MAJOR)
version=$major.$(part MINOR).$(part PATCH)

# The layout: the library under its full version with the soname and development links, the
# headers, silkie.pc, the CMake package and the tools.
prefix=$tmp/prefix
quiet cmake --install "$build" --prefix "$prefix"
lib=$(find "$prefix" -name "libsilkie.so.$version" -type f)
[ -n "$lib" ] || fail "no libsilkie.so.$version under the prefix"
libdir=$(dirname "$lib")
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libsilkie.so.$major" ] || fail "soname is '$soname', want libsilkie.so.$major"
[ "$(readlink "$libdir/libsilkie.so.$major")" = "libsilkie.so.$version" ] ||
  fail "libsilkie.so.$major does not link to libsilkie.so.$version"
[ "$(readlink "$libdir/libsilkie.so")" = "libsilkie.so.$major" ] ||
  fail "libsilkie.so does not link to libsilkie.so.$major"
for h in "$root"/runtime/include/silkie/*.h; do
  cmp -s "$h" "$prefix/include/silkie/$(basename "$h")" || fail "header $(basename "$h") missing"
done
for f in pkgconfig/silkie.pc cmake/silkie/silkieConfig.cmake \
         cmake/silkie/silkieConfigVersion.cmake cmake/silkie/silkieTargets.cmake; do
  [ -f "$libdir/$f" ] || fail "no ${libdir#"$prefix"/}/$f"
done
for t in silkie silkie-pack silkie-inspect silkie-make-demo silkie-verify silkie-cache; do
  [ -x "$prefix/bin/$t" ] || fail "no bin/$t"
done
# The Vulkan loader is opened at run time (a product without one still starts), never linked.
if readelf -d "$lib" | grep -q 'NEEDED.*libvulkan'; then fail "libsilkie links libvulkan"; fi
echo "sdk-check: installed libsilkie.so.$version into ${libdir#"$prefix"/} with headers," \
     "silkie.pc, the CMake package and the tools"

# Both builds must use the installed SDK only: warnings are errors, the package registry is off.
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion silkie)" = "$version" ] || fail "silkie.pc is not version $version"
# pkg-config's output is meant to split into arguments
quiet "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -o "$tmp/ask-pkgconfig" "$root/examples/ask.c" \
  $(pkg-config --cflags --libs silkie)
quiet cmake -S "$root/examples/cmake" -B "$tmp/ask-cmake" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
grep -q "^silkie_DIR:PATH=$libdir/cmake/silkie$" "$tmp/ask-cmake/CMakeCache.txt" ||
  fail "find_package(silkie) did not find the installed package"
quiet cmake --build "$tmp/ask-cmake"
echo "sdk-check: examples/ask.c built with pkg-config and with find_package(silkie)"

# The runs. Programs of a non-system prefix find the library through LD_LIBRARY_PATH.
if [ -d "$golden/model" ] && [ -f "$golden/hopper.jpg" ]; then
  # The same checkpoint with answers capped at 8 tokens (its generation_config.json asks for
  # 512): the whole pipeline still runs, in seconds rather than minutes on a CPU driver.
  model=$tmp/model
  mkdir "$model"
  ln -s "$golden"/model/* "$model"/
  rm "$model/generation_config.json"
  sed 's/"max_new_tokens": *[0-9]*/"max_new_tokens": 8/' "$golden/model/generation_config.json" \
    > "$model/generation_config.json"
  export LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  for exe in "$tmp/ask-pkgconfig" "$tmp/ask-cmake/ask"; do
    name=${exe#"$tmp"/}
    ldd "$exe" > "$tmp/ldd"   # a file, not a pipe: grep -q would end ldd early (pipefail)
    grep -q "libsilkie.so.$major => $libdir/" "$tmp/ldd" ||
      { cat "$tmp/ldd" >&2; fail "$name does not load $lib"; }
    timeout 60 "$exe" "$model" "$golden/hopper.jpg" "What is in this picture?" \
      > "$tmp/answer" 2> "$tmp/log" || { cat "$tmp/log" >&2; fail "$name failed"; }
    grep -q '[^[:space:]]' "$tmp/answer" || { cat "$tmp/log" >&2; fail "$name printed no answer"; }
    echo "sdk-check: $name answered ($(wc -c < "$tmp/answer") bytes)"
  done
  # Without a Vulkan loader the app starts and reports the missing device.
  rc=0
  SILKIE_VULKAN_LOADER=libsilkie-no-such-loader.so.1 timeout 60 "$tmp/ask-cmake/ask" "$model" \
    "$golden/hopper.jpg" "What is in this picture?" > /dev/null 2> "$tmp/log" || rc=$?
  [ "$rc" = 1 ] && grep -q 'no Vulkan loader' "$tmp/log" ||
    { cat "$tmp/log" >&2; fail "without a Vulkan loader ask exited $rc"; }
  echo "sdk-check: without a Vulkan loader ask exits 1: $(head -n 1 "$tmp/log")"
else
  echo "sdk-check: no golden model in $golden; the runs are skipped"
fi

"$root/scripts/abi-check.sh" "$build"
echo "sdk-check: passed in $((SECONDS - start)) s"
