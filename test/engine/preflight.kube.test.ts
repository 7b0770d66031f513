/**
 * Nothing half-done: before the first real write, the REAL API server checks every planned write
 * (sent with dryRun=All): RBAC, admission policies, validation, preconditions. A refusal stops the
 * action with every object exactly as it was. Identities are real users of the test control plane
 * (client certificates its CA signed), with real RBAC and a real ValidatingAdmissionPolicy.
 */
import { VPC_CNI } from '../../src/addons';
import { Action, KubeClient, objectPath, PreflightRefusedError, run } from '../../src/engine';
import { Cli, connection, Fixtures, RELEASE, resetCluster, waitUntil } from '../support/cluster';
import { certificateIdentity } from '../support/identity';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
const fixtures = new Fixtures(cli);
const USER = 'preflight-test-user';
const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
const CONFIG_MAP = 'ConfigMap/kube-system/amazon-vpc-cni';

/** Every VPC CNI object's resourceVersion (absent: undefined): equal before and after means nothing changed. */
async function resourceVersions(): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const o of VPC_CNI.objects) out[o.id] = (await admin.get(objectPath(o)))?.metadata.resourceVersion;
  return out;
}

function applyAsAdmin(objects: object[]): void {
  cli.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'preflight-test', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n---\n'));
}

function deleteAsAdmin(...refs: string[]): void {
  cli.kubectl(['delete', '--ignore-not-found', '--wait=true', ...refs]);
}

const user = certificateIdentity(USER, ['preflight-test-group']);
const asUser = () => new KubeClient(user.connection);

afterAll(() => {
  admin.close();
  deleteAsAdmin('clusterrolebinding/preflight-test-admin', 'clusterrole/preflight-test-no-configmap-delete', 'clusterrolebinding/preflight-test-no-configmap-delete',
    'validatingadmissionpolicy/preflight-test-deny-configmap', 'validatingadmissionpolicybinding/preflight-test-deny-configmap');
});

describe('a ValidatingAdmissionPolicy refuses the patch of one object for the acting user', () => {
  const policy = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'preflight-test-deny-configmap' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['configmaps'] }] },
      matchConditions: [{ name: 'the-test-user', expression: `request.userInfo.username == '${USER}'` }],
      validations: [{ expression: 'object.metadata.name != \'amazon-vpc-cni\'', message: 'the test policy keeps amazon-vpc-cni as it is' }],
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'preflight-test-deny-configmap' },
    spec: { policyName: 'preflight-test-deny-configmap', validationActions: ['Deny'] },
  };

  beforeAll(async () => {
    applyAsAdmin([{
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'preflight-test-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'User', name: USER, apiGroup: 'rbac.authorization.k8s.io' }],
    }]);
  });
  beforeEach(async () => {
    await resetCluster(admin);
    fixtures.newEksCluster();
  });

  async function enforcePolicy(): Promise<void> {
    applyAsAdmin([policy, binding]);
    // The API server compiles and loads the policy asynchronously: wait until it refuses.
    const client = asUser();
    await waitUntil('the policy refuses', async () => {
      try {
        await client.patch(objectPath(VPC_CNI.objects.find((o) => o.id === CONFIG_MAP)!), { metadata: { labels: { probe: 'x' } } }, 'probe', { dryRun: true });
        return false;
      } catch (e) {
        return /the test policy keeps amazon-vpc-cni/.test(String(e));
      }
    });
    client.close();
  }

  test('adopt fails naming the refused object and why; every object exactly as before; plan adopt lists the one refusal', async () => {
    await enforcePolicy();
    const before = await resourceVersions();
    const client = asUser();
    try {
      const failure = run(client, { addon: VPC_CNI, action: ADOPT });
      await expect(failure).rejects.toThrow(PreflightRefusedError);
      await expect(failure).rejects.toThrow(
        /refused 1 of 7 planned writes in a dry run; nothing was changed:\n- PATCH ConfigMap\/kube-system\/amazon-vpc-cni: 422 Invalid: .*ValidatingAdmissionPolicy .preflight-test-deny-configmap. .*the test policy keeps amazon-vpc-cni as it is.*Exempt the handler's user or group in that policy's binding/s);
      expect(await resourceVersions()).toEqual(before);
      expect(client.requests.PATCH ?? 0).toBe(0);

      const planned = await run(client, { addon: VPC_CNI, action: ADOPT, dryRun: true });
      expect(planned.preflight.filter((p) => !p.accepted)).toEqual([
        { objectId: CONFIG_MAP, verb: 'PATCH', accepted: false, refusal: expect.stringMatching(/the test policy keeps amazon-vpc-cni/) },
      ]);
      expect(planned.preflight.filter((p) => p.accepted)).toHaveLength(6);
      expect(await resourceVersions()).toEqual(before);
    } finally {
      client.close();
    }
  });

  test('without the policy, the same adopt succeeds', async () => {
    deleteAsAdmin('validatingadmissionpolicybinding/preflight-test-deny-configmap', 'validatingadmissionpolicy/preflight-test-deny-configmap');
    const client = asUser();
    try {
      // The API server may still hold a policy deleted a moment ago: a conflict-free retry until it lets go.
      let result: Awaited<ReturnType<typeof run>> | undefined;
      await waitUntil('the policy is gone', async () => {
        try {
          result = await run(client, { addon: VPC_CNI, action: ADOPT });
          return true;
        } catch (e) {
          if (e instanceof PreflightRefusedError) return false;
          throw e;
        }
      });
      expect(result!.changed).toEqual(VPC_CNI.objects.map((o) => o.id));
    } finally {
      client.close();
    }
  });
});

