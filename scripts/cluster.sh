#!/usr/bin/env bash
# A local Kubernetes cluster for tests and demos, built from source through the Go
# module proxy (versions and checksums: tools/cluster/go.mod and scripts/versions.sh).
# Starting, supervising and stopping the processes is tools/cluster's localcluster
# program; this script builds what is missing and hands over to it.
#
#   scripts/cluster.sh build [--control-plane-only]
#       Builds the cluster's binaries once into the cache; prints their directory on
#       its last line of output (kubectl is there).
#   scripts/cluster.sh start --data-dir DIR [--nodes N] [--control-plane-only] [--owner-pid PID]
#       Fresh certificates, every component on free 127.0.0.1 ports; waits until all
#       are ready and prints DIR/kubeconfig on its last line of output (at once, when
#       a ready cluster already runs there). With --owner-pid the cluster stops by
#       itself once process PID is gone.
#   scripts/cluster.sh stop --data-dir DIR
#       Stops what start started there and waits until it is gone; fine if nothing runs.
#   scripts/cluster.sh status --data-dir DIR
#       Each component and its state; exit 0 when all run, 3 otherwise.
#   scripts/cluster.sh stop-apiserver|start-apiserver --data-dir DIR
#       Stops, or starts again on the same port, only the API server.
#
# The full cluster: etcd, kube-apiserver, kube-scheduler, kube-controller-manager,
# kwok (simulated nodes), sim-csi-driver (simulated storage under the bundled drivers'
# provisioner names) behind the real CSI sidecars, and sim-kubelet-stats (simulated
# kubelet statistics). --control-plane-only: etcd and kube-apiserver (like envtest).
# Environment: DISCOBLOCKS_CACHE (default ~/.cache/discoblocks),
# DISCOBLOCKS_CLUSTER_TIMEOUT and DISCOBLOCKS_CLUSTER_GRACE (seconds).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$root/tools/cluster"
# shellcheck source=scripts/versions.sh
source "$root/scripts/versions.sh"
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Go that scripts/setup.sh fetched when the machine had none recent enough; never
# a toolchain downloaded behind our back.
[ -x "$cache/go-$GO_TOOLCHAIN_VERSION/bin/go" ] && export PATH="$cache/go-$GO_TOOLCHAIN_VERSION/bin:$PATH"
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0

