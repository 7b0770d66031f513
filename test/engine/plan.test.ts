import { VPC_CNI } from '../../src/addons';
import { Action, KubeObject, Observation, ObjectState, Owner, OwnedByOthersError, plan, UnexpectedClusterStateError } from '../../src/engine';

const EKS: Owner = { kind: 'EKS_BOOTSTRAP', description: 'EKS' };
const ADOPT: Action = { type: 'ADOPT', releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system', fieldManager: 'helm' };

function live(name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '42',
      managedFields: [{ manager: 'eks', operation: 'Apply', apiVersion: 'v1', fieldsV1: { 'f:metadata': {} } }],
      ...extra,
    },
  };
}

function observation(options: { owner?: Owner; customResources?: number; problems?: string[]; managedAddon?: boolean } = {}): Observation {
  const objects: ObjectState[] = VPC_CNI.objects.map((object) => ({
    object,
    live: live(object.name),
    owner: object.crd ? { kind: 'UNKNOWN', description: 'CRD' } : options.owner ?? EKS,
    managers: ['eks/Apply'],
    managerRoles: { appliers: ['eks'], imperative: [], otherWriters: [] },
    customResources: object.crd ? options.customResources : undefined,
    problems: object.kind === 'DaemonSet' ? options.problems ?? [] : [],
  }));
  const overall: Owner = options.managedAddon ? { kind: 'EKS_MANAGED_ADDON', description: 'the EKS managed add-on "vpc-cni"' } : options.owner ?? EKS;
  return { addon: VPC_CNI, owner: overall, objects, facts: { managedAddon: options.managedAddon } };
}

test('adopt: one merge patch per object, with the resourceVersion precondition and its reason', () => {
  const p = plan(observation(), ADOPT);
  expect(p.writes).toHaveLength(VPC_CNI.objects.length);
  const ds = p.writes[0];
  expect(ds).toMatchObject({ verb: 'PATCH', path: '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node', resourceVersion: '42', fieldManager: 'helm' });
  expect(ds.body).toEqual({
    metadata: {
      resourceVersion: '42',
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': 'aws-vpc-cni', 'meta.helm.sh/release-namespace': 'kube-system' },
      managedFields: [{ manager: 'helm', operation: 'Apply', apiVersion: 'v1', fieldsV1: { 'f:metadata': {} } }],
    },
  });
  // CRDs get the hand-over only: Helm never adopts crds/.
  const crd = p.writes[VPC_CNI.objects.length - 1];
  expect(Object.keys((crd.body as any).metadata).sort()).toEqual(['managedFields', 'resourceVersion']);
});

const RECOVERY_COPY = 'ConfigMap/kube-system/cdk-vpc-cni-ownership-recovery-vpc-cni';

