/**
 * CloudFormation rejects a custom resource response over 4,096 bytes. Failures and successes are
 * measured as the Provider framework sends them, with the longest ids CloudFormation can send, for
 * the worst answers we can provoke from a REAL API server: an admission webhook's huge denial of
 * every write (injected by our fault proxy in front of it).
 */
import { EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { Action, KubeClient } from '../../src/engine';
import { onEvent } from '../../src/handler/handler';
import { boundedMessage, responseSafeError, RESPONSE_LIMIT, serializedBytes, splitForResponse } from '../../src/handler/response';
import { failureBytes, handlerDeps, LONGEST_EVENT, mockEksCluster, ownershipEvent, successBytes } from '../support/cfn-events';
import { Cli, connection, Fixtures, resetCluster } from '../support/cluster';
import { FaultProxy } from '../support/fault-proxy';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CLUSTER = 'c'.repeat(100);
const ADOPT: Action = { type: 'ADOPT', releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system', fieldManager: 'helm' };
const failed = (thrown: Error) => failureBytes(thrown, `${CLUSTER}/vpc-cni-ownership`);

describe('bounded pieces', () => {
  test('boundedMessage keeps a short message, cuts a long one (escapes counted) with a pointer to the log', () => {
    expect(boundedMessage('short')).toBe('short');
    const long = 'a"b\n'.repeat(2000);
    const bounded = boundedMessage(long, 500, 'see the log');
    expect(serializedBytes(bounded)).toBeLessThanOrEqual(500);
    expect(bounded).toMatch(/… \(8000 bytes; see the log\)$/);
  });

  test('splitForResponse: each piece within the budget serialized, never inside a character, joined back whole', () => {
    const text = `{"k":"${'é😀"\\\n'.repeat(300)}"}`;
    const pieces = splitForResponse(text, 100);
    for (const piece of pieces) expect(serializedBytes(piece)).toBeLessThanOrEqual(100);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(piece).toBe(Buffer.from(piece, 'utf8').toString('utf8'));
  });

  test('responseSafeError: bounded, one-line stack (no frames appended to Reason), the request named', () => {
    const e = Object.assign(new Error('x'.repeat(50_000)), { name: 'PreflightRefusedError' });
    const safe = responseSafeError(e, 'req-1');
    expect(safe.message).toMatch(/^PreflightRefusedError: x+ … \(\d+ bytes; the function's log has the whole message \(request req-1\)\)$/);
    expect(safe.stack).not.toContain('\n');
    expect(failed(safe)).toBeLessThanOrEqual(RESPONSE_LIMIT);
    // Without it, the same error would not fit.
    expect(failed(e)).toBeGreaterThan(RESPONSE_LIMIT);
  });
});

describe('the worst answers of a real API server', () => {
  const eksMock = mockClient(EKSClient);
  const admin = new KubeClient(connection());
  const fixtures = new Fixtures(new Cli(layerTools(LAYER_PACKAGES[0])));
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
    mockEksCluster(eksMock, CLUSTER, { endpoint: proxy.endpoint });
    await resetCluster(admin);
    fixtures.newEksCluster();
  });

  const deps = () => handlerDeps();

  test('an admission webhook denies every write with a 40 KB message: the failure response stays under 4,096 bytes', async () => {
    const denial = `admission webhook "policy.example.com" denied the request: ${'violation: the object breaks rule R; '.repeat(1100)}`;
    proxy.addRule({
      method: 'PATCH',
      times: 1000,
      fault: { kind: 'answer', status: 403, contentType: 'application/json', body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', message: denial, code: 403 }) },
    });
    const event = ownershipEvent('Create', CLUSTER, ADOPT);
    let thrown: unknown;
    await onEvent(event, deps()).catch((e) => (thrown = e));
    expect(String(thrown)).toMatch(/refused 7 of 7 planned writes.*admission webhook "policy.example.com" denied the request/s);
    // Each refusal is already bounded; the whole error still has to be cut for the response.
    expect((thrown as Error).message.length).toBeLessThan(denial.length);
    const safe = responseSafeError(thrown, LONGEST_EVENT.RequestId);
    expect(failed(safe)).toBeLessThanOrEqual(RESPONSE_LIMIT);
    expect(safe.message).toMatch(/^PreflightRefusedError: The API server refused 7 of 7 planned writes/);
  });

  test('a SKIP whose owner is a release with a 4,000-character name: the success response stays under 4,096 bytes', async () => {
    const release = 'r'.repeat(4000);
    new Cli(layerTools(LAYER_PACKAGES[0])).kubectl(['annotate', '-n', 'kube-system', 'daemonset/aws-node',
      `meta.helm.sh/release-name=${release}`, 'meta.helm.sh/release-namespace=kube-system']);
    const response = await onEvent(ownershipEvent('Create', CLUSTER, { type: 'DISABLE' }, { ifOwnedByOthers: 'SKIP' }), deps());
    expect(successBytes(response)).toBeLessThanOrEqual(RESPONSE_LIMIT);
    expect(JSON.parse(response.Data.Plan).skipped).toMatch(/^left as it is: owned by Helm release "r+.*bytes; the handler's log has the whole message\)$/);
    expect(response.Data.PreviousOwnerDescription).toMatch(/^Helm release "r+/);
  });

  test('a successful dry run whose plan, notes and owner description are as long as they get: the success response stays under 4,096 bytes', async () => {
    // Customisations on every object make the plan's notes long.
    for (const kind of ['daemonset/aws-node', 'serviceaccount/aws-node', 'configmap/amazon-vpc-cni']) {
      for (let i = 0; i < 5; i++) new Cli(layerTools(LAYER_PACKAGES[0])).kubectl(['label', '-n', 'kube-system', kind, `custom-label-${i}=${'v'.repeat(40)}`]);
    }
    const event = ownershipEvent('Create', CLUSTER, ADOPT, { dryRun: true });
    const response = await onEvent(event, deps());
    const bytes = successBytes(response);
    expect(bytes).toBeLessThanOrEqual(RESPONSE_LIMIT);
    expect(JSON.parse(response.Data.Plan).writes.length + (JSON.parse(response.Data.Plan).moreWrites ?? 0)).toBe(7);
  });
});
