// Internal to the library (not exported from index.ts): what a ClusterNetwork carries to ClusterNetworkSetup.
import type { aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import type { NetworkKind } from './cluster-network';
import type { CniAction } from './vpc-cni-ownership';

/** Helm values: a nested map, as `helm install --values` takes it. */
export type HelmValues = { [key: string]: any };

/** The Helm release that installs the network. */
export interface ChartSpec {
  readonly repository?: string;
  readonly chart: string;
  readonly version?: string;
  readonly release: string;
  readonly namespace: string;
  readonly values: HelmValues;
}

/** Everything a ClusterNetworkSetup needs, except what depends on the cluster. */
export interface NetworkSpec {
  readonly kind: NetworkKind;
  readonly vpcCniAction: CniAction;
  readonly disableKubeProxy: boolean;
  /** A chart of CRDs the network's chart needs, installed before it (Calico 3.32+). */
  readonly crdChart?: ChartSpec;
  readonly chart: ChartSpec;
  /** Cilium only: whether to create the operator's IAM role. */
  readonly createCiliumOperatorRole: boolean;
  /** The dotted path in the values that receives the API server's host name, if any. */
  readonly apiServerHostValuePath?: string;
  /** Taints for the node groups created through ClusterNetworkSetup or EksClusterWithNetwork. */
  readonly nodegroupTaints?: eksv2.TaintSpec[];
}

/**
 * `override` over `base`: nested plain maps are merged, anything else (lists, scalars, tokens) is
 * replaced, as `helm --values` does with two files.
 */
export function mergeValues(base: HelmValues, override: HelmValues): HelmValues {
  const merged: HelmValues = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = isPlainMap(merged[key]) && isPlainMap(value) ? mergeValues(merged[key], value) : value;
  }
  return merged;
}

/** `{ a: { b: value } }` for the path `a.b`. */
export function valuesAt(path: string, value: unknown): HelmValues {
  return path.split('.').reduceRight<any>((inner, key) => ({ [key]: inner }), value);
}

function isPlainMap(value: unknown): value is HelmValues {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
