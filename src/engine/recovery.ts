/**
 * The recovery copy: before a removal deletes anything, the objects it will delete are kept, as
 * applied, in one ConfigMap of the library's in the add-on's namespace, named after the add-on.
 * `restore` re-creates what is absent from it. Nothing else reads or writes it.
 */
import { DISABLED_NODE_SELECTOR_KEY, EKS_FIELD_MANAGER, MANAGED_BY_LABEL, OWN_FIELD_MANAGER } from './helm';
import { AddonDefinition, AddonObject, addonObject } from './objects';
import { KubeObject, ObjectState, RecoveredObject, RecoveryCopy } from './types';

/** The label that says the copy is the library's (and nobody else's ConfigMap of that name). */
export const RECOVERY_COPY_LABELS: Readonly<Record<string, string>> = {
  [MANAGED_BY_LABEL]: OWN_FIELD_MANAGER,
  'cdk-vpc-cni-ownership/recovery-copy': 'true',
};
const OBJECTS_KEY = 'objects.json';
const ADDON_KEY = 'addon';

/** The ConfigMap that holds the add-on's recovery copy, e.g. `cdk-vpc-cni-ownership-recovery-kube-proxy`. */
export function recoveryCopyObject(addon: AddonDefinition): AddonObject {
  return addonObject('v1', 'ConfigMap', 'configmaps', `${OWN_FIELD_MANAGER}-recovery-${addon.name}`, addon.namespace);
}

/** Metadata the API server assigns or maintains: a re-created object gets its own. */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'selfLink'];
/** Annotations the controllers maintain (a new object starts its own revision count). */
const SERVER_ANNOTATIONS = ['deprecated.daemonset.template.generation', 'deployment.kubernetes.io/revision'];

/** An object as applied: without status and what the server assigns. */
export function asApplied(live: KubeObject, object: AddonObject): KubeObject {
  const metadata: Record<string, unknown> = { ...live.metadata };
  for (const key of SERVER_METADATA) delete metadata[key];
  const annotations = { ...live.metadata.annotations };
  for (const key of SERVER_ANNOTATIONS) delete annotations[key];
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const { status: _status, metadata: _metadata, ...rest } = live;
  const applied: KubeObject = JSON.parse(JSON.stringify({ ...rest, apiVersion: object.apiVersion, kind: object.kind, metadata }));
  // A disabled workload is kept as it ran before: restored, it runs again.
  const nodeSelector = applied.spec?.template?.spec?.nodeSelector;
  if (nodeSelector && DISABLED_NODE_SELECTOR_KEY in nodeSelector) {
    delete nodeSelector[DISABLED_NODE_SELECTOR_KEY];
    if (Object.keys(nodeSelector).length === 0) delete applied.spec.template.spec.nodeSelector;
  }
  return applied;
}

/** The field manager a restore re-creates an object as: EKS's when EKS's bootstrap had it, ours otherwise. */
function restoringManager(state: ObjectState): string {
  return state.owner.kind === 'EKS_BOOTSTRAP' ? EKS_FIELD_MANAGER : OWN_FIELD_MANAGER;
}

/** Reads a live recovery copy; problems name what makes it unusable. */
export function parseRecoveryCopy(addon: AddonDefinition, live: KubeObject): RecoveryCopy {
  const id = recoveryCopyObject(addon).id;
  const problems: string[] = [];
  const labels = live.metadata.labels ?? {};
  if (Object.entries(RECOVERY_COPY_LABELS).some(([k, v]) => labels[k] !== v)) {
    problems.push(`${id} exists but is not the library's recovery copy (labels ${JSON.stringify(RECOVERY_COPY_LABELS)} missing): `
      + 'the library writes no object it did not create; rename or delete it');
    return { id, live, objects: [], problems };
  }
  let objects: RecoveredObject[] = [];
  try {
    const parsed = JSON.parse(live.data?.[OBJECTS_KEY] ?? '[]');
    if (!Array.isArray(parsed)) throw new Error('not a list');
    objects = parsed.filter((o: any) => addon.objects.some((x) => x.id === o?.id) && typeof o.object === 'object');
    if (objects.length !== parsed.length) throw new Error('it holds objects that are not the add-on\'s');
  } catch (e) {
    problems.push(`${id}: its ${OBJECTS_KEY} cannot be read (${(e as Error).message}); nothing is re-created from it`);
  }
  return { id, live, objects, problems };
}

/**
 * The copy's content after this removal: what it deletes now, as applied, and what an earlier
 * (partial) removal kept of objects that are absent now. In the definition's order.
 */
export function recoveryCopyContent(addon: AddonDefinition, deleting: readonly ObjectState[], objects: readonly ObjectState[],
  previous?: RecoveryCopy): RecoveredObject[] {
  const now = new Map(deleting.map((s) => [s.object.id, {
    id: s.object.id, fieldManager: restoringManager(s), object: asApplied(s.live!, s.object),
  }]));
  const absent = new Set(objects.filter((s) => !s.live).map((s) => s.object.id));
  const kept = (previous?.objects ?? []).filter((o) => absent.has(o.id) && !now.has(o.id));
  const all = [...now.values(), ...kept];
  return addon.objects.map((o) => all.find((r) => r.id === o.id)).filter((r): r is RecoveredObject => !!r);
}

/** The ConfigMap's data for this content. */
export function recoveryCopyData(addon: AddonDefinition, content: readonly RecoveredObject[]): Record<string, string> {
  return { [ADDON_KEY]: addon.name, [OBJECTS_KEY]: JSON.stringify(content) };
}
