#!/usr/bin/env bash
# `discoblocks drivers new` as an author uses it: one driver per language,
# generated into a temporary directory, built with the real toolchains (Go for
# GOOS=wasip1, clang for wasm32-wasi), unit-tested on the host, and passed
# through `drivers test` with the built-in inputs and with its own fixtures.
# Offline: Go modules come from the local module cache (GOPROXY=off).
#   new_driver_test.sh DISCOBLOCKS_BINARY SDK_DIR [go|cpp ...]
set -euo pipefail
binary=$1
sdk=$2
shift 2
langs=("$@")
[ "${#langs[@]}" -eq 0 ] && langs=(go cpp)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOPROXY=off GOTOOLCHAIN=local GOFLAGS=-mod=readonly GOWORK=off

for lang in "${langs[@]}"; do
  provisioner=skeleton-$lang.csi.example.com
  out=$work/$lang/$provisioner
  echo "== drivers new $provisioner --lang $lang"
  "$binary" drivers new "$provisioner" --lang "$lang" --output "$out" --sdk "$sdk"
  # A second run must refuse to overwrite what the author may have edited.
  if "$binary" drivers new "$provisioner" --lang "$lang" --output "$out" --sdk "$sdk" 2>/dev/null; then
    echo "drivers new overwrote $out" >&2
    exit 1
  fi
  echo "== build, test"
  make -C "$out" main.wasm
  make -C "$out" test
  echo "== drivers test"
  "$binary" drivers test "$out"
  "$binary" drivers test "$out" --fixtures "$out/fixtures"
  # The folder is a driver folder: a drivers directory holding it serves it.
  # A generous time limit: this only shows that it loads, on a possibly busy machine.
  "$binary" drivers call "$provisioner" GetCSIDriverNamespace --drivers-dir "$work/$lang" \
    --timeout 20s
done
echo "generated drivers build and pass drivers test: ${langs[*]}"
