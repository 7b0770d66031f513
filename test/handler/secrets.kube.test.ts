/**
 * Secrets in messages and logs (issue 20, item 9). aws-node's env can carry a credential (an
 * HTTPS_PROXY with user:password), and the chart values copy it as it runs: they must, or the install
 * would change the proxy. So the chart values custom resource answers with NoEcho, the handler logs
 * only their size and digest, and every message strips a URL's userinfo. What aws-cdk-lib's Provider
 * framework then logs is checked by running its own code (2.245.0) with the Lambda invoke and the
 * response upload replaced: NoEcho redacts its copies of the response, but it also logs the invoke's
 * raw Payload, as bytes.
 */
import * as path from 'path';
import { EKSClient } from '@aws-sdk/client-eks';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { CHART_VALUES_ATTRIBUTE } from '../../src/contract';
import { KubeClient, withoutUrlCredentials } from '../../src/engine';
import { HandlerResponse, onEvent } from '../../src/handler/handler';
import { responseSafeError } from '../../src/handler/response';
import { chartValuesEvent as chartValuesEventOf, chartValuesParts, handlerDeps, mockEksCluster } from '../support/cfn-events';
import { Cli, connection, Fixtures, resetCluster } from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

// The framework's outbound calls use the Lambda runtime's SDK clients, which this package does not install: the
// invoke and the upload are replaced below, so the clients are never used.
jest.mock('@aws-sdk/client-lambda', () => ({}), { virtual: true });
jest.mock('@aws-sdk/client-sfn', () => ({}), { virtual: true });

const CLUSTER = 'secrets-test-cluster';
const SECRET = 'S3cretPassw0rd';
const PROXY = `http://alice:${SECRET}@proxy.corp.example:3128`;
const FRAMEWORK = path.resolve(__dirname, '..', '..', 'node_modules', 'aws-cdk-lib', 'custom-resources', 'lib', 'provider-framework', 'runtime');

const eksMock = mockClient(EKSClient);
const admin = new KubeClient(connection());
const fixtures = new Fixtures(new Cli(layerTools(LAYER_PACKAGES[0])));
afterAll(() => admin.close());
beforeEach(async () => {
  mockEksCluster(eksMock, CLUSTER);
  await resetCluster(admin);
});

const chartValuesEvent = (part: number, extra: Record<string, string> = {}) => chartValuesEventOf(CLUSTER, part, extra);

/**
 * The user's values: the proxy given again (with its credential), as the refusal below asks: the values
 * then hold the credential because the user put it there.
 */
const USER_VALUES = JSON.stringify({ env: { HTTPS_PROXY: PROXY } });

/** Every part of the chart values, with everything the handler logged. */
async function chartValues(userValues = USER_VALUES) {
  const logs: unknown[] = [];
  const parts = await chartValuesParts(CLUSTER, { UserValues: userValues }, () => handlerDeps({ log: (e) => logs.push(e) }));
  return { ...parts, logs };
}

