#!/usr/bin/env bash
# Fetches cert-manager's cert-manager.io CRDs (Certificate, Issuer, ClusterIssuer,
# CertificateRequest) at the version pinned in versions.sh, from the Go module proxy
# (the module zip, sha256-checked), into the cache; prints their directory. Tests
# install them so that `kubectl apply --dry-run=server` can check deploy/'s
# Certificate and Issuer. Quick when already cached.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/versions.sh
source "$here/versions.sh"
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}
dir="$cache/cert-manager-crds-$CERT_MANAGER_VERSION"
if [ ! -f "$dir/.complete" ]; then
  mkdir -p "$cache/downloads"
  # One fetch at a time; a second caller finds the first's result.
  exec 9>"$cache/cert-manager.lock"
  flock 9
fi
if [ ! -f "$dir/.complete" ]; then
  zip="$cache/downloads/cert-manager-$CERT_MANAGER_VERSION.zip"
  if [ ! -f "$zip" ]; then
    printf 'cert-manager-crds: downloading cert-manager %s from the module proxy\n' \
      "$CERT_MANAGER_VERSION" >&2
    curl -sSfL -o "$zip.part" \
      "https://proxy.golang.org/github.com/cert-manager/cert-manager/@v/$CERT_MANAGER_VERSION.zip"
    mv "$zip.part" "$zip"
  fi
  echo "$CERT_MANAGER_ZIP_SHA256  $zip" | sha256sum -c --quiet - >&2 || {
    rm -f "$zip"
    exit 1
  }
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  unzip -q -j "$zip" "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION/deploy/crds/cert-manager.io_*.yaml" \
    -d "$dir.tmp"
  touch "$dir.tmp/.complete"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
fi
echo "$dir"
