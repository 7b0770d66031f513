/**
 * When the handler's access takes effect, and whose it is, on the REAL API server:
 * - the grants (roles and bindings) go in only after the admission policies are seen in force, so a
 *   forbidden write of the handler's, tried in a loop from the moment the policies are applied, is
 *   never accepted (this is how the window was found: with policies and bindings in one manifest, a
 *   dry-run image change was accepted for about 0.7 s);
 * - the handler fails closed: while a write its policies forbid is accepted, it writes nothing;
 * - two stacks on one cluster have their own identities and access objects: neither replaces nor
 *   deletes the other's, and each handler is held by its own policies only.
 */
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_eks as eks } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ClusterTarget, CniAction, VpcCniOwnership } from '../../src';
import { HandlerIdentity } from '../../src/access';
import { VPC_CNI } from '../../src/addons';
import {
  KubeApiError, KubeClient, objectPath, PolicyNotInForceError, PolicyProbeTarget, probePolicies, run, waitForPoliciesInForce,
} from '../../src/engine';
import { Cli, connection, DS, Fixtures, getLive, resetCluster, snapshot } from '../support/cluster';
import { constructAccess, identityAt } from '../support/construct-access';
import { certificateIdentity } from '../support/identity';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
const fixtures = new Fixtures(cli);
const docs = (manifest: readonly unknown[]) => manifest.map((m) => JSON.stringify(m)).join('\n---\n');
const clients: KubeClient[] = [];
afterAll(() => {
  for (const c of [admin, ...clients]) c.close();
});

interface StackAccess {
  readonly identity: HandlerIdentity;
  readonly limits: any[];
  readonly grants: any[];
  readonly probe: PolicyProbeTarget;
  readonly handler: KubeClient;
}

/** What stack `name` with one VpcCniOwnership doing `action` on the cluster "shared" applies, and its handler's client. */
function stackAccess(name: string, action: CniAction): StackAccess {
  const stack = new Stack(new App(), name, { env: { account: '111111111111', region: 'eu-west-1' } });
  const cluster = eks.Cluster.fromClusterAttributes(stack, 'Shared', {
    clusterName: 'shared', kubectlRoleArn: 'arn:aws:iam::111111111111:role/kubectl', kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
  });
  new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action });
  const access = constructAccess(Template.fromStack(stack));
  const identity = identityAt(name, `${name}/Cni`);
  const checked = access.check!.properties;
  const probe = { namespace: checked.ProbeNamespace, name: checked.ProbeName, marker: checked.PolicyMarker };
  const handler = new KubeClient(certificateIdentity(identity.username, [identity.group]).connection, { maxAttempts: 1 });
  clients.push(handler);
  return { identity, limits: access.limits, grants: access.grants, probe, handler };
}

const remove = (s: StackAccess) => cli.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], docs([...s.limits, ...s.grants]));

/** Writes a compromised handler would try first: another image on aws-node, itself into aws-node's binding. */
function forbiddenWrites(handler: KubeClient, identity: HandlerIdentity): Promise<unknown>[] {
  return [
    handler.patch(objectPath(VPC_CNI.workload), { spec: { template: { spec: { containers: [{ name: 'aws-node', image: 'attacker.example/cni:1' }] } } } },
      'access-order-test', { dryRun: true }),
    handler.patch('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/aws-node',
      { subjects: [{ kind: 'Group', name: identity.group, apiGroup: 'rbac.authorization.k8s.io' }] }, 'access-order-test', { dryRun: true }),
  ];
}

/** Tries the forbidden writes in a loop until stopped; returns how many rounds ran and how many writes were accepted. */
function probeLoop(s: StackAccess): { stop: () => Promise<{ rounds: number; accepted: string[] }> } {
  let running = true;
  const accepted: string[] = [];
  let rounds = 0;
  const loop = (async () => {
    while (running) {
      const results = await Promise.allSettled(forbiddenWrites(s.handler, s.identity));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') accepted.push(`${Date.now()} write ${i}`);
        else if (!(r.reason instanceof KubeApiError && r.reason.status === 403)) throw r.reason;
      });
      rounds++;
    }
  })();
  return { stop: async () => { running = false; await loop; return { rounds, accepted }; } };
}

beforeEach(async () => {
  await resetCluster(admin);
  fixtures.newEksCluster();
});

