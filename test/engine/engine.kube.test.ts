/**
 * The ownership engine against a REAL kube-apiserver + etcd (test/controlplane) with the REAL
 * kubectl and helm binaries of the CDK kubectl layers: Helm 4 (server-side apply) and Helm 3.
 */
import { VPC_CNI } from '../../src/addons';
import { Action, KubeClient, objectPath, OwnedByOthersError, PartialApplyError, run, RunOptions, UnexpectedClusterStateError } from '../../src/engine';
import {
  adoptedWithoutEngine, awsNodeEnv, CHART, Cli, connection, DS, Fixtures, getLive, RELEASE, resetCluster, snapshot, waitUntil,
} from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
/** Adopt that lists Helm's release records (opt-in): owners HELM_RELEASE and HELM_ADOPTED instead of HELM_ANNOTATED. */
const ADOPT_READING_RECORDS: Action = { ...ADOPT, readReleaseRecords: true } as Action;
const HELM_OWNERSHIP_ERROR = /exists and cannot be imported into the current release: invalid ownership metadata/;
const INSTALL = ['install', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true'];

/** Request counts per action, printed once at the end. */
const requestTable: string[] = [];

async function engine(action: Action, options: Partial<RunOptions> = {}, label?: string) {
  const client = new KubeClient(connection());
  try {
    const result = await run(client, { addon: VPC_CNI, action, ...options });
    const present = result.observation.objects.filter((s) => s.live).length;
    requestTable.push(`${(label ?? action.type).padEnd(44)} requests ${JSON.stringify(client.requests).padEnd(40)} objects present ${present}`);
    return { result, requests: client.requests, writes: (client.requests.PATCH ?? 0) + (client.requests.DELETE ?? 0) };
  } finally {
    client.close();
  }
}

const admin = new KubeClient(connection());
afterAll(() => {
  admin.close();
  // eslint-disable-next-line no-console
  console.log(`API requests per action (target: at most two per object):\n${requestTable.join('\n')}`);
});

describe.each(LAYER_PACKAGES.map((p) => [p]))('with %s', (layerPackage) => {
  const tools = layerTools(layerPackage);
  const cli = new Cli(tools);
  const fixtures = new Fixtures(cli);

  beforeEach(async () => resetCluster(admin));

  test('baseline: on a new EKS cluster, helm install of the chart fails on ownership metadata', async () => {
    fixtures.newEksCluster();
    expect(cli.failing('helm', INSTALL)).toMatch(HELM_OWNERSHIP_ERROR);

    const { result, writes } = await engine({ type: 'INSPECT' });
    expect(writes).toBe(0);
    expect(result.previousOwner.kind).toBe('EKS_BOOTSTRAP');
    for (const state of result.observation.objects) {
      // Helm 4's failed install still applied the chart's CRDs, so CRDs may show `helm` too.
      if (!state.object.crd) expect(state.managers).toEqual(['eks/Apply']);
      expect(state.managers).toContain('eks/Apply');
    }
  });

  test('adopt: helm install then succeeds, eks owns nothing, an upgrade really drops a field, a user field keeps its owner', async () => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('USER_ADDED', 'kept');

    const adopted = await engine(ADOPT, {}, `ADOPT (${tools.label})`);
    expect(adopted.result.previousOwner.kind).toBe('EKS_BOOTSTRAP');
    expect(adopted.result.changed).toEqual(VPC_CNI.objects.map((o) => o.id));
    for (const o of VPC_CNI.objects) {
      const live = await admin.get(objectPath(o));
      expect(live.metadata.managedFields.map((m: any) => m.manager)).not.toContain('eks');
    }

    // No --force-conflicts, no --take-ownership.
    cli.helm(INSTALL);
    for (const o of VPC_CNI.objects) {
      const live = await admin.get(objectPath(o));
      expect({ id: o.id, managers: live.metadata.managedFields.map((m: any) => m.manager) })
        .toEqual({ id: o.id, managers: expect.not.arrayContaining(['eks']) });
    }
    expect(awsNodeEnv(await getLive(admin, DS))).toEqual(expect.arrayContaining(['WARM_ENI_TARGET', 'USER_ADDED']));

    cli.helm(['upgrade', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true', '--set', 'env.WARM_ENI_TARGET=null']);
    const ds = await getLive(admin, DS);
    expect(awsNodeEnv(ds)).not.toContain('WARM_ENI_TARGET');
    expect(awsNodeEnv(ds)).toContain('USER_ADDED');
    const userEntry = ds!.metadata.managedFields!.find((m) => m.manager === 'kubectl-set');
    expect(JSON.stringify(userEntry?.fieldsV1)).toContain('k:{\\"name\\":\\"USER_ADDED\\"}');

    const again = await engine(ADOPT_READING_RECORDS, {}, `ADOPT again, after helm install (${tools.label})`);
    expect(again.writes).toBe(0);
    expect(again.result.previousOwner).toMatchObject({ kind: 'HELM_RELEASE', releaseName: RELEASE });
  });

  test('adopt keeps every label, annotation and field the objects had, beyond the ownership hand-over', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['annotate', 'daemonset/aws-node', '-n', 'kube-system', 'team.example.com/owner=network']);
    const before = await snapshot(admin);
    await engine(ADOPT);
    const after = await snapshot(admin);
    for (const o of VPC_CNI.objects) {
      const [b, a] = [before[o.id]!, after[o.id]!];
      const { metadata: bm, ...bRest } = b;
      const { metadata: am, ...aRest } = a;
      expect(aRest).toEqual(bRest);
      expect(am.labels ?? {}).toEqual({ ...bm.labels, ...(o.crd ? {} : { 'app.kubernetes.io/managed-by': 'Helm' }) });
      expect(am.annotations ?? {}).toEqual({
        ...bm.annotations,
        ...(o.crd ? {} : { 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': 'kube-system' }),
      });
    }
  });

  test('dry-run returns the plan, each write with its reason, and writes nothing', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const { result, writes } = await engine(ADOPT, { dryRun: true });
    expect(writes).toBe(0);
    expect(result.dryRun).toBe(true);
    expect(result.changed).toEqual([]);
    expect(result.plan.writes.map((w) => w.objectId)).toEqual(VPC_CNI.objects.map((o) => o.id));
    expect(result.plan.writes[0].reason).toMatch(/annotate meta.helm.sh\/release-name=aws-vpc-cni.*hand 1 managedFields entry of "eks" to "helm"/);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('adopt twice: the second run writes nothing', async () => {
    fixtures.newEksCluster();
    await engine(ADOPT);
    const again = await engine(ADOPT_READING_RECORDS, {}, 'ADOPT again');
    expect(again.writes).toBe(0);
    expect(again.result.plan.writes).toEqual([]);
    expect(again.result.previousOwner).toMatchObject({ kind: 'HELM_ADOPTED', releaseName: RELEASE });
  });
});


describe('remove', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  test.each([
    ['KEEP', { eniconfigs: true, policyendpoints: true }],
    ['DELETE_IF_UNUSED', { eniconfigs: true, policyendpoints: false }],
    ['DELETE', { eniconfigs: false, policyendpoints: false }],
  ] as const)('crdPolicy %s (PolicyEndpoint CRD asked for): objects gone, CRDs as the policy says, a fresh helm install succeeds', async (crdPolicy, crdsKept) => {
    fixtures.newEksCluster();
    fixtures.eniConfigs('us-east-1a', 'us-east-1b');

    const removed = await engine({ type: 'REMOVE', crdPolicy, deletePolicyEndpointCrd: true }, {}, `REMOVE ${crdPolicy}`);
    expect(removed.result.previousOwner.kind).toBe('EKS_BOOTSTRAP');
    for (const o of VPC_CNI.objects.filter((x) => !x.crd)) expect(await admin.get(objectPath(o))).toBeUndefined();
    const crd = async (name: string) => {
      const live = await admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      return !!live && !live.metadata.deletionTimestamp;
    };
    expect(await crd('eniconfigs.crd.k8s.amazonaws.com')).toBe(crdsKept.eniconfigs);
    expect(await crd('policyendpoints.networking.k8s.aws')).toBe(crdsKept.policyendpoints);
    if (crdsKept.eniconfigs) {
      expect(cli.kubectl(['get', 'eniconfigs', '-o', 'name']).trim().split('\n')).toEqual(['eniconfig.crd.k8s.amazonaws.com/us-east-1a', 'eniconfig.crd.k8s.amazonaws.com/us-east-1b']);
    }

    const again = await engine({ type: 'REMOVE', crdPolicy, deletePolicyEndpointCrd: true }, {}, `REMOVE ${crdPolicy} again`);
    expect(again.writes).toBe(0);

    await resetCrdsIfDeleting(crdsKept);
    cli.helm(INSTALL);
    expect(awsNodeEnv(await getLive(admin, DS))).toContain('WARM_ENI_TARGET');
  });

  /** A deleted CRD disappears once its custom resources are gone; wait, so helm can create it again. */
  async function resetCrdsIfDeleting(kept: { eniconfigs: boolean; policyendpoints: boolean }) {
    for (const [name, isKept] of [['eniconfigs.crd.k8s.amazonaws.com', kept.eniconfigs], ['policyendpoints.networking.k8s.aws', kept.policyendpoints]] as const) {
      if (isKept) continue;
      await waitUntil(`${name} gone`, async () => !(await admin.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)));
    }
  }

  test('the PolicyEndpoint CRD is kept unless asked for, whatever crdPolicy says', async () => {
    fixtures.newEksCluster();
    const removed = await engine({ type: 'REMOVE', crdPolicy: 'DELETE' });
    expect(await admin.get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/policyendpoints.networking.k8s.aws')).toBeDefined();
    expect(removed.result.plan.notes.join('\n')).toMatch(/policyendpoints.networking.k8s.aws: kept/);
    expect(removed.result.changed).toContain('CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com');
  });

  test('a concurrent change mid-removal (a label on the ServiceAccount before its delete): the run re-plans and finishes; changed names only what is gone', async () => {
    fixtures.newEksCluster();
    let labelled = false;
    const result = await run(admin, {
      addon: VPC_CNI,
      action: { type: 'REMOVE', crdPolicy: 'KEEP' },
      beforeWrite: (w) => {
        if (!labelled && w.verb === 'DELETE' && w.objectId === 'ServiceAccount/kube-system/aws-node') {
          labelled = true;
          cli.kubectl(['label', '-n', 'kube-system', 'serviceaccount/aws-node', 'concurrent=yes']);
        }
      },
    });
    expect(labelled).toBe(true);
    expect(result.attempts).toBeGreaterThan(1);
    expect(result.changed).toEqual(VPC_CNI.objects.filter((o) => !o.crd).map((o) => o.id));
    for (const id of result.changed) expect(await getLive(admin, id)).toBeUndefined();
  });

  test('no aws-node DaemonSet, the rest of EKS\'s install left (deleted by hand): remove finishes the removal and says what it saw', async () => {
    fixtures.partlyRemoved();
    const removed = await engine({ type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true }, {}, 'REMOVE partly removed');
    expect(removed.result.plan.notes.join('\n')).toMatch(/aws-node DaemonSet is absent: ServiceAccount\/kube-system\/aws-node, .* left over from a removal of EKS's bootstrap install/);
    expect(removed.result.changed).toEqual(VPC_CNI.objects.filter((o) => o.crd || o.id === 'ServiceAccount/kube-system/aws-node' || o.kind.startsWith('ClusterRole')).map((o) => o.id));
    const after = await snapshot(admin);
    for (const o of VPC_CNI.objects.filter((x) => !x.crd)) expect(after[o.id]).toBeUndefined();
    // Finished: the same removal again writes nothing.
    expect((await engine({ type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true })).writes).toBe(0);
  });
});

describe('disable and restore', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  test('restore gives back the DaemonSet spec exactly; each run twice writes nothing the second time', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);

    const disabled = await engine({ type: 'DISABLE' }, {}, 'DISABLE');
    expect(disabled.result.changed).toEqual([DS]);
    const off = await getLive(admin, DS);
    expect(off!.spec.template.spec.nodeSelector).toEqual({ 'cdk-vpc-cni-ownership/disabled': 'true' });
    expect((await engine({ type: 'DISABLE' })).writes).toBe(0);

    const restored = await engine({ type: 'RESTORE' }, {}, 'RESTORE');
    expect(restored.result.changed).toEqual([DS]);
    const after = await getLive(admin, DS);
    expect(after!.spec).toEqual(before!.spec);
    expect(after!.metadata.labels).toEqual(before!.metadata.labels);
    // The API server counts template changes in this annotation; everything else is as before.
    const generation = 'deprecated.daemonset.template.generation';
    expect({ ...after!.metadata.annotations, [generation]: 'n' }).toEqual({ ...before!.metadata.annotations, [generation]: 'n' });
    expect((await engine({ type: 'RESTORE' })).writes).toBe(0);
  });

  test('a DaemonSet with a nodeSelector of its own keeps it through disable and restore', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['patch', 'daemonset/aws-node', '-n', 'kube-system', '--type', 'merge', '-p', '{"spec":{"template":{"spec":{"nodeSelector":{"pool":"system"}}}}}']);
    const before = await getLive(admin, DS);
    await engine({ type: 'DISABLE' });
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ 'pool': 'system', 'cdk-vpc-cni-ownership/disabled': 'true' });
    await engine({ type: 'RESTORE' });
    expect((await getLive(admin, DS))!.spec).toEqual(before!.spec);
  });
});

