/**
 * The chart values custom resource on the REAL API server (EKS mocked): the values that reproduce the
 * running install, the user's merged over them, sent in parts that each fit CloudFormation's 4,096-byte
 * response limit, and a worst case that does not fit failing clearly. Every response is measured as
 * the Provider framework would send it.
 */
import { EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { CHART_VALUES_ATTRIBUTE } from '../../src/contract';
import { KubeClient } from '../../src/engine';
import { onEvent } from '../../src/handler/handler';
import { RESPONSE_LIMIT } from '../../src/handler/response';
import { chartValuesEvent, chartValuesParts, handlerDeps, mockEksCluster, successBytes } from '../support/cfn-events';
import { Cli, connection, EKS_REGION, Fixtures, resetCluster } from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CLUSTER = 'values-test-cluster';
const eksMock = mockClient(EKSClient);
const admin = new KubeClient(connection());
const fixtures = new Fixtures(new Cli(layerTools(LAYER_PACKAGES[0])));
afterAll(() => admin.close());

const deps = () => handlerDeps();
const event = (part: number, extra: Record<string, string> = {}) => chartValuesEvent(CLUSTER, part, extra);
/** Every part, as CloudFormation would gather them: the summary, then the parts checked against its digest. */
const allParts = (extra: Record<string, string> = {}) => chartValuesParts(CLUSTER, extra, deps);

beforeEach(async () => {
  mockEksCluster(eksMock, CLUSTER);
  await resetCluster(admin);
});

test('the installed version, the derived values with the user\'s merged over them (user wins), originalMatchLabels always true', async () => {
  fixtures.newEksCluster();
  const userValues = JSON.stringify({ env: { ENABLE_PREFIX_DELEGATION: 'true' }, originalMatchLabels: false, podLabels: { team: 'net' } });
  const { summary, values, json } = await allParts({ UserValues: userValues });
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.version]).toBe('1.20.4');
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.installedVersion]).toBe('1.20.4');
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.bytes]).toBe(String(Buffer.byteLength(json)));
  expect(values.image).toMatchObject({ region: EKS_REGION.region, tag: EKS_REGION.awsNodeTag });
  expect(values.env.ENABLE_PREFIX_DELEGATION).toBe('true');
  expect(values.env.WARM_ENI_TARGET).toBe('1');
  expect(values.podLabels).toEqual({ team: 'net' });
  expect(values.originalMatchLabels).toBe(true);
});

test('another chart version: its own image tags and VPC_CNI_VERSION; the registry and the rest still as running', async () => {
  fixtures.newEksCluster();
  const { summary, values } = await allParts({ Version: '1.21.1' });
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.version]).toBe('1.21.1');
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.installedVersion]).toBe('1.20.4');
  expect(values.image).toEqual({ account: '602401143452', domain: 'amazonaws.com', region: EKS_REGION.region, endpoint: 'ecr', pullPolicy: 'IfNotPresent' });
  expect(values.env).not.toHaveProperty('VPC_CNI_VERSION');
});

test('a part whose reading differs from the summary\'s (the cluster changed between them) fails, so no spliced values reach Helm', async () => {
  fixtures.newEksCluster();
  await expect(onEvent(event(1, { ExpectedDigest: '0000000000000000' }), deps()))
    .rejects.toThrow(/changed while its chart values were read \(digest [0-9a-f]{16}, expected 0000000000000000\); nothing was installed/);
});

test('worst case that fits: many long env vars; every response under 4,096 bytes, the parts joined give the whole values back', async () => {
  const env = Array.from({ length: 90 }, (_, i) => `env.CUSTOM_SETTING_${String(i).padStart(3, '0')}="value \\"${i}\\" with quotes and a long tail ${'x'.repeat(20)}"`);
  fixtures.newEksCluster('--set-string', env.join(','));
  const { summary, parts, values, json } = await allParts();
  expect(Buffer.byteLength(json)).toBeGreaterThan(8000);
  for (const response of [summary, ...parts]) expect(successBytes(response)).toBeLessThanOrEqual(RESPONSE_LIMIT);
  expect(Object.keys(values.env).filter((k) => k.startsWith('CUSTOM_SETTING_'))).toHaveLength(90);
  // --set-string keeps the quotes: values with quotes to escape, as they run.
  expect(values.env.CUSTOM_SETTING_007).toBe(`"value "7" with quotes and a long tail ${'x'.repeat(20)}"`);
});

test('worst case that does not fit: a clear error naming the limit and what to do instead', async () => {
  const env = Array.from({ length: 200 }, (_, i) => `env.CUSTOM_SETTING_${String(i).padStart(3, '0')}=${'y'.repeat(60)}`);
  fixtures.newEksCluster('--set-string', env.join(','));
  await expect(onEvent(event(0), deps()))
    .rejects.toThrow(/chart values of cluster "values-test-cluster" take \d+ bytes, more than 5 custom resource responses can carry .*cdk-vpc-cni-ownership values prints/s);
});

test('no aws-node DaemonSet: a clear error', async () => {
  fixtures.autoModeCrdsOnly();
  await expect(onEvent(event(0), deps())).rejects.toThrow(/has no aws-node DaemonSet in kube-system/);
});
