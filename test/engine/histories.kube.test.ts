/**
 * Lived-in clusters, table-driven: each row is a cluster history (who applied what, how), made with
 * the REAL kubectl and helm against the REAL API server, with the owner the engine must find and
 * what adopt, remove and disable do and leave. Each action starts from a fresh copy of the history.
 */
import { VPC_CNI } from '../../src/addons';
import { Action, KubeClient, OwnedByOthersError, OwnerKind, PartialApplyError, recoveryCopyObject, objectPath, run, RunResult } from '../../src/engine';
import { adoptedWithoutEngine, Cli, connection, DS, Fixtures, getLive, RELEASE, resetCluster, snapshot, waitUntil } from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
afterAll(() => admin.close());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
const fixtures = new Fixtures(cli);

const ALL = VPC_CNI.objects.map((o) => o.id);
const NON_CRD = VPC_CNI.objects.filter((o) => !o.crd).map((o) => o.id);
const ENI_CRD = 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com';
const PE_CRD = 'CustomResourceDefinition/policyendpoints.networking.k8s.aws';

const ACTIONS: Record<'adopt' | 'remove' | 'disable', Action> = {
  adopt: { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' },
  // Asking for the PolicyEndpoint CRD explicitly: it is still kept when another controller owns it.
  remove: { type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true },
  disable: { type: 'DISABLE' },
};

/** What an action does: refused by the guard (nothing written), or the objects it changes, and a check of what it leaves. */
type Outcome = 'REFUSED' | { readonly changed: readonly string[]; readonly notes?: RegExp; readonly leaves?: () => Promise<void> };

interface History {
  readonly name: string;
  readonly make: () => void | Promise<void>;
  /** The owner as adopt sees it (adopt reads Helm's release records; the other actions do not). */
  readonly owner: OwnerKind;
  readonly ownerDescription?: RegExp;
  readonly adopt: Outcome;
  readonly remove: Outcome;
  readonly disable: Outcome;
}

const managersOf = async (id: string) => ((await getLive(admin, id))?.metadata.managedFields ?? []).map((m) => m.manager);
const policyEndpoints = async () => (await admin.list('/apis/networking.k8s.aws/v1alpha1/policyendpoints')).items.length;

const removed = { changed: [...NON_CRD, ENI_CRD, PE_CRD] };

/** Nothing of the VPC CNI is left (CRDs may still be finishing their deletion). */
const nothingLeft = async () => {
  for (const id of ALL) {
    const live = await getLive(admin, id);
    expect({ id, left: !!live && !live.metadata.deletionTimestamp }).toEqual({ id, left: false });
  }
};

/** A new EKS cluster, then a removal by the engine that stops at the first write `stopAt` matches, as a failure or a signal leaves it. */
async function removalStoppedAt(stopAt: (verb: string, id: string) => boolean): Promise<void> {
  fixtures.newEksCluster();
  const stopped = run(admin, {
    addon: VPC_CNI,
    action: ACTIONS.remove,
    beforeWrite: (w) => {
      if (stopAt(w.verb, w.objectId)) throw new Error(`stopped before ${w.verb} ${w.objectId}`);
    },
  });
  await expect(stopped).rejects.toThrow(PartialApplyError);
  expect(await admin.get(objectPath(recoveryCopyObject(VPC_CNI)))).toBeDefined();
}

/**
 * An admission policy of the cluster's own that refuses real (not dry-run) deletes of the aws-node
 * ServiceAccount, for everybody: the preflight passes, the delete does not. Returns once it is in
 * force (a real delete of a decoy ServiceAccount it also covers is refused).
 */
async function refuseRealServiceAccountDeletes(): Promise<void> {
  const policy = 'test-refuse-real-delete';
  cli.kubectl(['apply', '-f', '-'], [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: policy },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['serviceaccounts'], resourceNames: ['aws-node', 'decoy'], operations: ['DELETE'] }],
        },
        validations: [{ expression: 'request.dryRun', message: 'real deletes refused by this cluster\'s policy' }],
      },
    },
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'] } },
  ].map((m) => JSON.stringify(m)).join('\n---\n'));
  const decoy = '/api/v1/namespaces/kube-system/serviceaccounts/decoy';
  for (let i = 0; i < 300; i++) {
    if (!(await admin.get(decoy))) await admin.request('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { body: { metadata: { name: 'decoy' } } });
    const refused = await admin.delete(decoy).then(() => false, () => true);
    if (refused) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the test policy never took effect');
}

async function liftRealDeleteRefusal(): Promise<void> {
  cli.kubectl(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', 'test-refuse-real-delete']);
  await waitUntil('the test policy lifted', async () => admin.delete('/api/v1/namespaces/kube-system/serviceaccounts/decoy').then(() => true, () => false));
}

const partialRemoval = (left: readonly string[]) => ({
  changed: left,
  notes: /aws-node DaemonSet is absent: .* left over from a removal of EKS's bootstrap install that stopped part-way/,
  leaves: nothingLeft,
});
const bootstrapOutcomes = { adopt: { changed: ALL }, remove: removed, disable: { changed: [DS] } };

const histories: History[] = [
  { name: 'EKS bootstrap', make: () => fixtures.newEksCluster(), owner: 'EKS_BOOTSTRAP', ...bootstrapOutcomes },
  {
    name: 'EKS bootstrap + kubectl set env',
    make: () => {
      fixtures.newEksCluster();
      fixtures.userSetEnv('USER_ADDED', 'kept');
    },
    owner: 'EKS_BOOTSTRAP',
    ...bootstrapOutcomes,
    adopt: {
      changed: ALL,
      notes: /DaemonSet\/kube-system\/aws-node: customisations of "kubectl-set" kept/,
      leaves: async () => expect(await managersOf(DS)).toEqual(expect.arrayContaining(['helm', 'kubectl-set'])),
    },
  },
  {
    name: 'EKS bootstrap, then server-side apply by Argo CD',
    make: () => {
      fixtures.newEksCluster();
      fixtures.serverSideApplyAs('argocd-controller');
    },
    owner: 'OTHER_APPLIER',
    ownerDescription: /the tool that applies it server-side as "argocd-controller"/,
    adopt: 'REFUSED',
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'EKS bootstrap, then server-side apply by Flux',
    make: () => {
      fixtures.newEksCluster();
      fixtures.serverSideApplyAs('kustomize-controller');
    },
    owner: 'OTHER_APPLIER',
    ownerDescription: /"kustomize-controller"/,
    adopt: 'REFUSED',
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  { name: 'kubectl apply (client-side)', make: () => fixtures.kubectlClientSide(), owner: 'KUBECTL', adopt: 'REFUSED', remove: 'REFUSED', disable: 'REFUSED' },
  {
    name: 'a Helm release recorded in Secrets',
    make: () => fixtures.userHelmRelease(RELEASE, 'secret'),
    owner: 'HELM_RELEASE',
    adopt: { changed: [] },
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'a Helm release recorded in ConfigMaps (HELM_DRIVER=configmap)',
    make: () => fixtures.userHelmRelease(RELEASE, 'configmap'),
    owner: 'HELM_RELEASE',
    adopt: { changed: [] },
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'adopted, chart not installed',
    make: () => adoptedWithoutEngine(cli),
    owner: 'HELM_ADOPTED',
    adopt: { changed: [] },
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'the PolicyEndpoint CRD owned by the network policy controller',
    make: () => {
      fixtures.newEksCluster();
      fixtures.policyEndpointCrdOfController();
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: ALL.filter((id) => id !== PE_CRD), notes: /policyendpoints.networking.k8s.aws: left as it is, not the VPC CNI's: written by "controller"/ },
    remove: {
      changed: [...NON_CRD, ENI_CRD],
      notes: /policyendpoints.networking.k8s.aws: kept, not the VPC CNI's: written by "controller"/,
      leaves: async () => expect(await getLive(admin, PE_CRD)).toBeDefined(),
    },
    disable: { changed: [DS] },
  },
  {
    name: 'the PolicyEndpoint CRD owned by the network policy controller, with PolicyEndpoints',
    make: () => {
      fixtures.newEksCluster();
      fixtures.policyEndpointCrdOfController(2);
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: ALL.filter((id) => id !== PE_CRD) },
    remove: { changed: [...NON_CRD, ENI_CRD], leaves: async () => expect(await policyEndpoints()).toBe(2) },
    disable: { changed: [DS] },
  },
  {
    name: 'partly removed: only the DaemonSet deleted by hand (what Calico\'s EKS guide does)',
    make: () => {
      fixtures.newEksCluster();
      cli.kubectl(['delete', '-n', 'kube-system', 'daemonset/aws-node']);
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: NON_CRD.filter((id) => id !== DS), notes: /aws-node DaemonSet is absent/ },
    remove: partialRemoval([...NON_CRD.filter((id) => id !== DS), ENI_CRD, PE_CRD]),
    disable: { changed: [] },
  },
  {
    name: 'partly removed: a removal interrupted after the DaemonSet and the ServiceAccount (a signal between two deletes)',
    make: () => removalStoppedAt((verb, id) => verb === 'DELETE' && id === 'ClusterRole/aws-node'),
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: NON_CRD.filter((id) => id !== DS && !id.startsWith('ServiceAccount')), notes: /aws-node DaemonSet is absent/ },
    remove: partialRemoval(['ClusterRole/aws-node', 'ClusterRoleBinding/aws-node', 'ConfigMap/kube-system/amazon-vpc-cni', ENI_CRD, PE_CRD]),
    disable: { changed: [] },
  },
  {
    name: 'partly removed: a removal interrupted by a delete the cluster refused after its preflight (the policy since lifted)',
    make: async () => {
      fixtures.newEksCluster();
      await refuseRealServiceAccountDeletes();
      await expect(run(admin, { addon: VPC_CNI, action: ACTIONS.remove })).rejects.toThrow(/real deletes refused by this cluster's policy/);
      await liftRealDeleteRefusal();
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: NON_CRD.filter((id) => id !== DS), notes: /aws-node DaemonSet is absent/ },
    remove: partialRemoval([...NON_CRD.filter((id) => id !== DS), ENI_CRD, PE_CRD]),
    disable: { changed: [] },
  },
  {
    name: 'partly removed: only the CRDs left, and the recovery copy of the removal that stopped before them',
    make: () => removalStoppedAt((verb, id) => verb === 'DELETE' && id === ENI_CRD),
    owner: 'ABSENT',
    adopt: { changed: [], notes: /aws-node DaemonSet is absent/ },
    remove: partialRemoval([ENI_CRD, PE_CRD]),
    disable: { changed: [] },
  },
  {
    name: 'no aws-node DaemonSet, CRDs present (EKS Auto Mode)',
    make: () => fixtures.autoModeCrdsOnly(),
    owner: 'ABSENT',
    adopt: { changed: [], notes: /aws-node DaemonSet is absent/ },
    remove: { changed: [], notes: /aws-node DaemonSet is absent .* writes nothing/, leaves: async () => expect(await getLive(admin, ENI_CRD)).toBeDefined() },
    disable: { changed: [] },
  },
];

describe.each(histories.map((h) => [h.name, h]))('%s', (_name, history) => {
  beforeEach(async () => {
    await resetCluster(admin);
    await history.make();
  });

  test('owner', async () => {
    const readingRecords = { ...ACTIONS.adopt, readReleaseRecords: true } as Action;
    const { previousOwner } = await run(admin, { addon: VPC_CNI, action: readingRecords, dryRun: true, ifOwnedByOthers: 'TAKE_OVER' });
    expect(previousOwner.kind).toBe(history.owner);
    if (history.ownerDescription) expect(previousOwner.description).toMatch(history.ownerDescription);
  });

  test('owner without reading Helm\'s release records (the handler\'s default): a release is known by its annotations only', async () => {
    const { previousOwner } = await run(admin, { addon: VPC_CNI, action: ACTIONS.adopt, dryRun: true, ifOwnedByOthers: 'TAKE_OVER' });
    const annotated = ['HELM_RELEASE', 'HELM_ADOPTED'].includes(history.owner);
    expect(previousOwner.kind).toBe(annotated ? 'HELM_ANNOTATED' : history.owner);
  });

  test.each(Object.keys(ACTIONS).map((a) => [a]))('%s', async (name) => {
    const outcome = history[name as keyof typeof ACTIONS];
    const action = ACTIONS[name as keyof typeof ACTIONS];
    if (outcome === 'REFUSED') {
      const before = await snapshot(admin);
      await expect(run(admin, { addon: VPC_CNI, action })).rejects.toThrow(OwnedByOthersError);
      expect(await snapshot(admin)).toEqual(before);
      return;
    }
    const result: RunResult = await run(admin, { addon: VPC_CNI, action });
    expect(result.changed).toEqual(outcome.changed);
    if (outcome.notes) expect(result.plan.notes.join('\n')).toMatch(outcome.notes);
    await outcome.leaves?.();
    // Converged: the same action again writes nothing.
    expect((await run(admin, { addon: VPC_CNI, action })).plan.writes).toEqual([]);
  });
});

describe('the adopt action\'s own field manager is the new owner, not someone else', () => {
  beforeEach(async () => resetCluster(admin));

  test('Argo CD applied it: adopt for Argo CD (fieldManager argocd-controller) proceeds and hands eks\'s fields to it', async () => {
    fixtures.newEksCluster();
    fixtures.serverSideApplyAs('argocd-controller');
    const forArgo: Action = { ...ACTIONS.adopt, fieldManager: 'argocd-controller' } as Action;
    const result = await run(admin, { addon: VPC_CNI, action: forArgo });
    expect(result.previousOwner.kind).toBe('EKS_BOOTSTRAP');
    expect(result.changed).toEqual(ALL);
    for (const id of ALL) expect(await managersOf(id)).not.toContain('eks');
  });

  test('handOver gives a kubectl set env customisation to the new owner too; a later helm upgrade then owns it', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('USER_ADDED', 'kept');
    await run(admin, { addon: VPC_CNI, action: { ...ACTIONS.adopt, handOver: ['kubectl-set'] } as Action });
    expect(await managersOf(DS)).not.toContain('kubectl-set');
  });
});