k8s_version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$module/go.mod")
[ -n "$k8s_version" ] || die "cannot read the Kubernetes version from $module/go.mod"
# kube-apiserver derives its binary and emulation versions from these; a plain build
# leaves them at v0.0.0-master.
minor=${k8s_version#v*.} major=${k8s_version#v}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=${major%%.*}"
  ldflags+=" -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
# Directory names carry a hash of what decides their contents, so a change of pins or
# sources builds afresh instead of reusing a stale binary.
bin_id=$(cat "$module/go.mod" "$module/go.sum" "$module/etcd/main.go" "$root/scripts/versions.sh" \
  <(echo "$ldflags") | sha256sum | cut -c1-16)
tools_id=$(cd "$module" && find . -name '*.go' ! -name '*_test.go' -print0 | sort -z |
  xargs -0 cat go.mod go.sum | sha256sum | cut -c1-16)
bin_dir="$cache/cluster-$k8s_version-$bin_id"
tools_dir="$cache/cluster-tools-$tools_id"

# install NAME DIR GO-BUILD-ARGS...: builds one binary into DIR/NAME unless it is there
# (atomically: a rename of a complete file).
install() {
  local name=$1 dir=$2
  shift 2
  [ -x "$dir/$name" ] && return 0
  log "building $name"
  mkdir -p "$dir"
  go build -trimpath -o "$dir/.$name.tmp" "$@" >&2
  mv "$dir/.$name.tmp" "$dir/$name"
}

# external NAME MODULE@VERSION SUM PACKAGE: a component with replace directives of its
# own, built inside its module as its maintainers build it, after checking the module's
# hash against the pin.
external() {
  local name=$1 mod=$2 sum=$3 pkg=$4 info dir got
  [ -x "$bin_dir/$name" ] && return 0
  info=$(cd / && GOFLAGS=-mod=mod go mod download -json "$mod") || die "cannot download $mod"
  dir=$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$info")
  got=$(sed -n 's/^\t"Sum": "\(.*\)",$/\1/p' <<<"$info")
  [ "$got" = "$sum" ] || die "$mod has hash $got, scripts/versions.sh pins $sum"
  (cd "$dir" && install "$name" "$bin_dir" -ldflags "-s -w -X main.version=${mod#*@}" "$pkg")
  if [ "$name" = kwok ] && [ ! -d "$bin_dir/kwok-stages" ]; then
    # kwok moves nodes and pods through their lifecycle only as its stages say: nodes
    # become Ready and keep a lease, pods run, Jobs' pods complete, deletions finish.
    mkdir -p "$bin_dir/.kwok-stages.tmp"
    cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
      "$dir"/kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      "$dir"/kustomize/stage/pod/fast/pod-{ready,complete,delete}.yaml "$bin_dir/.kwok-stages.tmp/"
    chmod 644 "$bin_dir"/.kwok-stages.tmp/*
    mv -T "$bin_dir/.kwok-stages.tmp" "$bin_dir/kwok-stages"
  fi
}

build() {
  local scope=$1
  command -v go >/dev/null || die "no Go toolchain (run scripts/setup.sh)"
  mkdir -p "$cache"
  # One build at a time; a second caller finds the first's result.
  exec 8>"$cache/cluster.lock"
  flock 8
  local cmds=(kube-apiserver kubectl) tools=(localcluster)
  [ "$scope" = tools ] && cmds=()
  if [ "$scope" = full ]; then
    cmds+=(kube-scheduler kube-controller-manager)
    tools+=(sim-csi-driver sim-kubelet-stats)
    external kwok "$KWOK_MODULE" "$KWOK_SUM" ./cmd/kwok
    external csi-provisioner "$CSI_PROVISIONER_MODULE" "$CSI_PROVISIONER_SUM" ./cmd/csi-provisioner
    external csi-resizer "$CSI_RESIZER_MODULE" "$CSI_RESIZER_SUM" ./cmd/csi-resizer
    external csi-attacher "$CSI_ATTACHER_MODULE" "$CSI_ATTACHER_SUM" ./cmd/csi-attacher
  fi
  # Builds for other pins or sources, made over a day ago, are removed (600 MB a set).
  find "$cache" -mindepth 1 -maxdepth 1 \( -name 'cluster-v*' -o -name 'cluster-tools-*' \) \
    ! -path "$bin_dir" ! -path "$tools_dir" -mtime +0 -exec rm -rf {} + 2>/dev/null || true
  (
    cd "$module"
    [ "$scope" = tools ] || install etcd "$bin_dir" -ldflags "-s -w" ./etcd
    for cmd in "${cmds[@]}"; do
      install "$cmd" "$bin_dir" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd"
    done
    for tool in "${tools[@]}"; do
      install "$tool" "$tools_dir" "./cmd/$tool"
    done
  )
  exec 8>&-
}

command=${1:-}
case $command in
  "" | -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
shift
scope=full
for arg in "$@"; do [ "$arg" = --control-plane-only ] && scope=control-plane; done
case $command in
  build)
    build "$scope"
    echo "$bin_dir"
    ;;
  start)
    build "$scope"
    exec "$tools_dir/localcluster" start --bin-dir "$bin_dir" "$@"
    ;;
  stop | status)
    build tools
    exec "$tools_dir/localcluster" "$command" "$@"
    ;;
  stop-apiserver | start-apiserver)
    build tools
    exec "$tools_dir/localcluster" "${command%-apiserver}-component" kube-apiserver "$@"
    ;;
  *) die "unknown command: $command (see $0 --help)" ;;
esac
