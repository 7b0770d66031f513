/**
 * The handler when the EKS API itself cannot be reached (a handler in a VPC without a route to it):
 * it fails within seconds with a message saying what to check, instead of at the Lambda timeout.
 * The real @aws-sdk/client-eks against a closed port, a black hole, and our EKS stand-in.
 */
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import { EKS_CONNECTION_TIMEOUT_MS, EKS_REQUEST_TIMEOUT_MS, eksClient, EksUnreachableError } from '../../src/handler/eks-client';
import { onEvent } from '../../src/handler/handler';
import { ownershipEvent } from '../support/cfn-events';
import { EksStandin } from '../support/eks-standin';
import { blackHole, closedPort } from '../support/fault-proxy';

const REGION = 'eu-west-1';
const CREDENTIALS = { accessKeyId: 'AKIDEKSUNREACHABLE01', secretAccessKey: 'not-a-real-secret' };

const createEvent = ownershipEvent('Create', 'prod', { type: 'DISABLE' });

function handle(eks: ReturnType<typeof eksClient>) {
  return onEvent(createEvent, {
    eks,
    region: REGION,
    credentials: async () => CREDENTIALS,
    deadline: Date.now() + 60_000,
    log: () => {},
  });
}

describe.each([
  ['nobody listens on the EKS endpoint', async () => ({ endpoint: await closedPort(), close: async () => {} }), /ECONNREFUSED/],
  ['the EKS endpoint accepts connections and never answers', blackHole, /exceeded the configured 600 ms requestTimeout/],
])('%s', (_name, makeEndpoint, cause) => {
  test('Create fails within seconds, naming the host and what to check', async () => {
    const target = await makeEndpoint();
    const eks = eksClient({
      region: REGION,
      credentials: async () => CREDENTIALS,
      endpoint: target.endpoint,
      connectionTimeoutMs: 300,
      requestTimeoutMs: 600,
      maxAttempts: 2,
    });
    try {
      const started = Date.now();
      const failure = handle(eks);
      await expect(failure).rejects.toThrow(EksUnreachableError);
      await expect(failure).rejects.toThrow(/^Cannot reach the EKS API at 127\.0\.0\.1:\d+ \(DescribeClusterCommand\): .*a NAT gateway or an EKS interface VPC endpoint\.$/s);
      await expect(failure).rejects.toThrow(cause);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      eks.destroy();
      await target.close();
    }
  });
});

test('the Lambda entry point\'s EKS client: the default timeouts, and our message (AWS_ENDPOINT_URL_EKS at a closed port)', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL_EKS: await closedPort(),
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
  });
  try {
    let lambda: typeof import('../../src/vpc-cni-ownership.lambda') | undefined;
    jest.isolateModules(() => {
      lambda = jest.requireActual('../../src/vpc-cni-ownership.lambda');
    });
    await expect(lambda!.handler(createEvent)).rejects.toThrow(/^EksUnreachableError: Cannot reach the EKS API at 127\.0\.0\.1:\d+ \(DescribeClusterCommand\): .*ECONNREFUSED/s);
  } finally {
    process.env = saved;
  }

  // The same factory with its defaults: both timeouts set, and a breach of requestTimeout is an error, not a warning.
  const eks = eksClient({ region: REGION, credentials: async () => CREDENTIALS, endpoint: await closedPort(), maxAttempts: 1 });
  await expect(eks.send(new DescribeClusterCommand({ name: 'prod' }))).rejects.toThrow(EksUnreachableError);
  expect((eks.config.requestHandler as any).httpHandlerConfigs()).toMatchObject({
    connectionTimeout: EKS_CONNECTION_TIMEOUT_MS, requestTimeout: EKS_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true,
  });
  eks.destroy();
});

test('an answer of the EKS API is not a network failure: a missing cluster is reported as missing', async () => {
  const standin = await EksStandin.start({ clusters: {} });
  const eks = eksClient({ region: REGION, credentials: async () => CREDENTIALS, endpoint: standin.url });
  try {
    await expect(handle(eks)).rejects.toThrow(`EKS cluster "prod" does not exist in ${REGION}`);
    expect(standin.calls.map((c) => c.operation)).toEqual(['DescribeCluster']);
  } finally {
    eks.destroy();
    await standin.close();
  }
});
