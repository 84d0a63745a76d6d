#!/usr/bin/env bash
# Admissions per second and latency of `discoblocks serve` over TLS with keep-alive,
# measured with wrk (a real load generator) against a local control plane.
#
#   bench/admission-load.sh [--duration 10s] [--connections "1 16 64"] [--json FILE]
#
# For each driver (the C driver pd.csi.storage.gke.io and the Go driver
# ebs.csi.aws.com) and each concurrency, wrk sends the same CREATE AdmissionReview of
# a valid DiskConfig for --duration over that many keep-alive connections, and the
# script prints requests/s and p50/p90/p99 latency. Every answer is checked to be
# "allowed"; a run with refusals or socket errors is reported as failed. Uses a
# Release build in build-release/. wrk and the server share the machine's cores, so
# the figures are a lower bound for a server with the machine to itself.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=10s
connections="1 16 64"
json_out=
while (($#)); do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    *) echo "usage: $0 [--duration 10s] [--connections \"1 16 64\"] [--json FILE]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/lib/local-serve.sh
source "$root/scripts/lib/local-serve.sh"
"$root/scripts/setup.sh" >/dev/null
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/setup.sh" >&2; exit 1; }
"$root/scripts/build.sh" "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null

local_serve_workdir load
work=$LOCAL_SERVE_WORK

# Debug logging off: one log line per decision is part of the cost we measure. The API
# server alone: the rest of the cluster would only add noise to the measurement.
LOCAL_SERVE_CLUSTER_FLAGS=--control-plane-only
local_serve_start "$work" "$root/build-release/bin/discoblocks" "$root/build-release/drivers" \
  --log-format json --log-level info
kubectl apply -f "$root/tests/fixtures/storageclasses/gke-pd-balanced.yaml" \
  -f "$root/tests/fixtures/storageclasses/ebs-gp3.yaml" >/dev/null
# The server's StorageClass cache follows a watch; wait until both are in it.
review() {
  python3 - "$1" <<'PY'
import json, sys
print(json.dumps({
    "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {"uid": "load", "operation": "CREATE", "object": {
        "apiVersion": "discoblocks.ondat.io/v1", "kind": "DiskConfig",
        "metadata": {"name": "load", "namespace": "default"},
        "spec": {"storageClassName": sys.argv[1], "capacity": "1Gi",
                 "podSelector": {"app": "load"},
                 "policy": {"maximumCapacityOfDisk": "10Gi"}}}}}))
PY
}
url="https://127.0.0.1:$LOCAL_SERVE_PORT/validate-discoblocks-ondat-io-v1-diskconfig"
for class in pd-balanced ebs-gp3; do
  review "$class" >"$work/$class.json"
  allowed=
  for _ in $(seq 100); do
    answer=$(curl -s --cacert "$work/tls.crt" -H 'Content-Type: application/json' \
      --data-binary "@$work/$class.json" "$url")
    if grep -q '"allowed":true' <<<"$answer"; then allowed=1 && break; fi
    sleep 0.1
  done
  [ -n "$allowed" ] || { echo "the DiskConfig for $class is not allowed: $answer" >&2; exit 1; }
done

printf '%-26s %5s %12s %9s %9s %9s\n' driver conns admissions/s p50_ms p90_ms p99_ms
results=()
failed=0
for class in pd-balanced ebs-gp3; do
  case $class in
    pd-balanced) driver="pd.csi.storage.gke.io (C)" ;;
    *) driver="ebs.csi.aws.com (Go)" ;;
  esac
  for c in $connections; do
    threads=$((c < $(nproc) ? c : $(nproc)))
    line=$(ADMISSION_BODY="$work/$class.json" wrk -t "$threads" -c "$c" -d "$duration" \
      --timeout 10s -s "$root/bench/admission-load.lua" "$url" | sed -n 's/^RESULT //p')
    python3 - "$driver" "$c" "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[3])
print(f"{sys.argv[1]:<26} {sys.argv[2]:>5} {r['per_second']:>12.0f} {r['p50_ms']:>9.2f} "
      f"{r['p90_ms']:>9.2f} {r['p99_ms']:>9.2f}"
      + ("" if r["not_allowed"] == 0 and r["socket_errors"] == 0 else
         f"   FAILED: {r['not_allowed']} not allowed, {r['socket_errors']} socket errors"))
PY
    if ! python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(r["not_allowed"] or r["socket_errors"])' "$line"; then
      failed=1
    fi
    results+=("{\"driver\":\"$driver\",\"connections\":$c,\"result\":$line}")
  done
done
if [ -n "$json_out" ]; then
  (IFS=,; printf '{"benchmark":"admission-load","duration":"%s","runs":[%s]}\n' \
    "$duration" "${results[*]}") >"$json_out"
fi
exit "$failed"
