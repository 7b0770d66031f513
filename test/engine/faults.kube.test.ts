/**
 * The engine under faults: our fault-injecting proxy sits between the engine and the REAL API
 * server. Each run converges with bounded retries, or fails before its deadline naming what was
 * done and what was not; a re-run converges; nothing the user had is lost.
 */
import { VPC_CNI } from '../../src/addons';
import { Action, KubeClient, KubeClientOptions, KubeConnection, KubeNetworkError, objectPath, PartialApplyError, run, RunOptions } from '../../src/engine';
import { Cli, connection, DS, Fixtures, RELEASE, resetCluster, snapshot } from '../support/cluster';
import { blackHole, closedPort, FaultProxy } from '../support/fault-proxy';
import { unrelatedCa } from '../support/identity';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
const SA = 'ServiceAccount/kube-system/aws-node';
const CR = 'ClusterRole/aws-node';
const PATCH_OF = (id: string) => new RegExp(`^${objectPath(VPC_CNI.objects.find((o) => o.id === id)!)}(\\?|$)`);
/** The real write only, not its preflight (the same request with dryRun=All). */
const REAL_PATCH_OF = (id: string) => new RegExp(`^${objectPath(VPC_CNI.objects.find((o) => o.id === id)!)}\\?(?!.*dryRun)`);

const admin = new KubeClient(connection());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
const fixtures = new Fixtures(cli);
let proxy: FaultProxy;

beforeAll(async () => {
  proxy = await FaultProxy.start(process.env.CNI_TEST_CONTROLPLANE!);
});
afterAll(async () => {
  admin.close();
  await proxy.close();
});
beforeEach(async () => {
  proxy.clearRules();
  proxy.requests.length = 0;
  await resetCluster(admin);
  fixtures.newEksCluster();
  cli.kubectl(['annotate', 'daemonset/aws-node', '-n', 'kube-system', 'team.example.com/owner=network']);
});

function through(conn: Partial<KubeConnection> = {}, options: KubeClientOptions = {}): KubeClient {
  return new KubeClient({ ...connection(), endpoint: proxy.endpoint, ...conn }, { backoffMs: 50, ...options });
}

async function runThrough(options: Partial<RunOptions> = {}, conn: Partial<KubeConnection> = {}, clientOptions: KubeClientOptions = {}) {
  const client = through(conn, clientOptions);
  try {
    return await run(client, { addon: VPC_CNI, action: ADOPT, ...options });
  } finally {
    client.close();
  }
}

