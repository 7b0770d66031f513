#!/usr/bin/env bash
# The manual way to remove kube-proxy (what users script for Cilium's kube-proxy replacement), the
# baseline of the kube-proxy remove benchmark: one `kubectl delete` per object, DaemonSet first.
# --wait=false, like the engine. Kubernetes's own ClusterRole system:node-proxier stays.
#   KUBECTL: the binary; KUBECONFIG: the cluster. KUBECTL_VERBOSITY=6 logs each API request.
set -euo pipefail
kubectl() { "$KUBECTL" ${KUBECTL_VERBOSITY:+-v="$KUBECTL_VERBOSITY"} "$@"; }

for object in daemonset/kube-proxy configmap/kube-proxy configmap/kube-proxy-config serviceaccount/kube-proxy clusterrolebinding/eks:kube-proxy; do
  kubectl delete --namespace kube-system --wait=false "$object"
done
