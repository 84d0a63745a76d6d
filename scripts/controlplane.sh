#!/usr/bin/env bash
# A local Kubernetes control plane for tests: etcd and kube-apiserver only (no kubelet,
# scheduler or controller-manager, like controller-runtime's envtest), built from source
# through the Go module proxy (tools/controlplane pins the versions and checksums).
#
#   scripts/controlplane.sh build
#       Builds etcd, kube-apiserver and kubectl once into the cache; prints the bin
#       directory on its last line of output.
#   scripts/controlplane.sh start --data-dir DIR [--owner-pid PID]
#       Fresh certificates, etcd and kube-apiserver on free 127.0.0.1 ports, waits for
#       /readyz; prints DIR/kubeconfig on its last line of output. With --owner-pid the
#       control plane stops by itself when process PID is gone (a test that crashed).
#   scripts/controlplane.sh stop --data-dir DIR
#       Stops what start started there and waits until it is gone; fine if nothing runs.
#   scripts/controlplane.sh stop-apiserver|start-apiserver --data-dir DIR
#       Stops, or starts again on the same port, only the API server (etcd keeps
#       running): for tests of clients that must ride out an API server restart.
#   scripts/controlplane.sh status --data-dir DIR
#       Exit 0 when etcd and kube-apiserver run and the API server is ready, else 3.
#
# Files in DIR after start: kubeconfig (admin client certificate), kubeconfig-token
# (admin bearer token), token, env (KEY=VALUE lines), pki/, etcd/ (data), etcd.log,
# kube-apiserver.log, etcd.pid, kube-apiserver.pid, and with --owner-pid
# owner-watch.pid and owner-watch.log. Every start begins afresh (new certificates,
# empty etcd); stop keeps the files for a look afterwards. Progress goes to stderr;
# stdout has only the result line.
#
# Environment:
#   DISCOBLOCKS_CACHE                  cache directory (default: ~/.cache/discoblocks)
#   DISCOBLOCKS_CONTROLPLANE_TIMEOUT   seconds start waits for /readyz (default: 120)
#   DISCOBLOCKS_CONTROLPLANE_GRACE     seconds stop waits after SIGTERM (default: 15)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$root/tools/controlplane"
cache=${DISCOBLOCKS_CACHE:-$HOME/.cache/discoblocks}
start_timeout=${DISCOBLOCKS_CONTROLPLANE_TIMEOUT:-120}
stop_grace=${DISCOBLOCKS_CONTROLPLANE_GRACE:-15}

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# usage [STATUS]: the comment above, on stderr (stdout for --help).
usage() {
  local status=${1:-2}
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&"$((status == 0 ? 1 : 2))"
  exit "$status"
}

# --- versions and the build ---------------------------------------------------------

# The version of a module that tools/controlplane/go.mod requires.
module_version() {
  awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' \
    "$module/go.mod"
}

k8s_version=$(module_version k8s.io/kubernetes)
etcd_version=$(module_version go.etcd.io/etcd/server/v3)
[ -n "$k8s_version" ] && [ -n "$etcd_version" ] || die "cannot read the versions from $module/go.mod"

