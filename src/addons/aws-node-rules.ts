/**
 * The rules of the `aws-node` ClusterRole, as data: the union of what the aws-vpc-cni chart grants in
 * every version from 1.15.0 to 1.22.4 (eks-charts `stable/aws-vpc-cni/templates/clusterrole.yaml`;
 * the file changed in 1.15.0, 1.15.5, 1.21.0 and 1.21.1), with `patch` on pods (rendered when
 * `env.ANNOTATE_POD_IP` is set), plus what this project's test fixture grants (`extensions`
 * daemonsets, from the older manifests). The derivation is in docs/reliability.md.
 *
 * Adopt patches the aws-node ClusterRole and its binding. Kubernetes refuses that to a writer who
 * does not hold every rule of the role (or `escalate`/`bind` on it, which would let the handler grant
 * itself anything): so adopt's own ClusterRole holds these rules. The admission policy shipped with
 * the RBAC refuses every write they would allow (pods, events, cninodes); what is left are reads.
 *
 * Pure data with no imports, so that anything (the engine's check of a live role too) can read it.
 */
export interface AwsNodeRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

export const AWS_NODE_RULES_CHART_VERSIONS = '1.15.0 to 1.22.4';

export const AWS_NODE_RULES: readonly AwsNodeRule[] = [
  { apiGroups: ['crd.k8s.amazonaws.com'], resources: ['eniconfigs'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'list'] },
  { apiGroups: ['networking.k8s.aws'], resources: ['policyendpoints', 'clusterpolicyendpoints'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.aws'], resources: ['policyendpoints/status', 'clusterpolicyendpoints/status'], verbs: ['get'] },
  { apiGroups: ['vpcresources.k8s.aws'], resources: ['cninodes'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['extensions'], resources: ['daemonsets'], verbs: ['list', 'watch'] },
  { nonResourceURLs: ['/apis/networking.k8s.aws', '/apis/networking.k8s.aws/*'], verbs: ['get'] },
];
