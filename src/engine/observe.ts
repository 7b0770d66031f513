import {
  EKS_FIELD_MANAGER, KUBECTL_CLIENT_SIDE_MANAGER, LAST_APPLIED_ANNOTATION,
  RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, releaseRecordSelector,
} from './helm';
import { KubeClient, METADATA_ONLY_LIST } from './kube-client';
import { describeManagers } from './managed-fields';
import { CNI_OBJECTS, CniObject, DAEMONSET_SELECTOR, objectPath, resourcePath } from './objects';
import { ClusterFacts, KubeObject, Observation, ObjectState, Owner } from './types';

export interface ObserveOptions {
  /** Count the custom resources of each CRD (one list request per CRD). */
  readonly countCustomResources?: boolean;
}

/** Reads every VPC CNI object (one GET each) and decides who owns them. Writes nothing. */
export async function observe(client: KubeClient, facts: ClusterFacts, options: ObserveOptions = {}): Promise<Observation> {
  const lives = await Promise.all(CNI_OBJECTS.map((o) => client.get<KubeObject>(objectPath(o))));

  // One metadata-only list per Helm release the objects name: does its release record exist?
  const releases = new Map<string, Promise<boolean>>();
  for (const live of lives) {
    const release = releaseOf(live);
    if (release && !releases.has(releaseKey(release))) {
      releases.set(releaseKey(release), releaseExists(client, release.name, release.namespace));
    }
  }
  const releaseFound = new Map<string, boolean>();
  for (const [key, found] of releases) releaseFound.set(key, await found);

  const objects = await Promise.all(CNI_OBJECTS.map(async (object, i): Promise<ObjectState> => {
    const live = lives[i];
    const customResources = live && object.crd && options.countCustomResources
      ? await countCustomResources(client, live)
      : undefined;
    return {
      object,
      live,
      owner: objectOwner(live, releaseFound),
      managers: describeManagers(live?.metadata.managedFields),
      customResources,
      problems: live ? problemsOf(object, live) : [],
    };
  }));

  return { owner: overallOwner(objects, facts), objects, facts };
}

interface ReleaseRef { readonly name: string; readonly namespace: string }

function releaseOf(live: KubeObject | undefined): ReleaseRef | undefined {
  const name = live?.metadata.annotations?.[RELEASE_NAME_ANNOTATION];
  if (!name) return undefined;
  return { name, namespace: live!.metadata.annotations?.[RELEASE_NAMESPACE_ANNOTATION] ?? '' };
}

const releaseKey = (r: ReleaseRef) => `${r.namespace}/${r.name}`;

async function releaseExists(client: KubeClient, name: string, namespace: string): Promise<boolean> {
  if (!namespace) return false;
  const list = await client.list<{ items: KubeObject[] | null }>(
    resourcePath('v1', 'secrets', namespace),
    { labelSelector: releaseRecordSelector(name) },
    METADATA_ONLY_LIST,
  );
  // A release uninstalled with --keep-history leaves records that no longer own anything.
  return (list.items ?? []).some((s) => s.metadata.labels?.status !== 'uninstalled');
}

async function countCustomResources(client: KubeClient, crd: KubeObject): Promise<number> {
  const spec = crd.spec ?? {};
  const version = (spec.versions ?? []).find((v: any) => v.storage)?.name ?? spec.versions?.[0]?.name;
  const list = await client.list<{ items: unknown[] | null; metadata?: { remainingItemCount?: number } }>(
    resourcePath(`${spec.group}/${version}`, spec.names?.plural),
    { limit: '500' },
    METADATA_ONLY_LIST,
  );
  return (list.items ?? []).length + (list.metadata?.remainingItemCount ?? 0);
}

function owner(kind: Owner['kind'], description: string, release?: ReleaseRef): Owner {
  return { kind, description, releaseName: release?.name, releaseNamespace: release?.namespace };
}

export const ABSENT_OWNER: Owner = owner('ABSENT', 'absent');

/** One object's owner, from its own metadata. */
function objectOwner(live: KubeObject | undefined, releaseFound: Map<string, boolean>): Owner {
  if (!live) return ABSENT_OWNER;
  const managers = live.metadata.managedFields ?? [];
  const release = releaseOf(live);
  if (release) {
    const where = `Helm release "${release.name}" in namespace "${release.namespace}"`;
    return releaseFound.get(releaseKey(release))
      ? owner('HELM_RELEASE', where, release)
      : owner('HELM_ADOPTED', `adopted for ${where}, which is not installed yet`, release);
  }
  if (managers.some((m) => m.manager === EKS_FIELD_MANAGER && m.operation === 'Apply')) {
    return owner('EKS_BOOTSTRAP', 'the EKS bootstrap install (field manager "eks", no Helm release)');
  }
  if (live.metadata.annotations?.[LAST_APPLIED_ANNOTATION] || managers.some((m) => m.manager === KUBECTL_CLIENT_SIDE_MANAGER)) {
    return owner('KUBECTL', 'kubectl apply (client-side)');
  }
  // CRDs never carry Helm metadata, so a Helm-installed CRD lands here too.
  return owner('UNKNOWN', `an unknown owner (field managers: ${describeManagers(managers).join(', ') || 'none'})`);
}

/**
 * The owner of the whole CNI: the EKS API's word first (managed add-ons also write as `eks`),
 * then the first non-CRD object owned by someone other than EKS's bootstrap or an adoption,
 * then those two.
 */
function overallOwner(objects: readonly ObjectState[], facts: ClusterFacts): Owner {
  if (facts.managedAddon) {
    return owner('EKS_MANAGED_ADDON', 'the EKS managed add-on "vpc-cni" (the EKS API reports it)');
  }
  const owners = objects.filter((s) => s.live && !s.object.crd).map((s) => s.owner);
  return owners.find((o) => !['EKS_BOOTSTRAP', 'HELM_ADOPTED'].includes(o.kind))
    ?? owners.find((o) => o.kind === 'EKS_BOOTSTRAP')
    ?? owners.find((o) => o.kind === 'HELM_ADOPTED')
    ?? ABSENT_OWNER;
}

/** What about a live object says it is not the VPC CNI object this library knows. */
function problemsOf(object: CniObject, live: KubeObject): string[] {
  const problems: string[] = [];
  const where = object.id;
  if (live.apiVersion && live.apiVersion !== object.apiVersion || live.kind && live.kind !== object.kind) {
    problems.push(`${where}: the API returned ${live.apiVersion} ${live.kind}, expected ${object.apiVersion} ${object.kind}`);
  }
  if (object.kind === 'DaemonSet') {
    const selector = live.spec?.selector ?? {};
    const expected = JSON.stringify({ matchLabels: DAEMONSET_SELECTOR });
    if (JSON.stringify(selector) !== expected) {
      problems.push(`${where}: spec.selector is ${JSON.stringify(selector)}, expected ${expected}. `
        + 'spec.selector is immutable, so the aws-vpc-cni chart (originalMatchLabels=true) cannot take this DaemonSet over; '
        + 'it is not the DaemonSet EKS installs');
    }
  }
  if (object.kind === 'ClusterRoleBinding') {
    const ref = live.roleRef ?? {};
    if (ref.kind !== 'ClusterRole' || ref.name !== 'aws-node') {
      problems.push(`${where}: roleRef is ${ref.kind}/${ref.name}, expected ClusterRole/aws-node`);
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
