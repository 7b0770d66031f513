/**
 * The Lambda handler's branches: the EKS API mocked (aws-sdk-client-mock), Kubernetes REAL (the shared
 * local kube-apiserver of the jest run). Every test resets the cluster and seeds what it needs.
 */
import {
  DeleteAddonCommand, DescribeAddonCommand, DescribeClusterCommand, EKSClient, ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { KUBE_PROXY, VPC_CNI } from '../../src/addons';
import { actionProperties, ATTRIBUTE } from '../../src/contract';
import { Action, KubeClient, objectPath, recoveryCopyObject } from '../../src/engine';
import { HandlerDependencies, onEvent, parseProperties, planAttribute } from '../../src/handler/handler';
import { Cli, connection, DS, Fixtures, getLive, RELEASE, resetCluster, snapshot } from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CLUSTER = 'handler-test-cluster';
const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'x', secretAccessKey: 'y' };
const DISABLED_KEY = 'cdk-vpc-cni-ownership/disabled';

const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
const REMOVE: Action = { type: 'REMOVE', crdPolicy: 'KEEP' };
const DISABLE: Action = { type: 'DISABLE' };
const ALL_IDS = VPC_CNI.objects.map((o) => o.id);

const eksMock = mockClient(EKSClient);
const admin = new KubeClient(connection());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
const fixtures = new Fixtures(cli);

type Logged = Parameters<HandlerDependencies['log']>[0];
let logs: Logged[] = [];

function notFound() {
  return new ResourceNotFoundException({ message: 'not found', $metadata: {} });
}

const ADDON = { addon: { addonName: 'vpc-cni', clusterName: CLUSTER, status: 'ACTIVE' as const, addonVersion: 'v1.19.0-eksbuild.1' } };

function describedCluster(name = CLUSTER) {
  const c = connection();
  return {
    cluster: {
      name,
      status: 'ACTIVE' as const,
      endpoint: c.endpoint,
      certificateAuthority: { data: Buffer.from(c.caData).toString('base64') },
    },
  };
}

function deps(overrides: Partial<HandlerDependencies> = {}): HandlerDependencies {
  return {
    eks: new EKSClient({ region: REGION, credentials: CREDENTIALS }),
    region: REGION,
    credentials: async () => CREDENTIALS,
    deadline: Date.now() + 60_000,
    log: (e) => logs.push(e),
    kubernetesToken: async () => connection().token!,
    ...overrides,
  };
}

interface Props {
  readonly action: Action | string;
  readonly ifOwnedByOthers?: string;
  readonly dryRun?: boolean;
  readonly clusterName?: string;
  /** The add-on (the Addon property), e.g. kube-proxy; absent for the VPC CNI, as the construct sends it. */
  readonly addon?: string;
}

/** The properties as the construct sends them: one per action field (a string action: the legacy single JSON property). */
function properties(p: Props): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
    ClusterName: p.clusterName ?? CLUSTER,
    ...(p.addon ? { Addon: p.addon } : {}),
    ...(typeof p.action === 'string' ? { Action: p.action } : actionProperties(p.action)),
    IfOwnedByOthers: p.ifOwnedByOthers ?? 'FAIL',
    DryRun: p.dryRun ? 'true' : 'false',
  };
}

const COMMON = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
  StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/HandlerTest/00000000-0000-0000-0000-000000000000',
  RequestId: 'request-1',
  LogicalResourceId: 'CniOwnership',
  ResourceType: 'Custom::VpcCniOwnership',
};
const PHYSICAL_ID = `${CLUSTER}/vpc-cni-ownership`;

function create(p: Props): CloudFormationCustomResourceEvent {
  return { ...COMMON, RequestType: 'Create', ResourceProperties: properties(p) } as CloudFormationCustomResourceEvent;
}

function update(p: Props, old: Props): CloudFormationCustomResourceEvent {
  return {
    ...COMMON, RequestType: 'Update', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: properties(p), OldResourceProperties: properties(old),
  } as CloudFormationCustomResourceEvent;
}

function del(p: Props): CloudFormationCustomResourceEvent {
  return { ...COMMON, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: properties(p) } as CloudFormationCustomResourceEvent;
}

