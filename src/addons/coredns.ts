/**
 * CoreDNS as EKS preinstalls it (bootstrap-addons facts). How EKS writes it is not documented: the
 * engine decides its owner from managedFields (docs/ownership.md).
 */
import { COREDNS_CHART } from './coredns-values';
import { AddonDefinition, addonObject } from '../engine/objects';

const NAMESPACE = 'kube-system';

const DEPLOYMENT = addonObject('apps/v1', 'Deployment', 'deployments', 'coredns', NAMESPACE, {
  selector: { 'eks.amazonaws.com/component': 'coredns', 'k8s-app': 'kube-dns' },
});

export const COREDNS: AddonDefinition = {
  name: 'coredns',
  title: 'CoreDNS',
  eksAddonName: 'coredns',
  namespace: NAMESPACE,
  workload: DEPLOYMENT,
  objects: [
    DEPLOYMENT,
    // Shipped by newer managed add-on versions; whether the bootstrap install has one is not known.
    addonObject('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', 'coredns', NAMESPACE, { optional: true }),
    // Its clusterIP is every pod's DNS server: a restore re-creates it with the same address.
    addonObject('v1', 'Service', 'services', 'kube-dns', NAMESPACE),
    addonObject('v1', 'ConfigMap', 'configmaps', 'coredns', NAMESPACE),
    addonObject('v1', 'ServiceAccount', 'serviceaccounts', 'coredns', NAMESPACE),
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'system:coredns', undefined, {
      roleRef: { kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: NAMESPACE }],
    }),
    addonObject('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', 'system:coredns'),
  ],
  defaultReleaseName: 'coredns',
  releaseNamespaceReason: 'CoreDNS\'s Deployment, Service kube-dns (whose clusterIP every kubelet hands to pods) and ConfigMap live in kube-system: '
    + 'a release in another namespace would start a second CoreDNS behind another Service',
  selectorReason: 'spec.selector is immutable, so a chart that renders another selector cannot take this Deployment over; it is not the Deployment EKS installs',
  eksAppliesServerSide: false,
  bindingRoleRules: [
    { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
    { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ],
  imageRepositories: ['eks/coredns'],
  neverTouch: [],
  chart: COREDNS_CHART,
};
