import { HandlerIdentity } from './identity';
import { ActionAccess } from './model';
import { AddonObject } from '../engine/objects';

const RBAC_API = 'rbac.authorization.k8s.io';

/** The name of the handler's ClusterRole, Role and their bindings for an action, e.g. `cdk-vpc-cni-ownership-adopt`. */
export function rbacName(access: ActionAccess, identity: HandlerIdentity): string {
  return `${identity.prefix}-${access.name}`;
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
 * namespace of the namespaced ones, each bound to the handler's group. No `escalate`, no `bind`, no
 * wildcard; Secrets and ConfigMaps are listed only by an adopt that reads release records, in
 * kube-system only. Roles and bindings come apart: the bindings go in only once the admission
 * policies are in force (see `accessManifests`).
 */
export function rbacObjects(access: ActionAccess, identity: HandlerIdentity): { roles: Record<string, any>[]; bindings: Record<string, any>[] } {
  const name = rbacName(access, identity);
  const subjects = [{ kind: 'Group', name: identity.group, apiGroup: RBAC_API }];
  const clusterRules = [
    ...byName(access, access.get.filter((o) => !o.namespace)),
    ...access.countCrds.map((o) => ({ apiGroups: [o.crd!.group], resources: [o.crd!.plural], verbs: ['list'] })),
    ...access.heldRules.map((r) => ({ ...r })),
  ];
  const roles: Record<string, any>[] = [{ apiVersion: `${RBAC_API}/v1`, kind: 'ClusterRole', metadata: { name }, rules: clusterRules }];
  const bindings: Record<string, any>[] = [{
    apiVersion: `${RBAC_API}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: RBAC_API, kind: 'ClusterRole', name },
    subjects,
  }];
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
    roles.push({ apiVersion: `${RBAC_API}/v1`, kind: 'Role', metadata: { name, namespace }, rules });
    bindings.push({
      apiVersion: `${RBAC_API}/v1`,
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: RBAC_API, kind: 'Role', name },
      subjects,
    });
  }
  return { roles, bindings };
}

/** A Role and its binding that let the handler's group get and patch one object by name (the policy probe). */
export function probeRbacObjects(identity: HandlerIdentity, probe: { namespace: string; name: string }): Record<string, any>[] {
  const subjects = [{ kind: 'Group', name: identity.group, apiGroup: RBAC_API }];
  const metadata = { name: probe.name, namespace: probe.namespace };
  return [
    { apiVersion: `${RBAC_API}/v1`, kind: 'Role', metadata, rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: [probe.name], verbs: ['get', 'patch'] }] },
    { apiVersion: `${RBAC_API}/v1`, kind: 'RoleBinding', metadata, roleRef: { apiGroup: RBAC_API, kind: 'Role', name: probe.name }, subjects },
  ];
}