/** Lets every pending promise callback run (setImmediate is never faked here). */
async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Lets callbacks and real I/O (the API server's answers) run until `check` holds, without timers, which may be faked. */
async function flushUntil(check: () => boolean, rounds = 200_000): Promise<void> {
  for (let i = 0; i < rounds && !check(); i++) await new Promise((r) => setImmediate(r));
  if (!check()) throw new Error('flushUntil: the condition never held');
}

afterAll(() => admin.close());

beforeEach(async () => {
  logs = [];
  eksMock.reset();
  eksMock.on(DescribeClusterCommand).resolves(describedCluster());
  eksMock.on(DescribeAddonCommand).rejects(notFound());
  eksMock.on(DeleteAddonCommand).resolves({});
  await resetCluster(admin);
});

// Every test: each log event names its step and never carries the Kubernetes token.
afterEach(() => {
  const token = connection().token!;
  for (const event of logs) {
    expect(event).toEqual(expect.objectContaining({ step: expect.any(String) }));
    expect(JSON.stringify(event)).not.toContain(token);
  }
});

describe('parseProperties', () => {
  const adoptProps = actionProperties(ADOPT);
  test('reads valid properties, one per action field; IfOwnedByOthers defaults to FAIL, DryRun is only "true"', () => {
    expect(parseProperties({ ClusterName: 'c', ...adoptProps, IfOwnedByOthers: 'TAKE_OVER', DryRun: 'true' }))
      .toEqual({ clusterName: 'c', addon: VPC_CNI, action: ADOPT, ifOwnedByOthers: 'TAKE_OVER', dryRun: true });
    expect(parseProperties({ ClusterName: 'c', ActionType: 'DISABLE' }))
      .toEqual({ clusterName: 'c', addon: VPC_CNI, action: DISABLE, ifOwnedByOthers: 'FAIL', dryRun: false });
    expect(parseProperties({ ClusterName: 'c', ...actionProperties({ type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true }) }).action)
      .toEqual({ type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true });
    expect(parseProperties({ ClusterName: 'c', ...actionProperties({ ...ADOPT, handOver: ['kubectl-set'] } as Action) }).action)
      .toEqual({ ...ADOPT, handOver: ['kubectl-set'] });
  });

  test('an old resource\'s single JSON Action property (an Update\'s old properties) still reads', () => {
    expect(parseProperties({ ClusterName: 'c', Action: JSON.stringify(ADOPT) }).action).toEqual(ADOPT);
  });

  test('a value cannot rewrite another field: a release name holding JSON stays a (bad) release name of an ADOPT', () => {
    const injected = 'aws-vpc-cni","type":"REMOVE","crdPolicy":"DELETE';
    expect(() => parseProperties({ ClusterName: 'c', ...adoptProps, ReleaseName: injected }))
      .toThrow(/^Invalid properties: Action: releaseName "aws-vpc-cni\",\"type\":\"REMOVE.*" must be a DNS label/);
  });

  test.each([
    ['no properties at all', undefined, /^Property ClusterName is required$/],
    ['a missing ClusterName', { ...adoptProps }, /^Property ClusterName is required$/],
    ['an empty ClusterName', { ClusterName: '', ...adoptProps }, /^Property ClusterName is required$/],
    ['a missing ActionType', { ClusterName: 'c' }, /^Invalid properties: Action: action type undefined must be one of/],
    ['an old Action property that is not JSON', { ClusterName: 'c', Action: '{type: ADOPT' }, /^Property Action is not JSON$/],
    ['a releaseName that is too long', { ClusterName: 'c', ...adoptProps, ReleaseName: 'r'.repeat(54) },
      /^Invalid properties: Action: releaseName "r{54}" is 54 characters; Helm allows at most 53$/],
    ['a release namespace other than kube-system', { ClusterName: 'c', ...adoptProps, ReleaseNamespace: 'networking' },
      /^Invalid properties: Action: releaseNamespace "networking" must be "kube-system", where the VPC CNI's objects live: .*second aws-node DaemonSet/],
    ['a field manager that never converges', { ClusterName: 'c', ...adoptProps, FieldManager: 'eks' },
      /^Invalid properties: Action: fieldManager "eks" can never own the fields/],
    ['an unknown crdPolicy', { ClusterName: 'c', ActionType: 'REMOVE', CrdPolicy: 'SOMETIMES' },
      /^Invalid properties: Action: crdPolicy "SOMETIMES" must be one of KEEP, DELETE_IF_UNUSED, DELETE$/],
    ['an unknown action type', { ClusterName: 'c', ActionType: 'UPGRADE' },
      /^Invalid properties: Action: action type "UPGRADE" must be one of INSPECT, DISABLE, RESTORE, ADOPT, REMOVE$/],
    ['an ADOPT without releaseName', { ClusterName: 'c', ActionType: 'ADOPT', ReleaseNamespace: 'kube-system', FieldManager: 'helm' },
      /^Invalid properties: Action: releaseName is required \(a string\) for action ADOPT$/],
    ['a REMOVE without crdPolicy', { ClusterName: 'c', ActionType: 'REMOVE' },
      /^Invalid properties: Action: crdPolicy is required \(a string\) for action REMOVE$/],
    ['a bad IfOwnedByOthers', { ClusterName: 'c', ...adoptProps, IfOwnedByOthers: 'MAYBE' },
      /^Invalid properties: IfOwnedByOthers "MAYBE" must be one of FAIL, SKIP, TAKE_OVER$/],
    ['several problems at once', { ClusterName: 'c', ...adoptProps, ReleaseName: 'Aws_Vpc', IfOwnedByOthers: 'take_over' },
      /^Invalid properties: Action: releaseName "Aws_Vpc" must be a DNS label.*; IfOwnedByOthers "take_over" must be one of/],
  ] as const)('%s is a clear error', (_what, raw, message) => {
    expect(() => parseProperties(raw as any)).toThrow(message);
  });

  test.each([
    ['a missing ClusterName', { ...properties({ action: ADOPT }), ClusterName: '' }, /ClusterName is required/],
    ['an old Action property that is not JSON', properties({ action: 'not json' }), /Property Action is not JSON/],
    ['a release namespace other than kube-system', properties({ action: { ...ADOPT, releaseNamespace: 'networking' } as Action }), /must be "kube-system"/],
    ['a releaseName that is too long', properties({ action: { ...ADOPT, releaseName: 'r'.repeat(60) } }), /releaseName .* Helm allows at most 53/],
    ['a bad IfOwnedByOthers', properties({ action: ADOPT, ifOwnedByOthers: 'IGNORE' }), /IfOwnedByOthers "IGNORE"/],
  ] as const)('onEvent with %s throws before any EKS call and writes nothing', async (_what, props, message) => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    for (const requestType of ['Create', 'Update'] as const) {
      const event = { ...COMMON, RequestType: requestType, PhysicalResourceId: PHYSICAL_ID, ResourceProperties: props, OldResourceProperties: props };
      await expect(onEvent(event as CloudFormationCustomResourceEvent, deps())).rejects.toThrow(message);
    }
    expect(logs).toEqual([]);
    // Delete has nothing to undo for an adopt, and does not judge properties it does not use.
    await onEvent({ ...COMMON, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: props } as CloudFormationCustomResourceEvent, deps());
    expect(eksMock.calls()).toHaveLength(0);
    expect(await snapshot(admin)).toEqual(before);
  });
});

describe('Create', () => {
  test('ADOPT on a new EKS cluster: attributes, physical id, EKS calls, objects annotated', async () => {
    fixtures.newEksCluster();
    const response = await onEvent(create({ action: ADOPT }), deps());

    expect(response.PhysicalResourceId).toBe(PHYSICAL_ID);
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_BOOTSTRAP');
    expect(response.Data[ATTRIBUTE.previousOwnerDescription]).toEqual(expect.any(String));
    expect(response.Data[ATTRIBUTE.changedObjects].split(',')).toEqual(ALL_IDS);
    const plan = JSON.parse(response.Data[ATTRIBUTE.plan]);
    expect(plan.writes).toHaveLength(7);
    expect(plan.writes[0]).toMatch(/^PATCH DaemonSet\/kube-system\/aws-node: /);
    for (const value of Object.values(response.Data)) expect(typeof value).toBe('string');

    expect(eksMock.commandCalls(DescribeClusterCommand).map((c) => c.args[0].input)).toEqual([{ name: CLUSTER }]);
    expect(eksMock.commandCalls(DescribeAddonCommand).map((c) => c.args[0].input)).toEqual([{ clusterName: CLUSTER, addonName: 'vpc-cni' }]);
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);

    for (const o of VPC_CNI.objects.filter((x) => !x.crd)) {
      const live = await admin.get(objectPath(o));
      expect(live.metadata.annotations['meta.helm.sh/release-name']).toBe(RELEASE);
      expect(live.metadata.managedFields.map((m: any) => m.manager)).not.toContain('eks');
    }
    expect(logs.map((e) => e.step)).toEqual(expect.arrayContaining(['event', 'describeCluster', 'describeAddon', 'observe', 'plan', 'write', 'done']));
  });

  test('dry-run ADOPT: the plan, nothing changed, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const response = await onEvent(create({ action: ADOPT, dryRun: true }), deps());
    expect(response.Data[ATTRIBUTE.changedObjects]).toBe('');
    expect(JSON.parse(response.Data[ATTRIBUTE.plan]).writes).toHaveLength(7);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('the cluster does not exist (ResourceNotFoundException): a clear error, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    eksMock.on(DescribeClusterCommand).rejects(notFound());
    const kubernetesToken = jest.fn(async () => connection().token!);
    await expect(onEvent(create({ action: ADOPT }), deps({ kubernetesToken })))
      .rejects.toThrow(`EKS cluster "${CLUSTER}" does not exist in ${REGION}`);
    expect(eksMock.commandCalls(DescribeAddonCommand)).toHaveLength(0);
    expect(kubernetesToken).not.toHaveBeenCalled();
    expect(await snapshot(admin)).toEqual(before);
  });

  test('a cluster without an endpoint yet (CREATING): a clear error, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: CLUSTER, status: 'CREATING' } });
    await expect(onEvent(create({ action: ADOPT }), deps()))
      .rejects.toThrow(`EKS cluster "${CLUSTER}" has no endpoint or certificate authority yet (status CREATING)`);
    expect(eksMock.commandCalls(DescribeAddonCommand)).toHaveLength(0);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('the deadline already passed: rejects saying it ran out of time, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    await expect(onEvent(create({ action: ADOPT }), deps({ deadline: Date.now() - 1000 }))).rejects.toThrow(/Out of time/);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('an EKS throttling error surfaces as the failure, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    eksMock.on(DescribeAddonCommand).rejects(throttled);
    const attempt = onEvent(create({ action: ADOPT }), deps());
    await expect(attempt).rejects.toThrow('Rate exceeded');
    await expect(attempt).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(eksMock.commandCalls(DescribeAddonCommand)).toHaveLength(1);
    expect(await snapshot(admin)).toEqual(before);
  });
});

