/**
 * What the construct and its Lambda handler agree on: the custom resource's properties and
 * attributes, and the Kubernetes identity and RBAC the handler works with. Pure data.
 */
import { CNI_OBJECTS, CniObject } from './engine/objects';

export const RESOURCE_TYPE = 'Custom::VpcCniOwnership';

/** Properties of the custom resource, as CloudFormation hands them over (scalars arrive as strings). */
export interface OwnershipResourceProperties {
  readonly ClusterName: string;
  /** JSON of the engine's `Action`. */
  readonly Action: string;
  readonly IfOwnedByOthers: string;
  readonly DryRun: string;
}

/** Attributes the handler returns (`Data`); all strings. */
export const ATTRIBUTE = {
  previousOwner: 'PreviousOwner',
  previousOwnerDescription: 'PreviousOwnerDescription',
  changedObjects: 'ChangedObjects',
  plan: 'Plan',
} as const;

/** The Kubernetes group the handler's IAM role is mapped to; the RBAC below binds it. */
export const KUBERNETES_GROUP = 'cdk-vpc-cni-ownership';
/** The Kubernetes user name the handler's IAM role is mapped to. */
export const KUBERNETES_USERNAME = 'cdk-vpc-cni-ownership-handler';

const VERBS = ['get', 'patch', 'delete'];
/**
 * Kubernetes refuses any write to a role or binding by a user who does not hold its permissions
 * (RBAC escalation prevention), even a metadata-only patch. `escalate` on the aws-node ClusterRole
 * and `bind` on it (for the aws-node binding) lift that for these two objects only.
 */
const RBAC_VERBS: Record<string, string[]> = { ClusterRole: ['escalate', 'bind'] };

function group(o: CniObject): string {
  return o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
}

/**
 * The least RBAC the handler needs: get/patch/delete on each VPC CNI object by name, list of the
 * VPC CNI custom resources (to know whether a CRD is in use), and list of Helm release records
 * (Secrets, metadata only) in each namespace a release may live in.
 */
export function rbacManifest(releaseNamespaces: readonly string[]): Record<string, any>[] {
  const name = KUBERNETES_GROUP;
  const subjects = [{ kind: 'Group', name: KUBERNETES_GROUP, apiGroup: 'rbac.authorization.k8s.io' }];
  const byName = (objects: readonly CniObject[]) => objects.map((o) => ({
    apiGroups: [group(o)], resources: [o.resource], resourceNames: [o.name], verbs: [...VERBS, ...RBAC_VERBS[o.kind] ?? []],
  }));
  const namespaced = CNI_OBJECTS.filter((o) => o.namespace);
  const clusterScoped = CNI_OBJECTS.filter((o) => !o.namespace);
  const namespaces = [...new Set(namespaced.map((o) => o.namespace!))];
  const releaseRecords = { apiGroups: [''], resources: ['secrets'], verbs: ['list'] };

  const manifest: Record<string, any>[] = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [
        ...byName(clusterScoped),
        ...CNI_OBJECTS.filter((o) => o.crd).map((o) => ({ apiGroups: [o.crd!.group], resources: [o.crd!.plural], verbs: ['list'] })),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects,
    },
  ];
  for (const namespace of [...new Set([...namespaces, ...releaseNamespaces])]) {
    const rules = [
      ...byName(namespaced.filter((o) => o.namespace === namespace)),
      releaseRecords,
    ];
    manifest.push(
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects,
      },
    );
  }
  return manifest;
}
