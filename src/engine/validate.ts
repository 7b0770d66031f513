import { UNCONVERGING_FIELD_MANAGERS } from './managers';
import { AddonDefinition } from './objects';
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

/**
 * An add-on's Helm release must live where its objects live: a chart renders the namespaced objects
 * and the bindings' subjects in the release's namespace (each definition says what breaks otherwise).
 */
export function adoptReleaseNamespaceProblems(addon: AddonDefinition, value: string, prop = 'releaseNamespace'): string[] {
  if (value === addon.namespace) return [];
  return [`${prop} "${value}" must be "${addon.namespace}", where ${addon.title}'s objects live: ${addon.releaseNamespaceReason}`];
}

export function fieldManagerProblems(value: string, prop = 'fieldManager'): string[] {
  if (value.length === 0) return [`${prop} must not be empty`];
  if (value.length > 128) return [`${prop} is ${value.length} characters; Kubernetes allows at most 128`];
  if (!PRINTABLE.test(value)) return [`${prop} "${value}" must contain printable ASCII characters only`];
  return [];
}

/** The adopt's new owner: a field manager that applies server-side, so the handed-over fields converge. */
export function adoptFieldManagerProblems(value: string, prop = 'fieldManager'): string[] {
  const problems = fieldManagerProblems(value, prop);
  if (problems.length > 0) return problems;
  if (UNCONVERGING_FIELD_MANAGERS.includes(value)) {
    return [`${prop} "${value}" can never own the fields: give the field manager of the tool that will apply the chart `
      + '(helm for Helm, argocd-controller for Argo CD, helm-controller for Flux)'];
  }
  return [];
}

/** Managers of imperative edits handed over with the installer's fields. */
export function handOverProblems(value: readonly string[], fieldManager: string, prop = 'handOver'): string[] {
  return value.flatMap((manager) => {
    const problems = fieldManagerProblems(manager, `${prop} entry`);
    if (problems.length > 0) return problems;
    if (manager === fieldManager) return [`${prop} entry "${manager}" is the fieldManager itself`];
    if (UNCONVERGING_FIELD_MANAGERS.includes(manager)) {
      return [`${prop} entry "${manager}" is handed over (or kept) by the action itself; name imperative edits only, e.g. kubectl-set`];
    }
    return [];
  });
}

const ACTION_FIELDS: Record<string, string[]> = {
  INSPECT: [],
  DISABLE: [],
  RESTORE: [],
  ADOPT: ['releaseName', 'releaseNamespace', 'fieldManager'],
  REMOVE: ['crdPolicy'],
};

/** Every problem with an action on `addon` (as parsed from JSON, so of any shape); empty when it can run. */
export function actionProblems(addon: AddonDefinition, value: unknown): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`action must be an object, not ${JSON.stringify(value)}`];
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !(type in ACTION_FIELDS)) {
    return [`action type ${JSON.stringify(type)} must be one of ${Object.keys(ACTION_FIELDS).join(', ')}`];
  }
  const missing = ACTION_FIELDS[type].filter((f) => typeof (value as Record<string, unknown>)[f] !== 'string');
  if (missing.length > 0) return missing.map((f) => `${f} is required (a string) for action ${type}`);
  const action = value as Action;
  switch (action.type) {
    case 'ADOPT': {
      const handOver: unknown = action.handOver ?? [];
      const handOverShape = Array.isArray(handOver) && handOver.every((m) => typeof m === 'string')
        ? handOverProblems(handOver, action.fieldManager)
        : ['handOver must be a list of field manager names'];
      const records: unknown = action.readReleaseRecords;
      return [
        ...records !== undefined && typeof records !== 'boolean' ? ['readReleaseRecords must be true or false'] : [],
        ...releaseNameProblems(action.releaseName),
        ...adoptReleaseNamespaceProblems(addon, action.releaseNamespace),
        ...adoptFieldManagerProblems(action.fieldManager),
        ...handOverShape,
      ];
    }
    case 'REMOVE': {
      const problems = (CRD_POLICIES as readonly string[]).includes(action.crdPolicy)
        ? []
        : [`crdPolicy "${action.crdPolicy}" must be one of ${CRD_POLICIES.join(', ')}`];
      const policyEndpoints: unknown = action.deletePolicyEndpointCrd;
      if (policyEndpoints !== undefined && typeof policyEndpoints !== 'boolean') problems.push('deletePolicyEndpointCrd must be true or false');
      return problems;
    }
    case 'RESTORE': {
      const recreate: unknown = action.recreate;
      return recreate !== undefined && typeof recreate !== 'boolean' ? ['recreate must be true or false'] : [];
    }
    default:
      return [];
  }
}
