/**
 * The handler's access on the real API server: for each action, exactly the manifest the construct
 * applies (VpcCniOwnership.rbacManifest(action): RBAC + admission policies), and the engine running
 * as the handler's identity (a client certificate for user cdk-vpc-cni-ownership-handler in group
 * cdk-vpc-cni-ownership, what the access entry maps the handler role to). The action must succeed;
 * everything a compromised handler might try must be refused.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { CniAction, CrdPolicy, VpcCniOwnership } from '../../src';
import { actionAccess, combinedAccess, DAEMONSET_POLICY_NAME, POLICY_NAME } from '../../src/access';
import { VPC_CNI } from '../../src/addons';
import { KUBERNETES_GROUP, KUBERNETES_USERNAME } from '../../src/contract';
import { Action, AddonObject, KubeApiError, KubeClient, KubeObject, objectPath, resourcePath, run } from '../../src/engine';
import { DISABLED_NODE_SELECTOR_KEY } from '../../src/engine/helm';
import { Cli, connection, DS, find, Fixtures, getLive, resetCluster, snapshot, waitUntil } from '../support/cluster';
import { certificateIdentity, CertificateIdentity } from '../support/identity';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CONTROLPLANE = path.resolve(__dirname, '..', 'controlplane', 'controlplane.sh');
const PROBE_MANAGER = 'access-test';
const CLUSTER_ROLE = 'ClusterRole/aws-node';
const BINDING = 'ClusterRoleBinding/aws-node';
const SERVICE_ACCOUNT = 'ServiceAccount/kube-system/aws-node';
const CONFIG_MAP = 'ConfigMap/kube-system/amazon-vpc-cni';
const ENICONFIG_CRD = 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com';

interface Case {
  readonly label: string;
  readonly action: CniAction;
}

const ACTIONS: Case[] = [
  { label: 'inspect', action: CniAction.inspect() },
  { label: 'disable', action: CniAction.disable() },
  { label: 'remove', action: CniAction.remove() },
  { label: 'remove (crdPolicy KEEP)', action: CniAction.remove({ crdPolicy: CrdPolicy.KEEP }) },
  { label: 'adopt', action: CniAction.adoptIntoHelm() },
];

let admin: KubeClient;
let cli: Cli;
let fixtures: Fixtures;
let identity: CertificateIdentity;
let handler: KubeClient;

beforeAll(() => {
  admin = new KubeClient(connection());
  cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  fixtures = new Fixtures(cli);
  identity = certificateIdentity(KUBERNETES_USERNAME, [KUBERNETES_GROUP]);
  handler = new KubeClient(identity.connection, { maxAttempts: 1 });
  // Writes status.typeChecking of each policy, as kube-controller-manager does on a real cluster.
  execFileSync('bash', [CONTROLPLANE, 'vap-status', process.env.CNI_TEST_CONTROLPLANE!], { stdio: 'pipe' });
});

afterAll(async () => {
  await removeAccess();
  admin?.close();
  handler?.close();
});

const docs = (manifest: readonly unknown[]) => manifest.map((m) => JSON.stringify(m)).join('\n---\n');

/** Deletes every object any action's manifest applies. */
async function removeAccess(): Promise<void> {
  const all = ACTIONS.flatMap((c) => VpcCniOwnership.rbacManifest(c.action));
  cli.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], docs(all));
}

/** Applies an action's manifest as the admin and waits until RBAC and both policies answer for it. */
async function applyAccess(action: CniAction): Promise<void> {
  await removeAccess();
  cli.kubectl(['apply', '-f', '-'], docs(VpcCniOwnership.rbacManifest(action)));
  // RBAC and admission read their objects through informers: wait until a write RBAC allows (every
  // action may patch the DaemonSet) is refused by the policy applied last (the order is the manifest's).
  await waitUntil('the admission policy to refuse the handler', async () => {
    const error = await handler.patch(objectPath(find(DS)), { metadata: { labels: { probe: 'x' } } }, PROBE_MANAGER, { dryRun: true })
      .then(() => undefined, (e) => e);
    // The policies' names are the same for every action: wait for this action's (its messages name it).
    return error instanceof KubeApiError && error.message.includes(`ValidatingAdmissionPolicy '${POLICY_NAME}'`)
      && error.message.includes(`cdk-vpc-cni-ownership (${combinedAccess([action._action, ...action._finally ? [action._finally] : []].map((a) => ({ addon: VPC_CNI, action: a }))).name}):`);
  });
}

