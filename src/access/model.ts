/**
 * What the handler may do for each action, derived from the one object list: the source of both the
 * RBAC and the admission policy (so the two cannot disagree).
 */
import { MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from '../engine/helm';
import { AWS_NODE_DAEMONSET, CNI_NAMESPACE, CNI_OBJECTS, CniObject } from '../engine/objects';
import type { Action } from '../engine/types';

/** How the handler may treat the DaemonSet's nodeSelector key `cdk-vpc-cni-ownership/disabled`. */
export type DisableKey =
  /** Add it (disable) or remove it (restore on stack delete). */
  | 'ADD_OR_REMOVE'
  /** Remove it only: an Update that leaves DISABLE restores the DaemonSet first. */
  | 'REMOVE';

export interface ActionAccess {
  /** Lower-case action name, part of the RBAC objects' names. */
  readonly name: string;
  /** Every action reads each object by name (GET). */
  readonly get: readonly CniObject[];
  /** Objects the action patches (JSON merge patch, with a dry-run preflight). */
  readonly patch: readonly CniObject[];
  /** Objects the action deletes (with uid/resourceVersion preconditions). */
  readonly delete: readonly CniObject[];
  /** Lists the ENIConfigs and PolicyEndpoints (metadata only) to count them. */
  readonly countCustomResources: boolean;
  /** Lists Helm's release records (Secrets and ConfigMaps labelled owner=helm) in this namespace. */
  readonly releaseRecordsNamespace?: string;
  /** Holds aws-node's own rules, so its metadata patch of the aws-node ClusterRole and binding passes escalation checks. */
  readonly awsNodeRules: boolean;
  /** Label keys a patch may set or change (adopt: Helm's ownership label). */
  readonly labelKeys: readonly string[];
  /** Annotation keys a patch may set or change (adopt: Helm's release annotations). */
  readonly annotationKeys: readonly string[];
  readonly disableKey: DisableKey;
}


/** The handler's access for an action. RESTORE is the CLI's undo of a disable. */
export function actionAccess(action: Action): ActionAccess {
  const base = {
    name: action.type.toLowerCase(),
    get: CNI_OBJECTS,
    // Leaving DISABLE for any other action restores the DaemonSet first: every action patches it.
    patch: [AWS_NODE_DAEMONSET],
    delete: [],
    countCustomResources: false,
    awsNodeRules: false,
    labelKeys: [],
    annotationKeys: [],
    disableKey: 'REMOVE' as DisableKey,
  };
  switch (action.type) {
    case 'INSPECT':
      return { ...base, countCustomResources: true };
    case 'DISABLE':
      return { ...base, disableKey: 'ADD_OR_REMOVE' };
    case 'RESTORE':
      return base;
    case 'REMOVE': {
      // The PolicyEndpoint CRD is the EKS control plane's too: deleted only when asked for.
      const crds = action.crdPolicy === 'KEEP' ? [] : CNI_OBJECTS.filter((o) => o.crd && (o.crd.kind !== 'PolicyEndpoint' || action.deletePolicyEndpointCrd));
      return {
        ...base,
        delete: CNI_OBJECTS.filter((o) => !o.crd || crds.includes(o)),
        countCustomResources: action.crdPolicy === 'DELETE_IF_UNUSED',
      };
    }
    case 'ADOPT':
      return {
        ...base,
        patch: CNI_OBJECTS,
        releaseRecordsNamespace: CNI_NAMESPACE,
        awsNodeRules: true,
        labelKeys: [MANAGED_BY_LABEL],
        annotationKeys: [RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION],
      };
  }
}

/**
 * What a sequence of actions on one cluster may do together (a network switch disables the VPC
 * CNI, then removes it): everything each may do, for the one admission policy they share.
 */
export function combinedAccess(actions: readonly Action[]): ActionAccess {
  const each = actions.map(actionAccess);
  if (each.length === 1) return each[0];
  const union = <T>(pick: (a: ActionAccess) => readonly T[]) => [...new Set(each.flatMap(pick))];
  const inOrder = (objects: readonly CniObject[]) => CNI_OBJECTS.filter((o) => objects.includes(o));
  return {
    name: each.map((a) => a.name).join('-then-'),
    get: CNI_OBJECTS,
    patch: inOrder(union((a) => a.patch)),
    delete: inOrder(union((a) => a.delete)),
    countCustomResources: each.some((a) => a.countCustomResources),
    releaseRecordsNamespace: each.find((a) => a.releaseRecordsNamespace)?.releaseRecordsNamespace,
    awsNodeRules: each.some((a) => a.awsNodeRules),
    labelKeys: union((a) => a.labelKeys),
    annotationKeys: union((a) => a.annotationKeys),
    disableKey: each.some((a) => a.disableKey === 'ADD_OR_REMOVE') ? 'ADD_OR_REMOVE' : 'REMOVE',
  };
}
