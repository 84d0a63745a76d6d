#!/usr/bin/env bash
# The local control plane alone (etcd and kube-apiserver, like envtest), for tests that
# need only the API server: scripts/cluster.sh with --control-plane-only, with the same
# commands (build, start, stop, status, stop-apiserver, start-apiserver) and files.
set -euo pipefail
cluster="$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
case ${1:-} in
  build | start) exec "$cluster" "$@" --control-plane-only ;;
  *) exec "$cluster" "$@" ;;
esac