describe('Delete', () => {
  test.each([
    ['ADOPT', { action: ADOPT }],
    ['REMOVE', { action: REMOVE }],
  ] as const)('%s: nothing to undo, no EKS call, no Kubernetes call', async (_what, props) => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    const kubernetesToken = jest.fn(async () => connection().token!);
    const response = await onEvent(del(props), deps({ kubernetesToken }));
    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: {} });
    expect(eksMock.calls()).toHaveLength(0);
    expect(kubernetesToken).not.toHaveBeenCalled();
    expect(await snapshot(admin)).toEqual(before);
  });

  test('DISABLE: restores the DaemonSet exactly', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);

    const created = await onEvent(create({ action: DISABLE }), deps());
    expect(created.Data[ATTRIBUTE.changedObjects]).toBe(DS);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ [DISABLED_KEY]: 'true' });

    eksMock.resetHistory();
    const deleted = await onEvent(del({ action: DISABLE }), deps());
    expect(deleted).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: {} });
    expect(eksMock.commandCalls(DescribeClusterCommand).map((c) => c.args[0].input)).toEqual([{ name: CLUSTER }]);
    const after = await getLive(admin, DS);
    expect(after!.spec).toEqual(before!.spec);
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['DISABLE', 'RESTORE']);
  });

  test('DISABLE on a cluster that is ACTIVE but does not answer: the delete fails, saying the VPC CNI stays disabled', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { ...describedCluster().cluster, endpoint: 'https://127.0.0.1:9' } });
    await expect(onEvent(del({ action: DISABLE }), deps({ requestTimeoutMs: 500 })))
      .rejects.toThrow(/Cannot reach the Kubernetes API .* stays disabled until it is restored, so this delete fails/s);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ [DISABLED_KEY]: 'true' });
  });

  test('DISABLE on a cluster being deleted: succeeds without touching Kubernetes', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: CLUSTER, status: 'DELETING' } });
    const kubernetesToken = jest.fn(async () => connection().token!);
    expect(await onEvent(del({ action: DISABLE }), deps({ kubernetesToken }))).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: {} });
    expect(kubernetesToken).not.toHaveBeenCalled();
  });

  test('DISABLE when the cluster no longer exists: succeeds without touching Kubernetes', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    const before = await snapshot(admin);
    eksMock.reset();
    eksMock.on(DescribeClusterCommand).rejects(notFound());
    const kubernetesToken = jest.fn(async () => connection().token!);

    const response = await onEvent(del({ action: DISABLE }), deps({ kubernetesToken }));
    expect(response).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: {} });
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(eksMock.commandCalls(DescribeAddonCommand)).toHaveLength(0);
    expect(kubernetesToken).not.toHaveBeenCalled();
    expect(await snapshot(admin)).toEqual(before);
  });
});