describe('the guard', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  const writingActions: Action[] = [
    { ...ADOPT, releaseName: 'another-release' } as Action,
    { type: 'REMOVE', crdPolicy: 'DELETE' },
    { type: 'DISABLE' },
  ];

  test.each(writingActions.map((a) => [a.type, a]))('refuses a user\'s Helm release (%s) and writes nothing', async (_type, action) => {
    fixtures.userHelmRelease('users-cni');
    const before = await snapshot(admin);
    const client = new KubeClient(connection());
    await expect(run(client, { addon: VPC_CNI, action })).rejects.toThrow(OwnedByOthersError);
    await expect(run(client, { addon: VPC_CNI, action })).rejects.toThrow(/Helm release "users-cni" in namespace "kube-system".*TAKE_OVER/s);
    expect(client.requests.PATCH ?? 0).toBe(0);
    expect(client.requests.DELETE ?? 0).toBe(0);
    client.close();
    expect(await snapshot(admin)).toEqual(before);
  });

  test('refuses an EKS managed add-on and writes nothing', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    for (const action of [ADOPT, { type: 'REMOVE', crdPolicy: 'KEEP' } as Action, { type: 'DISABLE' } as Action]) {
      await expect(engine(action, { facts: { managedAddon: true } })).rejects.toThrow(/EKS managed add-on "vpc-cni"/);
    }
    expect(await snapshot(admin)).toEqual(before);
  });

  test('SKIP succeeds without writing; TAKE_OVER proceeds', async () => {
    fixtures.userHelmRelease('users-cni');
    const skipped = await engine({ type: 'DISABLE' }, { ifOwnedByOthers: 'SKIP' });
    expect(skipped.writes).toBe(0);
    expect(skipped.result.plan.skipped).toMatch(/Helm release "users-cni"/);
    const taken = await engine({ type: 'DISABLE' }, { ifOwnedByOthers: 'TAKE_OVER' });
    expect(taken.result.changed).toEqual([DS]);
  });

  test('kubectl client-side installs are someone else\'s; TAKE_OVER adopts them and helm install then succeeds', async () => {
    fixtures.kubectlClientSide();
    await expect(engine(ADOPT)).rejects.toThrow(/kubectl apply \(client-side\)/);
    const taken = await engine(ADOPT, { ifOwnedByOthers: 'TAKE_OVER' }, 'ADOPT kubectl client-side (TAKE_OVER)');
    expect(taken.result.previousOwner.kind).toBe('KUBECTL');
    cli.helm(INSTALL);
  });
});

