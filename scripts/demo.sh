#!/usr/bin/env bash
# The main job: build what is missing, start the local cluster, install the
# DiskConfig CRD and a webhook configuration pointing at a local
# `discoblocks serve` with the bundled drivers, apply the fixture StorageClasses
# and DiskConfigs, and show what was accepted and what was refused, with which
# message. Everything it started is stopped when it exits, however it exits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\n== %s\n' "$*"; }

# shellcheck source=scripts/lib/local-serve.sh
source "$root/scripts/lib/local-serve.sh"

"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" "$root/build" >/dev/null
discoblocks="$root/build/bin/discoblocks"
drivers="$root/build/drivers"
fixtures="$root/tests/fixtures"

local_serve_workdir demo
work=$LOCAL_SERVE_WORK

log "drivers (discoblocks drivers list)"
"$discoblocks" drivers list --drivers-dir "$drivers"

log "local cluster (docs/local-cluster.md), discoblocks serve (HTTPS on 127.0.0.1)"
local_serve_start "$work" "$discoblocks" "$drivers"
echo "API server: $(sed -n 's/^DISCOBLOCKS_KUBE_SERVER=//p' "$work/cluster/env")"
echo "simulated nodes (kwok) and CSI drivers (sim-csi-driver behind the real CSI sidecars):"
kubectl get nodes -L topology.kubernetes.io/zone
kubectl get csidrivers
curl -s "http://127.0.0.1:$LOCAL_SERVE_HEALTH_PORT/readyz"
local_serve_register_webhook

log "StorageClasses"
kubectl apply -f "$fixtures/storageclasses/"

log "DiskConfigs"
# The fixtures, plus one that points at a StorageClass its driver refuses.
sed 's/name: nginx/name: nginx-no-expansion/; s/storageClassName: ebs-gp3/storageClassName: ebs-no-expansion/' \
  "$fixtures/diskconfigs/nginx-ebs.yaml" >"$work/nginx-no-expansion.yaml"
for file in "$fixtures"/diskconfigs/*.yaml "$work/nginx-no-expansion.yaml"; do
  printf -- '- %s: ' "$(basename "$file")"
  if output=$(kubectl apply -f "$file" 2>&1); then
    echo "accepted ($output)"
  else
    echo "refused"
    printf '    %s\n' "$output"
  fi
done

log "kubectl get diskconfigs"
kubectl get diskconfigs -A

log "admission decisions logged by discoblocks serve"
grep '"admission decision"' "$work/serve.log" || true
