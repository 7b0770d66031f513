#!/usr/bin/env bash
# A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for tests and the demo.
#
#   controlplane.sh build            build etcd and kube-apiserver once; prints the bin directory
#   controlplane.sh start STATE_DIR  start both with TLS; writes STATE_DIR/kubeconfig and STATE_DIR/connection.json
#   controlplane.sh vap-status STATE_DIR  also run the ValidatingAdmissionPolicy status controller
#                                    (type-checks policies into status.typeChecking; kube-controller-manager's job on a real cluster)
#   controlplane.sh stop STATE_DIR   stop everything started in STATE_DIR and remove STATE_DIR (keys, tokens, data)
#
# Binaries are built from the published Go modules pinned in go.mod (nothing else is downloaded)
# and cached under ~/.cache/cdk-vpc-cni-ownership/controlplane/<key>, where the key covers the
# Kubernetes and etcd versions, the Go version and the module's own files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${CDK_VPC_CNI_CACHE:-$HOME/.cache/cdk-vpc-cni-ownership}"

log() { echo "[controlplane] $*" >&2; }

module_version() { awk -v m="$1" '$1 == m { print $2; exit }' "$here/go.mod"; }

bin_dir() {
  local k8s etcd go_version digest
  k8s="$(module_version k8s.io/kubernetes)"
  etcd="$(module_version go.etcd.io/etcd/server/v3)"
  go_version="$(go env GOVERSION)"
  # The script itself is in the key because it holds the build flags.
  digest="$(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/*/main.go "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
  echo "$cache_root/controlplane/kubernetes-$k8s-etcd-$etcd-$go_version-$digest"
}

