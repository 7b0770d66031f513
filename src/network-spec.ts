// Internal to the library (not exported from index.ts): what a ClusterNetwork carries to ClusterNetworkSetup.
import type { aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import type { NetworkKind } from './cluster-network';
import type { HelmValues } from './engine/helm-values';
import type { CniAction } from './vpc-cni-ownership';

export type { HelmValues };

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
  /**
   * The chart's version (when unset) and values come from the running install, read at deploy time
   * (the Helm-managed VPC CNI): `chart.values` are the user's, merged over them.
   */
  readonly chartValuesFromCluster?: boolean;
}

export { mergeValues } from './engine/helm-values';

/** `{ a: { b: value } }` for the path `a.b`. */
export function valuesAt(path: string, value: unknown): HelmValues {
  return path.split('.').reduceRight<any>((inner, key) => ({ [key]: inner }), value);
}
