#!/usr/bin/env bash
# Snapshots the bundled ABI v2 drivers with Wizer, for the side-by-side
# evaluation of Wizer against our own PreInitialize (docs/performance.md):
#
#   bench/wizer-snapshots.sh [--build DIR] [--wizer PATH] OUT_DIR
#   DISCOBLOCKS_BENCH_WIZER_DRIVERS=OUT_DIR DIR/bin/driver_bench ...
#
# Wizer is not a dependency of Discoblocks: install it by hand for this
# (cargo install wizer --version 10.0.0 --features env_logger,structopt). Each
# driver's snapshot is written as OUT_DIR/<provisioner>/main.wasm, the layout of a
# drivers directory, and the script prints how long each snapshot took.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build
wizer=wizer
while (($# > 1)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --wizer) wizer=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
(($# == 1)) || { echo "usage: $0 [--build DIR] [--wizer PATH] OUT_DIR" >&2; exit 2; }
out=$1
command -v "$wizer" >/dev/null || { echo "no wizer at '$wizer' (see this script's header)" >&2; exit 2; }
for module in "$build"/drivers/*/main.wasm; do
  provisioner=$(basename "$(dirname "$module")")
  mkdir -p "$out/$provisioner"
  started=$(date +%s%N)
  # --allow-wasi: Go's runtime reads the clock while it starts. The snapshot
  # keeps the discoblocks_abi_v2 export and loses _initialize.
  "$wizer" "$module" -o "$out/$provisioner/main.wasm" --allow-wasi --init-func _initialize
  echo "$provisioner: $(( ($(date +%s%N) - started) / 1000000 )) ms," \
    "$(stat -c %s "$out/$provisioner/main.wasm") bytes"
done
