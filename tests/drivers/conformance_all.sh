#!/usr/bin/env bash
# Runs `discoblocks drivers test` on every driver folder of a drivers directory
# (found, not listed, so that a newly bundled driver is tested without editing
# this file), with the built-in inputs, with the shared fixtures (SHARED_FIXTURES,
# the repository's tests/fixtures: there an error is a failure, not a warning, so
# the pre-commands that need a real attachment or volume are held to the contract
# too) and, when the driver's source folder has one, with its fixtures/ directory.
# Fails if any driver fails, or if there is no driver at all (an empty directory
# would otherwise pass silently).
#   conformance_all.sh DISCOBLOCKS_BINARY DRIVERS_DIR [DRIVERS_SOURCE_DIR [SHARED_FIXTURES]]
set -uo pipefail
binary=$1
drivers_dir=$2
source_dir=${3:-}
shared_fixtures=${4:-}

found=0
failed=()
for folder in "$drivers_dir"/*/; do
  folder=${folder%/}
  [ -f "$folder/main.wasm" ] || continue
  provisioner=$(basename "$folder")
  found=$((found + 1))
  runs=("")
  [ -n "$shared_fixtures" ] && runs+=("$shared_fixtures")
  if [ -n "$source_dir" ] && [ -d "$source_dir/$provisioner/fixtures" ]; then
    runs+=("$source_dir/$provisioner/fixtures")
  fi
  for fixtures in "${runs[@]}"; do
    args=(drivers test "$folder")
    [ -n "$fixtures" ] && args+=(--fixtures "$fixtures")
    echo "== ${args[*]}"
    "$binary" "${args[@]}"
    status=$?
    if [ "$status" -ne 0 ]; then
      failed+=("$provisioner${fixtures:+ (fixtures $fixtures)}: exit $status")
    fi
  done
done

if [ "$found" -eq 0 ]; then
  echo "no driver folder with main.wasm in $drivers_dir" >&2
  exit 1
fi
if [ "${#failed[@]}" -ne 0 ]; then
  echo "drivers test failed for ${#failed[@]} of $found driver(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all $found driver(s) pass drivers test"
