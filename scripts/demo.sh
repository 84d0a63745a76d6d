#!/usr/bin/env bash
# The main job: build what is missing, start the local cluster, install the
# DiskConfig CRD and a webhook configuration pointing at a local
# `discoblocks serve` with the bundled drivers, apply the fixture StorageClasses
# and DiskConfigs, show what was accepted and what was refused, with which
# message, and a Deployment's pod getting its disk from the pod webhook.
# Everything it started is stopped when it exits, however it exits.
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
local_serve_register_pod_webhook

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

log "a pod gets its disk: DiskConfig nginx (ReadWriteOnce) in namespace demo, then a Deployment"
# The fixtures in default all select app=nginx (and ReadWriteDaemon refuses
# other pods than a DaemonSet's), so the Deployment gets a namespace with one.
kubectl create namespace demo
sed 's/namespace: default/namespace: demo/' "$fixtures/diskconfigs/nginx-ebs.yaml" | kubectl apply -f -
# kwok runs no container: the image is never pulled.
kubectl create deployment nginx -n demo --image=nginx:1.27 --replicas=1
local_serve_show_pod_disks demo nginx app=nginx

log "admission decisions logged by discoblocks serve"
grep '"admission decision"' "$work/serve.log" || true
