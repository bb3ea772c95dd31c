#!/usr/bin/env bash
# Runs, on one device, what docs/PERFORMANCE.md records, and keeps every output in OUT_DIR:
# the device listing, silkie-bench-ops --check (every kernel path against the reference), the
# op tests of the kernels that differ between devices (validation layer on), silkie-bench-ops
# --variants and silkie bench at Qwen-VL-Chat's real shape. Needs no model files: the
# benchmarks build synthetic weights on the device.
#   scripts/perf-record.sh BUILD_DIR OUT_DIR [--quick]
# --quick: reduced shapes, for a CPU driver such as lavapipe (a check of the script itself).
# Each step has a time limit and a failing step does not stop the others; OUT_DIR/summary.txt
# lists each step with its exit status and seconds. Exit status: the number of failed steps.
set -uo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# -eq 3 ] && [ "$3" != --quick ]; }; then
  echo "usage: $0 BUILD_DIR OUT_DIR [--quick]" >&2
  exit 2
fi
build=$(cd "$1" && pwd) || exit 2
out=$2
quick=0
[ $# -eq 3 ] && quick=1
mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
silkie=$build/firmware-tools/cli/silkie
ops=$build/firmware-tools/silkie-bench-ops
for f in "$silkie" "$ops"; do
  [ -x "$f" ] || { echo "perf-record: no $f (build first)" >&2; exit 2; }
done
failed=0
: > "$out/summary.txt"

# step NAME LIMIT_S COMMAND...: stdout to NAME.txt, stderr to NAME.err
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS rc=0
  timeout "$limit" "$@" > "$out/$name.txt" 2> "$out/$name.err" || rc=$?
  printf '%-28s exit %3d  %5d s\n' "$name" "$rc" $((SECONDS - t0)) | tee -a "$out/summary.txt"
  [ "$rc" -eq 0 ] || failed=$((failed + 1))
}

step devices 60 "$silkie" devices --json
step version 60 "$silkie" --version
step bench-ops-check 300 "$ops" --check
for t in test_attention test_sample test_rope_qkv test_get_rows test_matmul; do
  step "$t" 300 env SILKIE_VALIDATE=1 "$build/tests/ops/$t"
done
if [ "$quick" = 1 ]; then
  step bench-ops 600 "$ops" --quick --json --iters 2 --reps 1 --filter attn_llm
  step bench-q4_0 600 "$silkie" bench --json --quiet --layers 1 --vision-layers 1 \
    --prefill 16 --decode 4
else
  step bench-ops 600 "$ops" --variants --json
  step bench-q4_0 600 "$silkie" bench --json --quiet
  step bench-q8_0-text 600 "$silkie" bench --json --quiet --weights q8_0 --no-vision
fi
echo "perf-record: $failed failed step(s); outputs in $out" | tee -a "$out/summary.txt"
exit "$failed"
