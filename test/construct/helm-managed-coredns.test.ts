/**
 * HelmManagedCoreDns as CloudFormation sees it: CoreDNS adopted into release coredns, then the
 * coredns chart at the checked version with the values read from the cluster at deploy time (yours
 * merged over them), in that order; the EKS API scoped to the coredns add-on; the handler's RBAC for
 * adopting CoreDNS; bad props refused at synthesis, naming the prop.
 */
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ClusterNetwork, EksClusterWithNetwork, HelmManagedCoreDns, HelmManagedCoreDnsProps, OwnedByOthers } from '../../src';
import { CHART_VALUES_RESOURCE_TYPE, RESOURCE_TYPE } from '../../src/contract';
import { parseChartValuesProperties, parseProperties } from '../../src/handler/handler';
import { identityAt } from '../support/construct-access';
import { only, waitsFor } from '../support/template';

const HELM_CHART = 'Custom::AWSCDK-EKS-HelmChart';
const MANIFEST = 'Custom::AWSCDK-EKS-KubernetesResource';

function setup(props: Partial<HelmManagedCoreDnsProps> = {}) {
  const stack = new Stack(new App(), 'Stack', { env: { account: '111111111111', region: 'eu-west-1' } });
  const cluster = new eksv2.Cluster(stack, 'Cluster', {
    version: eksv2.KubernetesVersion.V1_33,
    // Node groups: Auto Mode (aws-eks-v2's default) has no CoreDNS of EKS's to take over.
    defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
    defaultCapacity: 0,
    kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  });
  const coreDns = new HelmManagedCoreDns(stack, 'CoreDns', { cluster, ...props });
  return { stack, cluster, coreDns };
}

test('adopted into release coredns, then the coredns chart at the checked version with the values that reproduce what runs (yours merged over them); kept on stack deletion', () => {
  const { stack, coreDns } = setup({ values: { replicaCount: 3 } });
  const template = Template.fromStack(stack);
  const [adoptId, adopt] = only(template, RESOURCE_TYPE);
  expect(adopt.Properties.Addon).toBe('coredns');
  expect(parseProperties({ ...adopt.Properties, ClusterName: 'c' })).toMatchObject({
    action: { type: 'ADOPT', releaseName: 'coredns', releaseNamespace: 'kube-system', fieldManager: 'helm' }, ifOwnedByOthers: 'FAIL', dryRun: false,
  });
  const [chartId, chart] = only(template, HELM_CHART);
  expect(chart.Properties).toMatchObject({ Repository: 'https://coredns.github.io/helm', Chart: 'coredns', Release: 'coredns', Namespace: 'kube-system' });
  expect(chart.Properties.Wait).not.toBe(true);
  expect(template.toJSON().Resources[chartId].DeletionPolicy).toBe('Retain');

  // A summary, then five parts of the values' JSON, each read after the adoption and checked against the summary's digest.
  const parts = Object.entries(template.findResources(CHART_VALUES_RESOURCE_TYPE));
  expect(parts).toHaveLength(6);
  const byPart = new Map(parts.map(([id, r]: [string, any]) => [r.Properties.Part, { id, props: r.Properties }]));
  const summary = byPart.get('0')!;
  expect(summary.props).toMatchObject({ Addon: 'coredns', Version: HelmManagedCoreDns.CHART_VERSION, UserValues: JSON.stringify({ replicaCount: 3 }) });
  expect(parseChartValuesProperties({ ...summary.props, ClusterName: 'c' })).toMatchObject({ part: 0, parts: 5, version: '1.46.2', userValues: { replicaCount: 3 } });
  expect(chart.Properties.Version).toEqual({ 'Fn::GetAtt': [summary.id, 'Version'] });
  const chunks = ['1', '2', '3', '4', '5'].map((p) => byPart.get(p)!);
  expect(chart.Properties.Values).toEqual({ 'Fn::Join': ['', chunks.map((p) => ({ 'Fn::GetAtt': [p.id, 'Chunk'] }))] });
  for (const { id, props } of [summary, ...chunks]) {
    expect(props.Addon).toBe('coredns');
    expect(waitsFor(template, id, adoptId)).toBe(true);
  }
  expect(waitsFor(template, chartId, adoptId)).toBe(true);
  expect(stack.resolve(coreDns.chartNotes)).toEqual({ 'Fn::GetAtt': [summary.id, 'Notes'] });
  expect(HelmManagedCoreDns.CHART_VERSION).toBe('1.46.2');
});