describe('other starting points', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  test('absent: owner ABSENT, every action plans nothing', async () => {
    for (const action of [ADOPT, { type: 'REMOVE', crdPolicy: 'DELETE' }, { type: 'DISABLE' }, { type: 'RESTORE' }] as Action[]) {
      const { result, writes } = await engine(action);
      expect(result.previousOwner.kind).toBe('ABSENT');
      expect(writes).toBe(0);
    }
  });

  test('already adopted (by hand, for the same release): adopt plans nothing and helm install succeeds', async () => {
    adoptedWithoutEngine(cli);
    const { result, writes } = await engine(ADOPT_READING_RECORDS);
    expect(result.previousOwner).toMatchObject({ kind: 'HELM_ADOPTED', releaseName: RELEASE, releaseNamespace: 'kube-system' });
    expect(writes).toBe(0);
    cli.helm(INSTALL);
  });

  test('a user\'s real Helm release of the same name: adopt is already done', async () => {
    fixtures.userHelmRelease();
    const { result, writes } = await engine(ADOPT_READING_RECORDS);
    expect(result.previousOwner).toMatchObject({ kind: 'HELM_RELEASE', releaseName: RELEASE });
    expect(writes).toBe(0);
  });

  test('without reading release records (the handler\'s default): a Helm release is seen by its annotations; the same release is adopted again with no write, any other action is refused', async () => {
    fixtures.userHelmRelease();
    const before = await snapshot(admin);
    const { result, writes, requests } = await engine(ADOPT);
    expect(result.previousOwner).toMatchObject({ kind: 'HELM_ANNOTATED', releaseName: RELEASE, releaseNamespace: 'kube-system' });
    expect(writes).toBe(0);
    // One read per object: no list of Secrets or ConfigMaps.
    expect(requests).toEqual({ GET: VPC_CNI.objects.length });
    await expect(engine({ ...ADOPT, releaseName: 'another' } as Action)).rejects.toThrow(/Refusing to adopt the VPC CNI: it is owned by Helm release "aws-vpc-cni"/);
    await expect(engine({ type: 'DISABLE' })).rejects.toThrow(/Refusing to disable/);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('partly removed: adopt takes what is there, and helm install creates the rest', async () => {
    fixtures.partlyRemoved();
    const { result } = await engine(ADOPT);
    expect(result.changed).not.toContain(DS);
    expect(result.changed).toContain('ServiceAccount/kube-system/aws-node');
    cli.helm(INSTALL);
    expect(await getLive(admin, DS)).toBeDefined();
  });

  test('a client certificate works as well as a token', async () => {
    fixtures.newEksCluster();
    const client = new KubeClient(connection('certificate'));
    const { previousOwner } = await run(client, { addon: VPC_CNI, action: { type: 'INSPECT' } });
    client.close();
    expect(previousOwner.kind).toBe('EKS_BOOTSTRAP');
  });
});

describe('bad or unexpected state: a clear error before any write', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  /** Every action that would write the odd object stops before any write; `proceeds` (writing other objects only) does not. */
  async function expectRefusedWithoutWrites(pattern: RegExp, proceeds?: Action) {
    const before = await snapshot(admin);
    const refused = [ADOPT, { type: 'REMOVE', crdPolicy: 'DELETE' }, { type: 'DISABLE' }].filter((a) => a.type !== proceeds?.type) as Action[];
    for (const action of refused) {
      await expect(engine(action)).rejects.toThrow(UnexpectedClusterStateError);
      await expect(engine(action)).rejects.toThrow(pattern);
    }
    expect(await snapshot(admin)).toEqual(before);
    if (proceeds) expect((await engine(proceeds)).writes).toBeGreaterThan(0);
  }

  test('a DaemonSet with another selector', async () => {
    fixtures.newEksCluster('--set', 'originalMatchLabels=false');
    await expectRefusedWithoutWrites(/DaemonSet\/kube-system\/aws-node: spec.selector is .*app.kubernetes.io\/instance.*expected \{"matchLabels":\{"k8s-app":"aws-node"\}\}/);
  });

  test('a ClusterRoleBinding bound to another role', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['delete', 'clusterrolebinding', 'aws-node']);
    cli.kubectl(['create', 'clusterrolebinding', 'aws-node', '--clusterrole', 'view', '--serviceaccount', 'kube-system:aws-node']);
    // kubectl create made it: with the problem gone, it would be someone else's too.
    await expectRefusedWithoutWrites(/ClusterRoleBinding\/aws-node: roleRef is ClusterRole\/view, expected ClusterRole\/aws-node/, { type: 'DISABLE' });
  });

  test('a CRD of an unexpected version', async () => {
    fixtures.newEksCluster();
    const crd = JSON.parse(cli.kubectl(['get', 'crd', 'eniconfigs.crd.k8s.amazonaws.com', '-o', 'json']));
    cli.kubectl(['delete', 'crd', 'eniconfigs.crd.k8s.amazonaws.com']);
    crd.spec.versions[0].name = 'v1beta1';
    delete crd.metadata.resourceVersion;
    delete crd.metadata.uid;
    delete crd.metadata.creationTimestamp;
    delete crd.metadata.managedFields;
    delete crd.status;
    cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], JSON.stringify(crd));
    // Disable writes the DaemonSet only: a stranger CRD does not block it.
    await expectRefusedWithoutWrites(/eniconfigs.crd.k8s.amazonaws.com: serves versions \[v1beta1\], expected v1alpha1/, { type: 'DISABLE' });
  });
});

