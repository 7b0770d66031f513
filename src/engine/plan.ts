import {
  DISABLED_NODE_SELECTOR_KEY, MANAGED_BY_HELM, MANAGED_BY_LABEL, OWN_FIELD_MANAGER, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
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

const DAEMONSET_KIND = 'DaemonSet';
const POLICY_ENDPOINT_CRD = 'policyendpoints.networking.k8s.aws';

/**
 * The writes that take the observed cluster to the desired action, in order, each with its reason.
 * Empty when the cluster already is there. Throws before anything is written when an object the
 * action would write is not what the library knows, or when the guard refuses.
 */
export function plan(observation: Observation, action: Action, options: PlanOptions = {}): Plan {
  const notes: string[] = [];
  const present = observation.objects.filter((s) => s.live);
  const writes = writesFor(observation, present, action, notes);
  notes.push(...customisationNotes(present, action));
  const base = { action, owner: observation.owner, notes };
  if (writes.length === 0) return { ...base, writes };

  // Only objects this action writes may stop it: a stranger CRD does not block a disable.
  const written = new Set(writes.map((w) => w.objectId));
  const problems = present.filter((s) => written.has(s.object.id)).flatMap((s) => s.problems);
  if (problems.length > 0) throw new UnexpectedClusterStateError(problems);

  const refusedBy = guardRefusal(observation, action, written);
  const policy = options.ifOwnedByOthers ?? 'FAIL';
  if (refusedBy && policy === 'FAIL') throw new OwnedByOthersError(refusedBy, action.type);
  if (refusedBy && policy === 'SKIP') {
    return { ...base, writes: [], skipped: `left as it is: owned by ${refusedBy.description} (ifOwnedByOthers: SKIP)` };
  }
  return { ...base, writes };
}

/**
 * The owner that makes this action someone else's business, if any: of the objects it writes (CRDs
 * decide per CRD, see notTheVpcCnis). Restore only removes our own key: no guard.
 */
function guardRefusal(observation: Observation, action: Action, written: ReadonlySet<string>): Owner | undefined {
  if (action.type === 'RESTORE' || action.type === 'INSPECT') return undefined;
  if (observation.owner.kind === 'EKS_MANAGED_ADDON') return observation.owner;
  return observation.objects
    .filter((s) => s.live && !s.object.crd && written.has(s.object.id))
    .map((s) => s.owner)
    .find((o) => !acceptableOwner(o, action));
}

/**
 * EKS's bootstrap install may be changed by every action. An adoption or a Helm release may only be
 * adopted again into that same release: removing or disabling it, or adopting it for another
 * release, would take a release's objects away from it.
 */
function acceptableOwner(owner: Owner, action: Action): boolean {
  switch (owner.kind) {
    case 'EKS_BOOTSTRAP':
      return true;
    case 'HELM_ADOPTED':
    case 'HELM_RELEASE':
      return action.type === 'ADOPT' && owner.releaseName === action.releaseName && owner.releaseNamespace === action.releaseNamespace;
    default:
      return false;
  }
}

function writesFor(observation: Observation, present: readonly ObjectState[], action: Action, notes: string[]): Write[] {
  switch (action.type) {
    case 'INSPECT': return [];
    case 'ADOPT': {
      // Without aws-node there is no VPC CNI whose CRDs these are (EKS Auto Mode uses them too).
      const daemonSetPresent = present.some((s) => s.object.kind === DAEMONSET_KIND);
      const crdsLeft = daemonSetPresent ? [] : present.filter((s) => s.object.crd);
      if (crdsLeft.length > 0) notes.push(`the aws-node DaemonSet is absent: ${crdsLeft.map((s) => s.object.id).join(', ')} left as they are`);
      return present.filter((s) => !crdsLeft.includes(s)).flatMap((s) => adoptWrites(s, action, notes));
    }
    case 'REMOVE': return removeWrites(observation, present, action, notes);
    case 'DISABLE': return present.flatMap((s) => nodeSelectorWrites(s, true));
    case 'RESTORE': return present.flatMap((s) => nodeSelectorWrites(s, false));
  }
}

function adoptWrites(state: ObjectState, action: Extract<Action, { type: 'ADOPT' }>, notes: string[]): Write[] {
  const live = state.live!;
  if (state.object.crd && state.notTheVpcCnis) {
    notes.push(`${state.object.id}: left as it is, not the VPC CNI's: ${state.notTheVpcCnis}`);
    return [];
  }
  const labels = live.metadata.labels ?? {};
  const annotations = live.metadata.annotations ?? {};
  const managedFields = live.metadata.managedFields ?? [];

  const reasons: string[] = [];
  const body: { metadata: Record<string, unknown>; spec?: unknown } = { metadata: {} };
  // CRDs come from the chart's crds/ folder, which Helm never adopts: they get no Helm metadata,
  // only the hand-over of their installer's fields (so server-side apply tools can manage them).
  const helmMetadata = !state.object.crd;
  if (helmMetadata && labels[MANAGED_BY_LABEL] !== MANAGED_BY_HELM) {
    body.metadata.labels = { [MANAGED_BY_LABEL]: MANAGED_BY_HELM };
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
    body.metadata.annotations = changedAnnotations;
    reasons.push(`annotate ${Object.entries(changedAnnotations).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  // The installers' fields become the new owner's: every applier but the new owner (EKS's, kubectl's
  // client-side apply, or whoever TAKE_OVER took it from), and the imperative edits the user named.
  const from = [
    ...state.managerRoles.appliers.filter((m) => m !== action.fieldManager),
    ...(action.handOver ?? []).filter((m) => m !== action.fieldManager),
  ];
  const handedOver = managedFields.filter((m) => from.includes(m.manager ?? ''));
  const handsOver = [...new Set(handedOver.map((m) => m.manager!))];
  if (handedOver.length > 0) {
    // A non-apply write may replace managedFields wholesale; a merge patch replaces the list.
    body.metadata.managedFields = handOver(managedFields, handsOver, action.fieldManager);
    reasons.push(`hand ${handedOver.length} managedFields entr${handedOver.length === 1 ? 'y' : 'ies'} of ${handsOver.map((m) => `"${m}"`).join(' and ')} to "${action.fieldManager}"`);
  }
  // Adopting a disabled VPC CNI gives it back its nodes: the chart never renders our key.
  if (state.object.kind === DAEMONSET_KIND && disabledKeyOf(state)) {
    body.spec = nodeSelectorPatch(null);
    reasons.push(`restore: remove nodeSelector ${DISABLED_NODE_SELECTOR_KEY}, so aws-node runs again`);
  }
  if (reasons.length === 0) return [];
  return [patch(state, body, `adopt into Helm release ${action.releaseNamespace}/${action.releaseName}: ${reasons.join('; ')}`,
    action.fieldManager, handsOver)];
}

function removeWrites(observation: Observation, present: readonly ObjectState[], action: Extract<Action, { type: 'REMOVE' }>, notes: string[]): Write[] {
  const daemonSet = observation.objects.find((s) => s.object.kind === DAEMONSET_KIND);
  if (!daemonSet?.live) {
    // EKS Auto Mode has no aws-node but uses these CRDs; a cluster without the DaemonSet runs no VPC CNI to remove.
    if (present.length > 0) {
      notes.push(`the aws-node DaemonSet is absent (EKS Auto Mode, or removed earlier): remove writes nothing; left as they are: ${present.map((s) => s.object.id).join(', ')}`);
    }
    return [];
  }
  return present.flatMap((s) => removeWrite(s, action, notes));
}

function removeWrite(state: ObjectState, action: Extract<Action, { type: 'REMOVE' }>, notes: string[]): Write[] {
  const live = state.live!;
  if (live.metadata.deletionTimestamp) {
    notes.push(`${state.object.id}: already being deleted`);
    return [];
  }
  let reason = 'remove the VPC CNI';
  if (state.object.crd) {
    if (state.object.name === POLICY_ENDPOINT_CRD && !action.deletePolicyEndpointCrd) {
      notes.push(`${state.object.id}: kept: the EKS control plane's network policy controller uses it, and deleting it deletes every PolicyEndpoint `
        + '(NetworkPolicy enforcement stops until they are rebuilt); ask for it explicitly (deletePolicyEndpointCrd) to apply crdPolicy to it');
      return [];
    }
    if (state.notTheVpcCnis) {
      notes.push(`${state.object.id}: kept, not the VPC CNI's: ${state.notTheVpcCnis}`);
      return [];
    }
    if (action.crdPolicy === 'KEEP') {
      notes.push(`${state.object.id}: kept (crdPolicy KEEP)`);
      return [];
    }
    if (action.crdPolicy === 'DELETE_IF_UNUSED') {
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

function disabledKeyOf(state: ObjectState): boolean {
  const selector: Record<string, string> = state.live?.spec?.template?.spec?.nodeSelector ?? {};
  return DISABLED_NODE_SELECTOR_KEY in selector;
}

/** A merge patch that sets (or, with null, removes) only our nodeSelector key. */
function nodeSelectorPatch(value: string | null) {
  return { template: { spec: { nodeSelector: { [DISABLED_NODE_SELECTOR_KEY]: value } } } };
}

/** Disable adds a nodeSelector key no node has; restore removes just that key, so the rest is as it was. */
function nodeSelectorWrites(state: ObjectState, disable: boolean): Write[] {
  if (state.object.kind !== DAEMONSET_KIND) return [];
  if (disabledKeyOf(state) === disable) return [];
  const reason = disable
    ? `disable: nodeSelector ${DISABLED_NODE_SELECTOR_KEY}=true matches no node, so no aws-node pod runs`
    : `restore: remove nodeSelector ${DISABLED_NODE_SELECTOR_KEY}`;
  return [patch(state, { spec: nodeSelectorPatch(disable ? 'true' : null) }, reason, OWN_FIELD_MANAGER)];
}

/** Imperative edits are the user's customisations: say whose they are, and what the action does with them. */
function customisationNotes(present: readonly ObjectState[], action: Action): string[] {
  if (action.type !== 'ADOPT' && action.type !== 'INSPECT') return [];
  const notes: string[] = [];
  for (const state of present) {
    const custom = [...state.managerRoles.imperative, ...state.managerRoles.otherWriters];
    if (custom.length === 0) continue;
    const names = custom.map((m) => `"${m}"`).join(', ');
    if (action.type === 'INSPECT') {
      notes.push(`${state.object.id}: customised by ${names}`);
      continue;
    }
    const handed = custom.filter((m) => (action.handOver ?? []).includes(m));
    const kept = custom.filter((m) => !handed.includes(m));
    if (kept.length > 0) {
      notes.push(`${state.object.id}: customisations of ${kept.map((m) => `"${m}"`).join(', ')} kept: their fields stay theirs `
        + `(name them in handOver to give them to "${action.fieldManager}")`);
    }
  }
  return notes;
}

function patch(
  state: ObjectState, body: { metadata?: Record<string, unknown>; [k: string]: unknown }, reason: string, fieldManager: string,
  handsOver?: readonly string[],
): Write {
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
    ...(handsOver && handsOver.length > 0 ? { handsOver } : {}),
  };
}