test('aws-node runs with a proxy credential the user did not give: the chart values refuse, naming the value and not the secret; nothing is answered', async () => {
  fixtures.newEksCluster('--set-string', `env.HTTPS_PROXY=${PROXY}`);
  const logs: unknown[] = [];
  const error = await onEvent(chartValuesEvent(0), handlerDeps({ log: (e) => logs.push(e) })).then(() => undefined, (e) => e);
  expect(error?.message).toMatch(/^The VPC CNI of cluster "secrets-test-cluster" runs with credentials in a URL \(env\.HTTPS_PROXY\)\..*Give env\.HTTPS_PROXY in the preset's values yourself/);
  expect(error.message).not.toContain(SECRET);
  expect(JSON.stringify(logs)).not.toContain(SECRET);
});

test('chart values that carry a proxy credential (given by the user): answered with NoEcho; the handler logs their size and digest, never them', async () => {
  fixtures.newEksCluster('--set-string', `env.HTTPS_PROXY=${PROXY}`);
  const { summary, parts, logs, values } = await chartValues();
  // The install must reproduce what runs: the credential is in the values.
  expect(values.env.HTTPS_PROXY).toBe(PROXY);
  for (const response of [summary, ...parts]) expect(response.NoEcho).toBe(true);
  const logged = JSON.stringify(logs);
  expect(logged).not.toContain(SECRET);
  expect(logs).toContainEqual(expect.objectContaining({
    step: 'chartValues', bytes: Number(summary.Data[CHART_VALUES_ATTRIBUTE.bytes]), digest: summary.Data[CHART_VALUES_ATTRIBUTE.digest],
  }));
  expect(logs.find((l: any) => l.step === 'chartValues')).not.toHaveProperty('values');
});

test('a failure that names a URL with credentials reaches CloudFormation without them', () => {
  const error = responseSafeError(new Error(`HTTPS_PROXY is not a URL: "${PROXY.replace('3128', '31x28')}"`));
  expect(error.message).toBe('HTTPS_PROXY is not a URL: "http://…@proxy.corp.example:31x28"');
  expect(withoutUrlCredentials(`a ${PROXY} and socks5://u:p@h:1 and https://host/path`)).toBe('a http://…@proxy.corp.example:3128 and socks5://…@h:1 and https://host/path');
});

describe('aws-cdk-lib\'s Provider framework (its own code) with that response', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  /** The framework's onEvent for `event`, the user function answering `response`: every line it logs, and what it sent CloudFormation. */
  async function throughFramework(event: CloudFormationCustomResourceEvent, response: HandlerResponse) {
    process.env.USER_ON_EVENT_FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:111111111111:function:handler';
    delete process.env.USER_IS_COMPLETE_FUNCTION_ARN;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- aws-cdk-lib's own runtime file, by path (not an export of the package)
    const outbound = require(path.join(FRAMEWORK, 'outbound.js'));
    const sent: string[] = [];
    // As the SDK's Lambda client answers: the Payload as bytes (a Uint8Array).
    jest.spyOn(outbound, 'invokeFunction').mockImplementation(async () => ({ StatusCode: 200, Payload: new Uint8Array(Buffer.from(JSON.stringify(response))) }));
    jest.spyOn(outbound, 'httpRequest').mockImplementation(async (_options: unknown, body: unknown) => {
      sent.push(String(body));
    });
    const lines: string[] = [];
    jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
    await require(path.join(FRAMEWORK, 'framework.js')).onEvent(event);
    return { lines, sent };
  }

  test('NoEcho: it redacts its copies of the response; but its "user function response" line holds the raw Payload, as bytes', async () => {
    fixtures.newEksCluster('--set-string', `env.HTTPS_PROXY=${PROXY}`);
    const { parts } = await chartValues();
    const withSecret = parts.findIndex((p) => p.Data[CHART_VALUES_ATTRIBUTE.chunk].includes(SECRET));
    expect(withSecret).toBeGreaterThanOrEqual(0);
    // The event as the framework gets it (the handler's answer is replaced below): the response is what is under test.
    const event = chartValuesEvent(withSecret + 1);
    const { lines, sent } = await throughFramework(event, parts[withSecret]);

    // CloudFormation gets the values, marked NoEcho.
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0])).toMatchObject({ Status: 'SUCCESS', NoEcho: true, Data: parts[withSecret].Data });
    // The lines with the response: redacted.
    for (const title of ['redacted onEvent returned:', 'readacted event:', 'submit redacted response to cloudformation']) {
      expect(lines.filter((l) => l.includes(title))).toHaveLength(1);
    }
    const raw = lines.filter((l) => l.includes('user function response:'));
    expect(raw).toHaveLength(1);
    for (const line of lines.filter((l) => !raw.includes(l))) expect(line).not.toContain(SECRET);
    // That one line: the invoke's Payload serialized as a Uint8Array ({"0":123,...}), which decodes to the whole response.
    const payload = JSON.parse(raw[0].slice(raw[0].indexOf('{'), raw[0].lastIndexOf('}') + 1)).Payload as Record<string, number>;
    expect(raw[0]).not.toContain(SECRET);
    expect(Buffer.from(Object.values(payload)).toString('utf8')).toContain(SECRET);
  });
});
