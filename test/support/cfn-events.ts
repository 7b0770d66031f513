/**
 * CloudFormation's side of a custom resource, for handler tests: events with the longest ids it can
 * send, the handler's dependencies with EKS mocked elsewhere, and the response documents the
 * Provider framework would send (to measure them against the 4,096-byte limit).
 */
import { ClusterStatus, DescribeAddonCommand, DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { connection } from './cluster';
import { actionProperties, CHART_VALUES_ATTRIBUTE, CHART_VALUES_PARTS, CHART_VALUES_RESOURCE_TYPE, RESOURCE_TYPE } from '../../src/contract';
import type { Action } from '../../src/engine';
import { HandlerDependencies, HandlerResponse, onEvent } from '../../src/handler/handler';
import { serializedBytes } from '../../src/handler/response';

/** The fields of an event that are CloudFormation's, each as long as CloudFormation makes it. */
export const LONGEST_EVENT = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response-euwest1.s3.amazonaws.com/x',
  StackId: `arn:aws:cloudformation:eu-west-1:111111111111:stack/${'S'.repeat(128)}/00000000-0000-0000-0000-000000000000`,
  RequestId: '00000000-0000-0000-0000-000000000000',
  LogicalResourceId: 'L'.repeat(255),
};

/** A Lambda function name as long as Lambda allows: the framework names its log group in Reason. */
const FUNCTION_NAME = 'F'.repeat(64);

/** The handler's dependencies against the jest run's control plane (EKS: mock EKSClient with aws-sdk-client-mock). */
export function handlerDeps(overrides: Partial<HandlerDependencies> = {}): HandlerDependencies {
  return {
    eks: new EKSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } }),
    region: 'eu-west-1',
    credentials: async () => ({ accessKeyId: 'x', secretAccessKey: 'y' }),
    deadline: Date.now() + 60_000,
    log: () => {},
    kubernetesToken: async () => connection().token!,
    ...overrides,
  };
}

/** The Provider framework's SUCCESS response for a handler's answer, in bytes. */
export function successBytes(response: HandlerResponse): number {
  return serializedBytes({
    Status: 'SUCCESS',
    Reason: 'SUCCESS',
    StackId: LONGEST_EVENT.StackId,
    RequestId: LONGEST_EVENT.RequestId,
    PhysicalResourceId: response.PhysicalResourceId,
    LogicalResourceId: LONGEST_EVENT.LogicalResourceId,
    ...(response.NoEcho ? { NoEcho: true } : {}),
    Data: response.Data,
  });
}

/** The framework's FAILED response for an error the function threw (its message, log group and stack frames as Reason), in bytes. */
export function failureBytes(thrown: Error, physicalResourceId: string): number {
  const message = [thrown.message, '', `Logs: /aws/lambda/${FUNCTION_NAME}`, ''].join('\n');
  const trace = (thrown.stack ?? '').split('\n');
  return serializedBytes({
    Status: 'FAILED',
    Reason: [message, ...trace.slice(1)].join('\n'),
    StackId: LONGEST_EVENT.StackId,
    RequestId: LONGEST_EVENT.RequestId,
    PhysicalResourceId: physicalResourceId,
    LogicalResourceId: LONGEST_EVENT.LogicalResourceId,
  });
}

/** An event of the ownership custom resource for `action`, its properties as the construct sends them. */
export function ownershipEvent(
  requestType: 'Create' | 'Delete', clusterName: string, action: Action,
  options: { dryRun?: boolean; resourceType?: string; ifOwnedByOthers?: string } = {},
): CloudFormationCustomResourceEvent {
  return {
    ...LONGEST_EVENT,
    RequestType: requestType,
    ResourceType: options.resourceType ?? RESOURCE_TYPE,
    PhysicalResourceId: `${clusterName}/vpc-cni-ownership`,
    ResourceProperties: {
      ServiceToken: LONGEST_EVENT.ServiceToken, ClusterName: clusterName, ...actionProperties(action), IfOwnedByOthers: options.ifOwnedByOthers ?? 'FAIL', DryRun: String(!!options.dryRun),
    },
  } as CloudFormationCustomResourceEvent;
}

/**
 * The EKS API as the handler sees it for a cluster whose API server is at `endpoint` (default: the
 * jest run's control plane) with the control plane's CA, and no vpc-cni managed add-on.
 */
export function mockEksCluster(eks: AwsClientStub<EKSClient>, name: string, options: { endpoint?: string; status?: ClusterStatus } = {}): void {
  const c = connection();
  eks.reset();
  eks.on(DescribeClusterCommand).resolves({
    cluster: {
      name, status: options.status ?? 'ACTIVE', endpoint: options.endpoint ?? c.endpoint, certificateAuthority: { data: Buffer.from(c.caData).toString('base64') },
    },
  });
  eks.on(DescribeAddonCommand).rejects(new ResourceNotFoundException({ message: 'no add-on', $metadata: {} }));
}

/** A Create of the chart values resource's part `part` (0: the summary) for `clusterName`; `extra` adds or replaces properties. */
export function chartValuesEvent(clusterName: string, part: number, extra: Record<string, string> = {}): CloudFormationCustomResourceEvent {
  return {
    ...LONGEST_EVENT,
    ResourceType: CHART_VALUES_RESOURCE_TYPE,
    RequestType: 'Create',
    ResourceProperties: {
      ServiceToken: LONGEST_EVENT.ServiceToken, ClusterName: clusterName, Part: String(part), Parts: String(CHART_VALUES_PARTS), UserValues: '{}', ...extra,
    },
  } as CloudFormationCustomResourceEvent;
}

/** Every part of the chart values, as CloudFormation gathers them: the summary, then the parts checked against its digest. */
export async function chartValuesParts(
  clusterName: string, extra: Record<string, string> = {}, deps: () => HandlerDependencies = () => handlerDeps(),
) {
  const summary = await onEvent(chartValuesEvent(clusterName, 0, extra), deps());
  const parts: HandlerResponse[] = [];
  for (let part = 1; part <= CHART_VALUES_PARTS; part++) {
    parts.push(await onEvent(chartValuesEvent(clusterName, part, { ...extra, ExpectedDigest: summary.Data[CHART_VALUES_ATTRIBUTE.digest] }), deps()));
  }
  const json = parts.map((p) => p.Data[CHART_VALUES_ATTRIBUTE.chunk]).join('');
  return { summary, parts, json, values: JSON.parse(json) };
}
