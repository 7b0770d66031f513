import { Action } from './types';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// Kubernetes accepts a fieldManager of at most 128 printable ASCII characters.
const PRINTABLE = /^[\x20-\x7e]+$/;

export const CRD_POLICIES = ['KEEP', 'DELETE_IF_UNUSED', 'DELETE'] as const;
export const OWNED_BY_OTHERS = ['FAIL', 'SKIP', 'TAKE_OVER'] as const;

/** Problems with a Helm release name, each naming `prop`; empty when valid. */
export function releaseNameProblems(value: string, prop = 'releaseName'): string[] {
  if (value.length > 53) return [`${prop} "${value}" is ${value.length} characters; Helm allows at most 53`];
  if (!DNS_LABEL.test(value)) return [`${prop} "${value}" must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit`];
  return [];
}

export function namespaceProblems(value: string, prop = 'releaseNamespace'): string[] {
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    return [`${prop} "${value}" must be a DNS label of at most 63 characters: lower-case letters, digits and '-', starting and ending with a letter or digit`];
  }
  return [];
}

export function fieldManagerProblems(value: string, prop = 'fieldManager'): string[] {
  if (value.length === 0) return [`${prop} must not be empty`];
  if (value.length > 128) return [`${prop} is ${value.length} characters; Kubernetes allows at most 128`];
  if (!PRINTABLE.test(value)) return [`${prop} "${value}" must contain printable ASCII characters only`];
  return [];
}

const ACTION_FIELDS: Record<string, string[]> = {
  INSPECT: [],
  DISABLE: [],
  RESTORE: [],
  ADOPT: ['releaseName', 'releaseNamespace', 'fieldManager'],
  REMOVE: ['crdPolicy'],
};

/** Every problem with an action (as parsed from JSON, so of any shape); empty when it can run. */
export function actionProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`action must be an object, not ${JSON.stringify(value)}`];
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in ACTION_FIELDS)) {
    return [`action type ${JSON.stringify(type)} must be one of ${Object.keys(ACTION_FIELDS).join(', ')}`];
  }
  const missing = ACTION_FIELDS[type].filter((f) => typeof (value as Record<string, unknown>)[f] !== 'string');
  if (missing.length > 0) return missing.map((f) => `${f} is required (a string) for action ${type}`);
  const action = value as Action;
  switch (action.type) {
    case 'ADOPT':
      return [
        ...releaseNameProblems(action.releaseName),
        ...namespaceProblems(action.releaseNamespace),
        ...fieldManagerProblems(action.fieldManager),
      ];
    case 'REMOVE':
      return (CRD_POLICIES as readonly string[]).includes(action.crdPolicy)
        ? []
        : [`crdPolicy "${action.crdPolicy}" must be one of ${CRD_POLICIES.join(', ')}`];
    default:
      return [];
  }
}