describe('RBAC without delete on one object', () => {
  beforeAll(() => {
    deleteAsAdmin('clusterrolebinding/preflight-test-admin');
    const named = VPC_CNI.objects.filter((o) => o.id !== CONFIG_MAP);
    const group = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '');
    applyAsAdmin([
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'preflight-test-no-configmap-delete' },
        rules: [
          ...named.map((o) => ({ apiGroups: [group(o.apiVersion)], resources: [o.resource], resourceNames: [o.name], verbs: ['get', 'delete'] })),
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['amazon-vpc-cni'], verbs: ['get'] },
          // The recovery copy remove keeps before its first delete.
          { apiGroups: [''], resources: ['configmaps'], resourceNames: ['cdk-vpc-cni-ownership-recovery-vpc-cni'], verbs: ['get', 'patch', 'create'] },
          { apiGroups: ['crd.k8s.amazonaws.com', 'networking.k8s.aws'], resources: ['eniconfigs', 'policyendpoints'], verbs: ['list'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'preflight-test-no-configmap-delete' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'preflight-test-no-configmap-delete' },
        subjects: [{ kind: 'User', name: USER, apiGroup: 'rbac.authorization.k8s.io' }],
      },
    ]);
  });
  beforeEach(async () => {
    await resetCluster(admin);
    fixtures.newEksCluster();
  });

  test('remove deletes nothing; the refusal names the object and the verb to grant', async () => {
    const before = await resourceVersions();
    const client = asUser();
    try {
      let failure: unknown;
      await waitUntil('the RBAC is in force', async () => {
        try {
          await run(client, { addon: VPC_CNI, action: { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' } });
        } catch (e) {
          failure = e;
          return e instanceof PreflightRefusedError;
        }
        throw new Error('remove succeeded without delete on the ConfigMap');
      });
      expect(String(failure)).toMatch(/- DELETE ConfigMap\/kube-system\/amazon-vpc-cni: 403 Forbidden: .*Grant the handler "delete" on ConfigMap\/kube-system\/amazon-vpc-cni/s);
      expect((failure as PreflightRefusedError).refusals).toHaveLength(1);
      expect(client.requests.DELETE ?? 0).toBe(0);
      expect(await resourceVersions()).toEqual(before);
    } finally {
      client.close();
    }
  });
});

describe('the preflight never changes anything', () => {
  beforeEach(async () => resetCluster(admin));

  test.each<[string, Action]>([
    ['adopt', ADOPT],
    ['adopt, handing over an imperative edit', { ...ADOPT, handOver: ['kubectl-set'] } as Action],
    ['remove (every CRD)', { type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd: true }],
    ['disable', { type: 'DISABLE' }],
  ])('a dry run of %s: every write accepted, every resourceVersion unchanged', async (_name, action) => {
    fixtures.newEksCluster();
    fixtures.userSetEnv('USER_ADDED', 'kept');
    const before = await resourceVersions();
    const result = await run(admin, { addon: VPC_CNI, action, dryRun: true });
    expect(result.plan.writes.length).toBeGreaterThan(0);
    expect(result.preflight.map((p) => p.accepted)).toEqual(result.plan.writes.map(() => true));
    expect(await resourceVersions()).toEqual(before);
  });

  test('a dry run of restore after disable: accepted, unchanged', async () => {
    fixtures.newEksCluster();
    await run(admin, { addon: VPC_CNI, action: { type: 'DISABLE' } });
    const before = await resourceVersions();
    const result = await run(admin, { addon: VPC_CNI, action: { type: 'RESTORE' }, dryRun: true });
    expect(result.preflight).toEqual([{ objectId: 'DaemonSet/kube-system/aws-node', verb: 'PATCH', accepted: true }]);
    expect(await resourceVersions()).toEqual(before);
  });
});