test('the handler may describe the coredns add-on of the one cluster (delete it only with TAKE_OVER); its RBAC is the adopt access for CoreDNS', () => {
  const eksStatements = (stack: Stack) => Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const actions = (stack: Stack) => JSON.stringify(eksStatements(stack));
  const plain = setup();
  expect(actions(plain.stack)).toContain('eks:DescribeAddon');
  expect(actions(plain.stack)).not.toContain('eks:DeleteAddon');
  expect(actions(plain.stack)).toMatch(/addon\/",\{"Ref":"Cluster[0-9A-F]+"\},"\/coredns\/\*"/);
  const takeOver = setup({ ifOwnedByOthers: OwnedByOthers.TAKE_OVER });
  expect(actions(takeOver.stack)).toContain('eks:DeleteAddon');
  const manifests = Object.values(Template.fromStack(plain.stack).findResources(MANIFEST)).map((r: any) => JSON.stringify(r.Properties.Manifest));
  // The ownership construct's own identity (stack "Stack", construct "Stack/CoreDns/Ownership").
  const identity = identityAt('Stack', 'Stack/CoreDns/Ownership');
  expect(manifests.some((m) => m.includes(`${identity.prefix}-coredns-adopt`))).toBe(true);
  Template.fromStack(plain.stack).hasResourceProperties('AWS::EKS::AccessEntry', Match.objectLike({ Username: identity.username, KubernetesGroups: [identity.group] }));
});

test.each([
  [{ values: { service: { clusterIP: '10.100.0.53' } } }, /values\.service\.clusterIP is set, but it names a running object or cannot change/],
  [{ values: { fullnameOverride: 'dns', deployment: { selector: { matchLabels: { app: 'dns' } } } } }, /values\.fullnameOverride is set.*\n- values\.deployment\.selector is set/],
  [{ version: 'v1.12.4-eksbuild.1' }, /version "v1\.12\.4-eksbuild\.1" must be a coredns chart version such as 1\.46\.2 \(not a CoreDNS image tag\)/],
])('invalid props %j: refused at synthesis, naming the prop', (props, message) => {
  expect(() => setup(props as Partial<HelmManagedCoreDnsProps>)).toThrow(message);
});

test('a version this library did not check: a warning that says what to compare', () => {
  const { stack } = setup({ version: '1.47.0' });
  Annotations.fromStack(stack).hasWarning('/Stack/CoreDns', Match.stringLikeRegexp('coredns chart 1\\.47\\.0 was not checked by this library \\(checked: 1\\.46\\.0, 1\\.46\\.1, 1\\.46\\.2\\)'));
  expect(Annotations.fromStack(setup().stack).findWarning('*', Match.stringLikeRegexp('not checked'))).toEqual([]);
});

test('a cluster without a kubectl provider, and a second ownership construct for the same cluster in the stack, are refused', () => {
  const stack = new Stack(new App(), 'Stack');
  const imported = eksv2.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'imported' });
  expect(() => new HelmManagedCoreDns(stack, 'CoreDns', { cluster: imported })).toThrow(/has no kubectl provider, which installs the coredns chart/);

  const other = new Stack(new App(), 'Other');
  const cluster = new EksClusterWithNetwork(other, 'Cluster', {
    version: eksv2.KubernetesVersion.V1_33,
    kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(other, 'Kubectl') },
    network: ClusterNetwork.helmManagedVpcCni(),
  });
  expect(() => new HelmManagedCoreDns(other, 'CoreDns', { cluster })).toThrow(/already has an ownership construct .*use one per cluster and stack/);
});
