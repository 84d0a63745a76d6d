#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz/build.sh) and fuzzes each for SECONDS,
# one after the other (all of them, or those named).
#   tests/fuzz/run.sh SECONDS [TARGET...]      e.g. tests/fuzz/run.sh 600 quantity
# Each starts from its committed corpus (tests/fuzz/corpus/<target>) and what
# earlier runs found, kept in ~/.cache/discoblocks/fuzz-corpus/<target>
# (DISCOBLOCKS_CACHE moves it). A crash stops that target and leaves its input
# in build-fuzz/fuzz-artifacts/<target>/; the script then exits non-zero.
# A reproducer goes into tests/fuzz/corpus/<target>/ as crash-<name>, with a
# regression test in tests/ and the fix.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
build=$root/build-fuzz
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}/fuzz-corpus

"$here/build.sh" "$build"
targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in "$here"/*_fuzzer.cc; do targets+=("$(basename "$source" _fuzzer.cc)"); done
fi
failed=()
for target in "${targets[@]}"; do
  mkdir -p "$cache/$target" "$build/fuzz-artifacts/$target"
  dict=()
  [ -f "$here/dict/$target.dict" ] && dict=(-dict="$here/dict/$target.dict")
  echo "== fuzz_$target for ${seconds}s"
  if ! "$build/bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$target/" "${dict[@]}" \
    "$cache/$target" "$here/corpus/$target" 2>"$build/fuzz-artifacts/$target.log"; then
    failed+=("$target")
  fi
  grep -E '^(#[0-9]+ *DONE|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|==[0-9]+==ERROR|SUMMARY|fuzz property)' \
    "$build/fuzz-artifacts/$target.log" || true
done
if ((${#failed[@]})); then
  echo "crashed: ${failed[*]} (logs and inputs in $build/fuzz-artifacts/)"
  exit 1
fi
echo "== no crash"
