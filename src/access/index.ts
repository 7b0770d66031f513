// Access: what the handler's Kubernetes identity may do, generated from the add-on's definition and
// the action — the RBAC, and the admission policy that holds RBAC's verbs to the writes the action makes.
import { admissionPolicyObjects } from './admission-policy';
import { actionAccess, AddonAction, combinedAccess } from './model';
import { rbacObjects } from './rbac';
import type { AddonDefinition } from '../engine/objects';
import type { Action } from '../engine/types';

export { actionAccess, combinedAccess } from './model';
export type { ActionAccess, AddonAction } from './model';
export { rbacObjects, rbacName } from './rbac';
export { admissionPolicyObjects, POLICY_NAME, DAEMONSET_POLICY_NAME, DEPLOYMENT_POLICY_NAME, POD_SPEC_FIELDS_1_30 } from './admission-policy';

export interface AccessManifestOptions {
  /** Include the ValidatingAdmissionPolicies (Kubernetes 1.30+). Default true. */
  readonly admissionPolicy?: boolean;
}

/** Everything to apply for an action: its RBAC, and (by default) the admission policies with their bindings. */
export function accessManifest(addon: AddonDefinition, action: Action, options: AccessManifestOptions = {}): Record<string, any>[] {
  const access = actionAccess(addon, action);
  return [...rbacObjects(access), ...options.admissionPolicy === false ? [] : admissionPolicyObjects(access)];
}

/**
 * Everything to apply for actions that run one after the other on one cluster: each action's RBAC
 * (its own names), and one set of admission policies that allows what any of them writes.
 */
export function sequenceAccessManifest(actions: readonly AddonAction[], options: AccessManifestOptions = {}): Record<string, any>[] {
  if (actions.length === 1) return accessManifest(actions[0].addon, actions[0].action, options);
  return [
    ...actions.flatMap(({ addon, action }) => rbacObjects(actionAccess(addon, action))),
    ...options.admissionPolicy === false ? [] : admissionPolicyObjects(combinedAccess(actions)),
  ];
}
