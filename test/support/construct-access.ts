/**
 * What a synthesized ownership construct applies for its Kubernetes access, read from the template:
 * the limits (admission policies and the probe), the access check between them, and the grants
 * (roles and bindings), with aws-cdk-lib's prune labels removed.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { constructIdentity, HandlerIdentity } from '../../src/access';
import { ACCESS_CHECK_RESOURCE_TYPE } from '../../src/contract';

export interface ConstructAccess {
  /** The manifest of the admission policies and the probe; empty without policies. */
  readonly limits: any[];
  readonly limitsId?: string;
  /** The manifest of the handler's roles and bindings. */
  readonly grants: any[];
  readonly grantsId: string;
  /** The access check resource, between the two. */
  readonly check?: { id: string; properties: Record<string, any>; dependsOn: string[] };
  /** Every access object, limits first. */
  readonly all: any[];
}

const withoutPruneLabels = (manifest: any[]) => manifest.map((m) => {
  const { labels, ...metadata } = m.metadata;
  const kept = Object.fromEntries(Object.entries(labels ?? {}).filter(([k]) => !k.startsWith('aws.cdk.eks/prune-')));
  return { ...m, metadata: Object.keys(kept).length > 0 ? { ...metadata, labels: kept } : metadata };
});

export function constructAccess(template: Template): ConstructAccess {
  const manifests = Object.entries(template.findResources('Custom::AWSCDK-EKS-KubernetesResource'))
    .filter(([, r]: [string, any]) => JSON.stringify(r).includes('cdk-vpc-cni-ownership') && !JSON.stringify(r).includes('aws-auth'))
    .map(([id, r]: [string, any]) => ({ id, manifest: withoutPruneLabels(JSON.parse(r.Properties.Manifest)) }));
  const limits = manifests.find((m) => m.manifest.some((o: any) => o.kind === 'ValidatingAdmissionPolicy'));
  const grants = manifests.find((m) => m.manifest.some((o: any) => o.kind === 'ClusterRoleBinding'));
  if (!grants) throw new Error('no manifest with the handler\'s bindings');
  const checks = Object.entries(template.findResources(ACCESS_CHECK_RESOURCE_TYPE));
  const [checkId, checkResource] = (checks[0] ?? []) as [string, any];
  const check = checkId ? { id: checkId, properties: checkResource.Properties, dependsOn: checkResource.DependsOn ?? [] } : undefined;
  return {
    limits: limits?.manifest ?? [],
    limitsId: limits?.id,
    grants: grants.manifest,
    grantsId: grants.id,
    check,
    all: [...limits?.manifest ?? [], ...grants.manifest],
  };
}

/** The identity of a construct at `path` in a stack named `stackName` (what the construct derives). */
export function identityAt(stackName: string, path: string): HandlerIdentity {
  return constructIdentity(`${stackName}/${path}`);
}
