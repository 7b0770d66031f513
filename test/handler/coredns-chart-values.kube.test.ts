/**
 * The chart values custom resource with Addon coredns, on the REAL API server (EKS mocked): the
 * coredns chart's values that reproduce the running CoreDNS, the user's merged over them except the
 * fixed paths (names, selector, the Service's address), in parts that each fit CloudFormation's
 * 4,096-byte limit; add-ons without a chart refused by name.
 */
import { EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { COREDNS } from '../../src/addons';
import { CHART_VALUES_ATTRIBUTE } from '../../src/contract';
import { KubeClient } from '../../src/engine';
import { onEvent } from '../../src/handler/handler';
import { RESPONSE_LIMIT } from '../../src/handler/response';
import { chartValuesEvent, chartValuesParts, handlerDeps, mockEksCluster, successBytes } from '../support/cfn-events';
import { Cli, connection, resetCluster } from '../support/cluster';
import { eksCoreDns, KUBE_DNS_IP } from '../support/coredns';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const CLUSTER = 'coredns-values-cluster';
const eksMock = mockClient(EKSClient);
const admin = new KubeClient(connection());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
afterAll(() => admin.close());

const event = (part: number, extra: Record<string, string> = {}) => chartValuesEvent(CLUSTER, part, { Addon: 'coredns', ...extra });

beforeEach(async () => {
  mockEksCluster(eksMock, CLUSTER);
  await resetCluster(admin, [COREDNS]);
});

test('the coredns chart values: the checked chart version, the running image tag, the user\'s values over the derived ones but for the fixed paths', async () => {
  eksCoreDns(cli, '--set', 'podDisruptionBudget=true');
  const user = JSON.stringify({
    replicaCount: 3,
    podAnnotations: { team: 'dns' },
    fullnameOverride: 'other',
    service: { clusterIP: '10.96.0.99', annotations: { extra: 'yes' } },
    deployment: { selector: { matchLabels: { app: 'dns' } } },
  });
  const { summary, parts, values } = await chartValuesParts(CLUSTER, { Addon: 'coredns', UserValues: user });
  expect(summary.PhysicalResourceId).toBe(`${CLUSTER}/coredns-chart-values/0`);
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.version]).toBe('1.46.2');
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.installedVersion]).toBe('v1.12.4-eksbuild.1');
  expect(summary.Data[CHART_VALUES_ATTRIBUTE.notes]).toMatch(/^the pod template, once, because the chart renders it whatever the values say/);
  for (const response of [summary, ...parts]) expect(successBytes(response)).toBeLessThanOrEqual(RESPONSE_LIMIT);
  expect(values.replicaCount).toBe(3);
  expect(values.podAnnotations).toEqual({ team: 'dns' });
  expect(values.service).toMatchObject({ name: 'kube-dns', clusterIP: KUBE_DNS_IP, annotations: { 'prometheus.io/port': '9153', 'extra': 'yes' } });
  expect(values.fullnameOverride).toBe('coredns');
  expect(values.deployment.selector).toEqual({ matchLabels: { 'eks.amazonaws.com/component': 'coredns', 'k8s-app': 'kube-dns' } });
  expect(values.image.repository).toBe('602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns');
  expect(values.podDisruptionBudget.maxUnavailable).toBe(1);
});

test('an add-on without a chart (kube-proxy) is refused naming those with one; no coredns Deployment is a clear error', async () => {
  await expect(onEvent(event(0, { Addon: 'kube-proxy' }), handlerDeps()))
    .rejects.toThrow(/Invalid properties: Addon "kube-proxy" must be one of vpc-cni, coredns \(the add-ons with a chart\)/);
  await expect(onEvent(event(0), handlerDeps())).rejects.toThrow(/has no coredns Deployment in kube-system: there is no running CoreDNS whose values could be derived/);
});