describe('Update', () => {
  test('DISABLE → ADOPT: adopt restores the DaemonSet in its own plan', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);
    await onEvent(create({ action: DISABLE }), deps());
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toHaveProperty([DISABLED_KEY]);
    logs = [];

    const response = await onEvent(update({ action: ADOPT }, { action: DISABLE }), deps());
    expect(response.PhysicalResourceId).toBe(PHYSICAL_ID);
    // The owner ADOPT found after the restore: still the EKS bootstrap install.
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_BOOTSTRAP');
    expect(response.Data[ATTRIBUTE.changedObjects].split(',')).toEqual(ALL_IDS);

    const ds = await getLive(admin, DS);
    expect(ds!.spec.template.spec.nodeSelector ?? {}).not.toHaveProperty([DISABLED_KEY]);
    expect(ds!.spec).toEqual(before!.spec);
    expect(ds!.metadata.annotations).toMatchObject({ 'meta.helm.sh/release-name': RELEASE, 'meta.helm.sh/release-namespace': 'kube-system' });
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['ADOPT']);
    expect(JSON.parse(response.Data[ATTRIBUTE.plan]).writes[0]).toMatch(/restore: remove nodeSelector cdk-vpc-cni-ownership\/disabled/);
  });

  test('DISABLE → REMOVE: deletes without restoring first (aws-node never starts again)', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    logs = [];
    const response = await onEvent(update({ action: REMOVE }, { action: DISABLE }), deps());
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['REMOVE']);
    // No write of the DaemonSet but its deletion.
    expect(logs.filter((e) => e.step === 'write').map((e) => `${e.verb} ${e.object}`)).not.toContain(`PATCH ${DS}`);
    expect(response.Data[ATTRIBUTE.changedObjects].split(',')).toContain(DS);
    expect(await getLive(admin, DS)).toBeUndefined();
  });

  test('DISABLE → INSPECT: the DaemonSet gets its nodes back first (leaving disable undoes it)', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);
    await onEvent(create({ action: DISABLE }), deps());
    logs = [];
    await onEvent(update({ action: { type: 'INSPECT' } }, { action: DISABLE }), deps());
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['RESTORE', 'INSPECT']);
    expect((await getLive(admin, DS))!.spec).toEqual(before!.spec);
  });

  test('DISABLE → dry-run ADOPT: a dry run will not restore, so the workload is restored first; the dry run then writes nothing', async () => {
    fixtures.newEksCluster();
    const original = await getLive(admin, DS);
    await onEvent(create({ action: DISABLE }), deps());
    logs = [];
    const response = await onEvent(update({ action: ADOPT, dryRun: true }, { action: DISABLE }), deps());
    expect(response.Data[ATTRIBUTE.changedObjects]).toBe('');
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['RESTORE', 'ADOPT']);
    expect((await getLive(admin, DS))!.spec).toEqual(original!.spec);
    const restored = await snapshot(admin);
    await onEvent(del({ action: ADOPT, dryRun: true }), deps());
    expect(await snapshot(admin)).toEqual(restored);
  });

  test('a rollback to a dry run never leaves the VPC CNI disabled: Create dry-run ADOPT, Update to DISABLE, the rollback Update back', async () => {
    fixtures.newEksCluster();
    const original = await getLive(admin, DS);
    await onEvent(create({ action: ADOPT, dryRun: true }), deps());
    await onEvent(update({ action: DISABLE }, { action: ADOPT, dryRun: true }), deps());
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ [DISABLED_KEY]: 'true' });
    // (a later resource of the stack fails: CloudFormation sends the old properties as an Update)
    await onEvent(update({ action: ADOPT, dryRun: true }, { action: DISABLE }), deps());
    expect((await getLive(admin, DS))!.spec).toEqual(original!.spec);
  });

  test('Delete reads only what it uses: properties a newer handler rejects never make a resource undeletable', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    // An adopt whose stored properties this handler rejects: nothing to undo, success, no EKS call.
    const rejected = { ...properties({ action: { ...ADOPT, releaseNamespace: 'networking' } }), IfOwnedByOthers: 'IGNORE' };
    await onEvent({ ...COMMON, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: rejected } as unknown as CloudFormationCustomResourceEvent, deps());
    expect(eksMock.calls()).toHaveLength(0);
    expect(await snapshot(admin)).toEqual(before);
    // A disable with a property this handler does not know is still restored.
    await onEvent(create({ action: DISABLE }), deps());
    const disabled = { ...properties({ action: DISABLE }), IfOwnedByOthers: 'IGNORE', FutureOption: 'x' };
    await onEvent({ ...COMMON, RequestType: 'Delete', PhysicalResourceId: PHYSICAL_ID, ResourceProperties: disabled } as unknown as CloudFormationCustomResourceEvent, deps());
    expect((await getLive(admin, DS))!.spec).toEqual(before[DS]!.spec);
  });

  test('Delete of a dry-run on a cluster that was never disabled writes nothing', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    await onEvent(del({ action: DISABLE, dryRun: true }), deps());
    expect(await snapshot(admin)).toEqual(before);
  });
});

