import {
  DISABLED_NODE_SELECTOR_KEY, EKS_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER, MANAGED_BY_HELM, MANAGED_BY_LABEL, OWN_FIELD_MANAGER,
  RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
} from './helm';
import { handOver } from './managed-fields';
import { objectPath } from './objects';
import { Action, Observation, ObjectState, OwnedByOthers, Owner, Plan, Write } from './types';

/** The cluster is not in a state the engine can safely change. Raised before any write. */
export class UnexpectedClusterStateError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`The VPC CNI objects are not what this library expects; nothing was changed:\n- ${problems.join('\n- ')}`);
    this.name = 'UnexpectedClusterStateError';
  }
}

/** Someone other than EKS's bootstrap install owns the VPC CNI and the guard says stop. Raised before any write. */
export class OwnedByOthersError extends Error {
  constructor(readonly owner: Owner, readonly action: Action['type']) {
    super(`Refusing to ${action.toLowerCase()} the VPC CNI: it is owned by ${owner.description}. Nothing was changed. `
      + 'Set ifOwnedByOthers to TAKE_OVER to proceed anyway, or to SKIP to leave it as it is and succeed.');
    this.name = 'OwnedByOthersError';
  }
}

export interface PlanOptions {
  /** What to do when someone other than EKS's bootstrap install owns the CNI. Default FAIL. */
  readonly ifOwnedByOthers?: OwnedByOthers;
}

/**
 * The writes that take the observed cluster to the desired action, in order, each with its reason.
 * Empty when the cluster already is there. Throws before anything is written when the state is
 * unexpected or the guard refuses.
 */
export function plan(observation: Observation, action: Action, options: PlanOptions = {}): Plan {
  const present = observation.objects.filter((s) => s.live);
  const problems = present.flatMap((s) => s.problems);
  if (action.type !== 'INSPECT' && problems.length > 0) throw new UnexpectedClusterStateError(problems);

  const notes: string[] = [];
  const writes = present.flatMap((s) => writesFor(s, action, notes));
  const base = { action, owner: observation.owner, notes };
  if (writes.length === 0) return { ...base, writes };

  const refusedBy = guardRefusal(observation, action);
  const policy = options.ifOwnedByOthers ?? 'FAIL';
  if (refusedBy && policy === 'FAIL') throw new OwnedByOthersError(refusedBy, action.type);
  if (refusedBy && policy === 'SKIP') {
    return { ...base, writes: [], skipped: `left as it is: owned by ${refusedBy.description} (ifOwnedByOthers: SKIP)` };
  }
  return { ...base, writes };
}

/** The owner that makes this action someone else's business, if any. */
function guardRefusal(observation: Observation, action: Action): Owner | undefined {
  if (observation.owner.kind === 'EKS_MANAGED_ADDON') return observation.owner;
  return observation.objects
    .filter((s) => s.live && !s.object.crd)
    .map((s) => s.owner)
    .find((o) => !acceptableOwner(o, action));
}

function acceptableOwner(owner: Owner, action: Action): boolean {
  switch (owner.kind) {
    case 'EKS_BOOTSTRAP':
    // No release record exists, so no Helm release claims it (our own earlier adoption, or one pending).
    case 'HELM_ADOPTED':
      return true;
    case 'HELM_RELEASE':
      return action.type === 'ADOPT' && owner.releaseName === action.releaseName && owner.releaseNamespace === action.releaseNamespace;
    default:
      return false;
  }
}

function writesFor(state: ObjectState, action: Action, notes: string[]): Write[] {
  switch (action.type) {
    case 'INSPECT': return [];
    case 'ADOPT': return adoptWrites(state, action);
    case 'REMOVE': return removeWrites(state, action.crdPolicy, notes);
    case 'DISABLE': return nodeSelectorWrites(state, true);
    case 'RESTORE': return nodeSelectorWrites(state, false);
  }
}

