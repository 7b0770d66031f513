/**
 * kube-proxy on one engine with the VPC CNI, on the REAL API server with the REAL kubectl and helm:
 * owners from evidence (table-driven histories: how EKS may have written it, and what others did),
 * what each action does and leaves, the recovery copy and restore (for the VPC CNI too), and the
 * handler's access for kube-proxy as the handler's own identity.
 */
import * as path from 'path';
import { CniAction, PreinstalledAddon } from '../../src';
import { KUBE_PROXY, VPC_CNI } from '../../src/addons';
import { Action, KubeClient, objectPath, PartialApplyError, recoveryCopyObject, run } from '../../src/engine';
import { asRun, snapshotOf as snapshotIn } from '../support/addon-state';
import { Cli, connection, Fixtures, KUBE_PROXY_CHART, resetCluster } from '../support/cluster';
import { HandlerAccess, refusal } from '../support/handler-access';
import { AddonHistory, describeHistories } from '../support/histories';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CHART = KUBE_PROXY_CHART;
const admin = new KubeClient(connection());
afterAll(() => admin.close());
const tools = LAYER_PACKAGES.map(layerTools);
const cli = new Cli(tools[0]);
const fixtures = new Fixtures(cli);

const DS = 'DaemonSet/kube-system/kube-proxy';
const WINDOWS = 'ClusterRoleBinding/eks:kube-proxy-windows';
const REQUIRED = KUBE_PROXY.objects.filter((o) => !o.optional).map((o) => o.id);
const COPY = recoveryCopyObject(KUBE_PROXY);

/** kube-proxy as EKS renders it (our own chart, the shapes of the facts). */
const render = (...extra: string[]) => fixtures.renderKubeProxy(...extra);
const apply = (args: string[], manifests: string) => cli.kubectl(['apply', ...args, '-f', '-'], manifests);

/** Every kube-proxy object, the recovery copy and Helm's records gone (system:node-proxier is never touched). */
const resetKubeProxy = () => resetCluster(admin, [KUBE_PROXY]);

const snapshotOf = (addon: typeof KUBE_PROXY) => snapshotIn(admin, addon);

const ADOPT = { type: 'ADOPT', releaseName: 'kube-proxy', releaseNamespace: 'kube-system', fieldManager: 'helm' } as const;
const REMOVE: Action = { type: 'REMOVE', crdPolicy: 'KEEP' };

const eksOutcomes = { adopt: { changed: REQUIRED }, remove: { changed: REQUIRED }, disable: { changed: [DS] } };
const refused = { adopt: 'REFUSED', remove: 'REFUSED', disable: 'REFUSED' } as const;

const histories: AddonHistory[] = [
  {
    name: 'EKS applies it server-side as "eks" (as it does the VPC CNI)',
    make: () => apply(['--server-side', '--field-manager', 'eks'], render()),
    owner: 'EKS_BOOTSTRAP',
    ...eksOutcomes,
  },
  {
    name: 'EKS creates it as "eks" (a plain create: Update entries only)',
    make: () => cli.kubectl(['create', '--field-manager', 'eks', '-f', '-'], render()),
    owner: 'EKS_BOOTSTRAP',
    ownerDescription: /created by field manager "eks", no other writer/,
    ...eksOutcomes,
  },
  {
    name: 'with Windows support: the eks:kube-proxy-windows binding too',
    make: () => apply(['--server-side', '--field-manager', 'eks'], render('--set', 'windows=true')),
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: [...REQUIRED, WINDOWS] },
    remove: { changed: [...REQUIRED, WINDOWS] },
    disable: { changed: [DS] },
  },
  {
    name: 'client-side kubectl apply (cannot be told from an admin\'s: someone else\'s)',
    make: () => apply([], render()),
    owner: 'KUBECTL',
    ownerDescription: /kubectl apply \(client-side\)/,
    ...refused,
  },
  {
    name: 'the EKS managed add-on (DescribeAddon kube-proxy answers)',
    make: () => apply(['--server-side', '--field-manager', 'eks'], render()),
    managedAddon: true,
    owner: 'EKS_MANAGED_ADDON',
    ownerDescription: /the EKS managed add-on "kube-proxy"/,
    ...refused,
  },
  {
    name: 'a user\'s Helm release of a kube-proxy chart',
    make: () => cli.helm(['install', 'kube-proxy', CHART, '--namespace', 'kube-system']),
    owner: 'HELM_RELEASE',
    ownerDescription: /Helm release "kube-proxy"/,
    // Adopting into the release that owns it is a no-op; removing or disabling a release's objects is refused.
    adopt: { changed: [] },
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'EKS, then a GitOps applier (Argo CD) applies it server-side',
    make: () => {
      apply(['--server-side', '--field-manager', 'eks'], render());
      apply(['--server-side', '--force-conflicts', '--field-manager', 'argocd-controller'], render('--set', 'mode=ipvs'));
    },
    owner: 'OTHER_APPLIER',
    ownerDescription: /"argocd-controller"/,
    ...refused,
  },
  {
    name: 'partly removed: only the DaemonSet deleted (what Cluster API Provider AWS does to disable kube-proxy)',
    make: () => {
      apply(['--server-side', '--field-manager', 'eks'], render());
      cli.kubectl(['delete', '-n', 'kube-system', 'daemonset/kube-proxy']);
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: REQUIRED.filter((id) => id !== DS) },
    remove: { changed: REQUIRED.filter((id) => id !== DS) },
    disable: { changed: [] },
  },
  {
    name: 'partly removed: the DaemonSet and ConfigMap kube-proxy deleted (what Cilium\'s kube-proxy-free guide does)',
    make: () => {
      apply(['--server-side', '--field-manager', 'eks'], render());
      cli.kubectl(['delete', '-n', 'kube-system', 'daemonset/kube-proxy', 'configmap/kube-proxy']);
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: REQUIRED.filter((id) => id !== DS && id !== 'ConfigMap/kube-system/kube-proxy') },
    remove: { changed: REQUIRED.filter((id) => id !== DS && id !== 'ConfigMap/kube-system/kube-proxy') },
    disable: { changed: [] },
  },
  {
    name: 'absent (bootstrapSelfManagedAddons false, or removed by hand)',
    make: () => undefined,
    owner: 'ABSENT',
    adopt: { changed: [] },
    remove: { changed: [] },
    disable: { changed: [] },
  },
];

