#!/usr/bin/env bash
# Pods getting their disks on the local cluster, measured (not part of CI; nothing is
# asserted):
#   bench/pods-load.sh [--pods 1000] [--nodes 20] [--cache-pods 10000] [--build DIR]
#                      [--json FILE]
# - PODS pods of one StatefulSet (volumeClaimTemplates, podManagementPolicy Parallel),
#   then PODS pods of one Deployment that a ReadWriteOnce DiskConfig gives a disk each
#   through `discoblocks serve`'s pod webhook, on NODES simulated nodes, each from its
#   creation until every pod is Running and every PVC Bound (polled every second), and
#   the ratio. Same cluster, same StorageClass (ebs.csi.aws.com, WaitForFirstConsumer,
#   reclaim Delete); each in its own namespace, deleted (and waited for) in between.
# - the resident memory of `discoblocks serve` (VmRSS, VmHWM) with no pods, then with
#   CACHE-PODS pods in the cluster (one Deployment matching no DiskConfig, on a fresh
#   cluster with one node per 250 pods, and one more); --cache-pods 0 skips this.
#   serve caches pods only once a controller reads them (the autoscaler), so
#   informer_memory_bench then measures that cache (the operator's pod transform and
#   indexes) over the same pods, in a process of its own.
# --build DIR takes `discoblocks` and the drivers from an existing build instead of
# the Release build made in build-release/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pods=1000 nodes=20 cache_pods=10000 json_out= build=
while (($#)); do
  case $1 in
    --pods) pods=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --cache-pods) cache_pods=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --json) json_out=$2; shift 2 ;;
    *) echo "usage: $0 [--pods N] [--nodes N] [--cache-pods N] [--build DIR] [--json FILE]" >&2
       exit 2 ;;
  esac
done

# shellcheck source=scripts/lib/local-serve.sh
source "$root/scripts/lib/local-serve.sh"
"$root/scripts/setup.sh" >/dev/null
if [ -z "$build" ]; then
  build=$root/build-release
  "$root/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
local_serve_workdir pods-load
work=$LOCAL_SERVE_WORK
now_ms() { echo $(($(date +%s%N) / 1000000)); }
count() { kubectl get "$@" --no-headers 2>/dev/null | wc -l; }

# wait_ready NAMESPACE N: until N pods are Running and N PVCs Bound; prints seconds
# since $begin.
wait_ready() {
  local namespace=$1 n=$2 running bound
  for _ in $(seq 1800); do
    running=$(count pods -n "$namespace" --field-selector=status.phase=Running)
    bound=$(kubectl get pvc -n "$namespace" --no-headers 2>/dev/null | grep -c ' Bound ' || true)
    if ((running == n && bound == n)); then
      python3 -c "print(round(($(now_ms) - $begin) / 1000, 1))"
      return 0
    fi
    sleep 1
  done
  echo "not ready after 30 minutes: $running pods Running, $bound PVCs Bound of $n" >&2
  return 1
}

# workload KIND NAME REPLICAS [VOLUME_CLAIM_TEMPLATE]: a StatefulSet or Deployment
# manifest whose pods are labelled app=NAME.
workload() {
  python3 - "$@" <<'PY'
import json, sys
kind, name, replicas = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Shaped like a real Deployment's pod (as bench/informer_memory_bench's): labels,
# annotations, an init container, three containers with env, resources, probes and
# mounts, and volumes.
container = lambda n: {
    "name": n, "image": f"registry.example/{n}:1.2.3",
    "env": [{"name": f"{n.upper()}_{i}", "value": "x" * 20} for i in range(4)],
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                  "limits": {"memory": "64Mi"}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
    "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 10},
    "volumeMounts": [{"name": "config", "mountPath": "/etc/app"},
                     {"name": "scratch", "mountPath": "/tmp"}]}
pod = {"metadata": {"labels": {"app": name, "tier": "bench", "team": "storage",
                               "release": "stable", "version": "1.2.3"},
                    "annotations": {"example.com/owner": "platform-team",
                                    "example.com/description": "y" * 200}},
       "spec": {"initContainers": [{"name": "init", "image": "registry.example/init:1.2.3",
                                    "command": ["true"]}],
                "containers": [container("app"), container("sidecar"), container("logs")],
                "volumes": [{"name": "config", "configMap": {"name": "app-config"}},
                            {"name": "scratch", "emptyDir": {}}]}}
spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": pod}
if kind == "StatefulSet":
    spec.update(serviceName=name, podManagementPolicy="Parallel", volumeClaimTemplates=[{
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "bench-gp3",
                 "resources": {"requests": {"storage": "1Gi"}}}}])
    pod["spec"]["containers"][0]["volumeMounts"].append({"name": "data", "mountPath": "/data"})
print(json.dumps({"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}))
PY
}

# --- 1. PODS pods with a disk each: StatefulSet, then the pod webhook -------------
LOCAL_SERVE_CLUSTER_FLAGS="--nodes $nodes"
local_serve_start "$work" "$build/bin/discoblocks" "$build/drivers" \
  --log-format json --log-level info
local_serve_register_pod_webhook
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: bench-gp3
provisioner: ebs.csi.aws.com
parameters:
  type: gp3
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
YAML

kubectl create namespace sts >/dev/null
begin=$(now_ms)
workload StatefulSet db "$pods" | kubectl apply -n sts -f - >/dev/null
sts_s=$(wait_ready sts "$pods")
echo "StatefulSet: $pods pods Running and PVCs Bound after ${sts_s} s"
# Released volumes are deleted after their claims: wait for them too, so that the
# second run starts on a cluster as empty as the first.
kubectl delete namespace sts --timeout=600s >/dev/null
for _ in $(seq 600); do (($(count pv) == 0)) && break; sleep 1; done

kubectl create namespace disco >/dev/null
kubectl apply -n disco -f - >/dev/null <<'YAML'
apiVersion: discoblocks.ondat.io/v1
kind: DiskConfig
metadata:
  name: db
spec:
  storageClassName: bench-gp3
  capacity: 1Gi
  availabilityMode: ReadWriteOnce
  mountPointPattern: /data
  podSelector:
    app: db
YAML
sleep 2 # the DiskConfig reaches the webhook's cache through a watch
begin=$(now_ms)
workload Deployment db "$pods" | kubectl apply -n disco -f - >/dev/null
disco_s=$(wait_ready disco "$pods")
echo "Deployment + DiskConfig: $pods pods Running and PVCs Bound after ${disco_s} s"
ratio=$(python3 -c "print(round($disco_s / $sts_s, 2))")
echo "ratio Deployment+DiskConfig / StatefulSet: $ratio"
local_serve_stop

# --- 2. resident memory with CACHE-PODS pods in the caches ------------------------
rss_idle= rss_loaded= hwm_loaded=
if ((cache_pods > 0)); then
  rm -rf "$work/cluster"
  LOCAL_SERVE_CLUSTER_FLAGS="--nodes $(((cache_pods + 249) / 250 + 1))"
  local_serve_start "$work" "$build/bin/discoblocks" "$build/drivers" \
    --log-format json --log-level info
  rss_kib() { sed -n "s/^$1:\s*\([0-9]*\) kB/\1/p" "/proc/$LOCAL_SERVE_PID/status"; }
  sleep 5
  rss_idle=$(rss_kib VmRSS)
  kubectl create namespace cache >/dev/null
  workload Deployment cached "$cache_pods" | kubectl apply -n cache -f - >/dev/null
  for _ in $(seq 1800); do
    (($(count pods -n cache --field-selector=status.phase=Running) == cache_pods)) && break
    sleep 2
  done
  sleep 10 # the last watch events reach the caches
  rss_loaded=$(rss_kib VmRSS)
  hwm_loaded=$(rss_kib VmHWM)
  echo "serve resident memory: $((rss_idle / 1024)) MiB with no pods," \
    "$((rss_loaded / 1024)) MiB with $cache_pods pods (peak $((hwm_loaded / 1024)) MiB)"
  echo "the operator's pod cache over the same pods (informer_memory_bench):"
  "$build/bin/informer_memory_bench" --kubeconfig "$KUBECONFIG" --namespace cache \
    --pods "$cache_pods" --variants pod-transform,pod-transform+index
fi

if [ -n "$json_out" ]; then
  printf '{"benchmark":"pods-load","pods":%d,"nodes":%d,"statefulset_s":%s,"diskconfig_s":%s,"ratio":%s,"cache_pods":%d,"rss_idle_kib":%s,"rss_loaded_kib":%s,"hwm_loaded_kib":%s}\n' \
    "$pods" "$nodes" "$sts_s" "$disco_s" "$ratio" "$cache_pods" "${rss_idle:-null}" \
    "${rss_loaded:-null}" "${hwm_loaded:-null}" >"$json_out"
fi
