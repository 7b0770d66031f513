import {
  EKS_FIELD_MANAGER, HELM_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, releaseRecordSelector,
} from './helm';
import { KubeApiError, KubeClient, METADATA_ONLY_LIST } from './kube-client';
import { describeManagers } from './managed-fields';
import { ManagerSummary, summarizeManagers } from './managers';
import { AddonDefinition, AddonObject, objectPath, resourcePath } from './objects';
import { parseRecoveryCopy, recoveryCopyObject } from './recovery';
import { ClusterFacts, KubeObject, Observation, ObjectState, Owner } from './types';

export interface ObserveOptions {
  /** Count the custom resources of each CRD (one list request per CRD). */
  readonly countCustomResources?: boolean;
  /**
   * Look up Helm's release records (Secrets and ConfigMaps, metadata only) for the releases the
   * objects are annotated for, in kube-system. Off: annotated objects are HELM_ANNOTATED.
   */
  readonly lookUpReleaseRecords?: boolean;
  /** The field manager an adopt hands the objects to: its server-side applies are the new owner's, not someone else's. */
  readonly newOwner?: string;
  /** Read the library's recovery copy of the add-on (one GET): remove, restore and inspect need it. */
  readonly readRecoveryCopy?: boolean;
}

/** Reads every object of the add-on (one GET each) and decides who owns them. Writes nothing. */
export async function observe(client: KubeClient, addon: AddonDefinition, facts: ClusterFacts, options: ObserveOptions = {}): Promise<Observation> {
  const copyPath = objectPath(recoveryCopyObject(addon));
  const [copy, ...lives] = await Promise.all([
    options.readRecoveryCopy ? client.get<KubeObject>(copyPath) : Promise.resolve(undefined),
    ...addon.objects.map((o) => client.get<KubeObject>(objectPath(o))),
  ]);

  // One pair of metadata-only lists (Secrets, ConfigMaps) per release the objects name: is it installed?
  const releases = new Map<string, Promise<boolean>>();
  if (options.lookUpReleaseRecords) {
    for (const live of lives) {
      const release = releaseOf(live);
      if (release && release.namespace === addon.namespace && !releases.has(releaseKey(release))) {
        releases.set(releaseKey(release), releaseRecordExists(client, release));
      }
    }
  }
  const releaseFound = new Map<string, boolean>();
  for (const [key, found] of releases) releaseFound.set(key, await found);

  const objects = await Promise.all(addon.objects.map(async (object, i): Promise<ObjectState> => {
    const live = lives[i];
    // A CRD being deleted has no say any more (and the API server stops serving its resources).
    const customResources = live && object.crd && options.countCustomResources && !live.metadata.deletionTimestamp
      ? await countCustomResources(client, live)
      : undefined;
    const managerRoles = live ? summarizeManagers(live) : { appliers: [], imperative: [], otherWriters: [] };
    return {
      object,
      live,
      owner: objectOwner(addon, object, live, managerRoles, releaseFound, options),
      managers: describeManagers(live?.metadata.managedFields),
      managerRoles,
      notTheAddons: live && object.crd ? crdNotTheAddons(managerRoles, options.newOwner) : undefined,
      customResources,
      problems: live ? problemsOf(addon, object, live) : [],
    };
  }));

  return {
    addon,
    owner: overallOwner(addon, objects, facts),
    objects,
    facts,
    ...copy ? { recoveryCopy: parseRecoveryCopy(addon, copy) } : {},
  };
}

interface ReleaseRef { readonly name: string; readonly namespace: string }

function releaseOf(live: KubeObject | undefined): ReleaseRef | undefined {
  const name = live?.metadata.annotations?.[RELEASE_NAME_ANNOTATION];
  if (!name) return undefined;
  return { name, namespace: live!.metadata.annotations?.[RELEASE_NAMESPACE_ANNOTATION] ?? '' };
}

const releaseKey = (r: ReleaseRef) => `${r.namespace}/${r.name}`;

/**
 * Helm keeps a release's records as Secrets (the default driver) or ConfigMaps (HELM_DRIVER=configmap)
 * labelled owner=helm,name=<release>, in the release's namespace. Both are listed, metadata only.
 */
async function releaseRecordExists(client: KubeClient, release: ReleaseRef): Promise<boolean> {
  const lists = await Promise.all(['secrets', 'configmaps'].map((resource) => client.list<{ items: KubeObject[] | null }>(
    resourcePath('v1', resource, release.namespace),
    { labelSelector: releaseRecordSelector(release.name) },
    METADATA_ONLY_LIST,
  )));
  // A release uninstalled with --keep-history leaves records that no longer own anything.
  return lists.some((list) => (list.items ?? []).some((record) => record.metadata.labels?.status !== 'uninstalled'));
}

/** Attempts at listing a CRD's custom resources while the API server answers 404 for them. */
const CUSTOM_RESOURCE_LIST_ATTEMPTS = 5;
const CUSTOM_RESOURCE_LIST_FIRST_WAIT_MS = 100;

