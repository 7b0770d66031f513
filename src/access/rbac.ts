import { ActionAccess } from './model';
import { KUBERNETES_GROUP } from '../contract';
import { AddonObject } from '../engine/objects';

const RBAC_API = 'rbac.authorization.k8s.io';

/** The name of the handler's ClusterRole, Role and their bindings for an action, e.g. `cdk-vpc-cni-ownership-adopt`. */
export function rbacName(access: ActionAccess): string {
  return `${KUBERNETES_GROUP}-${access.name}`;
}

function apiGroup(o: AddonObject): string {
  return o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
}

/**
 * One rule per object, by name, with the verbs the action uses on it. A server-side apply that
 * creates an object is authorized as `patch` and as `create` of that name.
 */
function byName(access: ActionAccess, objects: readonly AddonObject[]): Record<string, unknown>[] {
  return objects.map((o) => ({
    apiGroups: [apiGroup(o)],
    resources: [o.resource],
    resourceNames: [o.name],
    verbs: [
      'get',
      ...access.patch.includes(o) || access.create.includes(o) ? ['patch'] : [],
      ...access.delete.includes(o) ? ['delete'] : [],
      ...access.create.includes(o) ? ['create'] : [],
    ],
  }));
}

/**
 * The handler's RBAC for one action: a ClusterRole for the cluster-scoped objects, a Role in each
 * namespace of the namespaced ones, each bound to the group `cdk-vpc-cni-ownership`. No `escalate`,
 * no `bind`, no wildcard; Secrets and ConfigMaps are listed by adopt only, in kube-system only.
 */
export function rbacObjects(access: ActionAccess): Record<string, any>[] {
  const name = rbacName(access);
  const subjects = [{ kind: 'Group', name: KUBERNETES_GROUP, apiGroup: RBAC_API }];
  const clusterRules = [
    ...byName(access, access.get.filter((o) => !o.namespace)),
    ...access.countCrds.map((o) => ({ apiGroups: [o.crd!.group], resources: [o.crd!.plural], verbs: ['list'] })),
    ...access.heldRules.map((r) => ({ ...r })),
  ];
  const manifest: Record<string, any>[] = [
    { apiVersion: `${RBAC_API}/v1`, kind: 'ClusterRole', metadata: { name }, rules: clusterRules },
    {
      apiVersion: `${RBAC_API}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name },
      subjects,
    },
  ];
  const namespaces = [...new Set([
    ...access.get.filter((o) => o.namespace).map((o) => o.namespace!),
    ...access.releaseRecordsNamespace ? [access.releaseRecordsNamespace] : [],
  ])];
  for (const namespace of namespaces) {
    const rules = [
      ...byName(access, access.get.filter((o) => o.namespace === namespace)),
      // Helm's release records: Secrets by default, ConfigMaps with HELM_DRIVER=configmap. A list
      // cannot be limited by name; it returns every Secret of the namespace with its data.
      ...access.releaseRecordsNamespace === namespace ? [{ apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['list'] }] : [],
    ];
    manifest.push(
      { apiVersion: `${RBAC_API}/v1`, kind: 'Role', metadata: { name, namespace }, rules },
      {
        apiVersion: `${RBAC_API}/v1`,
        kind: 'RoleBinding',
        metadata: { name, namespace },
        roleRef: { apiGroup: RBAC_API, kind: 'Role', name },
        subjects,
      },
    );
  }
  return manifest;
}