/** Objects an action must never touch, in kube-system as on EKS. */
async function bystanders(): Promise<void> {
  cli.kubectl(['apply', '-f', '-'], docs([
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: VPC_CNI.namespace }, data: { Corefile: '.:53 {}' } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: VPC_CNI.namespace } },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bystander', namespace: VPC_CNI.namespace },
      spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    },
  ]));
}

function runAs(client: KubeClient, action: Action) {
  return run(client, { addon: VPC_CNI, action, ifOwnedByOthers: 'FAIL' });
}

const objectOf = (id: string): AddonObject => find(id);

/** A request the handler must not get through: refused with 403, by RBAC or by the admission policy. */
async function refusal(request: Promise<unknown>): Promise<KubeApiError> {
  const error = await request.then(() => undefined, (e) => e);
  if (!(error instanceof KubeApiError)) throw new Error(`expected a refusal, got ${error === undefined ? 'success' : error}`);
  expect(error.status).toBe(403);
  return error;
}

const BY_POLICY = /ValidatingAdmissionPolicy/;
const BY_RBAC = /is forbidden: User "cdk-vpc-cni-ownership-handler" cannot/;

describe.each(ACTIONS)('$label: the handler with exactly its access', ({ action }) => {
  const access = actionAccess(VPC_CNI, action._action);
  const patches = (id: string) => access.patch.includes(objectOf(id));
  const deletes = (id: string) => access.delete.includes(objectOf(id));
  /** Which layer refuses a write of the named object: the policy when RBAC grants the verb. */
  const patchRefusedBy = (id: string) => (patches(id) ? BY_POLICY : BY_RBAC);
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    await resetCluster(admin);
    fixtures.newEksCluster();
    await bystanders();
    await applyAccess(action);
    before = await snapshot(admin);
  });

  async function live(id: string): Promise<KubeObject> {
    return (await getLive(admin, id))!;
  }
  /** A merge patch of a VPC CNI object, pinned to its live resourceVersion like the engine's. */
  async function patch(id: string, body: Record<string, any>, dryRun = false) {
    const { metadata } = await live(id);
    const pinned = { ...body, metadata: { ...body.metadata, resourceVersion: metadata.resourceVersion } };
    return handler.patch(objectPath(objectOf(id)), pinned, PROBE_MANAGER, { dryRun });
  }
  async function podSpecPatch(spec: (current: any) => Record<string, unknown>, dryRun = false) {
    const ds = await live(DS);
    return patch(DS, { spec: { template: { spec: spec(ds.spec.template.spec) } } }, dryRun);
  }

  test('widening ClusterRole aws-node to */*/* is refused', async () => {
    const { rules } = await live(CLUSTER_ROLE);
    const error = await refusal(patch(CLUSTER_ROLE, { rules: [...rules, { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }));
    // adopt may patch the role: Kubernetes' escalation check refuses it before the policy is asked.
    expect(error.message).toMatch(patches(CLUSTER_ROLE) ? /not currently held|ValidatingAdmissionPolicy/ : BY_RBAC);
  });

  test('dropping a rule of ClusterRole aws-node (no escalation) is refused', async () => {
    const { rules } = await live(CLUSTER_ROLE);
    expect((await refusal(patch(CLUSTER_ROLE, { rules: rules.slice(1) }))).message).toMatch(patchRefusedBy(CLUSTER_ROLE));
  });

  test('an aggregation label on ClusterRole aws-node (its rules into "admin") is refused', async () => {
    const error = await refusal(patch(CLUSTER_ROLE, { metadata: { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } } }));
    expect(error.message).toMatch(patchRefusedBy(CLUSTER_ROLE));
  });

  test('adding a subject to ClusterRoleBinding aws-node is refused', async () => {
    const { subjects } = await live(BINDING);
    const error = await refusal(patch(BINDING, { subjects: [...subjects, { kind: 'Group', name: KUBERNETES_GROUP, apiGroup: 'rbac.authorization.k8s.io' }] }));
    // adopt holds aws-node's rules, so Kubernetes' own binding check lets this through: only the policy stops it.
    expect(error.message).toMatch(patchRefusedBy(BINDING));
  });

  test.each([
    ['changing the aws-node image', (s: any) => ({ containers: s.containers.map((c: any) => ({ ...c, image: 'attacker.example/cni:1' })) })],
    ['adding a container', (s: any) => ({ containers: [...s.containers, { name: 'shell', image: 'attacker.example/shell:1' }] })],
    ['adding an init container', (s: any) => ({ initContainers: [...s.initContainers ?? [], { name: 'shell', image: 'attacker.example/shell:1' }] })],
    ['setting hostPID', () => ({ hostPID: true })],
    ['mounting the node\'s root', (s: any) => ({ volumes: [...s.volumes ?? [], { name: 'root', hostPath: { path: '/' } }] })],
    ['changing the service account', () => ({ serviceAccountName: 'default' })],
    ['removing the tolerations', () => ({ tolerations: null })],
    ['setting pod-level resources (a PodSpec field newer than 1.30)', () => ({ resources: { limits: { cpu: '1m' } } })],
    ['changing another nodeSelector key', () => ({ nodeSelector: { 'kubernetes.io/os': 'windows' } })],
  ])('DaemonSet aws-node: %s is refused', async (_name, spec) => {
    expect((await refusal(podSpecPatch(spec))).message).toMatch(BY_POLICY);
  });

  test('DaemonSet aws-node: changing its update strategy or template labels is refused', async () => {
    expect((await refusal(patch(DS, { spec: { updateStrategy: { type: 'OnDelete' } } }))).message).toMatch(BY_POLICY);
    expect((await refusal(patch(DS, { spec: { template: { metadata: { labels: { extra: 'x' } } } } }))).message).toMatch(BY_POLICY);
  });

  test('DaemonSet aws-node: an owner reference or a finalizer is refused', async () => {
    const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'coredns', uid: '00000000-0000-0000-0000-000000000000' };
    expect((await refusal(patch(DS, { metadata: { ownerReferences: [owner] } }))).message).toMatch(BY_POLICY);
    expect((await refusal(patch(DS, { metadata: { finalizers: ['example.com/hold'] } }))).message).toMatch(BY_POLICY);
  });

  test('DaemonSet aws-node: a label that is not Helm\'s ownership label is refused', async () => {
    expect((await refusal(patch(DS, { metadata: { labels: { 'k8s-app': 'other' } } }))).message).toMatch(BY_POLICY);
  });

  test('the disable key: only disable may add it', async () => {
    // Sent as a dry run: allowed for disable, and nothing changes either way.
    const add = podSpecPatch(() => ({ nodeSelector: { [DISABLED_NODE_SELECTOR_KEY]: 'true' } }), true);
    if (access.disableKey === 'ADD_OR_REMOVE') {
      await add;
    } else {
      expect((await refusal(add)).message).toMatch(BY_POLICY);
    }
  });

  test('ServiceAccount aws-node: an IAM role annotation (IRSA) is refused', async () => {
    const error = await refusal(patch(SERVICE_ACCOUNT, { metadata: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111111111111:role/x' } } }));
    expect(error.message).toMatch(patchRefusedBy(SERVICE_ACCOUNT));
  });

  test('ConfigMap amazon-vpc-cni: changing its data is refused', async () => {
    expect((await refusal(patch(CONFIG_MAP, { data: { 'injected-by-test': 'true' } }))).message).toMatch(patchRefusedBy(CONFIG_MAP));
  });

  test('the ENIConfig CRD: changing its spec is refused', async () => {
    expect((await refusal(patch(ENICONFIG_CRD, { spec: { names: { shortNames: ['eni'] } } }))).message).toMatch(patchRefusedBy(ENICONFIG_CRD));
  });

  test('objects not named are refused: ConfigMap coredns, ServiceAccount default', async () => {
    const coredns = resourcePath('v1', 'configmaps', VPC_CNI.namespace, 'coredns');
    const defaultSa = resourcePath('v1', 'serviceaccounts', VPC_CNI.namespace, 'default');
    for (const request of [
      () => handler.patch(coredns, { data: { Corefile: 'evil' } }, PROBE_MANAGER),
      () => handler.delete(coredns),
      () => handler.patch(defaultSa, { metadata: { labels: { x: 'y' } } }, PROBE_MANAGER),
      () => handler.delete(defaultSa),
    ]) {
      expect((await refusal(request())).message).toMatch(BY_RBAC);
    }
  });

  test('creating anything is refused', async () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'created', namespace: VPC_CNI.namespace } };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'created' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aws-node' },
      subjects: [{ kind: 'Group', name: KUBERNETES_GROUP, apiGroup: 'rbac.authorization.k8s.io' }],
    };
    expect((await refusal(handler.request('POST', resourcePath('v1', 'configmaps', VPC_CNI.namespace), { body: configMap }))).message).toMatch(BY_RBAC);
    expect((await refusal(handler.request('POST', resourcePath('rbac.authorization.k8s.io/v1', 'clusterrolebindings'), { body: binding }))).message)
      .toMatch(/forbidden/);
    // aws-node's rules let adopt create events: RBAC allows it, the policy does not.
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'created', namespace: VPC_CNI.namespace },
      involvedObject: { kind: 'Pod', name: 'bystander', namespace: VPC_CNI.namespace },
      reason: 'Test',
      message: 'test',
    };
    expect((await refusal(handler.request('POST', resourcePath('v1', 'events', VPC_CNI.namespace), { body: event }))).message)
      .toMatch(access.heldRules.length > 0 ? BY_POLICY : BY_RBAC);
  });

  test('patching a pod\'s image is refused (adopt holds aws-node\'s pods patch)', async () => {
    const pod = resourcePath('v1', 'pods', VPC_CNI.namespace, 'bystander');
    const error = await refusal(handler.patch(pod, { spec: { containers: [{ name: 'app', image: 'attacker.example/app:1' }] } }, PROBE_MANAGER));
    expect(error.message).toMatch(access.heldRules.length > 0 ? BY_POLICY : BY_RBAC);
  });

  test('deleting is refused unless the action deletes that object', async () => {
    for (const id of [DS, CLUSTER_ROLE, ENICONFIG_CRD]) {
      if (deletes(id)) continue;
      const { metadata } = await live(id);
      const options = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: metadata.uid } };
      expect((await refusal(handler.delete(objectPath(objectOf(id)), options))).message).toMatch(BY_RBAC);
    }
  });

  test('auth can-i: nothing wholesale, no escalate, no bind; the action\'s own verbs', () => {
    const canI = (...args: string[]) => {
      try {
        return cli.kubectl(['--kubeconfig', identity.kubeconfig, 'auth', 'can-i', ...args]).trim();
      } catch (e: any) {
        return String(e.stdout ?? '').trim();
      }
    };
    expect(canI('*', '*')).toBe('no');
    expect(canI('*', '*', '--all-namespaces')).toBe('no');
    expect(canI('escalate', 'clusterroles')).toBe('no');
    expect(canI('bind', 'clusterroles')).toBe('no');
    expect(canI('escalate', 'clusterroles/aws-node')).toBe('no');
    expect(canI('bind', 'clusterroles/aws-node')).toBe('no');
    expect(canI('create', 'clusterrolebindings')).toBe('no');
    expect(canI('list', 'secrets', '-n', VPC_CNI.namespace)).toBe(access.releaseRecordsNamespace ? 'yes' : 'no');
    expect(canI('list', 'secrets', '-n', 'default')).toBe('no');
    expect(canI('patch', 'daemonsets/aws-node', '-n', VPC_CNI.namespace)).toBe('yes');
  });

  test('nothing was changed by any refused request', async () => {
    const after = await snapshot(admin);
    for (const id of Object.keys(before)) {
      expect(after[id]?.metadata.resourceVersion).toBe(before[id]?.metadata.resourceVersion);
    }
  });
});

