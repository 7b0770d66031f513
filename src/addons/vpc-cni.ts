/**
 * The Amazon VPC CNI as EKS preinstalls it: the aws-vpc-cni chart with default values, rendered with
 * `originalMatchLabels=true` and applied server-side as field manager `eks` (vpc-cni facts).
 */
import { AWS_NODE_RULES } from './aws-node-rules';
import { VPC_CNI_CHART } from './vpc-cni-values';
import { AddonDefinition, addonObject, crdObject } from '../engine/objects';

const NAMESPACE = 'kube-system';

const DAEMONSET = addonObject('apps/v1', 'DaemonSet', 'daemonsets', 'aws-node', NAMESPACE, { selector: { 'k8s-app': 'aws-node' } });

export const VPC_CNI: AddonDefinition = {
  name: 'vpc-cni',
  title: 'the VPC CNI',
  eksAddonName: 'vpc-cni',
  namespace: NAMESPACE,
  workload: DAEMONSET,
  objects: [
    DAEMONSET,
    addonObject('v1', 'ServiceAccount', 'serviceaccounts', 'aws-node', NAMESPACE),
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', 'aws-node'),
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'aws-node', undefined, {
      roleRef: { kind: 'ClusterRole', name: 'aws-node' },
      subjects: [{ kind: 'ServiceAccount', name: 'aws-node', namespace: NAMESPACE }],
    }),
    addonObject('v1', 'ConfigMap', 'configmaps', 'amazon-vpc-cni', NAMESPACE),
    crdObject('crd.k8s.amazonaws.com', 'ENIConfig', 'eniconfigs', 'Cluster'),
    // Only in chart versions up to 1.22.3; absent on newer clusters.
    crdObject('networking.k8s.aws', 'PolicyEndpoint', 'policyendpoints', 'Namespaced', {
      keptUnlessAsked: 'the EKS control plane\'s network policy controller uses it, and deleting it deletes every PolicyEndpoint '
        + '(NetworkPolicy enforcement stops until they are rebuilt); ask for it explicitly (deletePolicyEndpointCrd) to apply crdPolicy to it',
    }),
  ],
  // The pods carry it as app.kubernetes.io/instance: a release of another name relabels (restarts) them.
  defaultReleaseName: 'aws-vpc-cni',
  releaseNamespaceReason: 'the aws-vpc-cni chart renders the DaemonSet, ServiceAccount, ConfigMap and the aws-node ClusterRoleBinding\'s subject '
    + 'in the release\'s namespace, so a release in another namespace would start a second aws-node DaemonSet and point the binding away from the running one',
  selectorReason: 'the aws-vpc-cni chart (originalMatchLabels=true) cannot take this DaemonSet over; it is not the DaemonSet EKS installs',
  eksAppliesServerSide: true,
  bindingRoleRules: AWS_NODE_RULES,
  imageRepositories: ['amazon-k8s-cni', 'amazon-k8s-cni-init', 'amazon/aws-network-policy-agent'],
  neverTouch: [],
  chart: VPC_CNI_CHART,
};
