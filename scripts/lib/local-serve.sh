# Sourced, not run: a local cluster with the DiskConfig CRD and a
# `discoblocks serve` in front of it, for scripts/demo.sh and bench/admission-load.sh.
#
#   local_serve_start WORK DISCOBLOCKS DRIVERS [serve flags...]
#       Starts the cluster (scripts/cluster.sh, with LOCAL_SERVE_CLUSTER_FLAGS, e.g.
#       --control-plane-only) in WORK/cluster, installs the CRD, makes a
#       self-signed certificate for 127.0.0.1, starts DISCOBLOCKS serve with the
#       drivers in DRIVERS (and, on the full cluster, its autoscaler reading the
#       simulated kubelets every 2 s) and waits until it is ready. Sets KUBECONFIG (exported),
#       LOCAL_SERVE_PORT, LOCAL_SERVE_HEALTH_PORT, LOCAL_SERVE_PID; the server's log is
#       WORK/serve.log and its certificate WORK/tls.crt.
#   local_serve_register_webhook
#       Points a ValidatingWebhookConfiguration for DiskConfigs at that server.
#   local_serve_register_pod_webhook
#       Points a MutatingWebhookConfiguration for pods at that server, as the chart
#       registers it: never kube-system or a namespace labelled
#       discoblocks.ondat.io/pod-webhook=disabled; no PVC made on a dry run.
#   local_serve_show_pod_disks NAMESPACE DEPLOYMENT SELECTOR
#       Waits for the Deployment's rollout, then shows the pods and PVCs of the
#       namespace, and the volumes and every container's mounts of the pods
#       SELECTOR selects.
#   local_serve_stop
#       Stops the server (SIGTERM, waits) and the control plane; safe to call twice.
#   local_serve_workdir NAME
#       Creates the scratch directory (printed in LOCAL_SERVE_WORK) and installs an
#       exit trap that stops everything and removes it, however the script exits.
#   kubectl ARGS...
#       The control plane's kubectl.

local_serve_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
local_serve_work=
LOCAL_SERVE_PID=

kubectl() { "$local_serve_bin_dir/kubectl" "$@"; }

local_serve_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

local_serve_start() {
  local_serve_work=$1
  local discoblocks=$2 drivers=$3
  shift 3
  # shellcheck disable=SC2086 # flags, split on purpose
  local_serve_bin_dir=$("$local_serve_root/scripts/cluster.sh" build ${LOCAL_SERVE_CLUSTER_FLAGS:-} | tail -n 1)
  export KUBECONFIG
  # shellcheck disable=SC2086
  KUBECONFIG=$("$local_serve_root/scripts/cluster.sh" start ${LOCAL_SERVE_CLUSTER_FLAGS:-} \
    --data-dir "$local_serve_work/cluster" --owner-pid $$ | tail -n 1)
  kubectl apply -f "$local_serve_root/deploy/helm/discoblocks/crds/discoblocks.ondat.io_diskconfigs.yaml" >/dev/null
  kubectl wait --for=condition=Established --timeout=60s \
    crd/diskconfigs.discoblocks.ondat.io >/dev/null

  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=discoblocks-webhook -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$local_serve_work/tls.key" -out "$local_serve_work/tls.crt" 2>/dev/null
  # With kubelets (the full cluster), the autoscaler reads them as a service
  # account allowed only `get nodes/stats`, and polls every 2 s for the demo.
  local autoscale=()
  case " ${LOCAL_SERVE_CLUSTER_FLAGS:-} " in
  *" --control-plane-only "*) ;;
  *)
    kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: ServiceAccount