describe('an EKS managed add-on', () => {
  test('IfOwnedByOthers FAIL: an error naming the managed add-on; DeleteAddon never called, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    for (const action of [ADOPT, REMOVE, DISABLE]) {
      await expect(onEvent(create({ action }), deps())).rejects.toThrow(/EKS managed add-on/);
    }
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('TAKE_OVER with REMOVE: checked first (observe, plan, preflight), then DeleteAddon keeping the objects, then removed by crdPolicy', async () => {
    fixtures.newEksCluster();
    eksMock.on(DescribeAddonCommand).resolvesOnce(ADDON).rejects(notFound());
    const response = await onEvent(create({ action: REMOVE, ifOwnedByOthers: 'TAKE_OVER' }), deps());
    // preserve=false would delete the CRDs too, whatever crdPolicy says.
    expect(eksMock.commandCalls(DeleteAddonCommand).map((c) => c.args[0].input))
      .toEqual([{ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true }]);
    const steps = logs.map((e) => e.step);
    expect(steps.indexOf('preflight')).toBeGreaterThan(-1);
    expect(steps.indexOf('preflight')).toBeLessThan(steps.indexOf('deleteAddon'));
    expect(steps.indexOf('deleteAddon')).toBeLessThan(steps.indexOf('write'));
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_BOOTSTRAP');
    for (const o of VPC_CNI.objects.filter((x) => !x.crd)) expect(await admin.get(objectPath(o))).toBeUndefined();
    // crdPolicy KEEP: both CRDs stay.
    for (const o of VPC_CNI.objects.filter((x) => x.crd)) expect(await admin.get(objectPath(o))).toBeDefined();
  });

  test('TAKE_OVER on an unexpected state: the error before DeleteAddon, which is never called; nothing written', async () => {
    fixtures.newEksCluster('--set', 'originalMatchLabels=false');
    const before = await snapshot(admin);
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    await expect(onEvent(create({ action: REMOVE, ifOwnedByOthers: 'TAKE_OVER' }), deps())).rejects.toThrow(/spec.selector is/);
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('TAKE_OVER with ADOPT: DeleteAddon with preserve, polled every 5 s until the add-on is gone, then adopted', async () => {
    fixtures.newEksCluster();
    // Before the delete, then twice while it is being deleted, then gone.
    eksMock.on(DescribeAddonCommand).resolvesOnce(ADDON).resolvesOnce(ADDON).resolvesOnce(ADDON).rejects(notFound());
    const addonCalls = () => eksMock.commandCalls(DescribeAddonCommand).length;

    // Fake timers for the 5 s waits only; HTTP to the API server uses Node's internal timers, never the faked globals.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    let pending: Promise<Awaited<ReturnType<typeof onEvent>>>;
    try {
      pending = onEvent(create({ action: ADOPT, ifOwnedByOthers: 'TAKE_OVER' }), deps());
      pending.catch(() => undefined);
      // The checks against the API server (observe, plan, preflight) come before the delete.
      await flushUntil(() => eksMock.commandCalls(DeleteAddonCommand).length > 0 && addonCalls() >= 2);
      await flush();
      expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(1);
      expect(addonCalls()).toBe(2); // before the delete, and the first poll: still there
      await jest.advanceTimersByTimeAsync(4999);
      await flush();
      expect(addonCalls()).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      await flush();
      expect(addonCalls()).toBe(3); // second poll: still there
      await jest.advanceTimersByTimeAsync(5000);
      await flush();
      expect(addonCalls()).toBe(4); // third poll: gone
      // No more polling once it is gone.
      await jest.advanceTimersByTimeAsync(5000);
      await flush();
      expect(addonCalls()).toBe(4);
    } finally {
      jest.useRealTimers();
    }
    const response = await pending;

    expect(eksMock.commandCalls(DeleteAddonCommand).map((c) => c.args[0].input))
      .toEqual([{ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true }]);
    expect(addonCalls()).toBe(4);
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_BOOTSTRAP');
    expect(response.Data[ATTRIBUTE.changedObjects].split(',')).toEqual(ALL_IDS);
    expect((await getLive(admin, DS))!.metadata.annotations!['meta.helm.sh/release-name']).toBe(RELEASE);
    expect(logs.find((e) => e.step === 'deleteAddon')).toEqual({ step: 'deleteAddon', addon: 'vpc-cni', preserve: true });
  });

  test('TAKE_OVER with DISABLE: DeleteAddon with preserve (objects kept for the engine)', async () => {
    fixtures.newEksCluster();
    eksMock.on(DescribeAddonCommand).resolvesOnce(ADDON).rejects(notFound());
    await onEvent(create({ action: DISABLE, ifOwnedByOthers: 'TAKE_OVER' }), deps());
    expect(eksMock.commandCalls(DeleteAddonCommand).map((c) => c.args[0].input))
      .toEqual([{ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true }]);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ [DISABLED_KEY]: 'true' });
  });

  test('Delete of a TAKE_OVER disable never deletes the add-on: it only removes our nodeSelector key', async () => {
    fixtures.newEksCluster();
    const original = await getLive(admin, DS);
    await onEvent(create({ action: DISABLE }), deps());
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    await onEvent(del({ action: DISABLE, ifOwnedByOthers: 'TAKE_OVER' }), deps());
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);
    expect((await getLive(admin, DS))!.spec).toEqual(original!.spec);
  });

  test('dry-run with TAKE_OVER: no DeleteAddon, the plan as for a managed add-on, nothing written', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    const response = await onEvent(create({ action: REMOVE, ifOwnedByOthers: 'TAKE_OVER', dryRun: true }), deps());
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_MANAGED_ADDON');
    expect(response.Data[ATTRIBUTE.changedObjects]).toBe('');
    expect(JSON.parse(response.Data[ATTRIBUTE.plan]).writes.length).toBeGreaterThan(0);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('the add-on still being deleted when time runs out: a clear error, nothing written to Kubernetes', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    // The deadline passes during the first 5 s wait; the next poll gives up.
    const attempt = onEvent(create({ action: ADOPT, ifOwnedByOthers: 'TAKE_OVER' }), deps({ deadline: Date.now() + 200 }));
    await expect(attempt).rejects.toThrow('The EKS add-on vpc-cni was still being deleted when time ran out');
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(1);
    expect(await snapshot(admin)).toEqual(before);
  }, 30_000);
});

