#!/usr/bin/env bash
# Helm, built from source through the Go module proxy at the version and checksums
# that tools/helm/go.mod and go.sum pin, once, into the cache. Prints the helm
# binary's path on its last line of output.
#   scripts/helm.sh
# Environment: DISCOBLOCKS_CACHE (default ~/.cache/discoblocks).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$root/tools/helm"
# shellcheck source=scripts/versions.sh
source "$root/scripts/versions.sh"
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}

log() { printf 'helm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Go that scripts/setup.sh fetched when the machine had none recent enough; never
# a toolchain downloaded behind our back. -mod=readonly: go.sum is the only truth.
[ -x "$cache/go-$GO_TOOLCHAIN_VERSION/bin/go" ] && export PATH="$cache/go-$GO_TOOLCHAIN_VERSION/bin:$PATH"
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0
command -v go >/dev/null || die "no Go toolchain (run scripts/setup.sh)"

version=$(awk '$1 == "helm.sh/helm/v3" && $2 ~ /^v/ { print $2; exit }' "$module/go.sum")
[ -n "$version" ] || die "cannot read Helm's version from $module/go.sum"
# `helm version` reports the pin instead of a development version.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$version"
# The directory carries a hash of what decides the binary: new pins build afresh.
id=$(cat "$module/go.mod" "$module/go.sum" <(echo "$ldflags") | sha256sum | cut -c1-16)
dir="$cache/helm-$version-$id"

if [ ! -x "$dir/helm" ]; then
  mkdir -p "$cache"
  exec 8>"$cache/helm.lock"
  flock 8  # one build at a time; a second caller finds the first's result
  if [ ! -x "$dir/helm" ]; then
    log "building Helm $version from source (once; a few minutes)"
    mkdir -p "$dir"
    (cd "$module" && go build -trimpath -ldflags "$ldflags" -o "$dir/.helm.tmp" helm.sh/helm/v3/cmd/helm) ||
      die "building Helm $version failed"
    mv "$dir/.helm.tmp" "$dir/helm"
    # Builds for other pins, made over a day ago, are removed.
    find "$cache" -mindepth 1 -maxdepth 1 -name 'helm-v*' ! -path "$dir" -mtime +0 \
      -exec rm -rf {} + 2>/dev/null || true
  fi
fi
echo "$dir/helm"
