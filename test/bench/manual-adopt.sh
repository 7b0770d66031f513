#!/usr/bin/env bash
# The manual way to hand the EKS-installed VPC CNI to a Helm release, the baseline of the adopt benchmark:
# Helm's release annotations and managed-by label on each object with kubectl, then the chart rendered
# and applied server-side as manager "helm", forcing conflicts, so that "helm" takes over the fields "eks" owns.
#   KUBECTL, HELM: the binaries; CHART: the chart directory; KUBECONFIG: the cluster.
#   KUBECTL_VERBOSITY=6 makes kubectl log each API request (to count them).
set -euo pipefail
release=aws-vpc-cni
namespace=kube-system
kubectl() { "$KUBECTL" ${KUBECTL_VERBOSITY:+-v="$KUBECTL_VERBOSITY"} "$@"; }

for object in daemonset/aws-node serviceaccount/aws-node clusterrole/aws-node clusterrolebinding/aws-node configmap/amazon-vpc-cni; do
  kubectl annotate --namespace "$namespace" --overwrite "$object" \
    "meta.helm.sh/release-name=$release" "meta.helm.sh/release-namespace=$namespace"
  kubectl label --namespace "$namespace" --overwrite "$object" app.kubernetes.io/managed-by=Helm
done
"$HELM" template "$release" "$CHART" --namespace "$namespace" --set originalMatchLabels=true \
  | kubectl apply --server-side --force-conflicts --field-manager helm -f -