/**
 * How many custom resources a CRD has. A CRD the API server has just stored is served a moment
 * later (its handler follows an informer), and one whose names are not accepted is not served at
 * all: both answer 404. The first heals within milliseconds, so the list is retried briefly; if the
 * 404 persists, nothing can be known about the CRD's use and the action stops before any write.
 */
async function countCustomResources(client: KubeClient, crd: KubeObject): Promise<number> {
  const spec = crd.spec ?? {};
  const version = (spec.versions ?? []).find((v: any) => v.storage)?.name ?? spec.versions?.[0]?.name;
  const path = resourcePath(`${spec.group}/${version}`, spec.names?.plural);
  for (let attempt = 1; ; attempt++) {
    try {
      const list = await client.list<{ items: unknown[] | null; metadata?: { remainingItemCount?: number } }>(
        path, { limit: '500' }, METADATA_ONLY_LIST,
      );
      return (list.items ?? []).length + (list.metadata?.remainingItemCount ?? 0);
    } catch (e) {
      if (!(e instanceof KubeApiError && e.status === 404)) throw e;
      if (attempt >= CUSTOM_RESOURCE_LIST_ATTEMPTS) throw new CustomResourcesNotServedError(crd, path);
      await new Promise((r) => setTimeout(r, CUSTOM_RESOURCE_LIST_FIRST_WAIT_MS * 2 ** (attempt - 1)));
    }
  }
}