/** The state a clean adopt reaches, minus what changes on every write. */
async function adoptedState() {
  const all = await snapshot(admin);
  return Object.fromEntries(Object.entries(all).map(([id, o]) => [id, o && {
    labels: o.metadata.labels,
    annotations: o.metadata.annotations,
    managers: (o.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`).sort(),
    spec: o.spec,
    data: o.data,
    rules: o.rules,
  }]));
}

let cleanAdopt: Awaited<ReturnType<typeof adoptedState>>;

test('reference: a clean adopt through the proxy', async () => {
  await runThrough();
  cleanAdopt = await adoptedState();
  expect(cleanAdopt[DS]!.annotations).toMatchObject({ 'team.example.com/owner': 'network', 'meta.helm.sh/release-name': RELEASE });
});

test.each<[string, () => void]>([
  ['409 Conflict on a write: re-read, re-plan', () => proxy.addRule({ method: 'PATCH', path: PATCH_OF(DS), times: 1, fault: { kind: 'status', status: 409 } })],
  ['429 with Retry-After on a read', () => proxy.addRule({ method: 'GET', times: 1, fault: { kind: 'status', status: 429, retryAfterSeconds: 1 } })],
  ['500 then 503 on a write', () => {
    proxy.addRule({ method: 'PATCH', path: PATCH_OF(SA), times: 1, fault: { kind: 'status', status: 500 } });
    proxy.addRule({ method: 'PATCH', path: PATCH_OF(SA), times: 1, fault: { kind: 'status', status: 503 } });
  }],
  ['an answer slower than the per-request timeout', () => proxy.addRule({ method: 'PATCH', path: PATCH_OF(CR), times: 1, fault: { kind: 'delay', ms: 1500 } })],
  ['a connection reset before the write reached the server', () => proxy.addRule({ method: 'PATCH', path: PATCH_OF(DS), times: 1, fault: { kind: 'reset' } })],
  ['a connection reset after the write was applied (the answer is lost)', () => proxy.addRule({ method: 'PATCH', path: PATCH_OF(DS), times: 1, fault: { kind: 'reset-after-forward' } })],
])('%s: converges to exactly the clean result', async (_name, inject) => {
  inject();
  const result = await runThrough({}, { requestTimeoutMs: 1000 });
  expect(proxy.requests.some((r) => r.fault)).toBe(true);
  expect(await adoptedState()).toEqual(cleanAdopt);
  expect(result.changed).toEqual(VPC_CNI.objects.map((o) => o.id));
  // Bounded: a read, a preflight and a write per object, twice at most (one re-plan), plus the retried request.
  expect(proxy.requests.length).toBeLessThanOrEqual(2 * (VPC_CNI.objects.length * 3) + 3);
});

test('a write that keeps failing in the preflight: refused before anything is changed, the reason named', async () => {
  proxy.addRule({ method: 'PATCH', path: PATCH_OF(CR), times: 1000, fault: { kind: 'status', status: 503 } });
  const before = await snapshot(admin);
  await expect(runThrough()).rejects.toThrow(/refused 1 of 7 planned writes in a dry run; nothing was changed:\n- PATCH ClusterRole\/aws-node: 503/);
  expect(await snapshot(admin)).toEqual(before);
});

test('a PATCH answer that still holds an entry of the handed-over manager (a webhook rewriting managedFields) is refused in the preflight', async () => {
  const ds = await admin.get(objectPath(VPC_CNI.objects.find((o) => o.id === DS)!));
  // What a mutating webhook that puts managedFields back would answer: the object, eks's entry still in it.
  proxy.addRule({
    method: 'PATCH',
    path: PATCH_OF(DS),
    times: 1000,
    fault: { kind: 'answer', status: 200, contentType: 'application/json', body: JSON.stringify(ds) },
  });
  const before = await snapshot(admin);
  await expect(runThrough()).rejects.toThrow(/- PATCH DaemonSet\/kube-system\/aws-node: DaemonSet\/kube-system\/aws-node: the API server kept managedFields entries of "eks" after the hand-over.*mutating webhook/s);
  expect(await snapshot(admin)).toEqual(before);
});

const POLICY_ENDPOINTS_LIST = /^\/apis\/networking\.k8s\.aws\/v1alpha1\/policyendpoints(\?|$)/;
const REMOVE_IF_UNUSED: Action = { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED', deletePolicyEndpointCrd: true };

test('a CRD the API server does not serve yet (404 for its custom resources, as just after it is created): counted once served, then removed', async () => {
  proxy.addRule({ method: 'GET', path: POLICY_ENDPOINTS_LIST, times: 2, fault: { kind: 'status', status: 404 } });
  const result = await runThrough({ action: REMOVE_IF_UNUSED });
  expect(proxy.requests.filter((r) => POLICY_ENDPOINTS_LIST.test(r.path)).map((r) => r.fault)).toEqual(['status', 'status', undefined]);
  expect(result.changed).toContain('CustomResourceDefinition/policyendpoints.networking.k8s.aws');
});

test('a CRD whose custom resources are never served: whether it is used cannot be known, so remove stops before any write, naming it', async () => {
  proxy.addRule({ method: 'GET', path: POLICY_ENDPOINTS_LIST, times: 1000, fault: { kind: 'status', status: 404 } });
  const before = await snapshot(admin);
  await expect(runThrough({ action: REMOVE_IF_UNUSED })).rejects.toThrow(
    /CustomResourceDefinition\/policyendpoints\.networking\.k8s\.aws: the API server answers 404 for its custom resources .*its conditions: .*Established=True.*Nothing was changed/s,
  );
  // Bounded: five attempts at the list, then no write of any kind.
  expect(proxy.requests.filter((r) => POLICY_ENDPOINTS_LIST.test(r.path))).toHaveLength(5);
  expect(proxy.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  expect(await snapshot(admin)).toEqual(before);
});

test('a write that keeps failing after the preflight: a bounded number of attempts, an error naming what was and was not done; a re-run converges', async () => {
  proxy.addRule({ method: 'PATCH', path: REAL_PATCH_OF(CR), times: 1000, fault: { kind: 'status', status: 503 } });
  const attempt = runThrough();
  await expect(attempt).rejects.toThrow(PartialApplyError);
  // Adopt's writes go out together: everything but the ClusterRole is done.
  await expect(attempt).rejects.toThrow(/Done: DaemonSet\/kube-system\/aws-node, ServiceAccount\/kube-system\/aws-node, ClusterRoleBinding\/aws-node, .*\. Not done: ClusterRole\/aws-node\./);
  // One run: four attempts at the failing PATCH, no more.
  expect(proxy.requests.filter((r) => r.method === 'PATCH' && r.fault === 'status')).toHaveLength(4);

  proxy.clearRules();
  const rerun = await runThrough();
  expect(rerun.changed).toEqual([CR]);
  expect(await adoptedState()).toEqual(cleanAdopt);
});

test('a server that never answers: the run stops before its deadline with a clear error', async () => {
  proxy.addRule({ method: 'PATCH', path: REAL_PATCH_OF(SA), times: 1000, fault: { kind: 'hang' } });
  const started = Date.now();
  const deadline = started + 4000;
  const attempt = runThrough({ deadline }, { requestTimeoutMs: 800 }, { deadline });
  await expect(attempt).rejects.toThrow(/no answer within 800 ms\nDone: DaemonSet\/kube-system\/aws-node, ClusterRole\/aws-node, .*\. Not done: ServiceAccount\/kube-system\/aws-node\./);
  expect(Date.now() - started).toBeLessThan(4000 + 1000);
});

test('429 with a Retry-After longer than the client honours waits at most 10 s; the deadline wins over it', async () => {
  proxy.addRule({ method: 'GET', times: 1000, fault: { kind: 'status', status: 429, retryAfterSeconds: 3600 } });
  const started = Date.now();
  await expect(runThrough({}, {}, { deadline: started + 2000 })).rejects.toThrow(/429/);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('an endpoint nobody listens on, and one that accepts but never answers: KubeNetworkError, bounded in time', async () => {
  const refused = new KubeClient({ ...connection(), endpoint: await closedPort() }, { backoffMs: 50 });
  const started = Date.now();
  const failure = run(refused, { addon: VPC_CNI, action: ADOPT });
  await expect(failure).rejects.toThrow(KubeNetworkError);
  await expect(failure).rejects.toThrow(/ECONNREFUSED/);
  // The reads go out together; each is tried at most four times.
  expect(refused.requestCount).toBeLessThanOrEqual(4 * VPC_CNI.objects.length);
  refused.close();

  const hole = await blackHole();
  const silent = new KubeClient({ ...connection(), endpoint: hole.endpoint, requestTimeoutMs: 300 }, { backoffMs: 50, maxAttempts: 2 });
  await expect(run(silent, { addon: VPC_CNI, action: ADOPT })).rejects.toThrow(/no answer within 300 ms/);
  silent.close();
  await hole.close();
  expect(Date.now() - started).toBeLessThan(10_000);
});

test('TLS is verified with the cluster CA: another CA fails at once, without retries', async () => {
  const client = through({ caData: unrelatedCa().pem });
  await expect(run(client, { addon: VPC_CNI, action: { type: 'INSPECT' } })).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  expect(proxy.requests).toHaveLength(0);
  client.close();
});

test('two runs at the same time on one cluster end in one consistent, adopted state', async () => {
  const [a, b] = await Promise.all([runThrough(), runThrough()]);
  expect(await adoptedState()).toEqual(cleanAdopt);
  // Each object was adopted by one run or the other (a 409 made the loser re-plan and find it done).
  expect(new Set([...a.changed, ...b.changed])).toEqual(new Set(VPC_CNI.objects.map((o) => o.id)));
  const again = await runThrough();
  expect(again.changed).toEqual([]);
});
