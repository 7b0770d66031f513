#!/usr/bin/env bash
# The manual way to remove the VPC CNI, the baseline of the remove benchmark: one `kubectl delete` per object,
# DaemonSet first. --wait=false, like the engine, which leaves finalizers to the API server.
#   KUBECTL: the binary; KUBECONFIG: the cluster. KUBECTL_VERBOSITY=6 logs each API request.
set -euo pipefail
kubectl() { "$KUBECTL" ${KUBECTL_VERBOSITY:+-v="$KUBECTL_VERBOSITY"} "$@"; }

for object in daemonset/aws-node serviceaccount/aws-node clusterrole/aws-node clusterrolebinding/aws-node configmap/amazon-vpc-cni \
  customresourcedefinition/eniconfigs.crd.k8s.amazonaws.com customresourcedefinition/policyendpoints.networking.k8s.aws; do
  kubectl delete --namespace kube-system --wait=false "$object"
done