describe('a network switch, as CloudFormation sends its events (ClusterNetworkSetup: disable, the chart, then remove)', () => {
  const removal = (p: Props): CloudFormationCustomResourceEvent => ({ ...create(p), LogicalResourceId: 'NetworkVpcCniFinally' } as CloudFormationCustomResourceEvent);

  test('the chart fails: rollback deletes the disable, which restores the DaemonSet exactly; the removal never ran', async () => {
    fixtures.newEksCluster();
    const before = await snapshot(admin);
    await onEvent(create({ action: DISABLE }), deps());
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ [DISABLED_KEY]: 'true' });
    // (the new CNI's chart fails here; CloudFormation rolls back what it created, in reverse order)
    await onEvent(del({ action: DISABLE }), deps());
    const after = await snapshot(admin);
    for (const o of VPC_CNI.objects) {
      expect(after[o.id]?.spec).toEqual(before[o.id]?.spec);
      expect(after[o.id]?.metadata.labels).toEqual(before[o.id]?.metadata.labels);
    }
    expect(logs.filter((e) => e.step === 'done').map((e) => e.action)).toEqual(['DISABLE', 'RESTORE']);
  });

  test('the chart succeeds: the removal deletes the disabled DaemonSet as it is; the stack\'s delete later writes nothing', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    const removed = await onEvent(removal({ action: REMOVE }), deps());
    expect(removed.Data[ATTRIBUTE.changedObjects].split(',')).toContain(DS);
    expect(logs.filter((e) => e.step === 'write').map((e) => `${e.verb} ${e.object}`)).toEqual([
      // The recovery copy is kept before the first delete.
      `PATCH ${DS}`, `APPLY ${recoveryCopyObject(VPC_CNI).id}`, ...VPC_CNI.objects.filter((o) => !o.crd).map((o) => `DELETE ${o.id}`),
    ]);
    logs = [];
    // Stack delete: the removal's Delete undoes nothing, the disable's finds no DaemonSet to restore.
    await onEvent({ ...del({ action: REMOVE }), LogicalResourceId: 'NetworkVpcCniFinally' } as CloudFormationCustomResourceEvent, deps());
    await onEvent(del({ action: DISABLE }), deps());
    expect(logs.filter((e) => e.step === 'write')).toEqual([]);
    expect(await getLive(admin, DS)).toBeUndefined();
  });
});

