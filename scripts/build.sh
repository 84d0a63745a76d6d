#!/usr/bin/env bash
# Sets up what is missing (scripts/setup.sh), then configures and builds.
#   scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# BUILD_DIR defaults to build/. The binary lands in BUILD_DIR/bin/discoblocks and
# the drivers in BUILD_DIR/drivers/<provisioner>/main.wasm.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$root/build}
shift || true

wasmtime_root=$("$root/scripts/setup.sh" | tail -n 1)
# shellcheck source=scripts/versions.sh
source "$root/scripts/versions.sh"
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}
# A Go toolchain that setup.sh fetched because the machine had none recent enough.
if [ -x "$cache/go-$GO_TOOLCHAIN_VERSION/bin/go" ]; then
  export PATH="$cache/go-$GO_TOOLCHAIN_VERSION/bin:$PATH"
fi

cmake -S "$root" -B "$build_dir" -G Ninja -DWASMTIME_ROOT="$wasmtime_root" "$@" >/dev/null
cmake --build "$build_dir"
