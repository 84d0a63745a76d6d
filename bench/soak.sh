#!/usr/bin/env bash
# The admission soak (not in CI):
#   bench/soak.sh [--requests 100000] [--concurrency 16] [--json FILE]
# Starts a local control plane and `discoblocks serve` (the default build, module
# cache off so that every replacement compiles), then tools/soak sends the
# AdmissionReviews over TLS: valid, invalid and malformed bodies, each checked
# against the answer it must get, while the Go driver's module is replaced
# every second and the API server is restarted once, half-way. Prints and
# (with --json) writes the counts: wrong answers (must be 0), failed requests
# inside and outside the restart, the server's resident memory at the start,
# the end and its peak.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
requests=100000
concurrency=16
json_out=
while (($#)); do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    *) echo "usage: $0 [--requests N] [--concurrency N] [--json FILE]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/lib/local-serve.sh
source "$root/scripts/lib/local-serve.sh"
"$root/scripts/build.sh" "$root/build" >/dev/null
local_serve_workdir soak
work=$LOCAL_SERVE_WORK
(cd "$root/tools/soak" && go build -o "$work/admission-soak" .)
cp -r "$root/build/drivers" "$work/drivers"

LOCAL_SERVE_CLUSTER_FLAGS=--control-plane-only
local_serve_start "$work" "$root/build/bin/discoblocks" "$work/drivers" \
  --log-format json --log-level warn --no-module-cache \
  --driver-settle-time 200ms --driver-rescan-interval 1s
kubectl apply -f "$root/tests/fixtures/storageclasses/gke-pd-balanced.yaml" \
  -f "$root/tests/fixtures/storageclasses/ebs-gp3.yaml" >/dev/null
sleep 2  # both StorageClasses into the server's cache

cluster_dir=$work/cluster
restart="'$root/scripts/cluster.sh' stop-apiserver --data-dir '$cluster_dir' >/dev/null && sleep 2 &&
  '$root/scripts/cluster.sh' start-apiserver --data-dir '$cluster_dir' >/dev/null"
"$work/admission-soak" \
  --url "https://127.0.0.1:$LOCAL_SERVE_PORT/validate-discoblocks-ondat-io-v1-diskconfig" \
  --ca "$work/tls.crt" --requests "$requests" --concurrency "$concurrency" \
  --replace-module "$work/drivers/ebs.csi.aws.com/main.wasm" --replace-every 1s \
  --restart-command "$restart" --pid "$LOCAL_SERVE_PID" ${json_out:+--json "$json_out"}
