// The add-ons EKS preinstalls, one definition each. Nothing outside these modules names their objects.
import { COREDNS } from './coredns';
import { KUBE_PROXY } from './kube-proxy';
import { VPC_CNI } from './vpc-cni';
import type { AddonDefinition } from '../engine/objects';

export { VPC_CNI } from './vpc-cni';
export { KUBE_PROXY } from './kube-proxy';
export { COREDNS } from './coredns';
export { AWS_NODE_RULES, AWS_NODE_RULES_CHART_VERSIONS } from './aws-node-rules';
export type { AwsNodeRule } from './aws-node-rules';

/** Every preinstalled add-on, in the order `inspect` reports them. */
export const ADDONS: readonly AddonDefinition[] = [VPC_CNI, KUBE_PROXY, COREDNS];

export const ADDON_NAMES: readonly string[] = ADDONS.map((a) => a.name);

/** The definition of an add-on by its name (`vpc-cni`, `kube-proxy`, `coredns`), or undefined. */
export function addonNamed(name: string): AddonDefinition | undefined {
  return ADDONS.find((a) => a.name === name);
}
export * from './vpc-cni-values';
export { COREDNS_CHART, COREDNS_CHART_VERSION, COREDNS_CHART_VERSIONS_CHECKED, chartCorefile, deriveCorednsValues } from './coredns-values';
export type { DerivedCorednsValues } from './coredns-values';
export { corefileDirectives, parseCorefile } from './corefile';
