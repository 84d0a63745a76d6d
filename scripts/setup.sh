#!/usr/bin/env bash
# Installs everything the build needs on a fresh Debian 12 machine, idempotently:
#   - Debian packages (compilers, wasm toolchain, libraries, wabt, clang's
#     libFuzzer and sanitizer runtimes for tests/fuzz);
#   - a Go toolchain >= 1.24 (for GOOS=wasip1 -buildmode=c-shared drivers) if none is present;
#   - the pinned Wasmtime C API (library from the PyPI wheel, headers from the crate),
#     verified by sha256, unpacked into a cache outside the build tree.
# Quick when nothing is missing. Prints the Wasmtime root on its last line of output.
#
# Environment:
#   DISCOBLOCKS_CACHE          cache directory (default: ~/.cache/discoblocks)
#   DISCOBLOCKS_WASMTIME_ROOT  use this Wasmtime C API instead (an official release
#                              tarball, extracted: it has include/ and lib/libwasmtime.so)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/versions.sh
source "$here/versions.sh"

cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}
mkdir -p "$cache/downloads"
# One setup at a time per cache: two runs (a build beside a CI clone) would
# otherwise download into the same .part files and move them from under each other.
exec 9>"$cache/setup.lock"
flock 9

log() { printf 'setup: %s\n' "$*" >&2; }

# --- Debian packages --------------------------------------------------------------
debian_packages=(
  cmake ninja-build g++ pkg-config
  clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 wabt
  libc++-14-dev-wasm32 libc++abi-14-dev-wasm32
  libclang-rt-14-dev
  nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev openssl libboost-dev
  prometheus-cpp-dev
  clang-format clang-tidy
  curl ca-certificates unzip python3-pip wrk
  umoci skopeo patchelf
)
missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# --- Go toolchain -----------------------------------------------------------------
go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v
  v=$(go env GOVERSION 2>/dev/null | sed 's/^go//')
  [ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$v" | sort -V | head -n1)" = "$GO_MIN_VERSION" ]
}
if ! go_ok; then
  gotc="$cache/go-$GO_TOOLCHAIN_VERSION"
  if [ ! -x "$gotc/bin/go" ]; then
    # The Go module proxy serves official toolchains as modules (this is what
    # GOTOOLCHAIN=auto downloads); its checksum is pinned in versions.sh.
    zip="$cache/downloads/go$GO_TOOLCHAIN_VERSION.zip"
    log "downloading Go $GO_TOOLCHAIN_VERSION from the module proxy"
    curl -sSfL -o "$zip.part" \
      "https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$GO_TOOLCHAIN_VERSION.linux-amd64.zip"
    echo "$GO_TOOLCHAIN_SHA256  $zip.part" | sha256sum -c --quiet - >&2
    mv "$zip.part" "$zip"
    rm -rf "$gotc.tmp" && mkdir -p "$gotc.tmp"
    unzip -q "$zip" -d "$gotc.tmp"
    mv "$gotc.tmp/golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN_VERSION.linux-amd64" "$gotc"
    rm -rf "$gotc.tmp"
    chmod +x "$gotc"/bin/* "$gotc"/pkg/tool/*/*
  fi
  export PATH="$gotc/bin:$PATH"
  go_ok || { log "Go $GO_MIN_VERSION+ is required"; exit 1; }
fi

# --- Wasmtime C API ---------------------------------------------------------------
if [ -n "${DISCOBLOCKS_WASMTIME_ROOT:-}" ]; then
  root=$DISCOBLOCKS_WASMTIME_ROOT
  [ -f "$root/include/wasmtime.h" ] && [ -f "$root/lib/libwasmtime.so" ] || {
    log "DISCOBLOCKS_WASMTIME_ROOT=$root has no include/wasmtime.h and lib/libwasmtime.so"
    exit 1
  }
else
  root="$cache/wasmtime-$WASMTIME_VERSION"
  if [ ! -f "$root/.complete" ]; then
    dl="$cache/downloads"
    wheel="$dl/wasmtime-$WASMTIME_VERSION-py3-none-manylinux1_x86_64.whl"
    crate="$dl/wasmtime-c-api-impl-$WASMTIME_VERSION.crate"
    if [ ! -f "$wheel" ]; then
      log "downloading the wasmtime $WASMTIME_VERSION wheel from PyPI (library)"
      python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux1_x86_64 \
        --python-version 3.11 "wasmtime==$WASMTIME_VERSION" -d "$dl" >&2
    fi
    echo "$WASMTIME_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - >&2
    if [ ! -f "$crate" ]; then
      log "downloading the wasmtime-c-api-impl $WASMTIME_VERSION crate (headers)"
      curl -sSfL -o "$crate.part" \
        "https://static.crates.io/crates/wasmtime-c-api-impl/wasmtime-c-api-impl-$WASMTIME_VERSION.crate"
      mv "$crate.part" "$crate"
    fi
    echo "$WASMTIME_CRATE_SHA256  $crate" | sha256sum -c --quiet - >&2
    tmp="$root.tmp"
    rm -rf "$tmp" && mkdir -p "$tmp/lib" "$tmp/src"
    unzip -q -j "$wheel" 'wasmtime/linux-x86_64/_libwasmtime.so' -d "$tmp/src"
    mv "$tmp/src/_libwasmtime.so" "$tmp/lib/libwasmtime.so"
    tar -xzf "$crate" -C "$tmp/src"
    # The crate's own script installs the headers and generates wasmtime/conf.h with
    # the default feature set, which is the one the wheel's library is built with.
    cmake -DWASMTIME_HEADER_DST="$tmp/include" \
      -P "$tmp/src/wasmtime-c-api-impl-$WASMTIME_VERSION/cmake/install-headers.cmake" >/dev/null
    rm -rf "$tmp/src"
    echo "$WASMTIME_VERSION" > "$tmp/VERSION"
    touch "$tmp/.complete"
    rm -rf "$root" && mv "$tmp" "$root"
  fi
fi
echo "$root"
