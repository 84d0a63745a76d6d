#!/usr/bin/env bash
# The local cluster, measured (not part of CI; nothing is asserted):
#   bench/cluster-load.sh [--pods 500] [--nodes 20] [--starts 3]
# - start time of the full cluster (3 nodes) with warm caches, --starts times, each
#   followed by a stop: min / median / max;
# - PODS pods with one PVC each (WaitForFirstConsumer, ebs.csi.aws.com) created at
#   once on NODES simulated nodes, from the first creation until every pod is Running
#   and every PVC Bound (tools/cluster/e2e TestLoad).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pods=500 nodes=20 starts=3
while (($#)); do
  case $1 in
    --pods) pods=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --starts) starts=$2; shift 2 ;;
    *) echo "usage: $0 [--pods N] [--nodes N] [--starts N]" >&2; exit 2 ;;
  esac
done
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/cluster.sh" build >/dev/null

work=$(mktemp -d /tmp/discoblocks-cluster-load.XXXXXX)
trap '"$root/scripts/cluster.sh" stop --data-dir "$work/c" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
times=()
for _ in $(seq "$starts"); do
  begin=$(date +%s%N)
  "$root/scripts/cluster.sh" start --data-dir "$work/c" --nodes 3 >/dev/null 2>&1
  times+=($((($(date +%s%N) - begin) / 1000000)))
  "$root/scripts/cluster.sh" stop --data-dir "$work/c" >/dev/null
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
echo "start, full cluster with 3 nodes, warm caches, $starts runs (ms): min $(head -n1 <<<"$sorted")" \
  "median $(sed -n "$(((starts + 1) / 2))p" <<<"$sorted") max $(tail -n1 <<<"$sorted")"

cd "$root/tools/cluster"
DISCOBLOCKS_CLUSTER_LOAD_PODS=$pods DISCOBLOCKS_CLUSTER_LOAD_NODES=$nodes \
  GOTOOLCHAIN=local GOFLAGS=-mod=readonly go test -count=1 -v -timeout 40m -run '^TestLoad$' ./e2e/ |
  grep -E 'LOAD:|started in|FAIL|ok'