metadata: {name: discoblocks-kubelets, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: discoblocks-kubelets}
rules: [{apiGroups: [""], resources: [nodes/stats], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: discoblocks-kubelets}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: discoblocks-kubelets}
subjects: [{kind: ServiceAccount, name: discoblocks-kubelets, namespace: default}]
YAML
    kubectl create token discoblocks-kubelets -n default --duration 2h >"$local_serve_work/kubelet.token"
    autoscale=(--usage-poll-interval 2s --kubelet-ca-file "$local_serve_work/cluster/pki/ca.crt"
      --kubelet-token-file "$local_serve_work/kubelet.token" --mount-job-namespace default)
    ;;
  esac
  LOCAL_SERVE_PORT=$(local_serve_free_port)
  LOCAL_SERVE_HEALTH_PORT=$(local_serve_free_port)
  "$discoblocks" serve --kubeconfig "$KUBECONFIG" --drivers-dir "$drivers" \
    --address 127.0.0.1 --port "$LOCAL_SERVE_PORT" --health-port "$LOCAL_SERVE_HEALTH_PORT" \
    --tls-cert-file "$local_serve_work/tls.crt" \
    --tls-private-key-file "$local_serve_work/tls.key" --shutdown-delay 0s "${autoscale[@]}" "$@" \
    >"$local_serve_work/serve.log" 2>&1 &
  LOCAL_SERVE_PID=$!
  local _
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$LOCAL_SERVE_HEALTH_PORT/readyz" >/dev/null 2>&1 && return 0
    if ! kill -0 "$LOCAL_SERVE_PID" 2>/dev/null; then
      cat "$local_serve_work/serve.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "discoblocks serve did not become ready; its log:" >&2
  cat "$local_serve_work/serve.log" >&2
  return 1
}

local_serve_register_webhook() {
  cat >"$local_serve_work/webhook.yaml" <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: discoblocks-local
webhooks:
  - name: vdiskconfig.discoblocks.ondat.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:$LOCAL_SERVE_PORT/validate-discoblocks-ondat-io-v1-diskconfig
      caBundle: $(base64 -w0 "$local_serve_work/tls.crt")
    rules:
      - apiGroups: [discoblocks.ondat.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [diskconfigs]
YAML
  kubectl apply -f "$local_serve_work/webhook.yaml" >/dev/null
}

local_serve_register_pod_webhook() {
  cat >"$local_serve_work/pod-webhook.yaml" <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: discoblocks-local
webhooks:
  - name: mpod.discoblocks.ondat.io
    admissionReviewVersions: [v1]
    sideEffects: NoneOnDryRun
    failurePolicy: Fail
    timeoutSeconds: 10
    reinvocationPolicy: IfNeeded
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}
        - {key: discoblocks.ondat.io/pod-webhook, operator: NotIn, values: [disabled]}
    clientConfig:
      url: https://127.0.0.1:$LOCAL_SERVE_PORT/mutate--v1-pod
      caBundle: $(base64 -w0 "$local_serve_work/tls.crt")
    rules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [pods]
        scope: Namespaced
YAML
  kubectl apply -f "$local_serve_work/pod-webhook.yaml" >/dev/null
}

local_serve_show_pod_disks() {
  local namespace=$1 deployment=$2 selector=$3
  # A pod runs only once its claims are Bound (the scheduler waits for them),
  # so this is the only wait.
  kubectl rollout status -n "$namespace" "deployment/$deployment" --timeout=120s
  kubectl get pods,pvc -n "$namespace" -o wide
  kubectl get pods -n "$namespace" -l "$selector" -o jsonpath='{range .items[*]}{"pod "}{.metadata.name}{"\n  volumes: "}{.spec.volumes}{"\n"}{range .spec.containers[*]}{"  container "}{.name}{" mounts: "}{.volumeMounts}{"\n"}{end}{end}'
}

local_serve_stop() {
  if [ -n "$LOCAL_SERVE_PID" ] && kill -0 "$LOCAL_SERVE_PID" 2>/dev/null; then
    kill -TERM "$LOCAL_SERVE_PID" && wait "$LOCAL_SERVE_PID" || true
  fi
  LOCAL_SERVE_PID=
  if [ -n "$local_serve_work" ]; then
    "$local_serve_root/scripts/cluster.sh" stop --data-dir "$local_serve_work/cluster" \
      >/dev/null 2>&1 || true
  fi
}

local_serve_cleanup() {
  local status=$?
  local_serve_stop
  [ -n "${LOCAL_SERVE_WORK:-}" ] && rm -rf "$LOCAL_SERVE_WORK"
  exit "$status"
}

local_serve_workdir() {
  LOCAL_SERVE_WORK=$(mktemp -d "/tmp/discoblocks-$1.XXXXXX")
  trap local_serve_cleanup EXIT INT TERM
}