describe('the Cilium switch with kube-proxy replacement: the VPC CNI disabled, Cilium\'s chart, then the VPC CNI and kube-proxy removed', () => {
  const step = (p: Props, logicalId: string, kind: 'create' | 'del'): CloudFormationCustomResourceEvent =>
    ({ ...(kind === 'create' ? create(p) : del(p)), LogicalResourceId: logicalId } as CloudFormationCustomResourceEvent);
  const kubeProxy = async () => Object.fromEntries(await Promise.all(KUBE_PROXY.objects.map(async (o) => [o.id, await admin.get(objectPath(o))])));

  test('Cilium\'s chart fails: the rollback restores the VPC CNI; kube-proxy\'s removal never ran, so kube-proxy runs as it was', async () => {
    fixtures.newEksCluster();
    fixtures.eksKubeProxy();
    const before = await kubeProxy();
    await onEvent(step({ action: DISABLE }, 'NetworkVpcCni', 'create'), deps());
    // (Cilium's chart fails here: CloudFormation never creates the removals, and deletes the disable)
    await onEvent(step({ action: DISABLE }, 'NetworkVpcCni', 'del'), deps());
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector ?? {}).not.toHaveProperty(DISABLED_KEY);
    expect(await kubeProxy()).toEqual(before);
    expect(logs.filter((e) => e.step === 'write').map((e) => e.object)).toEqual([DS, DS]);
  });

  test('Cilium runs: kube-proxy is removed after a recovery copy; deleting that custom resource (a preset switched, a stack deleted) re-creates nothing', async () => {
    fixtures.newEksCluster();
    fixtures.eksKubeProxy();
    const removeKubeProxy: Props = { action: REMOVE, addon: KUBE_PROXY.name };
    const removed = await onEvent(step(removeKubeProxy, 'NetworkVpcCniKubeProxyRemoval', 'create'), deps());
    expect(removed.PhysicalResourceId).toBe(`${CLUSTER}/kube-proxy-ownership`);
    expect(removed.Data[ATTRIBUTE.changedObjects].split(',')).toEqual(KUBE_PROXY.objects.filter((o) => !o.optional).map((o) => o.id));
    expect(Object.values(await kubeProxy()).every((o) => o === undefined)).toBe(true);
    expect(await admin.get(objectPath(recoveryCopyObject(KUBE_PROXY)))).toBeDefined();
    logs = [];
    await onEvent(step(removeKubeProxy, 'NetworkVpcCniKubeProxyRemoval', 'del'), deps());
    expect(logs.filter((e) => e.step === 'write')).toEqual([]);
    expect(Object.values(await kubeProxy()).every((o) => o === undefined)).toBe(true);
  });
});

