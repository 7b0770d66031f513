/**
 * What the handler may do for each action on each add-on, derived from the add-on's definition:
 * the source of both the RBAC and the admission policy (so the two cannot disagree).
 */
import { MANAGED_BY_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION } from '../engine/helm';
import { AddonDefinition, AddonObject, PolicyRule } from '../engine/objects';
import { recoveryCopyObject } from '../engine/recovery';
import type { Action } from '../engine/types';

/** How the handler may treat the workload's nodeSelector key `cdk-vpc-cni-ownership/disabled`. */
export type DisableKey =
  /** Add it (disable) or remove it (restore on stack delete). */
  | 'ADD_OR_REMOVE'
  /** Remove it only: an Update that leaves DISABLE restores the workload first. */
  | 'REMOVE';

/** One action on one add-on: what a custom resource runs. */
export interface AddonAction {
  readonly addon: AddonDefinition;
  readonly action: Action;
}

export interface ActionAccess {
  /** Lower-case action name (prefixed with the add-on's name for all but the VPC CNI), part of the RBAC objects' names. */
  readonly name: string;
  /** Every action reads each object by name (GET). */
  readonly get: readonly AddonObject[];
  /** Objects the action patches (JSON merge patch, with a dry-run preflight). */
  readonly patch: readonly AddonObject[];
  /** Objects the action deletes (with uid/resourceVersion preconditions). */
  readonly delete: readonly AddonObject[];
  /** Objects the action creates by server-side apply, by name: the recovery copy, restore's re-creations. */
  readonly create: readonly AddonObject[];
  /** The workloads whose nodeSelector key the action may change (every action restores a disabled one). */
  readonly workloads: readonly AddonObject[];
  /** The CRDs whose custom resources the action lists (metadata only) to count them. */
  readonly countCrds: readonly AddonObject[];
  /** Lists Helm's release records (Secrets and ConfigMaps labelled owner=helm) in this namespace. */
  readonly releaseRecordsNamespace?: string;
  /**
   * Rules the handler holds so that Kubernetes's escalation check lets it write the add-on's roles and
   * bindings (adopt's metadata patch, restore's re-creation). The admission policy refuses every write they allow.
   */
  readonly heldRules: readonly PolicyRule[];
  /** Label keys a patch may set or change (adopt: Helm's ownership label). */
  readonly labelKeys: readonly string[];
  /** Annotation keys a patch may set or change (adopt: Helm's release annotations). */
  readonly annotationKeys: readonly string[];
  readonly disableKey: DisableKey;
  /** The definitions whose objects these are, for what the policy requires of a re-created object. */
  readonly addons: readonly AddonDefinition[];
}

const prefixed = (addon: AddonDefinition, name: string) => (addon.name === 'vpc-cni' ? name : `${addon.name}-${name}`);

/** The handler's access for an action on an add-on. RESTORE undoes a disable, and re-creates from the recovery copy. */
export function actionAccess(addon: AddonDefinition, action: Action): ActionAccess {
  const objects = addon.objects;
  const copy = recoveryCopyObject(addon);
  const base: ActionAccess = {
    name: prefixed(addon, action.type.toLowerCase()),
    get: objects,
    // Leaving DISABLE for any other action restores the workload first: every action patches it.
    patch: [addon.workload],
    delete: [],
    create: [],
    workloads: [addon.workload],
    countCrds: [],
    heldRules: [],
    labelKeys: [],
    annotationKeys: [],
    disableKey: 'REMOVE',
    addons: [addon],
  };
  const crds = objects.filter((o) => o.crd);
  switch (action.type) {
    case 'INSPECT':
      return { ...base, get: [...objects, copy], countCrds: crds };
    case 'DISABLE':
      return { ...base, disableKey: 'ADD_OR_REMOVE' };
    case 'RESTORE':
      if (action.recreate === false) return base;
      // Re-creating a role or binding passes RBAC's escalation check only for a writer that holds its rules.
      return { ...base, get: [...objects, copy], create: objects, heldRules: addon.bindingRoleRules };
    case 'REMOVE': {
      // A CRD another part of EKS uses too is deleted only when asked for.
      const deletable = action.crdPolicy === 'KEEP' ? [] : crds.filter((o) => !o.crd!.keptUnlessAsked || action.deletePolicyEndpointCrd);
      return {
        ...base,
        get: [...objects, copy],
        patch: [addon.workload, copy],
        create: [copy],
        delete: objects.filter((o) => !o.crd || deletable.includes(o)),
        countCrds: action.crdPolicy === 'DELETE_IF_UNUSED' ? crds : [],
      };
    }
    case 'ADOPT':
      return {
        ...base,
        patch: objects,
        // Listing Secrets returns their data: only when the adopt asks to read release records.
        releaseRecordsNamespace: action.readReleaseRecords ? addon.namespace : undefined,
        heldRules: addon.bindingRoleRules,
        labelKeys: [MANAGED_BY_LABEL],
        annotationKeys: [RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION],
      };
  }
}

/**
 * What a sequence of actions on one cluster may do together (a network switch disables the VPC CNI,
 * then removes it and kube-proxy): everything each may do, for the one admission policy they share.
 */
export function combinedAccess(actions: readonly AddonAction[]): ActionAccess {
  const each = actions.map((a) => actionAccess(a.addon, a.action));
  if (each.length === 1) return each[0];
  const union = <T>(pick: (a: ActionAccess) => readonly T[]) => [...new Set(each.flatMap(pick))];
  return {
    name: each.map((a) => a.name).join('-then-'),
    get: union((a) => a.get),
    patch: union((a) => a.patch),
    delete: union((a) => a.delete),
    create: union((a) => a.create),
    workloads: union((a) => a.workloads),
    countCrds: union((a) => a.countCrds),
    releaseRecordsNamespace: each.find((a) => a.releaseRecordsNamespace)?.releaseRecordsNamespace,
    heldRules: union((a) => a.heldRules),
    labelKeys: union((a) => a.labelKeys),
    annotationKeys: union((a) => a.annotationKeys),
    disableKey: each.some((a) => a.disableKey === 'ADD_OR_REMOVE') ? 'ADD_OR_REMOVE' : 'REMOVE',
    addons: union((a) => a.addons),
  };
}