describeHistories(histories, { admin, addon: KUBE_PROXY, reset: resetKubeProxy, adopt: ADOPT });

describe('adopt kube-proxy into a chart that renders EKS\'s names', () => {
  beforeEach(resetKubeProxy);

  test.each(tools.map((t) => [path.basename(path.dirname(t.helm)), t]))('then helm install (%s) takes it over: no ownership error, no eks fields, the pod template unchanged', async (_label, t) => {
    const helmCli = new Cli(t);
    apply(['--server-side', '--field-manager', 'eks'], render());
    expect(helmCli.failing('helm', ['install', 'kube-proxy', CHART, '--namespace', 'kube-system'])).toMatch(/invalid ownership metadata|cannot be imported/);
    const before = (await snapshotOf(KUBE_PROXY))[DS]!;
    await run(admin, { addon: KUBE_PROXY, action: ADOPT });
    helmCli.helm(['install', 'kube-proxy', CHART, '--namespace', 'kube-system']);
    const after = (await snapshotOf(KUBE_PROXY))[DS]!;
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec.template).toEqual(before.spec.template);
    for (const live of Object.values(await snapshotOf(KUBE_PROXY)).filter(Boolean)) {
      expect((live!.metadata.managedFields ?? []).map((m) => m.manager)).not.toContain('eks');
    }
  });
});

describe('remove, then restore from the recovery copy', () => {
  test('kube-proxy: every object comes back as it ran (spec, ConfigMap data, binding), applied as "eks" again', async () => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render('--set', 'windows=true'));
    const before = await snapshotOf(KUBE_PROXY);
    const removed = await run(admin, { addon: KUBE_PROXY, action: REMOVE });
    expect(removed.plan.writes[0]).toMatchObject({ verb: 'APPLY', objectId: COPY.id });
    expect(Object.values(await snapshotOf(KUBE_PROXY)).every((o) => o === undefined)).toBe(true);
    // Kubernetes's own role is never touched.
    expect(await admin.get('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node-proxier')).toBeDefined();

    const restored = await run(admin, { addon: KUBE_PROXY, action: { type: 'RESTORE' } });
    expect([...restored.changed].sort()).toEqual([...REQUIRED, WINDOWS].sort());
    const after = await snapshotOf(KUBE_PROXY);
    for (const o of KUBE_PROXY.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
    // The cluster is as the removal found it: EKS's bootstrap install, and restore has converged.
    expect((await run(admin, { addon: KUBE_PROXY, action: { type: 'INSPECT' } })).previousOwner.kind).toBe('EKS_BOOTSTRAP');
    expect((await run(admin, { addon: KUBE_PROXY, action: { type: 'RESTORE' } })).plan.writes).toEqual([]);
  });

  test('the VPC CNI too: every object comes back as it ran', async () => {
    await resetCluster(admin);
    fixtures.newEksCluster();
    const before = await snapshotOf(VPC_CNI);
    await run(admin, { addon: VPC_CNI, action: { type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true } });
    const restored = await run(admin, { addon: VPC_CNI, action: { type: 'RESTORE' } });
    expect([...restored.changed].sort()).toEqual(VPC_CNI.objects.map((o) => o.id).sort());
    const after = await snapshotOf(VPC_CNI);
    for (const o of VPC_CNI.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
    expect((await run(admin, { addon: VPC_CNI, action: { type: 'INSPECT' } })).previousOwner.kind).toBe('EKS_BOOTSTRAP');
    await admin.delete(objectPath(recoveryCopyObject(VPC_CNI)));
  });

  test('a disabled kube-proxy removed, then restored, runs again (the copy keeps it as it ran before the disable)', async () => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render());
    const before = await snapshotOf(KUBE_PROXY);
    await run(admin, { addon: KUBE_PROXY, action: { type: 'DISABLE' } });
    await run(admin, { addon: KUBE_PROXY, action: REMOVE });
    await run(admin, { addon: KUBE_PROXY, action: { type: 'RESTORE' } });
    expect((await snapshotOf(KUBE_PROXY))[DS]!.spec.template).toEqual(before[DS]!.spec.template);
  });

  test('without a recovery copy, restore says so plainly and writes nothing', async () => {
    await resetKubeProxy();
    const result = await run(admin, { addon: KUBE_PROXY, action: { type: 'RESTORE' } });
    expect(result.plan.writes).toEqual([]);
    expect(result.plan.notes.join('\n')).toMatch(/there is no recovery copy \(ConfigMap\/kube-system\/cdk-vpc-cni-ownership-recovery-kube-proxy\): nothing can be re-created/);
  });

  test('a removal that fails part-way leaves the copy in place; running again finishes, and restore brings everything back', async () => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render());
    const before = await snapshotOf(KUBE_PROXY);
    let deletes = 0;
    const failing = run(admin, {
      addon: KUBE_PROXY,
      action: REMOVE,
      beforeWrite: (w) => {
        if (w.verb === 'DELETE' && ++deletes === 3) throw new Error('injected failure before the third delete');
      },
    });
    await expect(failing).rejects.toThrow(PartialApplyError);
    expect(await admin.get(objectPath(COPY))).toBeDefined();
    // The rest is removed by a second run; the copy still holds everything, including what the first run deleted.
    await run(admin, { addon: KUBE_PROXY, action: REMOVE });
    expect(Object.values(await snapshotOf(KUBE_PROXY)).every((o) => o === undefined)).toBe(true);
    await run(admin, { addon: KUBE_PROXY, action: { type: 'RESTORE' } });
    const after = await snapshotOf(KUBE_PROXY);
    for (const o of KUBE_PROXY.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
  });

  test('a ConfigMap of that name that is not the library\'s stops remove before any write', async () => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render());
    cli.kubectl(['create', 'configmap', COPY.name, '-n', 'kube-system', '--from-literal=mine=true']);
    const before = await snapshotOf(KUBE_PROXY);
    await expect(run(admin, { addon: KUBE_PROXY, action: REMOVE })).rejects.toThrow(/is not the library's recovery copy/);
    expect(await snapshotOf(KUBE_PROXY)).toEqual(before);
  });
});