test('the grants go in only once the policies refuse a forbidden write of the handler\'s own: tried in a loop from the first moment, none is ever accepted', async () => {
  const s = stackAccess('OrderA', CniAction.remove());
  try {
    for (let round = 0; round < 3; round++) {
      remove(s);
      await new Promise((r) => setTimeout(r, 300));
      const loop = probeLoop(s);
      cli.kubectl(['apply', '-f', '-'], docs(s.limits));
      // The access check, as the handler: what CloudFormation waits for before it applies the grants.
      const probes = await waitForPoliciesInForce(s.handler, s.probe, { timeoutMs: 30_000, intervalMs: 20 });
      cli.kubectl(['apply', '-f', '-'], docs(s.grants));
      await new Promise((r) => setTimeout(r, 1500));
      const { rounds, accepted } = await loop.stop();
      expect(rounds).toBeGreaterThan(10);
      expect(probes).toBeGreaterThanOrEqual(1);
      expect(accepted).toEqual([]);
    }
    // With everything in force, the action itself goes through (as a dry run: every write accepted).
    const planned = await run(s.handler, { addon: VPC_CNI, action: { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' }, dryRun: true });
    expect(planned.preflight.length).toBeGreaterThan(0);
    expect(planned.preflight.filter((p) => !p.accepted)).toEqual([]);
  } finally {
    remove(s);
  }
});

test('fail closed: while a write the policies forbid is accepted (the policies deleted), the handler refuses to write, and says why', async () => {
  const s = stackAccess('OrderB', CniAction.disable());
  try {
    cli.kubectl(['apply', '-f', '-'], docs(s.limits));
    await waitForPoliciesInForce(s.handler, s.probe, { timeoutMs: 30_000 });
    cli.kubectl(['apply', '-f', '-'], docs(s.grants));
    // Someone deletes the policies; the RBAC stays.
    cli.kubectl(['delete', '-f', '-'], docs(s.limits.filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy'))));
    expect(await waitForValue(async () => (await probePolicies(s.handler, s.probe)).outcome, 'ACCEPTED')).toBe('ACCEPTED');
    const before = await snapshot(admin);
    const error = await waitForPoliciesInForce(s.handler, s.probe, { timeoutMs: 3_000, intervalMs: 200 }).then(() => undefined, (e) => e);
    expect(error).toBeInstanceOf(PolicyNotInForceError);
    expect(error.message).toMatch(/a dry-run write they forbid was ACCEPTED.*Nothing was changed/);
    expect(await snapshot(admin)).toEqual(before);
  } finally {
    remove(s);
  }
});

test('two stacks on one cluster: their own identities and objects; deleting one stack\'s access leaves the other\'s policies in force', async () => {
  const a = stackAccess('StackA', CniAction.disable());
  const b = stackAccess('StackB', CniAction.remove());
  try {
    const names = (s: StackAccess) => [...s.limits, ...s.grants].map((m) => `${m.kind}/${m.metadata.name}`);
    expect(a.identity.group).not.toBe(b.identity.group);
    expect(names(a).filter((n) => names(b).includes(n))).toEqual([]);
    for (const s of [a, b]) {
      cli.kubectl(['apply', '-f', '-'], docs(s.limits));
      await waitForPoliciesInForce(s.handler, s.probe, { timeoutMs: 30_000 });
      cli.kubectl(['apply', '-f', '-'], docs(s.grants));
    }
    // Each handler is held by its own policy only: B may delete (its remove), A may not.
    const deleteDs = (s: StackAccess) => s.handler.delete(objectPath(VPC_CNI.workload), undefined, { dryRun: true }).then(() => 'accepted', (e) => e.status);
    expect(await waitForValue(() => deleteDs(b), 'accepted')).toBe('accepted');
    expect(await deleteDs(a)).toBe(403);

    // Stack B is deleted: its access goes, A's stays in force and A's action still works.
    remove(b);
    await waitForValue(() => deleteDs(b), 403);
    for (const write of forbiddenWrites(a.handler, a.identity)) await expect(write).rejects.toMatchObject({ status: 403 });
    await waitForPoliciesInForce(a.handler, a.probe, { timeoutMs: 5_000 });
    const disabled = await run(a.handler, { addon: VPC_CNI, action: { type: 'DISABLE' } });
    expect(disabled.changed).toEqual([DS]);
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ 'cdk-vpc-cni-ownership/disabled': 'true' });
  } finally {
    remove(a);
    remove(b);
  }
});

/** RBAC and policies follow informers: the value an action's access gives settles within moments. */
async function waitForValue<T>(read: () => Promise<T>, want: T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (value !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}
