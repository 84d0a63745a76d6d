#!/usr/bin/env bash
# The main job: build what is missing, start a local control plane, install the
# DiskConfig CRD and a webhook configuration pointing at a local
# `discoblocks serve` with the bundled drivers, apply the fixture StorageClasses
# and DiskConfigs, and show what was accepted and what was refused, with which
# message. Everything it started is stopped when it exits, however it exits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\n== %s\n' "$*"; }

"$root/scripts/setup.sh" >/dev/null
bin_dir=$("$root/scripts/controlplane.sh" build | tail -n 1)
"$root/scripts/build.sh" "$root/build" >/dev/null
discoblocks="$root/build/bin/discoblocks"
drivers="$root/build/drivers"
fixtures="$root/tests/fixtures"

work=$(mktemp -d /tmp/discoblocks-demo.XXXXXX)
serve_pid=
cleanup() {
  local status=$?
  if [ -n "$serve_pid" ] && kill -0 "$serve_pid" 2>/dev/null; then
    kill -TERM "$serve_pid" && wait "$serve_pid" || true
  fi
  "$root/scripts/controlplane.sh" stop --data-dir "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

log "drivers (discoblocks drivers list)"
"$discoblocks" drivers list --drivers-dir "$drivers"

log "local control plane (etcd + kube-apiserver)"
export KUBECONFIG
KUBECONFIG=$("$root/scripts/controlplane.sh" start --data-dir "$work/cluster" --owner-pid $$ | tail -n 1)
kubectl() { "$bin_dir/kubectl" "$@"; }
kubectl apply -f "$root/deploy/crd/discoblocks.ondat.io_diskconfigs.yaml" >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/diskconfigs.discoblocks.ondat.io >/dev/null
echo "API server: $(sed -n 's/^DISCOBLOCKS_KUBE_SERVER=//p' "$work/cluster/env")"

log "discoblocks serve (webhook over HTTPS on 127.0.0.1)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=discoblocks-webhook -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
health_port=$(free_port)
"$discoblocks" serve --kubeconfig "$KUBECONFIG" --drivers-dir "$drivers" --address 127.0.0.1 \
  --port "$port" --health-port "$health_port" \
  --tls-cert-file "$work/tls.crt" --tls-private-key-file "$work/tls.key" \
  >"$work/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.2
done
curl -s "http://127.0.0.1:$health_port/readyz"

cat >"$work/webhook.yaml" <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: discoblocks-demo
webhooks:
  - name: vdiskconfig.discoblocks.ondat.io
    admissionReviewVersions: [v1]
    sideEffects: None
    failurePolicy: Fail
    timeoutSeconds: 10
    clientConfig:
      url: https://127.0.0.1:$port/validate-discoblocks-ondat-io-v1-diskconfig
      caBundle: $(base64 -w0 "$work/tls.crt")
    rules:
      - apiGroups: [discoblocks.ondat.io]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [diskconfigs]
YAML
kubectl apply -f "$work/webhook.yaml" >/dev/null

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