# component-base (kube-apiserver) and client-go (kubectl) report these; a plain
# `go build` of a module leaves them at v0.0.0-master, and kube-apiserver derives its
# binary and emulation versions from them.
k8s_minor=${k8s_version#v*.}
k8s_minor=${k8s_minor%%.*}
k8s_major=${k8s_version#v}
k8s_major=${k8s_major%%.*}
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$k8s_major"
  ldflags+=" -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

# The bin directory's name carries the versions and a hash of everything that decides
# what gets built: the pinned checksums (go.sum), go.mod, our etcd main and the flags.
# Changing any of them builds into a new directory instead of reusing a stale one.
build_id=$(cat "$module/go.sum" "$module/go.mod" "$module/etcd/main.go" <(echo "$ldflags") |
  sha256sum | cut -c1-16)
cp_dir="$cache/controlplane-$k8s_version-$etcd_version-$build_id"
bin_dir="$cp_dir/bin"

# Uses the machine's Go when it is recent enough for go.mod, else lets the go command
# fetch the pinned toolchain from the module proxy (checksummed by the Go checksum
# database, like any module). The Go that scripts/setup.sh provides is old enough to
# need that.
fallback_toolchain=go1.26.8
select_go() {
  local dir need have
  for dir in "$cache"/go-*/bin /usr/local/go/bin; do
    [ -x "$dir/go" ] && ! command -v go >/dev/null 2>&1 && export PATH="$dir:$PATH"
  done
  command -v go >/dev/null 2>&1 || die "no Go toolchain found (run scripts/setup.sh)"
  need=$(awk '$1 == "go" { print $2; exit }' "$module/go.mod")
  have=$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    log "Go $have is older than the $need that $module/go.mod needs: using $fallback_toolchain"
    export GOTOOLCHAIN=$fallback_toolchain
  fi
}

build() {
  [ -x "$bin_dir/kube-apiserver" ] && [ -x "$bin_dir/kubectl" ] && [ -x "$bin_dir/etcd" ] && return 0
  mkdir -p "$cache"
  # One build at a time (two tests starting control planes at once); the second
  # finds the first's result once it gets the lock.
  exec 8>"$cache/controlplane.lock"
  flock 8
  if [ ! -x "$bin_dir/etcd" ]; then
    select_go
    local started
    build_tmp=$(mktemp -d "$cache/.controlplane-build.XXXXXX")
    # Removes the half-built directory if the build fails or is interrupted.
    trap 'rm -rf "$build_tmp"' EXIT
    log "building kube-apiserver, kubectl $k8s_version and etcd $etcd_version (the first build takes a while)"
    started=$SECONDS
    # mktemp makes it private; the result is for anyone who may run the binaries.
    chmod 755 "$build_tmp"
    mkdir -p "$build_tmp/bin"
    # -mod=readonly: only what go.mod and go.sum pin, never an update. CGO_ENABLED=0:
    # static binaries, like the upstream release builds of all three.
    (cd "$module" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" \
      -o "$build_tmp/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ./etcd) >&2
    # A rename is atomic: the directory is either absent or complete.
    mv -T "$build_tmp" "$cp_dir"
    trap - EXIT
    log "built in $((SECONDS - started)) s: $bin_dir"
  fi
  exec 8>&-
}

# --- processes ----------------------------------------------------------------------

# Whether the process in PIDFILE is alive and is ours: its command line names a path
# under the data directory, so a recycled PID of an unrelated process is never taken
# for it (or killed). A zombie counts as gone.
running() {
  local pidfile=$1 pid state
  [ -f "$pidfile" ] || return 1
  pid=$(<"$pidfile")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data_dir/" || return 1
}

# Sends SIGTERM to the process in PIDFILE, SIGKILL after the grace period, and returns
# when it has exited (adding it to exited_pids).
terminate() {
  local pidfile=$1 name
  name=$(basename "$pidfile" .pid)
  # The owner watch runs stop itself, in its own process: it must not stop itself.
  if running "$pidfile" && [ "$(<"$pidfile")" != $$ ]; then
    local pid deadline
    pid=$(<"$pidfile")
    log "stopping $name (pid $pid)"
    # launch made it the leader of its own process group: signal the group, so that
    # a child (the owner watch's sleep) goes too.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + stop_grace))
    while running "$pidfile" && ((SECONDS < deadline)); do sleep 0.1; done
    if running "$pidfile"; then
      log "$name did not stop within ${stop_grace}s: SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      while running "$pidfile"; do sleep 0.1; done
    fi
    exited_pids+=("$pid")
  fi
  rm -f "$pidfile"
}

stop_all() {
  local exited_pids=() pid deadline
  # The API server first, so that it does not spend its shutdown retrying a gone etcd.
  terminate "$data_dir/owner-watch.pid"
  terminate "$data_dir/kube-apiserver.pid"
  terminate "$data_dir/etcd.pid"
  # They have exited; their new parent (init, or a subreaper) reaps them a moment
  # later. Wait a little for that too, so that a ps or pgrep right after stop shows
  # no zombie; but a parent that never reaps must not hang us.
  deadline=$((SECONDS + 3))
  for pid in "${exited_pids[@]}"; do
    while [ -e "/proc/$pid" ] && ((SECONDS < deadline)); do sleep 0.05; done
  done
}

# Starts a command in the background, detached from the caller: its own session (a
# Ctrl-C or a hang-up of the caller's terminal does not reach it; stop does), no
# standard input, output to DIR/NAME.log, and none of our open descriptors, so a
# caller that reads start's output through a pipe sees it end.
launch() {
  local name=$1
  shift
  setsid "$@" </dev/null >>"$data_dir/$name.log" 2>&1 8>&- 9>&- &
  echo $! >"$data_dir/$name.pid"
}

# pick_ports VAR...: sets each VAR to a different TCP port on which nothing is bound,
# below the ephemeral range (32768+) so that outgoing connections do not take it first.
# Another process can still take one before we bind it: start notices ("address
# already in use") and tries new ports.
pick_ports() {
  local -A used=()
  local hex var port
  # Local ports of every TCP socket, IPv4 and IPv6, in hex in /proc/net/tcp*.
  while read -r hex; do
    used[$((16#$hex))]=1
  done < <(awk 'FNR > 1 { n = split($2, a, ":"); print a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  for var in "$@"; do
    while :; do
      port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
      [ -z "${used[$port]:-}" ] && break
    done
    used[$port]=1
    printf -v "$var" '%s' "$port"
  done
}

# --- certificates and credentials ---------------------------------------------------

# A CA, the API server's serving certificate, the admin client certificate and the
# service-account signing key pair, all fresh for every start. ECDSA P-256: instant to
# generate, and accepted for all four uses.
make_pki() {
  local pki=$data_dir/pki
  mkdir -p "$pki"
  (
    cd "$pki"
    umask 077
    # quiet COMMAND...: its chatter on stderr only when it fails.
    quiet() { local out; out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }; }
    newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
    newkey ca.key
    openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=discoblocks-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
    # sign NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
    sign() {
      newkey "$1.key"
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
      printf '%s\n' "$3" >"$1.ext"
      quiet openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -sha256 -days 3650 \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$1.ext" -out "$1.crt"
      rm -f "$1.csr" "$1.ext"
    }
    sign apiserver "/CN=kube-apiserver" "$(printf '%s\n' \
      'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' \
      'extendedKeyUsage=serverAuth' \
      'subjectAltName=IP:127.0.0.1,DNS:localhost,IP:::1')"
    # O=system:masters: the group that RBAC lets do everything.
    sign admin "/O=system:masters/CN=discoblocks-admin" "$(printf '%s\n' \
      'basicConstraints=critical,CA:FALSE' \
      'keyUsage=critical,digitalSignature' \
      'extendedKeyUsage=clientAuth')"
    newkey service-account.key
    openssl pkey -in service-account.key -pubout -out service-account.pub
  )
  # A static bearer token for the same kind of admin, for tests of the token path.
  # --token-auth-file lines: token,user,uid,"group1,group2".
  (
    umask 077
    openssl rand -hex 32 >"$data_dir/token"
    printf '%s,discoblocks-admin-token,discoblocks-admin-token,"system:masters"\n' \
      "$(<"$data_dir/token")" >"$pki/tokens.csv"
  )
}

# write_kubeconfig FILE USER-LINES...: one cluster, one user, one context.
write_kubeconfig() {
  local file=$1
  shift
  {
    echo "apiVersion: v1"
    echo "kind: Config"
    echo "clusters:"
    echo "- name: discoblocks-test"
    echo "  cluster:"
    echo "    server: $server"
    echo "    certificate-authority-data: $(base64 -w0 <"$data_dir/pki/ca.crt")"
    echo "users:"
    echo "- name: admin"
    echo "  user:"
    printf '    %s\n' "$@"
    echo "contexts:"
    echo "- name: discoblocks-test"
    echo "  context:"
    echo "    cluster: discoblocks-test"
    echo "    user: admin"
    echo "current-context: discoblocks-test"
  } >"$file.tmp"
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

# --- start --------------------------------------------------------------------------

# Prints the last lines of both logs to stderr, for a start that failed.
show_logs() {
  local name
  for name in etcd kube-apiserver; do
    [ -s "$data_dir/$name.log" ] || continue
    log "last lines of $data_dir/$name.log:"
    tail -n 25 "$data_dir/$name.log" | sed 's/^/    /' >&2
  done
}

# abort NAME MESSAGE: stops what this try started. Returns 2 when NAME could not bind
# its port (the caller tries other ports), else reports MESSAGE and the logs, returns 1.
abort() {
  stop_all
  if grep -qs 'address already in use' "$data_dir/$1.log"; then
    log "a port was taken before $1 could bind it; trying other ports"
    return 2
  fi
  log "error: $2"
  show_logs
  return 1
}

# Picks ports, writes the kubeconfigs, starts etcd and kube-apiserver and waits for
# /readyz. Returns 0 when ready, 2 when a port was taken between picking and binding
# it (the caller tries new ports), 1 on any other failure (nothing left running).
# launch_apiserver PORT: starts kube-apiserver against $etcd_url, serving $server.
launch_apiserver() {
  local api_port=$1 pki=$data_dir/pki
  # --endpoint-reconciler-type=none: the "kubernetes" Service's endpoint would be the
  #   loopback address, which endpoints may not hold; nothing runs in pods to use it.
  # --disable-admission-plugins=ServiceAccount: without a controller-manager no
  #   namespace gets its "default" ServiceAccount, and the plugin would refuse every
  #   pod; tests create pods (the pod-mutating webhook).
  # --allow-privileged: the operator's mount jobs are privileged pods.
  launch kube-apiserver "$bin_dir/kube-apiserver" \
    --etcd-servers="$etcd_url" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$api_port" \
    --tls-cert-file="$pki/apiserver.crt" \
    --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --token-auth-file="$pki/tokens.csv" \
    --authorization-mode=Node,RBAC \
    --service-account-issuer="$server" \
    --service-account-key-file="$pki/service-account.pub" \
    --service-account-signing-key-file="$pki/service-account.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --endpoint-reconciler-type=none \
    --disable-admission-plugins=ServiceAccount \
    --allow-privileged=true \
    --profiling=false

}

start_once() {
  local etcd_port peer_port api_port pki=$data_dir/pki
  pick_ports etcd_port peer_port api_port
  server="https://127.0.0.1:$api_port"
  etcd_url="http://127.0.0.1:$etcd_port"
  rm -rf "$data_dir/etcd" "$data_dir"/{etcd,kube-apiserver,owner-watch}.log

  write_kubeconfig "$data_dir/kubeconfig" \
    "client-certificate-data: $(base64 -w0 <"$pki/admin.crt")" \
    "client-key-data: $(base64 -w0 <"$pki/admin.key")"
  write_kubeconfig "$data_dir/kubeconfig-token" "token: $(<"$data_dir/token")"

  # Plain HTTP on loopback, as envtest does: only the API server talks to it.
  # --unsafe-no-fsync: test data need not survive a power cut, and fsync dominates
  # etcd's latency on a shared disk.
  launch etcd "$bin_dir/etcd" \
    --name=discoblocks-test \
    --data-dir="$data_dir/etcd" \
    --listen-client-urls="$etcd_url" \
    --advertise-client-urls="$etcd_url" \
    --listen-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer_port" \
    --initial-cluster="discoblocks-test=http://127.0.0.1:$peer_port" \
    --initial-cluster-state=new \
    --unsafe-no-fsync

  # The API server retries a missing etcd, but fills its log with connection errors
  # meanwhile; waiting here keeps a failure's log tail to the point.
  local deadline=$((SECONDS + start_timeout))
  until (exec 3<>"/dev/tcp/127.0.0.1/$etcd_port") 2>/dev/null; do
    running "$data_dir/etcd.pid" || abort etcd "etcd exited during start" || return
    ((SECONDS < deadline)) || abort etcd "etcd did not listen within ${start_timeout}s" || return
    sleep 0.1
  done

  launch_apiserver "$api_port"
  wait_ready "$deadline"
}

# wait_ready DEADLINE: waits until the API server answers /readyz with ok; on
# failure, says which checks failed and stops what runs (abort).
wait_ready() {
  local deadline=$1 name
  while ((SECONDS < deadline)); do
    for name in etcd kube-apiserver; do
      running "$data_dir/$name.pid" || abort "$name" "$name exited during start" || return
    done
    if [ "$("$bin_dir/kubectl" --kubeconfig="$data_dir/kubeconfig" --request-timeout=5s \
      get --raw=/readyz 2>/dev/null)" = ok ]; then
      return 0
    fi
    sleep 0.5
  done
  # The failed checks ("[-]name failed") from the error kubectl prints for the 500, or
  # the whole error when there is no answer at all.
  local answer failed
  answer=$("$bin_dir/kubectl" --kubeconfig="$data_dir/kubeconfig" --request-timeout=5s \
    get --raw='/readyz?verbose' 2>&1) || true
  failed=$(grep -o '\[-\][^\\]*' <<<"$answer") || true
  log "the API server is not ready; /readyz?verbose says:"
  printf '%s\n' "${failed:-$answer}" | sed 's/^/    /' >&2
  abort kube-apiserver \
    "the API server was not ready within ${start_timeout}s (DISCOBLOCKS_CONTROLPLANE_TIMEOUT)" || return
}

start() {
  local owner_pid=$1 name attempt rc
  # One start or stop at a time per data directory.
  exec 9>"$data_dir/.lock"
  flock -n 9 || die "another start or stop is busy with $data_dir"
  for name in etcd kube-apiserver; do
    running "$data_dir/$name.pid" &&
      die "a control plane already runs in $data_dir (stop it first: $0 stop --data-dir $data_dir)"
  done
  build
  rm -rf "$data_dir/pki" "$data_dir"/*.pid "$data_dir/env"
  make_pki

  for attempt in 1 2 3; do
    rc=0
    start_once || rc=$?
    [ "$rc" -eq 2 ] || break
  done
  [ "$rc" -ne 2 ] || die "other processes took the ports picked, $attempt times in a row"
  [ "$rc" -eq 0 ] || exit 1

  # owner-watch: stops this control plane once the owner process is gone, so that a
  # test that crashed before its stop leaves nothing running for long.
  if [ -n "$owner_pid" ]; then
    launch owner-watch bash -c \
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop --data-dir "$3"' \
      owner-watch "$owner_pid" "$root/scripts/controlplane.sh" "$data_dir/"
  fi

  {
    echo "KUBECONFIG=$data_dir/kubeconfig"
    echo "DISCOBLOCKS_KUBECONFIG_TOKEN=$data_dir/kubeconfig-token"
    echo "DISCOBLOCKS_KUBE_SERVER=$server"
    echo "DISCOBLOCKS_KUBE_CA_FILE=$data_dir/pki/ca.crt"
    echo "DISCOBLOCKS_KUBE_TOKEN_FILE=$data_dir/token"
    echo "DISCOBLOCKS_ETCD_URL=$etcd_url"
    echo "DISCOBLOCKS_CONTROLPLANE_BIN=$bin_dir"
  } >"$data_dir/env.tmp"
  mv "$data_dir/env.tmp" "$data_dir/env"
  log "ready: $server (etcd $etcd_url); stop with: $0 stop --data-dir $data_dir"
  echo "$data_dir/kubeconfig"
}

# --- stop and status ----------------------------------------------------------------

stop() {
  [ -d "$data_dir" ] || return 0
  # Waits for a start that is still busy rather than racing it.
  exec 9>"$data_dir/.lock"
  flock 9
  stop_all
}

# Stops only the API server (etcd keeps the data), for tests of clients that must
# ride out an API server restart.
stop_apiserver() {
  exec 9>"$data_dir/.lock"
  flock 9
  local exited_pids=()
  terminate "$data_dir/kube-apiserver.pid"
}

# Starts the API server again on the same port, against the same etcd.
start_apiserver() {
  exec 9>"$data_dir/.lock"
  flock 9
  running "$data_dir/etcd.pid" || die "etcd does not run in $data_dir: use start"
  running "$data_dir/kube-apiserver.pid" && die "the API server already runs in $data_dir"
  build
  server=$(sed -n 's/^DISCOBLOCKS_KUBE_SERVER=//p' "$data_dir/env")
  etcd_url=$(sed -n 's/^DISCOBLOCKS_ETCD_URL=//p' "$data_dir/env")
  [ -n "$server" ] && [ -n "$etcd_url" ] || die "no $data_dir/env: use start"
  launch_apiserver "${server##*:}"
  wait_ready $((SECONDS + start_timeout)) || exit 1
  log "the API server is ready again at $server"
}

status() {
  local name rc=0 server_url
  for name in etcd kube-apiserver owner-watch; do
    if running "$data_dir/$name.pid"; then
      echo "$name: running (pid $(<"$data_dir/$name.pid"))"
    elif [ "$name" != owner-watch ]; then
      echo "$name: stopped"
      rc=3
    fi
  done
  if [ "$rc" -eq 0 ]; then
    server_url=$(sed -n 's/^DISCOBLOCKS_KUBE_SERVER=//p' "$data_dir/env" 2>/dev/null)
    if [ "$("$bin_dir/kubectl" --kubeconfig="$data_dir/kubeconfig" --request-timeout=5s \
      get --raw=/readyz 2>/dev/null)" = ok ]; then
      echo "kube-apiserver: ready at $server_url"
    else
      echo "kube-apiserver: not ready at $server_url"
      rc=3
    fi
  fi
  return "$rc"
}

# --- command line -------------------------------------------------------------------

command=${1:-}
[ -n "$command" ] || usage
shift
case $command in -h | --help | help) usage 0 ;; esac
data_dir=
owner_pid=
while (($#)); do
  case $1 in
    --data-dir) (($# >= 2)) || usage; data_dir=$2; shift 2 ;;
    --data-dir=*) data_dir=${1#*=}; shift ;;
    --owner-pid) (($# >= 2)) || usage; owner_pid=$2; shift 2 ;;
    --owner-pid=*) owner_pid=${1#*=}; shift ;;
    -h | --help) usage 0 ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done

case $command in
  build)
    build
    echo "$bin_dir"
    ;;
  start | stop | status | stop-apiserver | start-apiserver)
    [ -n "$data_dir" ] || { log "$command needs --data-dir DIR"; usage; }
    # DIR ends up in KEY=VALUE files, command lines, kubeconfigs and KUBECONFIG (a
    # colon-separated list): keep it to characters that need no quoting anywhere.
    [[ "$data_dir" =~ ^[A-Za-z0-9_./+@-]+$ ]] ||
      die "--data-dir may only hold letters, digits and _ . / + @ - (got '$data_dir')"
    [ -z "$owner_pid" ] || [[ "$owner_pid" =~ ^[0-9]+$ ]] || die "--owner-pid needs a process id"
    if [ "$command" = start ]; then
      mkdir -p "$data_dir"
    fi
    if [ -d "$data_dir" ]; then
      data_dir=$(cd "$data_dir" && pwd -P)
    fi
    case $command in
      start) start "$owner_pid" ;;
      stop) stop ;;
      status) status ;;
      stop-apiserver) stop_apiserver ;;
      start-apiserver) start_apiserver ;;
    esac
    ;;
  *)
    log "unknown command: $command"
    usage
    ;;
esac