cmd_build() {
  local dir
  dir="$(bin_dir)"
  if [[ -x "$dir/kube-apiserver" && -x "$dir/etcd" && -x "$dir/vap-status-controller" ]]; then
    echo "$dir"
    return
  fi
  log "building kube-apiserver and etcd into $dir (first run only; a few minutes)"
  mkdir -p "$dir.tmp"
  # Stamp the version the way Kubernetes' own build does, so clients (kubectl, Helm) can parse it.
  local k8s minor pkg=k8s.io/component-base/version
  k8s="$(module_version k8s.io/kubernetes)"
  minor="$(echo "$k8s" | cut -d. -f2)"
  (cd "$here" && go build -trimpath -o "$dir.tmp/" \
    -ldflags "-s -w -X $pkg.gitVersion=$k8s -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    ./cmd/kube-apiserver ./cmd/etcd ./cmd/vap-status-controller)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo "$dir"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})'
}

# A CA and the certificates signed by it: etcd's server cert, the API server's serving cert,
# the API server's client cert for etcd, and an admin client cert (system:masters).
make_pki() {
  local pki="$1"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=cdk-vpc-cni-ownership-test-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  sign() { # name subject extensions
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
      -extfile <(printf '%s\n' "$3") -out "$pki/$1.crt" 2>/dev/null
  }
  # apiserver.cni-ownership.test resolves nowhere (.test is reserved): only a test's own proxy knows it.
  local server_ext='subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:apiserver.cni-ownership.test
extendedKeyUsage=serverAuth,clientAuth'
  sign etcd "/CN=etcd" "$server_ext"
  sign apiserver "/CN=kube-apiserver" "$server_ext"
  sign apiserver-etcd-client "/CN=kube-apiserver-etcd-client" 'extendedKeyUsage=clientAuth'
  sign admin "/O=system:masters/CN=test-admin" 'extendedKeyUsage=clientAuth'
  openssl genrsa -out "$pki/service-account.key" 2048 2>/dev/null
}

wait_for() { # description seconds command...
  local what="$1" seconds="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what did not become ready in ${seconds}s"
      return 1
    fi
    sleep 0.2
  done
}

cmd_start() {
  local state="$1" bins
  bins="$(cmd_build)"
  mkdir -p "$state"
  state="$(cd "$state" && pwd)"
  if [[ -f "$state/apiserver.pid" ]] && kill -0 "$(cat "$state/apiserver.pid")" 2>/dev/null; then
    log "already running in $state"
    return
  fi
  rm -rf "$state/etcd-data" "$state/pki"
  # A start that fails part way leaves neither processes nor keys behind.
  starting_state="$state"
  trap 'cmd_stop "$starting_state"' EXIT
  make_pki "$state/pki"
  local pki="$state/pki" etcd_port peer_port api_port token
  etcd_port="$(free_port)"
  peer_port="$(free_port)"
  api_port="$(free_port)"
  token="$(openssl rand -hex 24)"
  # Static bearer token for the admin user; tests that exercise RBAC add their own users.
  printf '%s,test-admin-token,test-admin-token,"system:masters"\n' "$token" >"$state/tokens.csv"

  "$bins/etcd" --name controlplane --data-dir "$state/etcd-data" \
    --listen-client-urls "https://127.0.0.1:$etcd_port" --advertise-client-urls "https://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "controlplane=http://127.0.0.1:$peer_port" \
    --cert-file "$pki/etcd.crt" --key-file "$pki/etcd.key" --client-cert-auth --trusted-ca-file "$pki/ca.crt" \
    --listen-metrics-urls "" --unsafe-no-fsync --log-level warn \
    >"$state/etcd.log" 2>&1 &
  echo $! >"$state/etcd.pid"
  if ! wait_for etcd 60 curl -sf --cacert "$pki/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \
    --key "$pki/apiserver-etcd-client.key" "https://127.0.0.1:$etcd_port/health"; then
    tail -n 30 "$state/etcd.log" >&2
    return 1
  fi

  local extra=()
  if [[ -n "${CONTROLPLANE_WEBHOOK_CONFIG:-}" ]]; then
    extra+=(--authentication-token-webhook-config-file "$CONTROLPLANE_WEBHOOK_CONFIG" --authentication-token-webhook-version v1)
  fi
  "$bins/kube-apiserver" \
    --etcd-servers "https://127.0.0.1:$etcd_port" --etcd-cafile "$pki/ca.crt" \
    --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$state/tokens.csv" \
    --authorization-mode RBAC --anonymous-auth=false --allow-privileged=true \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/service-account.key" \
    --service-account-signing-key-file "$pki/service-account.key" \
    --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none \
    --cert-dir "$state/pki/generated" "${extra[@]}" \
    >"$state/apiserver.log" 2>&1 &
  echo $! >"$state/apiserver.pid"

  local endpoint="https://127.0.0.1:$api_port"
  if ! wait_for kube-apiserver 120 curl -sf --cacert "$pki/ca.crt" -H "Authorization: Bearer $token" "$endpoint/readyz"; then
    tail -n 30 "$state/apiserver.log" >&2
    return 1
  fi

  cat >"$state/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $endpoint
    certificate-authority: $pki/ca.crt
users:
- name: admin-token
  user:
    token: $token
- name: admin-cert
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: local
  context: {cluster: local, user: admin-token}
- name: local-cert
  context: {cluster: local, user: admin-cert}
current-context: local
EOF
  cat >"$state/connection.json" <<EOF
{
  "endpoint": "$endpoint",
  "caFile": "$pki/ca.crt",
  "token": "$token",
  "clientCertFile": "$pki/admin.crt",
  "clientKeyFile": "$pki/admin.key",
  "kubeconfig": "$state/kubeconfig",
  "binDir": "$bins"
}
EOF
  trap - EXIT
  log "kube-apiserver ready at $endpoint (state in $state)"
}

# The policy status controller, against the running API server as the admin; idempotent.
cmd_vap_status() {
  local state="$1" bins
  state="$(cd "$state" && pwd)"
  bins="$(cmd_build)"
  if [[ -f "$state/vap-status.pid" ]] && kill -0 "$(cat "$state/vap-status.pid")" 2>/dev/null; then
    return
  fi
  "$bins/vap-status-controller" --kubeconfig "$state/kubeconfig" >"$state/vap-status.log" 2>&1 &
  echo $! >"$state/vap-status.pid"
  log "ValidatingAdmissionPolicy status controller running (log in $state/vap-status.log)"
}

stop_pid_file() {
  local file="$1" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

cmd_stop() {
  local state="$1"
  [[ -d "$state" ]] || return 0
  stop_pid_file "$state/vap-status.pid"
  stop_pid_file "$state/apiserver.pid"
  stop_pid_file "$state/etcd.pid"
  # The state holds the CA's and the admin's private keys, the admin token, kubeconfig and etcd's data: none may
  # outlive the control plane. Only a directory start wrote (it has pki/) goes whole, so a wrong path deletes nothing.
  if [[ -d "$state/pki" ]]; then
    rm -rf "$state"
    log "stopped; removed $state"
  else
    rm -rf "$state/etcd-data"
    log "stopped ($state)"
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start "${2:?usage: controlplane.sh start STATE_DIR}" ;;
  vap-status) cmd_vap_status "${2:?usage: controlplane.sh vap-status STATE_DIR}" ;;
  stop) cmd_stop "${2:?usage: controlplane.sh stop STATE_DIR}" ;;
  *)
    echo "usage: controlplane.sh build | start STATE_DIR | vap-status STATE_DIR | stop STATE_DIR" >&2
    exit 2
    ;;
esac
