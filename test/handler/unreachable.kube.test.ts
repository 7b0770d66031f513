/**
 * The handler when the cluster's API server cannot be reached: Create and Update fail well before
 * CloudFormation would give up, with a message that says what to check. A Delete that must restore a
 * disable fails the same way while the cluster is ACTIVE (the VPC CNI would stay disabled unseen),
 * and succeeds at once when the cluster is being deleted.
 */
import { EKSClient } from '@aws-sdk/client-eks';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Action } from '../../src/engine';
import { onEvent } from '../../src/handler/handler';
import { handlerDeps, mockEksCluster, ownershipEvent } from '../support/cfn-events';
import { blackHole, closedPort } from '../support/fault-proxy';

const eksMock = mockClient(EKSClient);
const CLUSTER = 'unreachable-cluster';

const event = (requestType: 'Create' | 'Delete', action: Action) => ownershipEvent(requestType, CLUSTER, action);

async function handle(endpoint: string, e: CloudFormationCustomResourceEvent, logs: any[], status: 'ACTIVE' | 'DELETING' = 'ACTIVE') {
  mockEksCluster(eksMock, CLUSTER, { endpoint, status });
  return onEvent(e, handlerDeps({ requestTimeoutMs: 500, log: (entry) => logs.push(entry) }));
}

describe.each([
  ['nobody listens on the endpoint', async () => ({ endpoint: await closedPort(), close: async () => {} })],
  ['the endpoint accepts connections and never answers', blackHole],
])('%s', (_name, makeEndpoint) => {
  test('Create fails within seconds, saying what to check; Delete of a disable fails while ACTIVE and succeeds once DELETING', async () => {
    const target = await makeEndpoint();
    try {
      const logs: any[] = [];
      const started = Date.now();
      await expect(handle(target.endpoint, event('Create', { type: 'DISABLE' }), logs))
        .rejects.toThrow(/Cannot reach the Kubernetes API of EKS cluster "unreachable-cluster" at https:\/\/127\.0\.0\.1:\d+: .*handlerNetwork/);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(logs.filter((l) => l.step === 'retry').length).toBeGreaterThan(0);

      const deleteStarted = Date.now();
      await expect(handle(target.endpoint, event('Delete', { type: 'DISABLE' }), []))
        .rejects.toThrow(/Cannot reach the Kubernetes API .* stays disabled until it is restored, so this delete fails/s);
      expect(Date.now() - deleteStarted).toBeLessThan(15_000);

      const deleteLogs: any[] = [];
      const response = await handle(target.endpoint, event('Delete', { type: 'DISABLE' }), deleteLogs, 'DELETING');
      expect(response.Data).toEqual({});
      expect(deleteLogs).toContainEqual(expect.objectContaining({ step: 'delete', result: 'the cluster is DELETING; nothing to restore' }));
    } finally {
      await target.close();
    }
  });
});
