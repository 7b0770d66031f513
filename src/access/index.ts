// Access: what the handler's Kubernetes identity may do, generated from the one object list and the
// action — the RBAC, and the admission policy that holds RBAC's verbs to the writes the action makes.
import { admissionPolicyObjects } from './admission-policy';
import { actionAccess, combinedAccess } from './model';
import { rbacObjects } from './rbac';
import type { Action } from '../engine/types';

export { actionAccess, combinedAccess } from './model';
export type { ActionAccess } from './model';
export { rbacObjects, rbacName } from './rbac';
export { admissionPolicyObjects, POLICY_NAME, DAEMONSET_POLICY_NAME, POD_SPEC_FIELDS_1_30 } from './admission-policy';
export { AWS_NODE_RULES, AWS_NODE_RULES_CHART_VERSIONS } from './aws-node-rules';
export type { AwsNodeRule } from './aws-node-rules';

export interface AccessManifestOptions {
  /** Include the ValidatingAdmissionPolicies (Kubernetes 1.30+). Default true. */
  readonly admissionPolicy?: boolean;
}

/** Everything to apply for an action: its RBAC, and (by default) the admission policies with their bindings. */
export function accessManifest(action: Action, options: AccessManifestOptions = {}): Record<string, any>[] {
  const access = actionAccess(action);
  return [...rbacObjects(access), ...options.admissionPolicy === false ? [] : admissionPolicyObjects(access)];
}

/**
 * Everything to apply for actions that run one after the other on one cluster: each action's RBAC
 * (its own names), and one set of admission policies that allows what any of them writes.
 */
export function sequenceAccessManifest(actions: readonly Action[], options: AccessManifestOptions = {}): Record<string, any>[] {
  if (actions.length === 1) return accessManifest(actions[0], options);
  return [
    ...actions.flatMap((action) => rbacObjects(actionAccess(action))),
    ...options.admissionPolicy === false ? [] : admissionPolicyObjects(combinedAccess(actions)),
  ];
}