describe('each action succeeds as the handler with exactly its access', () => {
  async function prepare(action: CniAction, disabled = false) {
    await resetCluster(admin);
    fixtures.newEksCluster();
    if (disabled) {
      cli.kubectl(['patch', 'daemonset/aws-node', '-n', VPC_CNI.namespace, '--type', 'merge', '-p',
        JSON.stringify({ spec: { template: { spec: { nodeSelector: { [DISABLED_NODE_SELECTOR_KEY]: 'true' } } } } })]);
    }
    await applyAccess(action);
  }

  test('inspect: reads everything and counts the custom resources', async () => {
    await prepare(CniAction.inspect());
    fixtures.eniConfigs('a', 'b');
    const result = await runAs(handler, CniAction.inspect()._action);
    expect(result.plan.writes).toEqual([]);
    expect(result.previousOwner.kind).toBe('EKS_BOOTSTRAP');
    expect(result.observation.objects.find((s) => s.object.crd?.kind === 'ENIConfig')!.customResources).toBe(2);
  });

  test.each([
    ['inspect', CniAction.inspect()],
    ['remove', CniAction.remove()],
    ['adopt', CniAction.adoptIntoHelm()],
  ])('leaving disable for %s: the restore (removing the disable key) is allowed', async (_name, action) => {
    await prepare(action, true);
    const restored = await runAs(handler, { type: 'RESTORE', recreate: false });
    expect(restored.changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector ?? {}).not.toHaveProperty(DISABLED_NODE_SELECTOR_KEY);
  });

  test('disable, then restore (stack delete)', async () => {
    await prepare(CniAction.disable());
    const before = (await getLive(admin, DS))!.spec;
    expect((await runAs(handler, CniAction.disable()._action)).changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toMatchObject({ [DISABLED_NODE_SELECTOR_KEY]: 'true' });
    expect((await runAs(handler, { type: 'RESTORE', recreate: false })).changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec).toEqual(before);
  });

  test('a network switch (disable, the new CNI\'s chart, then remove) with the one manifest its two steps share; rollback\'s restore too', async () => {
    const sequence = CniAction._disableThenRemove();
    await prepare(sequence);
    const before = (await getLive(admin, DS))!.spec;
    expect((await runAs(handler, { type: 'DISABLE' })).changed).toEqual([DS]);
    // A rollback (the chart failed) restores; deploying again disables.
    expect((await runAs(handler, { type: 'RESTORE', recreate: false })).changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec).toEqual(before);
    await runAs(handler, { type: 'DISABLE' });
    const removed = await runAs(handler, sequence._finally!);
    expect(removed.changed).toEqual(expect.arrayContaining([DS, SERVICE_ACCOUNT, CLUSTER_ROLE, BINDING, CONFIG_MAP]));
    // Still nothing else: the ClusterRole could not be widened by the switch's identity either.
    expect(await getLive(admin, DS)).toBeUndefined();
  });

  test('remove: deletes the VPC CNI objects (CRDs unused: deleted by DELETE_IF_UNUSED)', async () => {
    await prepare(CniAction.remove());
    const result = await runAs(handler, CniAction.remove()._action);
    expect(result.changed).toEqual(expect.arrayContaining([DS, SERVICE_ACCOUNT, CLUSTER_ROLE, BINDING, CONFIG_MAP]));
    expect(await getLive(admin, DS)).toBeUndefined();
    expect(await getLive(admin, CLUSTER_ROLE)).toBeUndefined();
  });

  test('remove with crdPolicy KEEP: the CRDs stay', async () => {
    await prepare(CniAction.remove({ crdPolicy: CrdPolicy.KEEP }));
    await runAs(handler, CniAction.remove({ crdPolicy: CrdPolicy.KEEP })._action);
    expect(await getLive(admin, DS)).toBeUndefined();
    expect(await getLive(admin, ENICONFIG_CRD)).toBeDefined();
  });

  test('adopt: every object gets Helm\'s metadata, the aws-node role and binding included, without escalate or bind', async () => {
    await prepare(CniAction.adoptIntoHelm());
    const result = await runAs(handler, CniAction.adoptIntoHelm()._action);
    expect(result.changed).toEqual(expect.arrayContaining([DS, SERVICE_ACCOUNT, CLUSTER_ROLE, BINDING, CONFIG_MAP]));
    for (const id of [DS, SERVICE_ACCOUNT, CLUSTER_ROLE, BINDING, CONFIG_MAP]) {
      expect((await getLive(admin, id))!.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': 'aws-vpc-cni' });
    }
    // A second run finds it done.
    expect((await runAs(handler, CniAction.adoptIntoHelm()._action)).plan.writes).toEqual([]);
  });

  test('adopt of an aws-node role with a rule beyond the known ones stops in the preflight with Kubernetes\' escalation error', async () => {
    await prepare(CniAction.adoptIntoHelm());
    cli.kubectl(['patch', 'clusterrole/aws-node', '--type', 'json', '-p',
      JSON.stringify([{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['secrets'], verbs: ['get'] } }])]);
    const before = await snapshot(admin);
    await expect(runAs(handler, CniAction.adoptIntoHelm()._action)).rejects.toThrow(/ClusterRole\/aws-node: 403 .*not currently held/);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('adopt of a disabled VPC CNI also gives the DaemonSet its nodes back', async () => {
    await prepare(CniAction.adoptIntoHelm(), true);
    await runAs(handler, CniAction.adoptIntoHelm()._action);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector ?? {}).not.toHaveProperty(DISABLED_NODE_SELECTOR_KEY);
  });
});

describe('the admission policies as the API server reads them', () => {
  beforeAll(async () => {
    await resetCluster(admin);
    fixtures.newEksCluster();
  });

  async function policyStatus(name: string): Promise<any> {
    let policy: any;
    await waitUntil(`status of ${name}`, async () => {
      policy = await admin.get(resourcePath('admissionregistration.k8s.io/v1', 'validatingadmissionpolicies', undefined, name));
      return policy?.status?.observedGeneration === policy?.metadata.generation;
    });
    return policy.status;
  }

  test.each(ACTIONS)('$label: both policies type-check without a warning', async ({ action }) => {
    await applyAccess(action);
    expect((await policyStatus(POLICY_NAME)).typeChecking?.expressionWarnings ?? []).toEqual([]);
    expect((await policyStatus(DAEMONSET_POLICY_NAME)).typeChecking?.expressionWarnings ?? []).toEqual([]);
  });

  test('the type checker does check the DaemonSet policy: a field the schema lacks is a warning', async () => {
    const policy = VpcCniOwnership.rbacManifest(CniAction.disable())
      .find((m: any) => m.kind === 'ValidatingAdmissionPolicy' && m.metadata.name === DAEMONSET_POLICY_NAME);
    const probe = { ...policy, metadata: { name: 'access-test-typecheck' } };
    probe.spec = { ...policy.spec, validations: [...policy.spec.validations, { expression: 'has(object.spec.template.spec.notAPodSpecField)' }] };
    cli.kubectl(['apply', '-f', '-'], JSON.stringify(probe));
    try {
      const warnings = (await policyStatus('access-test-typecheck')).typeChecking?.expressionWarnings ?? [];
      expect(warnings).toEqual([expect.objectContaining({
        fieldRef: `spec.validations[${policy.spec.validations.length}].expression`,
        warning: expect.stringContaining("undefined field 'notAPodSpecField'"),
      })]);
    } finally {
      cli.kubectl(['delete', 'validatingadmissionpolicy', 'access-test-typecheck', '--ignore-not-found']);
    }
  });

  test('the DaemonSet policy alone refuses each field on its own, with a message naming it', async () => {
    await applyAccess(CniAction.disable());
    // Without the first policy, the field-by-field one is all that stands between RBAC and the DaemonSet.
    cli.kubectl(['delete', 'validatingadmissionpolicybinding', POLICY_NAME]);
    try {
      await waitUntil('only the DaemonSet policy to answer', async () => {
        const error = await handler.patch(objectPath(find(DS)), { metadata: { labels: { probe: 'x' } } }, PROBE_MANAGER, { dryRun: true })
          .then(() => undefined, (e) => e);
        return error === undefined;
      });
      const ds = (await getLive(admin, DS))!;
      const attempt = (spec: Record<string, unknown>) => handler.patch(objectPath(find(DS)),
        { spec: { template: { spec } }, metadata: { resourceVersion: ds.metadata.resourceVersion } }, PROBE_MANAGER, { dryRun: true });
      expect((await refusal(attempt({ hostNetwork: false }))).message).toMatch(/spec\.template\.spec\.hostNetwork may not change/);
      expect((await refusal(attempt({ containers: [{ ...ds.spec.template.spec.containers[0], image: 'attacker.example/cni:1' }] }))).message)
        .toMatch(/spec\.template\.spec\.containers may not change/);
      expect((await refusal(attempt({ shareProcessNamespace: true }))).message).toMatch(/spec\.template\.spec\.shareProcessNamespace may not change/);
      // disable's own write passes it.
      await attempt({ nodeSelector: { [DISABLED_NODE_SELECTOR_KEY]: 'true' } });
    } finally {
      await removeAccess();
    }
  });
});
