#!/usr/bin/env bash
# The main job, for now: build what is missing, list the bundled drivers, and
# ask each StorageClass fixture's driver whether the class is valid.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/scripts/build.sh" "$root/build" >/dev/null

bin="$root/build/bin/discoblocks"
drivers="$root/build/drivers"
echo "== discoblocks drivers list --drivers-dir build/drivers"
"$bin" drivers list --drivers-dir "$drivers"
echo
echo "== IsStorageClassValid for every fixture StorageClass"
for class in "$root"/tests/fixtures/storageclasses/*.yaml; do
  provisioner=$(sed -n 's/^provisioner:[[:space:]]*//p' "$class")
  printf '%-28s %-28s ' "$(basename "$class")" "$provisioner"
  # Exit status 1 (invalid) and 2 (error, e.g. no driver) are results here.
  "$bin" drivers call "$provisioner" IsStorageClassValid --drivers-dir "$drivers" \
    --storage-class "$class" 2>&1 || true
done