describe('optimistic concurrency', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  test('a change between plan and write gives 409; the engine re-reads, re-plans and keeps the change', async () => {
    fixtures.newEksCluster();
    let interfered = false;
    const { result } = await engine(ADOPT, {
      beforeWrite: (write) => {
        if (interfered || write.objectId !== DS) return;
        interfered = true;
        cli.kubectl(['label', 'daemonset/aws-node', '-n', 'kube-system', 'team=network']);
      },
    });
    expect(result.attempts).toBe(2);
    const ds = await getLive(admin, DS);
    expect(ds!.metadata.labels!.team).toBe('network');
    expect(ds!.metadata.annotations!['meta.helm.sh/release-name']).toBe(RELEASE);
    cli.helm(INSTALL);
  });

  test('a cluster that keeps changing: a bounded number of tries, then an error naming what was and was not done', async () => {
    fixtures.newEksCluster();
    let n = 0;
    const attempt = engine(ADOPT, {
      maxConflictRetries: 2,
      beforeWrite: (write) => {
        if (write.objectId === 'ServiceAccount/kube-system/aws-node') cli.kubectl(['label', '--overwrite', 'serviceaccount/aws-node', '-n', 'kube-system', `touch=${n++}`]);
      },
    });
    await expect(attempt).rejects.toThrow(PartialApplyError);
    // Adopt's writes go out together: everything but the ServiceAccount is done.
    await expect(attempt).rejects.toThrow(/Done: DaemonSet\/kube-system\/aws-node, ClusterRole\/aws-node, .*\. Not done: ServiceAccount\/kube-system\/aws-node\./);
    expect(n).toBe(3);
  });
});
