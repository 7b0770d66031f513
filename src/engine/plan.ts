import {
  DISABLED_NODE_SELECTOR_KEY, MANAGED_BY_HELM, MANAGED_BY_LABEL, OWN_FIELD_MANAGER, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
} from './helm';
import { handOver } from './managed-fields';
import { AddonDefinition, objectPath } from './objects';
import { createdByEksOnly } from './observe';
import { recoveryCopyContent, recoveryCopyData, recoveryCopyObject, RECOVERY_COPY_LABELS } from './recovery';
import { Action, Observation, ObjectState, OwnedByOthers, Owner, Plan, Write } from './types';

/** The cluster is not in a state the engine can safely change. Raised before any write. */
export class UnexpectedClusterStateError extends Error {
  constructor(readonly problems: readonly string[], title = 'the VPC CNI') {
    super(`The ${title.replace(/^the /, '')} objects are not what this library expects; nothing was changed:\n- ${problems.join('\n- ')}`);
    this.name = 'UnexpectedClusterStateError';
  }
}

/** Someone other than EKS's bootstrap install owns the add-on and the guard says stop. Raised before any write. */
export class OwnedByOthersError extends Error {
  constructor(readonly owner: Owner, readonly action: Action['type'], title = 'the VPC CNI') {
    super(`Refusing to ${action.toLowerCase()} ${title}: it is owned by ${owner.description}. Nothing was changed. `
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
 * Empty when the cluster already is there. Throws before anything is written when an object the
 * action would write is not what the library knows, or when the guard refuses.
 */
export function plan(observation: Observation, action: Action, options: PlanOptions = {}): Plan {
  const notes: string[] = [];
  const present = observation.objects.filter((s) => s.live);
  const writes = writesFor(observation, present, action, notes);
  notes.push(...customisationNotes(present, action));
  if (action.type === 'ADOPT') notes.push(...takeoverChanges(observation, action));
  const waitingFor = action.type === 'RESTORE' && action.recreate !== false ? beingDeletedFromCopy(observation) : [];
  const base = { action, owner: observation.owner, notes, ...waitingFor.length > 0 ? { waitingFor } : {} };
  if (writes.length === 0) return { ...base, writes };

  // Only objects this action writes may stop it: a stranger CRD does not block a disable.
  const written = new Set(writes.map((w) => w.objectId));
  const copy = observation.recoveryCopy;
  const problems = [
    ...present.filter((s) => written.has(s.object.id)).flatMap((s) => s.problems),
    ...copy && writes.some((w) => w.objectId === copy.id || w.verb === 'APPLY') ? copy.problems : [],
  ];
  if (problems.length > 0) throw new UnexpectedClusterStateError(problems, observation.addon.title);

  const refusedBy = guardRefusal(observation, action, written);
  const policy = options.ifOwnedByOthers ?? 'FAIL';
  if (refusedBy && policy === 'FAIL') throw new OwnedByOthersError(refusedBy, action.type, observation.addon.title);
  if (refusedBy && policy === 'SKIP') {
    return { ...base, writes: [], skipped: `left as it is: owned by ${refusedBy.description} (ifOwnedByOthers: SKIP)` };
  }
  return { ...base, writes };
}

/**
 * The owner that makes this action someone else's business, if any: of the objects it writes (CRDs
 * decide per CRD, see notTheAddons). Restore only removes our own key and re-creates absent objects: no guard.
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
    // Its annotations name the release, installed or not: adopting into that same release changes no owner.
    case 'HELM_ANNOTATED':
      return action.type === 'ADOPT' && owner.releaseName === action.releaseName && owner.releaseNamespace === action.releaseNamespace;
    default:
      return false;
  }
}

function writesFor(observation: Observation, present: readonly ObjectState[], action: Action, notes: string[]): Write[] {
  const addon = observation.addon;
  switch (action.type) {
    case 'INSPECT': return [];
    case 'ADOPT': {
      // Without its workload there is no add-on whose CRDs these are (EKS Auto Mode uses the VPC CNI's too).
      const workloadPresent = present.some((s) => isWorkload(addon, s));
      const crdsLeft = workloadPresent ? [] : present.filter((s) => s.object.crd);
      if (crdsLeft.length > 0) notes.push(`the ${workloadName(addon)} is absent: ${crdsLeft.map((s) => s.object.id).join(', ')} left as they are`);
      return present.filter((s) => !crdsLeft.includes(s)).flatMap((s) => adoptWrites(addon, s, action, notes));
    }
    case 'REMOVE': return removeWrites(observation, present, action, notes);
    case 'DISABLE': return present.flatMap((s) => nodeSelectorWrites(addon, s, true));
    case 'RESTORE': return [
      ...action.recreate === false ? [] : recreateWrites(observation, notes),
      ...present.flatMap((s) => nodeSelectorWrites(addon, s, false)),
    ];
  }
}

const isWorkload = (addon: AddonDefinition, state: ObjectState) => state.object.id === addon.workload.id;

/**
 * What a removal that stopped part-way left of EKS's bootstrap install, once the workload is gone:
 * objects EKS alone wrote; and CRDs EKS alone applied, where such objects are left too or the
 * library's recovery copy holds the CRD (its removal stopped after the rest). EKS Auto Mode has CRDs
 * of the VPC CNI but nothing else of it, and no recovery copy: nothing there is a leftover.
 */
function eksLeftovers(observation: Observation, present: readonly ObjectState[]): ObjectState[] {
  const objects = present.filter((s) => !s.object.crd && s.owner.kind === 'EKS_BOOTSTRAP');
  const copied = new Set((observation.recoveryCopy?.objects ?? []).map((r) => r.id));
  const crds = present.filter((s) => s.object.crd && s.notTheAddons === undefined && (objects.length > 0 || copied.has(s.object.id)));
  return present.filter((s) => objects.includes(s) || crds.includes(s));
}

const describeOwners = (states: readonly ObjectState[]) => states.map((s) => `${s.object.id} (${s.object.crd ? s.notTheAddons ?? s.owner.description : s.owner.description})`).join(', ');
const workloadName = (addon: AddonDefinition) => `${addon.workload.name} ${addon.workload.kind}`;

function adoptWrites(addon: AddonDefinition, state: ObjectState, action: Extract<Action, { type: 'ADOPT' }>, notes: string[]): Write[] {
  const live = state.live!;
  if (state.object.crd && state.notTheAddons) {
    notes.push(`${state.object.id}: left as it is, not ${addon.title}'s: ${state.notTheAddons}`);
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
  // client-side apply, or whoever TAKE_OVER took it from), EKS's plain create where that is EKS's
  // install, and the imperative edits the user named.
  const from = [
    ...state.managerRoles.appliers.filter((m) => m !== action.fieldManager),
    ...createdByEksOnly(addon, state.managerRoles) ? state.managerRoles.otherWriters : [],
    ...(action.handOver ?? []).filter((m) => m !== action.fieldManager),
  ];
  const handedOver = managedFields.filter((m) => from.includes(m.manager ?? '') && !m.subresource);
  const handsOver = [...new Set(handedOver.map((m) => m.manager!))];
  if (handedOver.length > 0) {
    // A non-apply write may replace managedFields wholesale; a merge patch replaces the list.
    body.metadata.managedFields = handOver(managedFields, handsOver, action.fieldManager);
    reasons.push(`hand ${handedOver.length} managedFields entr${handedOver.length === 1 ? 'y' : 'ies'} of ${handsOver.map((m) => `"${m}"`).join(' and ')} to "${action.fieldManager}"`);
  }
  // Adopting a disabled add-on gives it back its nodes: no chart renders our key.
  if (isWorkload(addon, state) && disabledKeyOf(state)) {
    body.spec = nodeSelectorPatch(null);
    reasons.push(`restore: remove nodeSelector ${DISABLED_NODE_SELECTOR_KEY}, so ${addon.workload.name} runs again`);
  }
  if (reasons.length === 0) return [];
  return [patch(state, body, `adopt into Helm release ${action.releaseNamespace}/${action.releaseName}: ${reasons.join('; ')}`,
    action.fieldManager, handsOver)];
}

function removeWrites(observation: Observation, present: readonly ObjectState[], action: Extract<Action, { type: 'REMOVE' }>, notes: string[]): Write[] {
  const addon = observation.addon;
  const workload = observation.objects.find((s) => isWorkload(addon, s));
  let removing = present;
  if (!workload?.live) {
    // The workload is always deleted first, so a removal that stopped part-way (a failure, a signal, or
    // someone who deleted only the workload by hand) leaves EKS's other objects behind: those are
    // finished. EKS Auto Mode has no aws-node and nothing of EKS's install, but uses the VPC CNI's
    // CRDs, which are not EKS's bootstrap's there (another controller writes them).
    removing = eksLeftovers(observation, present);
    const others = present.filter((s) => !removing.includes(s));
    const othersNote = others.length > 0 ? `; left as they are: ${describeOwners(others)}` : '';
    if (removing.length === 0) {
      if (present.length > 0) {
        notes.push(`the ${workloadName(addon)} is absent and nothing of EKS's bootstrap install is left (EKS Auto Mode, or a cluster without it): `
          + `remove writes nothing${othersNote}`);
      }
      return [];
    }
    notes.push(`the ${workloadName(addon)} is absent: ${removing.map((s) => s.object.id).join(', ')} `
      + `${removing.length === 1 ? 'is' : 'are'} left over from a removal of EKS's bootstrap install that stopped part-way (applied by "eks" only), and ${removing.length === 1 ? 'is' : 'are'} removed now`
      + othersNote);
  }
  const deletes = removing.flatMap((s) => removeWrite(addon, s, action, notes));
  if (deletes.length === 0) return [];
  // The recovery copy goes first: no object is deleted before what it was is kept.
  const deleting = present.filter((s) => deletes.some((d) => d.objectId === s.object.id));
  return [...recoveryCopyWrites(observation, deleting), ...deletes];
}

/** Creates or updates the library's recovery copy with exactly what this removal deletes (and what an earlier one kept). */
function recoveryCopyWrites(observation: Observation, deleting: readonly ObjectState[]): Write[] {
  const addon = observation.addon;
  const copyObject = recoveryCopyObject(addon);
  const previous = observation.recoveryCopy;
  const content = recoveryCopyContent(addon, deleting, observation.objects, previous);
  const data = recoveryCopyData(addon, content);
  const what = `keep a recovery copy of ${content.map((r) => r.id).join(', ')} before deleting anything (restore re-creates them from it)`;
  if (!previous) {
    return [{
      objectId: copyObject.id,
      verb: 'APPLY',
      path: objectPath(copyObject),
      reason: what,
      resourceVersion: '',
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: copyObject.name, namespace: copyObject.namespace, labels: { ...RECOVERY_COPY_LABELS } }, data },
      fieldManager: OWN_FIELD_MANAGER,
    }];
  }
  if (JSON.stringify(previous.live.data ?? {}) === JSON.stringify(data)) return [];
  const resourceVersion = previous.live.metadata.resourceVersion!;
  return [{
    objectId: copyObject.id,
    verb: 'PATCH',
    path: objectPath(copyObject),
    reason: what,
    resourceVersion,
    body: { metadata: { resourceVersion }, data },
    fieldManager: OWN_FIELD_MANAGER,
  }];
}

/** Objects the recovery copy holds that are still being deleted: restore re-creates them once they are gone. */
function beingDeletedFromCopy(observation: Observation): string[] {
  const copy = observation.recoveryCopy;
  if (!copy) return [];
  return observation.objects
    .filter((s) => s.live?.metadata.deletionTimestamp && copy.objects.some((r) => r.id === s.object.id))
    .map((s) => s.object.id);
}

/** Restore re-creates, from the recovery copy, each object that is absent: RBAC and configuration first, the workload last. */
function recreateWrites(observation: Observation, notes: string[]): Write[] {
  const addon = observation.addon;
  const copy = observation.recoveryCopy;
  const absent = observation.objects.filter((s) => !s.live);
  const workloadAbsent = absent.some((s) => isWorkload(addon, s));
  const copyName = recoveryCopyObject(addon).id;
  if (!copy) {
    if (workloadAbsent) {
      notes.push(`there is no recovery copy (${copyName}): nothing can be re-created. ${addon.title} was not removed by this library, `
        + 'or its copy was deleted; install it again (for example as the EKS add-on) instead');
    }
    return [];
  }
  const writes: Write[] = [];
  // Roles before everything else: creating a binding passes RBAC's escalation check only once its role exists.
  const isRole = (s: ObjectState) => ['ClusterRole', 'Role'].includes(s.object.kind);
  const ordered = [...absent].reverse().sort((a, b) => Number(isRole(b)) - Number(isRole(a)));
  for (const state of ordered) {
    const kept = copy.objects.find((r) => r.id === state.object.id);
    if (!kept) continue;
    writes.push({
      objectId: state.object.id,
      verb: 'APPLY',
      path: objectPath(state.object),
      reason: `restore: re-create it from the recovery copy ${copy.id}, as it was when it was removed (applied as "${kept.fieldManager}")`,
      resourceVersion: '',
      body: kept.object,
      fieldManager: kept.fieldManager,
    });
  }
  const deleting = beingDeletedFromCopy(observation);
  if (deleting.length > 0) notes.push(`${deleting.join(', ')}: still being deleted; re-created once gone (run restore again if this run ends first)`);
  const missing = absent.filter((s) => !s.object.optional && !copy.objects.some((r) => r.id === s.object.id));
  if (missing.length > 0 && writes.length > 0) {
    notes.push(`${missing.map((s) => s.object.id).join(', ')}: absent, and not in the recovery copy: not re-created`);
  }
  return writes;
}

function removeWrite(addon: AddonDefinition, state: ObjectState, action: Extract<Action, { type: 'REMOVE' }>, notes: string[]): Write[] {
  const live = state.live!;
  if (live.metadata.deletionTimestamp) {
    notes.push(`${state.object.id}: already being deleted`);
    return [];
  }
  let reason = `remove ${addon.title}`;
  if (state.object.crd) {
    if (state.object.crd.keptUnlessAsked && !action.deletePolicyEndpointCrd) {
      notes.push(`${state.object.id}: kept: ${state.object.crd.keptUnlessAsked}`);
      return [];
    }
    if (state.notTheAddons) {
      notes.push(`${state.object.id}: kept, not ${addon.title}'s: ${state.notTheAddons}`);
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
      // Background: the API server deletes now; the garbage collector removes the workload's pods after.
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
function nodeSelectorWrites(addon: AddonDefinition, state: ObjectState, disable: boolean): Write[] {
  if (!isWorkload(addon, state)) return [];
  if (disabledKeyOf(state) === disable) return [];
  const reason = disable
    ? `disable: nodeSelector ${DISABLED_NODE_SELECTOR_KEY}=true matches no node, so no ${addon.workload.name} pod runs`
    : `restore: remove nodeSelector ${DISABLED_NODE_SELECTOR_KEY}`;
  return [patch(state, { spec: nodeSelectorPatch(disable ? 'true' : null) }, reason, OWN_FIELD_MANAGER)];
}

/**
 * What installing the add-on's chart after this adopt would change in what runs, even with the values
 * that reproduce it (`values`, the presets' chart values): said where the user acts, not only by `values`.
 */
function takeoverChanges(observation: Observation, action: Extract<Action, { type: 'ADOPT' }>): string[] {
  const chart = observation.addon.chart;
  if (!chart) return [];
  const toInstall = chart.valuesToInstall(observation, { releaseName: action.releaseName });
  if (!toInstall.running) return [];
  const version = toInstall.chartVersion ? ` ${toInstall.chartVersion}` : '';
  return toInstall.changes.map((change) => `installing the ${chart.name} chart${version} with the values that reproduce what runs still changes it: ${change}`);
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