describe('a takeover that cannot reproduce what runs says so where the user acts', () => {
  test('the network policy agent and the ConfigMap disagree: the Plan attribute of an adopt names what the chart install will change', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['patch', 'configmap/amazon-vpc-cni', '-n', 'kube-system', '--type', 'merge', '-p', '{"data":{"enable-network-policy-controller":"true"}}']);
    const adopted = await onEvent(create({ action: ADOPT }), deps());
    expect(JSON.parse(adopted.Data[ATTRIBUTE.plan]).notes).toContainEqual(expect.stringMatching(
      /^installing the aws-vpc-cni chart .* still changes it: ConfigMap amazon-vpc-cni: enable-network-policy-controller is "true" but the node agent runs with false/));
  });
});

describe('logs', () => {
  test('a Create, Update and Delete log each step, without the token', async () => {
    fixtures.newEksCluster();
    await onEvent(create({ action: DISABLE }), deps());
    await onEvent(update({ action: ADOPT }, { action: DISABLE }), deps());
    await onEvent(del({ action: ADOPT }), deps());
    expect(logs.length).toBeGreaterThan(10);
    expect(logs.filter((e) => e.step === 'event').map((e) => e.requestType)).toEqual(['Create', 'Update', 'Delete']);
    const token = connection().token!;
    expect(token.length).toBeGreaterThan(8);
    for (const event of logs) {
      expect(typeof event.step).toBe('string');
      expect(JSON.stringify(event)).not.toContain(token);
    }
  });
});

describe('the Plan attribute', () => {
  const write = (i: number) => ({ objectId: `Object/${i}`, verb: 'PATCH' as const, path: '/', reason: 'r'.repeat(300), resourceVersion: '1', body: {} });
  const result = (n: number) => ({
    plan: { action: DISABLE, owner: { kind: 'EKS_BOOTSTRAP' as const, description: '' }, writes: Array.from({ length: n }, (_, i) => write(i)), notes: ['kept'] },
    preflight: [],
  });

  test('is JSON with every write when it fits', () => {
    expect(JSON.parse(planAttribute(result(3))).writes).toHaveLength(3);
  });

  test('stays JSON under its limit (serialized): notes give way first, then writes, each counted', () => {
    const text = planAttribute(result(20), 2500);
    expect(Buffer.byteLength(JSON.stringify(text))).toBeLessThanOrEqual(2500);
    const parsed = JSON.parse(text);
    expect(parsed.writes.length + parsed.moreWrites).toBe(20);
    expect(parsed.notes.length + (parsed.moreNotes ?? 0)).toBe(1);
  });

  test('a dry run shows the API server\'s refusal next to the write', () => {
    const refused = { ...result(1), preflight: [{ objectId: 'Object/0', verb: 'PATCH' as const, accepted: false, refusal: '403 Forbidden: no' }] };
    expect(JSON.parse(planAttribute(refused)).writes[0]).toMatch(/\[REFUSED by the API server: 403 Forbidden: no\]$/);
  });
});
