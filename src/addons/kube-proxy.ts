/**
 * kube-proxy as EKS preinstalls it (bootstrap-addons facts). How EKS writes it is not documented:
 * the engine decides its owner from managedFields (docs/ownership.md).
 */
import { AddonDefinition, addonObject } from '../engine/objects';

const NAMESPACE = 'kube-system';
const NODE_PROXIER = 'system:node-proxier';

const DAEMONSET = addonObject('apps/v1', 'DaemonSet', 'daemonsets', 'kube-proxy', NAMESPACE, { selector: { 'k8s-app': 'kube-proxy' } });

export const KUBE_PROXY: AddonDefinition = {
  name: 'kube-proxy',
  title: 'kube-proxy',
  eksAddonName: 'kube-proxy',
  namespace: NAMESPACE,
  workload: DAEMONSET,
  objects: [
    DAEMONSET,
    addonObject('v1', 'ConfigMap', 'configmaps', 'kube-proxy', NAMESPACE),
    addonObject('v1', 'ConfigMap', 'configmaps', 'kube-proxy-config', NAMESPACE),
    addonObject('v1', 'ServiceAccount', 'serviceaccounts', 'kube-proxy', NAMESPACE),
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'eks:kube-proxy', undefined, {
      roleRef: { kind: 'ClusterRole', name: NODE_PROXIER },
      subjects: [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: NAMESPACE }],
    }),
    // Clusters with Windows support only.
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'eks:kube-proxy-windows', undefined, {
      roleRef: { kind: 'ClusterRole', name: NODE_PROXIER },
      subjects: [{ kind: 'Group', name: 'eks:kube-proxy-windows' }],
      optional: true,
    }),
  ],
  // No AWS chart exists; a chart the user names must render these names (README, "kube-proxy").
  defaultReleaseName: 'kube-proxy',
  releaseNamespaceReason: 'kube-proxy\'s DaemonSet, ConfigMaps and ServiceAccount live in kube-system, and the eks:kube-proxy binding\'s subject '
    + 'names the ServiceAccount there: a release in another namespace would start a second kube-proxy',
  selectorReason: 'a chart cannot take this DaemonSet over without deleting it; it is not the DaemonSet EKS installs',
  eksAppliesServerSide: false,
  // Kubernetes's bootstrap role system:node-proxier, as Kubernetes 1.30-1.35 define it (servicecidrs
  // since 1.33): checked against the real API server's role in test/access/role-rules.kube.test.ts.
  bindingRoleRules: [
    { apiGroups: [''], resources: ['endpoints', 'services'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
    { apiGroups: ['networking.k8s.io'], resources: ['servicecidrs'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
  imageRepositories: ['eks/kube-proxy'],
  neverTouch: [addonObject('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', NODE_PROXIER)],
};
