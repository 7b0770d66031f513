/**
 * Who wrote an object, by its `managedFields`: appliers (who install and own it), imperative edits
 * (customisations on top), the system, and this library. The owner decisions read this, not
 * manager names scattered around.
 */
import { EKS_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER, LAST_APPLIED_ANNOTATION, OWN_FIELD_MANAGER } from './helm';
import { ManagedFieldsEntry } from './managed-fields';
import { KubeObject } from './types';

export type ManagerRole =
  /** Installs and owns the object: any server-side apply, or kubectl's client-side apply. */
  | 'APPLIER'
  /** A one-off edit on top of an install (`kubectl set env`, `kubectl edit`, …): a customisation. */
  | 'IMPERATIVE'
  /** Kubernetes itself: controllers and the API server, and anything written through a subresource (status, scale). */
  | 'SYSTEM'
  /** This library's own writes (the disable nodeSelector key). */
  | 'OURS'
  /** Any other non-apply writer (Helm 3, `kubectl create`/`replace`, a controller's updates). */
  | 'OTHER_WRITER';

/** kubectl's imperative commands, each with its own field manager. */
export const IMPERATIVE_MANAGERS: readonly string[] = [
  'kubectl-set', 'kubectl-edit', 'kubectl-patch', 'kubectl-label', 'kubectl-annotate', 'kubectl-rollout', 'kubectl-scale',
];

const SYSTEM_MANAGERS: readonly string[] = ['kube-controller-manager', 'kube-apiserver', 'kube-scheduler'];

/**
 * Field managers the adopt action cannot hand over to: `eks` keeps reapplying as itself (a managed
 * add-on) and kubectl's client-side apply never applies server-side, so neither would ever own
 * the fields the way a server-side apply tool does; and ours is reserved for the disable key.
 */
export const UNCONVERGING_FIELD_MANAGERS: readonly string[] = [EKS_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER, OWN_FIELD_MANAGER];

export function managerRole(entry: ManagedFieldsEntry): ManagerRole {
  const manager = entry.manager ?? '';
  if (manager === OWN_FIELD_MANAGER) return 'OURS';
  if (entry.subresource || SYSTEM_MANAGERS.includes(manager)) return 'SYSTEM';
  if (entry.operation === 'Apply' || manager === KUBECTL_CLIENT_SIDE_MANAGER) return 'APPLIER';
  if (IMPERATIVE_MANAGERS.includes(manager)) return 'IMPERATIVE';
  return 'OTHER_WRITER';
}

/** The managers of one object, by role (names, each once, in managedFields order). */
export interface ManagerSummary {
  readonly appliers: readonly string[];
  readonly imperative: readonly string[];
  readonly otherWriters: readonly string[];
}

export function summarizeManagers(live: KubeObject): ManagerSummary {
  const byRole: Record<ManagerRole, string[]> = { APPLIER: [], IMPERATIVE: [], SYSTEM: [], OURS: [], OTHER_WRITER: [] };
  for (const entry of live.metadata.managedFields ?? []) {
    const list = byRole[managerRole(entry)];
    if (entry.manager && !list.includes(entry.manager)) list.push(entry.manager);
  }
  // An object applied client-side before managedFields existed carries only kubectl's annotation.
  if (live.metadata.annotations?.[LAST_APPLIED_ANNOTATION] && !byRole.APPLIER.includes(KUBECTL_CLIENT_SIDE_MANAGER)) {
    byRole.APPLIER.push(KUBECTL_CLIENT_SIDE_MANAGER);
  }
  return { appliers: byRole.APPLIER, imperative: byRole.IMPERATIVE, otherWriters: byRole.OTHER_WRITER };
}