describe('the handler\'s identity with exactly the synthesized access for kube-proxy', () => {
  const access = new HandlerAccess(cli, PreinstalledAddon.KUBE_PROXY);
  const { handler } = access;
  afterAll(() => access.close());
  const applyAccess = (action: CniAction) => access.apply(action);

  test.each([
    ['inspect', CniAction.inspect()], ['disable', CniAction.disable()], ['adopt', CniAction.adoptIntoHelm()],
  ])('%s succeeds; joining or re-pointing eks:kube-proxy, changing its image, touching system:node-proxier are refused', async (_name, action) => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render());
    await applyAccess(action);
    await run(handler, { addon: KUBE_PROXY, action: action._action.type === 'ADOPT' ? ADOPT : action._action });

    const binding = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/eks:kube-proxy';
    await refusal(handler.patch(binding, { subjects: [{ kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }] }, 'access-test'));
    await refusal(handler.request('DELETE', binding));
    await refusal(handler.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: { metadata: { name: 'eks:kube-proxy-2' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'ServiceAccount', name: 'kube-proxy', namespace: 'kube-system' }] },
    }));
    await refusal(handler.patch(objectPath(KUBE_PROXY.workload),
      { spec: { template: { spec: { containers: [{ name: 'kube-proxy', image: 'attacker.example/kube-proxy:1' }] } } } }, 'access-test'));
    await refusal(handler.patch('/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node-proxier', { metadata: { labels: { x: 'y' } } }, 'access-test'));
    await refusal(handler.request('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node-proxier'));
  });

  test('remove, then restore, succeed as the handler; restore may not re-create a binding to another role or a workload with another image', async () => {
    await resetKubeProxy();
    apply(['--server-side', '--field-manager', 'eks'], render());
    const before = await snapshotOf(KUBE_PROXY);
    await applyAccess(CniAction.remove());
    await run(handler, { addon: KUBE_PROXY, action: REMOVE });
    expect(Object.values(await snapshotOf(KUBE_PROXY)).every((o) => o === undefined)).toBe(true);

    await applyAccess(CniAction.restore());
    const bad = (body: Record<string, unknown>, p: string) => refusal(handler.apply(p, body, 'access-test'));
    await bad({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'eks:kube-proxy' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
      subjects: [{ kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }],
    }, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/eks:kube-proxy');
    const copyDs = JSON.parse((await admin.get(objectPath(COPY)))!.data['objects.json']).find((o: any) => o.id === DS).object;
    copyDs.spec.template.spec.containers[0].image = 'attacker.example/kube-proxy:1';
    await bad(copyDs, objectPath(KUBE_PROXY.workload));

    await run(handler, { addon: KUBE_PROXY, action: { type: 'RESTORE' } });
    const after = await snapshotOf(KUBE_PROXY);
    for (const o of KUBE_PROXY.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
  });
});
