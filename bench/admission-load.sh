#!/usr/bin/env bash
# Admissions per second and latency of `discoblocks serve` over TLS with keep-alive,
# measured with wrk (a real load generator) against a local control plane.
#
#   bench/admission-load.sh [--duration 10s] [--connections "1 16 64"]
#                           [--reviews "diskconfig pod"] [--build DIR] [--json FILE]
#                           [--serve-flags "--no-preinit"]
#
# For each review, each driver (the C driver pd.csi.storage.gke.io and the Go driver
# ebs.csi.aws.com) and each concurrency, wrk sends the same CREATE AdmissionReview for
# --duration over that many keep-alive connections, and the script prints requests/s
# and p50/p90/p99 latency. The reviews (--reviews) are `diskconfig`, a valid DiskConfig
# at the validating webhook, and `pod`, a Deployment's pod that a ReadWriteOnce
# DiskConfig matches at the pod webhook (a patch adding a generic ephemeral volume:
# the driver's GetPVCStub, nothing created). Every answer is checked to be "allowed";
# a run with refusals or socket errors is reported as failed. Uses a Release build in
# build-release/, or the build --build names. wrk and the server share the machine's
# cores, so the figures are a lower bound for a server with the machine to itself.
# --serve-flags adds flags to `discoblocks serve`, e.g. --no-preinit to compare v2
# drivers with their initializer run at every call against the default snapshots.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=10s
connections="1 16 64"
reviews="diskconfig pod"
json_out=
build=
serve_flags=
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --reviews) reviews=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --serve-flags) serve_flags=$2; shift 2 ;;
    *) echo "usage: $0 [--duration 10s] [--connections \"1 16 64\"] [--reviews \"diskconfig pod\"] [--build DIR] [--json FILE] [--serve-flags FLAGS]" >&2
       exit 2 ;;
  esac
done

# shellcheck source=scripts/lib/local-serve.sh
source "$root/scripts/lib/local-serve.sh"
"$root/scripts/setup.sh" >/dev/null
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/setup.sh" >&2; exit 1; }
if [ -z "$build" ]; then
  build=$root/build-release
  "$root/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi

local_serve_workdir load
work=$LOCAL_SERVE_WORK

# Debug logging off: one log line per decision is part of the cost we measure. The API
# server alone: the rest of the cluster would only add noise to the measurement.
LOCAL_SERVE_CLUSTER_FLAGS=--control-plane-only
# shellcheck disable=SC2086 # the flags are words
local_serve_start "$work" "$build/bin/discoblocks" "$build/drivers" \
  --log-format json --log-level info $serve_flags
local_serve_register_pod_webhook
kubectl apply -f "$root/tests/fixtures/storageclasses/gke-pd-balanced.yaml" \
  -f "$root/tests/fixtures/storageclasses/ebs-gp3.yaml" >/dev/null
# review KIND CLASS: the AdmissionReview wrk sends. Each class has its own namespace,
# where a ReadWriteOnce DiskConfig selects the pods labelled app=load.
review() {
  python3 - "$@" <<'PY'
import json, sys
kind, storage_class = sys.argv[1], sys.argv[2]
namespace = "load-" + storage_class
diskconfig = {
    "apiVersion": "discoblocks.ondat.io/v1", "kind": "DiskConfig",
    "metadata": {"name": "load", "namespace": namespace},
    "spec": {"storageClassName": storage_class, "capacity": "1Gi",
             "availabilityMode": "ReadWriteOnce", "mountPointPattern": "/data",
             "podSelector": {"app": "load"},
             "policy": {"maximumCapacityOfDisk": "10Gi"}}}
pod = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"generateName": "load-7c5ddbdf54-", "namespace": namespace,
                 "labels": {"app": "load", "pod-template-hash": "7c5ddbdf54"}},
    "spec": {"containers": [
        {"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
        {"name": "log-shipper", "image": "busybox:1.36"}]}}
if kind == "manifest":
    print(json.dumps(diskconfig))
else:
    request = {"uid": "load", "operation": "CREATE", "namespace": namespace,
               "object": diskconfig if kind == "diskconfig" else pod}
    if kind == "pod":
        request["kind"] = {"group": "", "version": "v1", "kind": "Pod"}
        request["resource"] = {"group": "", "version": "v1", "resource": "pods"}
    print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                      "request": request}))
PY
}
url_for() {
  case $1 in
    diskconfig) echo "https://127.0.0.1:$LOCAL_SERVE_PORT/validate-discoblocks-ondat-io-v1-diskconfig" ;;
    *) echo "https://127.0.0.1:$LOCAL_SERVE_PORT/mutate--v1-pod" ;;
  esac
}
for class in pd-balanced ebs-gp3; do
  kubectl create namespace "load-$class" >/dev/null
  review manifest "$class" | kubectl apply -f - >/dev/null
done
# The server's caches follow watches: wait until every review is answered as measured
# (a pod review is patched only once the DiskConfig is in the cache).
for kind in $reviews; do
  for class in pd-balanced ebs-gp3; do
    review "$kind" "$class" >"$work/$kind-$class.json"
    ready=
    for _ in $(seq 100); do
      answer=$(curl -s --cacert "$work/tls.crt" -H 'Content-Type: application/json' \
        --data-binary "@$work/$kind-$class.json" "$(url_for "$kind")")
      if grep -q '"allowed":true' <<<"$answer" && { [ "$kind" != pod ] || grep -q '"patch"' <<<"$answer"; }; then
        ready=1 && break
      fi
      sleep 0.1
    done
    [ -n "$ready" ] || { echo "the $kind review for $class is not answered as expected: $answer" >&2; exit 1; }
  done
done

results=()
failed=0
# measure KIND CLASS CONNECTIONS: one wrk run; prints its line, records its JSON.
measure() {
  local kind=$1 class=$2 c=$3 driver line
  case $class in
    pd-balanced) driver="pd.csi.storage.gke.io (C)" ;;
    *) driver="ebs.csi.aws.com (Go)" ;;
  esac
  local threads=$((c < $(nproc) ? c : $(nproc)))
  line=$(ADMISSION_BODY="$work/$kind-$class.json" wrk -t "$threads" -c "$c" -d "$duration" \
    --timeout 10s -s "$root/bench/admission-load.lua" "$(url_for "$kind")" | sed -n 's/^RESULT //p')
  python3 - "$kind" "$driver" "$c" "$line" <<'PY'
import json, sys
kind, driver, connections, r = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
print(f"{kind:<11} {driver:<26} {connections:>5} {r['per_second']:>12.0f} {r['p50_ms']:>9.2f} "
      f"{r['p90_ms']:>9.2f} {r['p99_ms']:>9.2f}"
      + ("" if r["not_allowed"] == 0 and r["socket_errors"] == 0 else
         f"   FAILED: {r['not_allowed']} not allowed, {r['socket_errors']} socket errors"))
PY
  if ! python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(r["not_allowed"] or r["socket_errors"])' "$line"; then
    failed=1
  fi
  results+=("{\"review\":\"$kind\",\"driver\":\"$driver\",\"connections\":$c,\"result\":$line}")
}
printf '%-11s %-26s %5s %12s %9s %9s %9s\n' review driver conns admissions/s p50_ms p90_ms p99_ms
for kind in $reviews; do
  for class in pd-balanced ebs-gp3; do
    for c in $connections; do measure "$kind" "$class" "$c"; done
  done
done
if [ -n "$json_out" ]; then
  (IFS=,; printf '{"benchmark":"admission-load","duration":"%s","runs":[%s]}\n' \
    "$duration" "${results[*]}") >"$json_out"
fi
exit "$failed"
