/**
 * The one list of the Amazon VPC CNI objects that EKS preinstalls (aws-vpc-cni chart, default values).
 * Everything else in the library reads this list; nothing else names these objects.
 */

/** The namespace EKS installs the VPC CNI into. */
export const CNI_NAMESPACE = 'kube-system';

/** The DaemonSet selector EKS uses (`originalMatchLabels=true`); `spec.selector` is immutable. */
export const DAEMONSET_SELECTOR: Readonly<Record<string, string>> = { 'k8s-app': 'aws-node' };

export interface CniObject {
  /** Stable short id used in plans, logs and results, e.g. `DaemonSet/kube-system/aws-node`. */
  readonly id: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource's plural name in the REST path. */
  readonly resource: string;
  readonly name: string;
  readonly namespace?: string;
  /** CRDs come from the chart's `crds/` folder: never labelled, adopted or upgraded by Helm. */
  readonly crd?: CrdFacts;
}

/** What the custom resources of a CRD look like, to count them before a deletion. */
export interface CrdFacts {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Cluster' | 'Namespaced';
  /** The version the VPC CNI's custom resources are written in. */
  readonly version: string;
}

function object(apiVersion: string, kind: string, resource: string, name: string, namespace?: string, crdFacts?: CrdFacts): CniObject {
  const id = [kind, namespace, name].filter(Boolean).join('/');
  return { id, apiVersion, kind, resource, name, namespace, crd: crdFacts };
}

function crd(group: string, kind: string, plural: string, scope: CrdFacts['scope']): CniObject {
  return object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions',
    `${plural}.${group}`, undefined, { group, kind, plural, scope, version: 'v1alpha1' });
}

/** The aws-node DaemonSet: the one object whose spec an action may change (disable's nodeSelector key). */
export const AWS_NODE_DAEMONSET: CniObject = object('apps/v1', 'DaemonSet', 'daemonsets', 'aws-node', CNI_NAMESPACE);

/** In the order they are adopted and removed: the DaemonSet first, so no pod outlives its RBAC. */
export const CNI_OBJECTS: readonly CniObject[] = [
  AWS_NODE_DAEMONSET,
  object('v1', 'ServiceAccount', 'serviceaccounts', 'aws-node', CNI_NAMESPACE),
  object('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', 'aws-node'),
  object('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', 'aws-node'),
  object('v1', 'ConfigMap', 'configmaps', 'amazon-vpc-cni', CNI_NAMESPACE),
  crd('crd.k8s.amazonaws.com', 'ENIConfig', 'eniconfigs', 'Cluster'),
  // Only in chart versions up to 1.22.3; absent on newer clusters.
  crd('networking.k8s.aws', 'PolicyEndpoint', 'policyendpoints', 'Namespaced'),
];

/** The REST path of an object, or of a collection when `name` is omitted. */
export function resourcePath(apiVersion: string, resource: string, namespace?: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function objectPath(o: CniObject): string {
  return resourcePath(o.apiVersion, o.resource, o.namespace, o.name);
}
