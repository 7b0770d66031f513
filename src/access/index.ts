// Access: what the handler's Kubernetes identity may do, generated from the add-on's definition and
// the action — the RBAC, and the admission policy that holds RBAC's verbs to the writes the action makes.
import { admissionPolicyObjects, PolicyProbe } from './admission-policy';
import { DEFAULT_IDENTITY, HandlerIdentity } from './identity';
import { actionAccess, AddonAction, combinedAccess } from './model';
import { probeRbacObjects, rbacObjects } from './rbac';
import type { AddonDefinition } from '../engine/objects';
import type { Action } from '../engine/types';

export { actionAccess, combinedAccess } from './model';
export type { ActionAccess, AddonAction } from './model';
export { rbacObjects, rbacName } from './rbac';
export {
  admissionPolicyObjects, policyNames, POLICY_NAME, DAEMONSET_POLICY_NAME, DEPLOYMENT_POLICY_NAME, POD_SPEC_FIELDS_1_30,
} from './admission-policy';
export type { PolicyProbe } from './admission-policy';
export { constructIdentity, DEFAULT_IDENTITY } from './identity';
export type { HandlerIdentity } from './identity';

export interface AccessManifestOptions {
  /** Include the ValidatingAdmissionPolicies (Kubernetes 1.30+). Default true. */
  readonly admissionPolicy?: boolean;
  /** Whose access: the names of the objects and the group they bind. Default: DEFAULT_IDENTITY. */
  readonly identity?: HandlerIdentity;
}

/** The access for actions on one cluster, in the two parts that must be applied in order. */
export interface AccessManifests {
  /**
   * Applied first: the admission policies with their bindings, and the probe (a ConfigMap the handler
   * may get and patch by RBAC and never write by policy). Grants the handler nothing else.
   */
  readonly limits: Record<string, any>[];
  /**
   * Applied once the policies are seen in force (the probe's dry-run write refused with their digest):
   * the handler's roles and their bindings. Without policies, all of the access.
   */
  readonly grants: Record<string, any>[];
  /** How to see the policies in force; absent without policies. */
  readonly probe?: PolicyProbe;
}

/**
 * The access for actions that run one after the other on one cluster (a network switch disables the
 * VPC CNI, then removes it and kube-proxy): each action's RBAC under its own name, and one set of
 * admission policies that allows what any of them writes.
 */
export function accessManifests(actions: readonly AddonAction[], options: AccessManifestOptions = {}): AccessManifests {
  const identity = options.identity ?? DEFAULT_IDENTITY;
  const rbac = actions.map(({ addon, action }) => rbacObjects(actionAccess(addon, action), identity));
  const grants = [...rbac.flatMap((r) => r.roles), ...rbac.flatMap((r) => r.bindings)];
  if (options.admissionPolicy === false) return { limits: [], grants };
  const probeObject = { namespace: actions[0].addon.namespace, name: `${identity.prefix}-probe` };
  const policies = admissionPolicyObjects(combinedAccess(actions), identity, probeObject);
  const probeConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: probeObject.name, namespace: probeObject.namespace },
    data: {
      purpose: 'cdk-vpc-cni-ownership: the handler dry-runs a write of this ConfigMap, which its admission policy always refuses, '
        + 'to see the policy in force before it is granted anything and before each action that writes',
    },
  };
  return { limits: [...policies.objects, probeConfigMap, ...probeRbacObjects(identity, probeObject)], grants, probe: policies.probe };
}

/** Everything to apply for actions on one cluster, in order: the limits first, the grants last. */
export function sequenceAccessManifest(actions: readonly AddonAction[], options: AccessManifestOptions = {}): Record<string, any>[] {
  const { limits, grants } = accessManifests(actions, options);
  return [...limits, ...grants];
}

/** Everything to apply for one action (see sequenceAccessManifest). */
export function accessManifest(addon: AddonDefinition, action: Action, options: AccessManifestOptions = {}): Record<string, any>[] {
  return sequenceAccessManifest([{ addon, action }], options);
}