function adoptWrites(state: ObjectState, action: Extract<Action, { type: 'ADOPT' }>): Write[] {
  const live = state.live!;
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  const managedFields = live.metadata.managedFields ?? [];

  const reasons: string[] = [];
  const metadata: Record<string, unknown> = {};
  // CRDs come from the chart's crds/ folder, which Helm never adopts: they get no Helm metadata,
  // only the hand-over of their `eks` fields (so server-side apply tools can manage them).
  const helmMetadata = !state.object.crd;
  if (helmMetadata && labels[MANAGED_BY_LABEL] !== MANAGED_BY_HELM) {
    metadata.labels = { [MANAGED_BY_LABEL]: MANAGED_BY_HELM };
    reasons.push(`label ${MANAGED_BY_LABEL}=${MANAGED_BY_HELM}`);
  }
  const wantedAnnotations: Record<string, string> = {
    [RELEASE_NAME_ANNOTATION]: action.releaseName,
    [RELEASE_NAMESPACE_ANNOTATION]: action.releaseNamespace,
  };
  const changedAnnotations = helmMetadata
    ? Object.fromEntries(Object.entries(wantedAnnotations).filter(([k, v]) => annotations[k] !== v))
    : {};
  if (Object.keys(changedAnnotations).length > 0) {
    metadata.annotations = changedAnnotations;
    reasons.push(`annotate ${Object.entries(changedAnnotations).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  // The installer's fields become the new owner's: `eks`, and kubectl's when kubectl installed it.
  const installers = state.owner.kind === 'KUBECTL' ? [EKS_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER] : [EKS_FIELD_MANAGER];
  const handedOver = managedFields.filter((m) => installers.includes(m.manager ?? ''));
  if (handedOver.length > 0) {
    // A non-apply write may replace managedFields wholesale; a merge patch replaces the list.
    metadata.managedFields = handOver(managedFields, installers, action.fieldManager);
    const from = [...new Set(handedOver.map((m) => `"${m.manager}"`))].join(' and ');
    reasons.push(`hand ${handedOver.length} managedFields entr${handedOver.length === 1 ? 'y' : 'ies'} of ${from} to "${action.fieldManager}"`);
  }
  if (reasons.length === 0) return [];
  return [patch(state, { metadata }, `adopt into Helm release ${action.releaseNamespace}/${action.releaseName}: ${reasons.join('; ')}`, action.fieldManager)];
}

function removeWrites(state: ObjectState, crdPolicy: Extract<Action, { type: 'REMOVE' }>['crdPolicy'], notes: string[]): Write[] {
  const live = state.live!;
  if (live.metadata.deletionTimestamp) {
    notes.push(`${state.object.id}: already being deleted`);
    return [];
  }
  let reason = 'remove the VPC CNI';
  if (state.object.crd) {
    if (crdPolicy === 'KEEP') {
      notes.push(`${state.object.id}: kept (crdPolicy KEEP)`);
      return [];
    }
    if (crdPolicy === 'DELETE_IF_UNUSED') {
      const count = state.customResources;
      if (count === undefined) throw new Error(`${state.object.id}: custom resources were not counted`);
      if (count > 0) {
        notes.push(`${state.object.id}: kept, ${count} ${state.object.crd.kind} custom resource(s) exist (crdPolicy DELETE_IF_UNUSED)`);
        return [];
      }
      reason = `no ${state.object.crd.kind} custom resources exist (crdPolicy DELETE_IF_UNUSED)`;
    } else {
      reason = 'crdPolicy DELETE (deletes every custom resource of it)';
    }
  }
  return [{
    objectId: state.object.id,
    verb: 'DELETE',
    path: objectPath(state.object),
    reason,
    resourceVersion: live.metadata.resourceVersion!,
    body: {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      // Background: the API server deletes now; the garbage collector removes aws-node pods after.
      propagationPolicy: 'Background',
      preconditions: { uid: live.metadata.uid, resourceVersion: live.metadata.resourceVersion },
    },
  }];
}

/** Disable adds a nodeSelector key no node has; restore removes just that key, so the rest is as it was. */
function nodeSelectorWrites(state: ObjectState, disable: boolean): Write[] {
  if (state.object.kind !== 'DaemonSet') return [];
  const selector: Record<string, string> = state.live!.spec?.template?.spec?.nodeSelector ?? {};
  const disabled = DISABLED_NODE_SELECTOR_KEY in selector;
  if (disabled === disable) return [];
  const value = disable ? 'true' : null;
  const reason = disable
    ? `disable: nodeSelector ${DISABLED_NODE_SELECTOR_KEY}=true matches no node, so no aws-node pod runs`
    : `restore: remove nodeSelector ${DISABLED_NODE_SELECTOR_KEY}`;
  return [patch(state, { spec: { template: { spec: { nodeSelector: { [DISABLED_NODE_SELECTOR_KEY]: value } } } } }, reason, OWN_FIELD_MANAGER)];
}

function patch(state: ObjectState, body: { metadata?: Record<string, unknown>; [k: string]: unknown }, reason: string, fieldManager: string): Write {
  const resourceVersion = state.live!.metadata.resourceVersion!;
  return {
    objectId: state.object.id,
    verb: 'PATCH',
    path: objectPath(state.object),
    reason,
    resourceVersion,
    // resourceVersion in a merge patch is a precondition: a concurrent change gives 409, not a lost update.
    body: { ...body, metadata: { ...body.metadata, resourceVersion } },
    fieldManager,
  };
}
