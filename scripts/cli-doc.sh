#!/usr/bin/env bash
# Writes docs/CLI.md from the programs' own --help-markdown output, so the page says what the
# option tables say. Usage: scripts/cli-doc.sh BUILD_DIR     (rewrites docs/CLI.md)
#                           scripts/cli-doc.sh --check BUILD_DIR  (exit 1 if it is out of date)
set -euo pipefail
check=0
if [ "${1:-}" = --check ]; then
  check=1
  shift
fi
if [ $# -ne 1 ]; then
  echo "usage: $0 [--check] BUILD_DIR" >&2
  exit 2
fi
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
page=$root/docs/CLI.md
silkie=$build/firmware-tools/cli/silkie
tools=$build/firmware-tools

# One section per program, in this order: `silkie` and its commands, then the firmware tools.
sections=(
  "$silkie"
  "$silkie ask" "$silkie chat" "$silkie camera" "$silkie tokenize" "$silkie detokenize"
  "$silkie train" "$silkie train dpo" "$silkie train prepare"
  "$silkie bench" "$silkie bench train" "$silkie devices"
  "$tools/silkie-pack" "$tools/silkie-verify" "$tools/silkie-cache" "$tools/silkie-inspect"
  "$tools/silkie-make-demo"
  "$tools/silkie-bench-ops" "$tools/silkie-bench-camera"
)

out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
  cat <<'INTRO'
# Command line

Every command and tool answers `--help` (or `-h`) with the text below. Exit status: 0 on
success, 1 when the work fails (the message is on standard error), 2 for a usage error: an
unknown option, a bad value, or a path that cannot be used, reported before any model is read.
Numbers are read whole and checked against the range shown (`abc`, `1x`, `nan` and `inf` are
refused); `--name=value` works as well as `--name value`, and `--` ends the options.
`--device` always picks the GPU (a Vulkan device index or a name substring).

This page is generated from the programs' option tables by `scripts/cli-doc.sh BUILD_DIR`;
change the tables, not the page (the test `test_cli_doc` compares the two).

INTRO
  for s in "${sections[@]}"; do
    read -r -a cmd <<<"$s"
    if [ ! -x "${cmd[0]}" ]; then
      echo "cli-doc.sh: ${cmd[0]} is not built" >&2
      exit 1
    fi
    "${cmd[@]}" --help-markdown
  done
} >"$out"

if [ $check = 1 ]; then
  if ! cmp -s "$out" "$page"; then
    echo "docs/CLI.md is out of date: run scripts/cli-doc.sh $build" >&2
    exit 1
  fi
  exit 0
fi
cp "$out" "$page.tmp"
mv "$page.tmp" "$page"
echo "wrote $page"
