#!/usr/bin/env bash
# The main job: build what is missing, start the local cluster, install the
# DiskConfig CRD and a webhook configuration pointing at a local
# `discoblocks serve` with the bundled drivers, apply the fixture StorageClasses
# and DiskConfigs, show what was accepted and what was refused, with which
# message, a Deployment's pod getting its disk from the pod webhook, and the
# autoscaler growing that disk as it fills, then adding a second one.
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

log "the disk fills up: it is grown, then a second disk is added"
# The simulated kubelets report what the claim's sim.discoblocks.dev/used-bytes
# says; the autoscaler polls them every 2 s. nginx-ebs.yaml: grow by 1Gi at 80%,
# up to 2Gi, then up to 3 disks; a short cool-down for the demo.
kubectl patch diskconfig nginx -n demo --type merge -p '{"spec":{"policy":{"coolDown":"10s"}}}'
claim=$(kubectl get pvc -n demo -l discoblocks=nginx -o jsonpath='{.items[0].metadata.name}')
kubectl annotate pvc "$claim" -n demo sim.discoblocks.dev/used-bytes=900Mi
demo_wait() {  # what, jsonpath of a PVC, value
  for _ in $(seq 120); do
    [ "$(kubectl get pvc "$claim" -n demo -o jsonpath="$2")" = "$3" ] && return 0
    sleep 1
  done
  echo "timed out waiting for $1" >&2
  return 1
}
demo_wait "the claim to grow to 2Gi" '{.status.capacity.storage}' 2Gi
# The EBS driver's file systems are grown by a Job on the pod's node (kwok
# completes it without running it).
demo_wait "its file system to grow" '{.metadata.annotations.discoblocks\.ondat\.io/fs-grown}' 2Gi
kubectl get pvc -n demo
kubectl get jobs -n default -l discoblocks.ondat.io/job
kubectl annotate --overwrite pvc "$claim" -n demo sim.discoblocks.dev/used-bytes=1900Mi
for _ in $(seq 120); do
  [ "$(kubectl get pvc -n demo -l discoblocks=nginx -o name | wc -l)" -ge 2 ] && break
  sleep 1
done
kubectl get pvc -n demo -L discoblocks-index,discoblocks-parent
kubectl get events.events.k8s.io -n demo --sort-by=.metadata.creationTimestamp \
  -o custom-columns=REASON:.reason,BY:.reportingController,OBJECT:.regarding.name,NOTE:.note

log "admission decisions logged by discoblocks serve"
grep '"admission decision"' "$work/serve.log" || true