/** A CRD exists but the API server does not serve its custom resources, so whether it is in use cannot be known. */
export class CustomResourcesNotServedError extends Error {
  constructor(crd: KubeObject, path: string) {
    const conditions = ((crd.status?.conditions ?? []) as { type: string; status: string; reason?: string }[])
      .map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`).join(', ') || 'none reported';
    super(`CustomResourceDefinition/${crd.metadata.name}: the API server answers 404 for its custom resources (GET ${path}), `
      + `so whether any exist cannot be known; its conditions: ${conditions}. Nothing was changed. `
      + 'Run again once the CRD is established, or keep the CRDs (crdPolicy KEEP).');
    this.name = 'CustomResourcesNotServedError';
  }
}

function owner(kind: Owner['kind'], description: string, release?: ReleaseRef): Owner {
  return { kind, description, releaseName: release?.name, releaseNamespace: release?.namespace };
}

export const ABSENT_OWNER: Owner = owner('ABSENT', 'absent');

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/** Appliers other than EKS's bootstrap, kubectl's client-side apply (its own kind) and the adopt's new owner. */
function foreignAppliers(roles: ManagerSummary, newOwner?: string): string[] {
  return roles.appliers.filter((m) => m !== EKS_FIELD_MANAGER && m !== KUBECTL_CLIENT_SIDE_MANAGER && m !== newOwner);
}

/**
 * One object's owner, from its own metadata: a Helm release it is annotated for (and whether that
 * release is recorded), else its appliers. EKS's bootstrap owns it only when `eks` is its only
 * applier; imperative edits on top are customisations and change nothing here.
 */
function objectOwner(
  addon: AddonDefinition, object: AddonObject, live: KubeObject | undefined, roles: ManagerSummary,
  releaseFound: Map<string, boolean>, options: ObserveOptions,
): Owner {
  if (!live) return ABSENT_OWNER;
  const others = foreignAppliers(roles, options.newOwner);
  const othersOwner = () => owner('OTHER_APPLIER', `the tool that applies it server-side as ${quoted(others)}`);
  const release = object.crd ? undefined : releaseOf(live);
  if (release) {
    const where = `Helm release "${release.name}" in namespace "${release.namespace}"`;
    if (!options.lookUpReleaseRecords || release.namespace !== addon.namespace) {
      // Annotated for a release, but applied server-side by another tool (a GitOps applier of Helm charts): that tool's.
      if (others.length > 0 && !others.every((m) => m === HELM_FIELD_MANAGER)) return othersOwner();
      const why = release.namespace !== addon.namespace
        ? `release records are only looked up in ${addon.namespace}, where ${addon.title} lives`
        : 'its release records were not read (an adopt reads them only when asked: readReleaseRecords)';
      return owner('HELM_ANNOTATED', `${where} (as its annotations say; whether it is installed was not checked: ${why})`, release);
    }
    if (releaseFound.get(releaseKey(release))) return owner('HELM_RELEASE', where, release);
    // No record here, but a tool applies it: e.g. Flux's helm-controller keeping records in another namespace.
    if (others.length > 0) return othersOwner();
    return owner('HELM_ADOPTED', `adopted for ${where}, which is not installed yet`, release);
  }
  if (others.length > 0) return othersOwner();
  if (roles.appliers.includes(KUBECTL_CLIENT_SIDE_MANAGER)) {
    const writers = roles.otherWriters.length > 0 ? `; other writers: ${quoted(roles.otherWriters)}` : '';
    return owner('KUBECTL', `kubectl apply (client-side)${writers}`);
  }
  if (roles.appliers.includes(EKS_FIELD_MANAGER)) {
    return owner('EKS_BOOTSTRAP', 'the EKS bootstrap install (field manager "eks" is the only applier, no Helm release)');
  }
  if (createdByEksOnly(addon, roles)) {
    return owner('EKS_BOOTSTRAP', 'the EKS bootstrap install (created by field manager "eks", no other writer, no Helm release)');
  }
  if (object.crd && options.newOwner && roles.appliers.includes(options.newOwner)) {
    // CRDs are never annotated: after an adopt, the new owner's apply entry is what says so.
    return owner('HELM_ADOPTED', `handed over to field manager "${options.newOwner}" (CRDs carry no Helm metadata)`);
  }
  const all = [...roles.appliers, ...roles.imperative, ...roles.otherWriters];
  return owner('UNKNOWN', `an unknown owner (field managers: ${quoted(all) || 'none'})`);
}

/**
 * How EKS writes kube-proxy and CoreDNS is not documented: a plain create by `eks` (an Update
 * entry), with no applier and no other writer, is attributed to EKS as well (docs/ownership.md).
 */
export function createdByEksOnly(addon: AddonDefinition, roles: ManagerSummary): boolean {
  return !addon.eksAppliesServerSide && roles.appliers.length === 0
    && roles.otherWriters.length === 1 && roles.otherWriters[0] === EKS_FIELD_MANAGER;
}

/**
 * A CRD is the add-on's to change or delete only when EKS's bootstrap (or the adopt's new owner)
 * applied it and no other applier or controller writes it: the EKS control plane's network policy
 * controller, for one, owns and recreates the PolicyEndpoint CRD.
 */
function crdNotTheAddons(roles: ManagerSummary, newOwner?: string): string | undefined {
  const others = foreignAppliers(roles, newOwner);
  if (others.length > 0) return `applied by ${quoted(others)}`;
  if (roles.otherWriters.length > 0) return `written by ${quoted(roles.otherWriters)}, another controller`;
  const ours = roles.appliers.filter((m) => m === EKS_FIELD_MANAGER || m === newOwner);
  if (ours.length === 0) return `EKS's bootstrap install did not apply it (appliers: ${quoted(roles.appliers) || 'none'})`;
  return undefined;
}

/**
 * The owner of the whole CNI: the EKS API's word first (managed add-ons also write as `eks`),
 * then the first non-CRD object owned by someone other than EKS's bootstrap or an adoption,
 * then those two.
 */
function overallOwner(addon: AddonDefinition, objects: readonly ObjectState[], facts: ClusterFacts): Owner {
  if (facts.managedAddon) {
    return owner('EKS_MANAGED_ADDON', `the EKS managed add-on "${addon.eksAddonName}" (the EKS API reports it)`);
  }
  const owners = objects.filter((s) => s.live && !s.object.crd).map((s) => s.owner);
  return owners.find((o) => !['EKS_BOOTSTRAP', 'HELM_ADOPTED'].includes(o.kind))
    ?? owners.find((o) => o.kind === 'EKS_BOOTSTRAP')
    ?? owners.find((o) => o.kind === 'HELM_ADOPTED')
    ?? ABSENT_OWNER;
}

/** What about a live object says it is not the object of the add-on this library knows. */
function problemsOf(addon: AddonDefinition, object: AddonObject, live: KubeObject): string[] {
  const problems: string[] = [];
  const where = object.id;
  if (live.apiVersion && live.apiVersion !== object.apiVersion || live.kind && live.kind !== object.kind) {
    problems.push(`${where}: the API returned ${live.apiVersion} ${live.kind}, expected ${object.apiVersion} ${object.kind}`);
  }
  if (object.selector) {
    const selector = live.spec?.selector ?? {};
    const expected = JSON.stringify({ matchLabels: sortedKeys(object.selector) });
    const actual = JSON.stringify(selector.matchLabels && !selector.matchExpressions ? { matchLabels: sortedKeys(selector.matchLabels) } : selector);
    if (actual !== expected) {
      problems.push(`${where}: spec.selector is ${JSON.stringify(selector)}, expected ${expected}. `
        + `spec.selector is immutable, so ${addon.selectorReason}`);
    }
  }
  if (object.roleRef) {
    const ref = live.roleRef ?? {};
    if (ref.kind !== object.roleRef.kind || ref.name !== object.roleRef.name) {
      problems.push(`${where}: roleRef is ${ref.kind}/${ref.name}, expected ${object.roleRef.kind}/${object.roleRef.name}`);
    }
  }
  if (object.crd) {
    const spec = live.spec ?? {};
    const versions: string[] = (spec.versions ?? []).map((v: any) => v.name);
    if (spec.group !== object.crd.group || spec.names?.kind !== object.crd.kind || spec.scope !== object.crd.scope) {
      problems.push(`${where}: defines ${spec.scope} ${spec.group}/${spec.names?.kind}, expected ${object.crd.scope} ${object.crd.group}/${object.crd.kind}`);
    }
    if (!versions.includes(object.crd.version)) {
      problems.push(`${where}: serves versions [${versions.join(', ')}], expected ${object.crd.version}`);
    }
  }
  return problems;
}

function sortedKeys(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}
