#!/usr/bin/env bash
# A fuzzing campaign (docs/FILES.md, "Fuzzing"): builds the libFuzzer targets with ASan+UBSan
# (clang) into build-fuzz/, runs each named target for RUNS executions starting from its
# committed corpus and the seeds test_fuzz_replay writes, stops at the first crash, leak or
# timeout (the input is kept under build-fuzz/campaign/art_TARGET/), and merges what it found
# into a minimized tests/fuzz/corpus/fuzz_TARGET/ (files named regress-* are kept as they are).
# Prints one line per target for the docs.
#   scripts/fuzz.sh [--runs N] [TARGET ...]     (default: every target, 10,000,000 runs each)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=10000000
if [ "${1:-}" = --runs ]; then
  runs=$2
  shift 2
fi
all=(safetensors zip pickle gguf config verify image tokenizer lora_config pref_reader vlfeedback)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

build=$root/build-fuzz
work=$build/campaign
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DSILKIE_FUZZ=ON > /dev/null
cmake --build "$build" -j"$(nproc)" --target test_fuzz_replay \
  $(printf 'fuzz_%s ' "${targets[@]}") > /dev/null
mkdir -p "$work/seeds"
# The model-file seeds (built by the replay test; it needs the folders to exist).
for t in safetensors zip pickle gguf config verify; do mkdir -p "$work/seeds/fuzz_$t"; done
(cd "$work" && SK_FUZZ_SEEDS="$work/seeds" "$build/tests/unit/test_fuzz_replay" > /dev/null) ||
  echo "fuzz.sh: the replay test failed; the seeds it wrote are used anyway" >&2

for t in "${targets[@]}"; do
  exe=$(find "$build/tests" -name "fuzz_$t" -type f -perm -u+x | head -n 1)
  [ -n "$exe" ] || { echo "fuzz.sh: no fuzz_$t built" >&2; exit 1; }
  corpus=$root/tests/fuzz/corpus/fuzz_$t
  mkdir -p "$work/c_$t" "$work/art_$t" "$work/seeds/fuzz_$t" "$corpus"
  case $t in zip | safetensors) max_len=8192 ;; *) max_len=4096 ;; esac
  start=$(date -u +%F)
  rc=0
  (cd "$work" && "$exe" "c_$t" "$corpus" "seeds/fuzz_$t" -runs="$runs" -max_len=$max_len \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="art_$t/" \
    > "log_$t.txt" 2>&1) || rc=$?
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log_$t.txt")
  if [ "$rc" != 0 ]; then
    echo "fuzz_$t: stopped after ${executed:-?} runs (exit $rc); see $work/log_$t.txt and" \
         "$work/art_$t/" >&2
    exit 1
  fi
  # Minimize: the campaign's finds and the old corpus into a fresh folder, then replace.
  rm -rf "$work/merged_$t"
  mkdir "$work/merged_$t"
  "$exe" -merge=1 -max_len=$max_len "$work/merged_$t" "$corpus" "$work/c_$t" \
    "$work/seeds/fuzz_$t" > "$work/merge_$t.txt" 2>&1
  # Inputs named regress-* (crashes and timeouts found before, fixed) stay whatever they add.
  find "$corpus" -type f ! -name 'regress-*' -delete
  cp "$work/merged_$t"/* "$corpus"/
  echo "fuzz_$t: $executed runs, $start, corpus $(find "$corpus" -type f | wc -l) files," \
       "$(du -sk "$corpus" | cut -f1) KiB"
done