test('remove: DaemonSet first, DeleteOptions with uid and resourceVersion preconditions; CRDs by policy', () => {
  const keep = plan(observation({ customResources: 1 }), { type: 'REMOVE', crdPolicy: 'KEEP' });
  // The recovery copy first: nothing is deleted before what it is has been kept.
  expect(keep.writes.map((w) => w.objectId)).toEqual([RECOVERY_COPY, ...VPC_CNI.objects.filter((o) => !o.crd).map((o) => o.id)]);
  expect(keep.writes[0]).toMatchObject({ verb: 'APPLY', fieldManager: 'cdk-vpc-cni-ownership' });
  const kept = JSON.parse((keep.writes[0].body as any).data['objects.json']);
  expect(kept.map((o: any) => o.id)).toEqual(VPC_CNI.objects.filter((o) => !o.crd).map((o) => o.id));
  expect(keep.writes[1].body).toEqual({
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    propagationPolicy: 'Background',
    preconditions: { uid: 'uid-aws-node', resourceVersion: '42' },
  });
  expect(keep.notes).toHaveLength(2);

  const unused = plan(observation({ customResources: 3 }), { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' });
  expect(unused.writes.some((w) => w.objectId.startsWith('CustomResourceDefinition'))).toBe(false);
  expect(unused.notes[0]).toMatch(/kept, 3 ENIConfig custom resource\(s\) exist/);

  // The PolicyEndpoint CRD only when asked for explicitly.
  const none = plan(observation({ customResources: 0 }), { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' });
  expect(none.writes.map((w) => w.objectId)).not.toContain('CustomResourceDefinition/policyendpoints.networking.k8s.aws');
  expect(none.notes.join('\n')).toMatch(/policyendpoints.networking.k8s.aws: kept: the EKS control plane's network policy controller uses it/);
  const asked = plan(observation({ customResources: 0 }), { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED', deletePolicyEndpointCrd: true });
  expect(asked.writes).toHaveLength(1 + VPC_CNI.objects.length);

  expect(() => plan(observation(), { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' })).toThrow(/custom resources were not counted/);
});

test('the guard: FAIL throws naming the owner and the options, SKIP plans nothing, TAKE_OVER plans the writes', () => {
  const helmRelease: Owner = { kind: 'HELM_RELEASE', releaseName: 'mine', releaseNamespace: 'kube-system', description: 'Helm release "mine" in namespace "kube-system"' };
  const obs = observation({ owner: helmRelease });
  expect(() => plan(obs, { type: 'DISABLE' })).toThrow(OwnedByOthersError);
  expect(() => plan(obs, { type: 'DISABLE' })).toThrow(/Refusing to disable the VPC CNI: it is owned by Helm release "mine".*TAKE_OVER.*SKIP/);
  expect(plan(obs, { type: 'DISABLE' }, { ifOwnedByOthers: 'SKIP' })).toMatchObject({ writes: [], skipped: expect.stringMatching(/Helm release "mine"/) });
  expect(plan(obs, { type: 'DISABLE' }, { ifOwnedByOthers: 'TAKE_OVER' }).writes).toHaveLength(1);
  // Adopting into the release that owns it is not someone else's business.
  expect(() => plan(obs, { ...ADOPT, releaseName: 'mine' } as Action)).not.toThrow();
  expect(() => plan(observation({ managedAddon: true }), ADOPT)).toThrow(/EKS managed add-on/);
});

test('unexpected state throws before planning any write, but inspect reports it', () => {
  const obs = observation({ problems: ['DaemonSet/kube-system/aws-node: spec.selector is wrong'] });
  expect(() => plan(obs, ADOPT)).toThrow(UnexpectedClusterStateError);
  expect(() => plan(obs, ADOPT)).toThrow(/nothing was changed:\n- DaemonSet\/kube-system\/aws-node: spec.selector is wrong/);
  expect(plan(obs, { type: 'INSPECT' }).writes).toEqual([]);
});

test('objects being deleted are left to finish', () => {
  const obs = observation();
  (obs.objects[0].live!.metadata as any).deletionTimestamp = '2026-01-01T00:00:00Z';
  const p = plan(obs, { type: 'REMOVE', crdPolicy: 'KEEP' });
  expect(p.writes.map((w) => w.objectId)).not.toContain('DaemonSet/kube-system/aws-node');
  expect(p.notes).toContain('DaemonSet/kube-system/aws-node: already being deleted');
});

/** An observation, with the objects of `ids` changed by `edit`. */
function edited(ids: string[], edit: (s: ObjectState) => Partial<ObjectState>, options = {}): Observation {
  const obs = observation(options);
  return { ...obs, objects: obs.objects.map((s) => (ids.includes(s.object.id) ? { ...s, ...edit(s) } : s)) };
}
const DS_ID = 'DaemonSet/kube-system/aws-node';
const ENI_CRD = 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com';

test('an adoption (or a Helm release) passes the guard only for adopt into that same release', () => {
  const adopted: Owner = { kind: 'HELM_ADOPTED', releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system', description: 'adopted for aws-vpc-cni' };
  const obs = observation({ owner: adopted });
  expect(plan(obs, ADOPT).writes.length).toBeGreaterThan(0);
  expect(() => plan(obs, { ...ADOPT, releaseName: 'other' } as Action)).toThrow(OwnedByOthersError);
  expect(() => plan(obs, { type: 'DISABLE' })).toThrow(/Refusing to disable/);
  expect(() => plan(obs, { type: 'REMOVE', crdPolicy: 'KEEP' })).toThrow(/Refusing to remove/);
  // Restore only takes our own key out again: no guard.
  const disabled = edited([DS_ID], (s) => ({ live: { ...s.live!, spec: { template: { spec: { nodeSelector: { 'cdk-vpc-cni-ownership/disabled': 'true' } } } } } }), { owner: adopted });
  expect(plan(disabled, { type: 'RESTORE' }).writes).toHaveLength(1);
});

test('remove writes nothing when the aws-node DaemonSet is absent (EKS Auto Mode), and says what it left', () => {
  const autoMode = edited(VPC_CNI.objects.filter((o) => !o.crd).map((o) => o.id), () => ({ live: undefined }), { customResources: 0 });
  const p = plan(autoMode, { type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true });
  expect(p.writes).toEqual([]);
  expect(p.notes.join('\n')).toMatch(/aws-node DaemonSet is absent .*left as they are: CustomResourceDefinition\/eniconfigs/);
});

test('a CRD another controller writes is not the VPC CNI\'s: remove keeps it, adopt leaves it, each with a note', () => {
  const obs = edited([ENI_CRD], () => ({ notTheAddons: 'written by "controller", another controller' }), { customResources: 0 });
  const removed = plan(obs, { type: 'REMOVE', crdPolicy: 'DELETE' });
  expect(removed.writes.map((w) => w.objectId)).not.toContain(ENI_CRD);
  expect(removed.notes.join('\n')).toMatch(/eniconfigs.crd.k8s.amazonaws.com: kept, not the VPC CNI's: written by "controller"/);
  const adopted = plan(obs, ADOPT);
  expect(adopted.writes.map((w) => w.objectId)).not.toContain(ENI_CRD);
  expect(adopted.notes.join('\n')).toMatch(/eniconfigs.crd.k8s.amazonaws.com: left as it is, not the VPC CNI's/);
});

test('a problem on an object the action does not write does not block it', () => {
  const obs = edited([ENI_CRD], () => ({ problems: ['eniconfigs: serves versions [v1beta1]'] }));
  expect(plan(obs, { type: 'DISABLE' }).writes.map((w) => w.objectId)).toEqual([DS_ID]);
  expect(plan(obs, { type: 'REMOVE', crdPolicy: 'KEEP' }).writes.length).toBe(1 + 5);
  expect(() => plan(obs, { type: 'REMOVE', crdPolicy: 'DELETE' })).toThrow(/serves versions \[v1beta1\]/);
  expect(() => plan(obs, ADOPT)).toThrow(UnexpectedClusterStateError);
});

test('adopt restores a disabled DaemonSet in its own patch, and hands named imperative managers over too', () => {
  const kubectlSet = { manager: 'kubectl-set', operation: 'Update', apiVersion: 'apps/v1', fieldsV1: { 'f:spec': {} } };
  const obs = edited([DS_ID], (s) => ({
    live: {
      ...s.live!,
      metadata: { ...s.live!.metadata, managedFields: [...s.live!.metadata.managedFields!, kubectlSet] },
      spec: { template: { spec: { nodeSelector: { 'cdk-vpc-cni-ownership/disabled': 'true' } } } },
    },
    managerRoles: { appliers: ['eks'], imperative: ['kubectl-set'], otherWriters: [] },
  }));
  const kept = plan(obs, ADOPT);
  const ds = kept.writes[0];
  expect((ds.body as any).spec).toEqual({ template: { spec: { nodeSelector: { 'cdk-vpc-cni-ownership/disabled': null } } } });
  expect(ds.reason).toMatch(/restore: remove nodeSelector cdk-vpc-cni-ownership\/disabled/);
  expect(ds.handsOver).toEqual(['eks']);
  expect((ds.body as any).metadata.managedFields.map((m: any) => m.manager)).toEqual(['helm', 'kubectl-set']);
  expect(kept.notes.join('\n')).toMatch(/customisations of "kubectl-set" kept: their fields stay theirs \(name them in handOver/);

  const handed = plan(obs, { ...ADOPT, handOver: ['kubectl-set'] } as Action);
  expect(handed.writes[0].handsOver).toEqual(['eks', 'kubectl-set']);
  expect((handed.writes[0].body as any).metadata.managedFields.map((m: any) => [m.manager, m.operation])).toEqual([['helm', 'Apply']]);
});

test('inspect names customisations in its notes', () => {
  const obs = edited([DS_ID], () => ({ managerRoles: { appliers: ['eks'], imperative: ['kubectl-set'], otherWriters: ['controller'] } }));
  expect(plan(obs, { type: 'INSPECT' }).notes).toEqual(['DaemonSet/kube-system/aws-node: customised by "kubectl-set", "controller"']);
});
