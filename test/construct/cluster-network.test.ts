import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_ec2 as ec2, aws_eks_v2 as eksv2, aws_iam as iam } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  ClusterNetwork, ClusterNetworkSetup, CrdPolicy, EksClusterWithNetwork, EksClusterWithNetworkProps, NetworkKind, OwnedByOthers,
} from '../../src';
import { parseProperties } from '../../src/handler/handler';
import { directDependencies, only, waitsFor } from '../support/template';

const ENV = { account: '111111111111', region: 'eu-west-1' };

/**
 * Compile-time check (tsc over the tests): every option of eksv2.ClusterProps is declared on
 * EksClusterWithNetworkProps, or left out on purpose. jsii structs carry only their declared
 * properties, so one missing here cannot be given in Python, Java, .NET or Go.
 */
type LeftOut = 'compute' | 'defaultCapacity' | 'defaultCapacityInstance' | 'defaultCapacityType' | 'bootstrapSelfManagedAddons';
type Undeclared = Exclude<keyof eksv2.ClusterProps, keyof EksClusterWithNetworkProps | LeftOut>;
const allClusterPropsDeclared: [Undeclared] extends [never] ? true : Undeclared = true;
const HELM_CHART = 'Custom::AWSCDK-EKS-HelmChart';
const KUBERNETES_PATCH = 'Custom::AWSCDK-EKS-KubernetesPatch';
const OWNERSHIP = 'Custom::VpcCniOwnership';
const CHART_VALUES = 'Custom::VpcCniChartValues';

function newStack(): Stack {
  // The OIDC provider as a native AWS::IAM::OIDCProvider, as new CDK apps have it.
  return new Stack(new App({ context: { '@aws-cdk/aws-eks:useNativeOidcProvider': true } }), 'Stack', { env: ENV });
}

function clusterWithNetwork(stack: Stack, network: ClusterNetwork, props: Partial<EksClusterWithNetworkProps> = {}): EksClusterWithNetwork {
  return new EksClusterWithNetwork(stack, 'Cluster', {
    version: eksv2.KubernetesVersion.V1_33,
    kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
    network,
    ...props,
  });
}

/** The chart's Values, parsed; tokens inside strings come back as their CloudFormation expressions. */
function chartValues(chart: any): any {
  const values = chart.Properties.Values;
  if (typeof values === 'string') return JSON.parse(values);
  const tokens: any[] = [];
  const text = values['Fn::Join'][1].map((part: any) => {
    if (typeof part === 'string') return part;
    tokens.push(part);
    return `@@TOKEN${tokens.length - 1}@@`;
  }).join('');
  return JSON.parse(text, (_key, value) => {
    const match = typeof value === 'string' ? /^@@TOKEN(\d+)@@$/.exec(value) : null;
    return match ? tokens[Number(match[1])] : value;
  });
}

/** An ownership custom resource's action, read from its properties as the handler reads them. */
function actionOf(resource: any): any {
  // The cluster name is a token in these templates: only the action is read here.
  return parseProperties({ ...resource.Properties, ClusterName: 'cluster' }).action;
}

/** The action the one ownership custom resource asks for (adopt). */
/** The one ownership resource of kube-proxy (the switch's removal of it). */
function kubeProxyRemoval(template: Template): [string, any] {
  const found = Object.entries(template.findResources(OWNERSHIP)).filter(([, r]) => r.Properties.Addon === 'kube-proxy');
  expect(found).toHaveLength(1);
  return found[0];
}

function ownershipAction(template: Template): any {
  return actionOf(only(template, OWNERSHIP)[1]);
}

/**
 * A switch to another CNI: the ownership resource that disables the VPC CNI, and the one that
 * removes it (with its action), the only two.
 */
function switchSteps(template: Template): { disableId: string; removalId: string; removal: any } {
  // The VPC CNI's steps: resources of the other add-ons carry an Addon property.
  const steps = Object.entries(template.findResources(OWNERSHIP)).filter(([, r]) => r.Properties.Addon === undefined);
  expect(steps).toHaveLength(2);
  const [disableId] = steps.find(([, r]) => actionOf(r).type === 'DISABLE')!;
  const [removalId, removal] = steps.find(([, r]) => actionOf(r).type === 'REMOVE')!;
  return { disableId, removalId, removal: actionOf(removal) };
}

/** The one network switch's order: disable, then `before` (in order), then the removal; capacity after the chart, before the removal. */
function expectSwitchOrder(template: Template, chartId: string, capacity: readonly string[] = []): void {
  const { disableId, removalId } = switchSteps(template);
  expect(waitsFor(template, chartId, disableId)).toBe(true);
  expect(waitsFor(template, removalId, chartId)).toBe(true);
  expect(waitsFor(template, chartId, removalId)).toBe(false);
  expect(waitsFor(template, disableId, chartId)).toBe(false);
  for (const id of capacity) {
    expect(waitsFor(template, id, chartId)).toBe(true);
    // A failure to create capacity still rolls back to the VPC CNI: it is removed only after.
    expect(waitsFor(template, removalId, id)).toBe(true);
    expect(waitsFor(template, id, removalId)).toBe(false);
  }
}

describe('EksClusterWithNetwork', () => {
  test('creates a node-group cluster (no Auto Mode, EKS bootstrap add-ons kept) with no node of its own', () => {
    const stack = newStack();
    clusterWithNetwork(stack, ClusterNetwork.calico());
    const template = Template.fromStack(stack);
    const [, cluster] = only(template, 'AWS::EKS::Cluster');
    expect(cluster.Properties.ComputeConfig).toEqual({ Enabled: false });
    // The VPC CNI must be there to be removed or adopted.
    expect(cluster.Properties.BootstrapSelfManagedAddons).toBeUndefined();
    template.resourceCountIs('AWS::EKS::Nodegroup', 0);
    template.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 0);
  });

  test('cilium(): the VPC CNI is disabled, Cilium installed in ENI mode, every node group and Auto Scaling group, and only then the VPC CNI removed', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.cilium(), { defaultNodegroup: { minSize: 1 } });
    cluster.addNodegroupCapacity('More', { minSize: 1 });
    cluster.addAutoScalingGroupCapacity('SelfManaged', { instanceType: new ec2.InstanceType('m6i.large'), minCapacity: 1 });
    const template = Template.fromStack(stack);

    expect(switchSteps(template).removal).toEqual({ type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' });
    const [chartId, chart] = only(template, HELM_CHART);
    expect(chart.Properties).toMatchObject({
      Repository: 'https://helm.cilium.io', Chart: 'cilium', Version: ClusterNetwork.CILIUM_CHART_VERSION, Release: 'cilium', Namespace: 'kube-system',
    });
    expect(chart.Properties.Wait).toBeUndefined();
    expect(chartValues(chart)).toMatchObject({ eni: { enabled: true }, ipam: { mode: 'eni' }, routingMode: 'native' });
    // Cilium's EKS instructions no longer set it; eth+ matches no interface on Amazon Linux 2023 (ens5, ...).
    expect(chartValues(chart)).not.toHaveProperty('egressMasqueradeInterfaces');
    expect(chartValues(chart)).not.toHaveProperty('kubeProxyReplacement');
    template.resourceCountIs(KUBERNETES_PATCH, 0);

    const capacity = [
      ...Object.keys(template.findResources('AWS::EKS::Nodegroup')),
      ...Object.keys(template.findResources('AWS::AutoScaling::AutoScalingGroup')),
    ];
    expect(capacity).toHaveLength(3);
    expectSwitchOrder(template, chartId, capacity);
    expect(cluster.defaultNodegroup).toBeInstanceOf(eksv2.Nodegroup);
  });

  test('cilium({ kubeProxyReplacement }): kube-proxy is removed through the engine only after Cilium\'s chart and the node groups; Cilium reaches the API server by the endpoint host', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.cilium({ kubeProxyReplacement: true }));
    cluster.addNodegroupCapacity('More', { minSize: 1 });
    const template = Template.fromStack(stack);
    expect(template.findResources(KUBERNETES_PATCH)).toEqual({});
    const [removalId, removal] = kubeProxyRemoval(template);
    expect(removal.Properties).toMatchObject({ Addon: 'kube-proxy', ActionType: 'REMOVE' });

    const [chartId, chart] = only(template, HELM_CHART);
    // The chart (Cilium with the replacement) first: a failed install leaves kube-proxy in place.
    expect(waitsFor(template, removalId, chartId)).toBe(true);
    expect(waitsFor(template, chartId, removalId)).toBe(false);
    const [nodegroupId] = Object.entries(template.findResources('AWS::EKS::Nodegroup')).find(([id]) => id.includes('More'))!;
    expect(waitsFor(template, removalId, nodegroupId)).toBe(true);
    expectSwitchOrder(template, chartId);
    const [clusterId] = only(template, 'AWS::EKS::Cluster');
    expect(chartValues(chart)).toMatchObject({
      kubeProxyReplacement: true,
      k8sServicePort: 443,
      k8sServiceHost: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [clusterId, 'Endpoint'] }] }] },
    });
  });

  test('the Cilium operator gets a role only its service account can assume, with the EC2 permissions of ENI mode, passed as eni.iamRole', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.cilium());
    const template = Template.fromStack(stack);
    const roleId = stack.resolve((cluster.networkSetup.ciliumOperatorRole as iam.Role).roleArn)['Fn::GetAtt'][0];
    const role = template.toJSON().Resources[roleId];
    const [trust] = role.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust.Action).toBe('sts:AssumeRoleWithWebIdentity');
    const [oidcId] = only(template, 'AWS::IAM::OIDCProvider');
    expect(trust.Principal).toEqual({ Federated: { Ref: oidcId } });
    const [trustJsonId, trustJson] = only(template, 'Custom::AWSCDKCfnJson');
    expect(trust.Condition).toEqual({ StringEquals: { 'Fn::GetAtt': [trustJsonId, 'Value'] } });
    const conditionText = trustJson.Properties.Value['Fn::Join'][1].filter((p: any) => typeof p === 'string').join('');
    expect(conditionText).toContain(':sub":"system:serviceaccount:kube-system:cilium-operator"');
    expect(conditionText).toContain(':aud":"sts.amazonaws.com"');

    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    const actions = statements.flatMap((s: any) => s.Action);
    expect(actions).toEqual(expect.arrayContaining([
      'ec2:CreateNetworkInterface', 'ec2:AttachNetworkInterface', 'ec2:AssignPrivateIpAddresses',
      'ec2:DescribeSubnets', 'ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups', 'ec2:DescribeRouteTables', 'ec2:CreateTags',
    ]));
    expect(statements.find((s: any) => s.Action === 'ec2:CreateTags').Resource)
      .toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:111111111111:network-interface/*']] });
    expect(chartValues(only(template, HELM_CHART)[1]).eni).toEqual({ enabled: true, iamRole: { 'Fn::GetAtt': [roleId, 'Arn'] } });
  });

  test('the operator role follows a renamed service account; createOperatorRole: false creates none', () => {
    const renamed = newStack();
    clusterWithNetwork(renamed, ClusterNetwork.cilium({ values: { serviceAccounts: { operator: { name: 'ipam-operator' } } } }));
    const trustJson = only(Template.fromStack(renamed), 'Custom::AWSCDKCfnJson')[1];
    expect(JSON.stringify(trustJson)).toContain('system:serviceaccount:kube-system:ipam-operator');

    const none = newStack();
    const cluster = clusterWithNetwork(none, ClusterNetwork.cilium({ createOperatorRole: false }));
    const template = Template.fromStack(none);
    expect(cluster.networkSetup.ciliumOperatorRole).toBeUndefined();
    template.resourceCountIs('Custom::AWSCDKCfnJson', 0);
    expect(chartValues(only(template, HELM_CHART)[1]).eni).toEqual({ enabled: true });
  });

  test('your values merge over the preset: nested maps merged, other values replaced', () => {
    const stack = newStack();
    clusterWithNetwork(stack, ClusterNetwork.cilium({
      createOperatorRole: false,
      version: '1.18.4',
      values: { eni: { awsEnablePrefixDelegation: true }, routingMode: 'tunnel', hubble: { relay: { enabled: true } } },
    }));
    const chart = only(Template.fromStack(stack), HELM_CHART)[1];
    expect(chart.Properties.Version).toBe('1.18.4');
    expect(chartValues(chart)).toEqual({
      eni: { enabled: true, awsEnablePrefixDelegation: true },
      ipam: { mode: 'eni' },
      routingMode: 'tunnel',
      hubble: { relay: { enabled: true } },
    });
  });

  test('calico(): the VPC CNI is disabled, then the Calico CRD chart, the Tigera operator chart, the nodes, and the VPC CNI removed', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.calico({ crdPolicy: CrdPolicy.KEEP, values: { installation: { calicoNetwork: { ipPools: [{ cidr: '172.16.0.0/16', encapsulation: 'VXLAN' }] } } } }));
    const nodes = cluster.addNodegroupCapacity('Nodes');
    const template = Template.fromStack(stack);
    expect(switchSteps(template).removal).toEqual({ type: 'REMOVE', crdPolicy: 'KEEP' });
    const charts = template.findResources(HELM_CHART);
    expect(Object.keys(charts)).toHaveLength(2);
    const byChart = (name: string): [string, any] => Object.entries(charts).find(([, c]) => (c as any).Properties.Chart === name)!;
    const [crdChartId, crdChart] = byChart('crd.projectcalico.org.v1');
    const [chartId, chart] = byChart('tigera-operator');
    // From 3.32 the operator chart has no CRDs: both charts of one Calico release, the CRDs first.
    expect(crdChart.Properties).toMatchObject({
      Repository: 'https://docs.tigera.io/calico/charts',
      Version: ClusterNetwork.CALICO_CHART_VERSION,
      Release: 'calico-crds',
      Namespace: 'tigera-operator',
    });
    expect(crdChart.Properties.Wait).toBeUndefined();
    expect(chart.Properties).toMatchObject({
      Repository: 'https://docs.tigera.io/calico/charts',
      Version: ClusterNetwork.CALICO_CHART_VERSION,
      Release: 'calico',
      Namespace: 'tigera-operator',
      CreateNamespace: true,
    });
    const nodesId = stack.resolve((nodes.node.defaultChild as any).ref).Ref;
    expect(waitsFor(template, crdChartId, switchSteps(template).disableId)).toBe(true);
    expect(directDependencies(template, chartId)).toContain(crdChartId);
    expect(waitsFor(template, crdChartId, chartId)).toBe(false);
    expectSwitchOrder(template, chartId, [nodesId]);
    expect(cluster.networkSetup.crdChart).toBeDefined();
    expect(chartValues(chart)).toEqual({
      installation: {
        kubernetesProvider: 'EKS',
        cni: { type: 'Calico' },
        calicoNetwork: { bgp: 'Disabled', ipPools: [{ cidr: '172.16.0.0/16', encapsulation: 'VXLAN' }] },
      },
    });
    template.resourceCountIs(KUBERNETES_PATCH, 0);
  });

  test('calico({ version }): the CRD chart follows the operator chart\'s version', () => {
    const stack = newStack();
    clusterWithNetwork(stack, ClusterNetwork.calico({ version: 'v3.32.0' }));
    const versions = Object.values(Template.fromStack(stack).findResources(HELM_CHART)).map((c: any) => `${c.Properties.Chart}@${c.Properties.Version}`);
    expect(versions.sort()).toEqual(['crd.projectcalico.org.v1@v3.32.0', 'tigera-operator@v3.32.0']);
  });

  test('customChart(): your chart and values; kube-proxy removed after it if asked', () => {
    const stack = newStack();
    clusterWithNetwork(stack, ClusterNetwork.customChart({
      chart: 'oci://registry.example.com/charts/my-cni', version: '2.0.1', releaseNamespace: 'my-cni', values: { mtu: 9001 }, disableKubeProxy: true,
    }));
    const template = Template.fromStack(stack);
    const [chartId, chart] = only(template, HELM_CHART);
    expect(chart.Properties).toMatchObject({ Chart: 'oci://registry.example.com/charts/my-cni', Version: '2.0.1', Release: 'my-cni', Namespace: 'my-cni' });
    expect(chart.Properties.Repository).toBeUndefined();
    expect(chartValues(chart)).toEqual({ mtu: 9001 });
    const [removalId] = kubeProxyRemoval(template);
    expect(waitsFor(template, removalId, chartId)).toBe(true);
    expectSwitchOrder(template, chartId);
  });

  test('customChart({ apiServerHostValuePath }): the endpoint host goes where your chart reads it, next to your values', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.customChart({
      chart: 'my-cni',
      repository: 'https://charts.example.com',
      disableKubeProxy: true,
      apiServerHostValuePath: 'controller.apiServer.host',
      values: { controller: { apiServer: { port: 443 } } },
    }));
    const chart = only(Template.fromStack(stack), HELM_CHART)[1];
    const [clusterId] = only(Template.fromStack(stack), 'AWS::EKS::Cluster');
    expect(stack.resolve(cluster.clusterEndpoint)).toEqual({ 'Fn::GetAtt': [clusterId, 'Endpoint'] });
    expect(chartValues(chart)).toEqual({
      controller: { apiServer: { port: 443, host: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [clusterId, 'Endpoint'] }] }] } } },
    });
  });

  test('helmManagedVpcCni(): adopted into release aws-vpc-cni, then the chart at the installed version with the values that reproduce what runs (yours merged over them), then the nodes', () => {
    const stack = newStack();
    const cluster = clusterWithNetwork(stack, ClusterNetwork.helmManagedVpcCni({ values: { env: { ENABLE_PREFIX_DELEGATION: 'true' } } }));
    const nodes = cluster.addNodegroupCapacity('Nodes');
    const template = Template.fromStack(stack);
    const [adoptId, adopt] = only(template, OWNERSHIP);
    expect(actionOf(adopt)).toEqual({ type: 'ADOPT', releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system', fieldManager: 'helm' });
    const [chartId, chart] = only(template, HELM_CHART);
    expect(chart.Properties).toMatchObject({ Repository: 'https://aws.github.io/eks-charts', Chart: 'aws-vpc-cni', Release: 'aws-vpc-cni', Namespace: 'kube-system' });

    // The version and values come from the cluster at deploy time: a summary, then five parts of the values' JSON.
    const valueParts = Object.entries(template.findResources(CHART_VALUES));
    expect(valueParts).toHaveLength(6);
    const byPart = new Map(valueParts.map(([id, r]: [string, any]) => [r.Properties.Part, { id, props: r.Properties }]));
    const summary = byPart.get('0')!;
    expect(summary.props).toMatchObject({ Parts: '5', UserValues: JSON.stringify({ env: { ENABLE_PREFIX_DELEGATION: 'true' }, originalMatchLabels: true }) });
    expect(summary.props.Version).toBeUndefined();
    expect(chart.Properties.Version).toEqual({ 'Fn::GetAtt': [summary.id, 'Version'] });
    const parts = ['1', '2', '3', '4', '5'].map((p) => byPart.get(p)!);
    for (const part of parts) expect(part.props.ExpectedDigest).toEqual({ 'Fn::GetAtt': [summary.id, 'Digest'] });
    expect(chart.Properties.Values).toEqual({ 'Fn::Join': ['', parts.map((p) => ({ 'Fn::GetAtt': [p.id, 'Chunk'] }))] });
    for (const { id } of [summary, ...parts]) expect(waitsFor(template, id, adoptId)).toBe(true);
    expect(waitsFor(template, chartId, adoptId)).toBe(true);
    // The VPC CNI runs the cluster's pods: deleting the stack leaves the release.
    expect(template.toJSON().Resources[chartId].DeletionPolicy).toBe('Retain');

    template.resourceCountIs(KUBERNETES_PATCH, 0);
    expect(waitsFor(template, stack.resolve((nodes.node.defaultChild as any).ref).Ref, chartId)).toBe(true);
  });

  test('helmManagedVpcCni({ version }): that version, an intended change, passed to the values (which then leave the image tags to it)', () => {
    const stack = newStack();
    clusterWithNetwork(stack, ClusterNetwork.helmManagedVpcCni({ version: ClusterNetwork.AWS_VPC_CNI_CHART_VERSION }));
    const template = Template.fromStack(stack);
    const summary = Object.values(template.findResources(CHART_VALUES)).find((r: any) => r.Properties.Part === '0') as any;
    expect(summary.Properties.Version).toBe('1.22.4');
  });

  test('cilium({ agentNotReadyTaint }): node groups added through the cluster or the setup carry Cilium\'s taint; yours with the same key wins', () => {
    const stack = newStack();
    const network = ClusterNetwork.cilium({ agentNotReadyTaint: true, createOperatorRole: false });
    const cluster = clusterWithNetwork(stack, network, { defaultNodegroup: { minSize: 1 } });
    cluster.addNodegroupCapacity('Tainted', { taints: [{ key: 'dedicated', value: 'gpu', effect: eksv2.TaintEffect.NO_SCHEDULE }] });
    cluster.addNodegroupCapacity('OwnValue', { taints: [{ key: ClusterNetwork.CILIUM_AGENT_NOT_READY_TAINT_KEY, value: 'yes', effect: eksv2.TaintEffect.NO_SCHEDULE }] });
    cluster.networkSetup.addNodegroupCapacity('ThroughSetup');
    cluster.addAutoScalingGroupCapacity('SelfManaged', { instanceType: new ec2.InstanceType('m6i.large'), minCapacity: 1 });
    const template = Template.fromStack(stack);
    const cilium = { Key: 'node.cilium.io/agent-not-ready', Value: 'true', Effect: 'NO_EXECUTE' };
    const taints = Object.fromEntries(Object.entries(template.findResources('AWS::EKS::Nodegroup'))
      .map(([id, ng]: [string, any]) => [id.replace(/[0-9A-F]{8}$/, ''), ng.Properties.Taints]));
    expect(taints).toEqual({
      ClusterNodegroupDefaultCapacity: [cilium],
      ClusterNodegroupTainted: [{ Key: 'dedicated', Value: 'gpu', Effect: 'NO_SCHEDULE' }, cilium],
      ClusterNodegroupOwnValue: [{ Key: 'node.cilium.io/agent-not-ready', Value: 'yes', Effect: 'NO_SCHEDULE' }],
      ClusterNetworkThroughSetup: [cilium],
    });
    // Self-managed nodes register their taints through the kubelet: not ours to set.
    expect(JSON.stringify(template.findResources('AWS::EC2::LaunchTemplate'))).not.toContain('agent-not-ready');
  });

  test('node groups carry no taint of ours unless asked (Cilium without agentNotReadyTaint, Calico)', () => {
    for (const network of [ClusterNetwork.cilium({ createOperatorRole: false }), ClusterNetwork.calico()]) {
      const stack = newStack();
      const cluster = clusterWithNetwork(stack, network, { defaultNodegroup: { minSize: 1 } });
      cluster.networkSetup.addNodegroupCapacity('ThroughSetup');
      for (const ng of Object.values(Template.fromStack(stack).findResources('AWS::EKS::Nodegroup'))) {
        expect((ng as any).Properties.Taints).toBeUndefined();
      }
    }
  });

  test('the aws-eks-v2 cluster options of ClusterProps that fit reach the cluster (declared on the props, so every jsii language has them)', () => {
    expect(allClusterPropsDeclared).toBe(true);
    const stack = newStack();
    // aws-eks-v2 writes the config command outputs only for a masters role.
    const mastersRole = (scope: Stack) => new iam.Role(scope, 'Masters', { assumedBy: new iam.AccountRootPrincipal() });
    clusterWithNetwork(stack, ClusterNetwork.calico(), {
      mastersRole: mastersRole(stack), bootstrapClusterCreatorAdminPermissions: false, outputConfigCommand: false,
    });
    const template = Template.fromStack(stack);
    expect(only(template, 'AWS::EKS::Cluster')[1].Properties.AccessConfig).toMatchObject({ BootstrapClusterCreatorAdminPermissions: false });
    expect(Object.keys(template.findOutputs('*')).filter((name) => /ConfigCommand/.test(name))).toEqual([]);

    const defaults = newStack();
    clusterWithNetwork(defaults, ClusterNetwork.calico(), { mastersRole: mastersRole(defaults) });
    const defaultTemplate = Template.fromStack(defaults);
    expect(only(defaultTemplate, 'AWS::EKS::Cluster')[1].Properties.AccessConfig).not.toHaveProperty('BootstrapClusterCreatorAdminPermissions');
    expect(Object.keys(defaultTemplate.findOutputs('*')).filter((name) => /ConfigCommand/.test(name))).toHaveLength(1);
  });

  test('the network is described by the ClusterNetwork', () => {
    expect(ClusterNetwork.cilium({ kubeProxyReplacement: true })).toMatchObject({ kind: NetworkKind.CILIUM, chartName: 'cilium', disablesKubeProxy: true });
    expect(ClusterNetwork.cilium().crdChartName).toBeUndefined();
    expect(ClusterNetwork.calico()).toMatchObject({ kind: NetworkKind.CALICO, chartName: 'tigera-operator', crdChartName: 'crd.projectcalico.org.v1', disablesKubeProxy: false });
    expect(ClusterNetwork.helmManagedVpcCni()).toMatchObject({ kind: NetworkKind.HELM_MANAGED_VPC_CNI, chartName: 'aws-vpc-cni', disablesKubeProxy: false });
    expect(ClusterNetwork.customChart({ chart: 'x', disableKubeProxy: true })).toMatchObject({ kind: NetworkKind.CUSTOM_CHART, disablesKubeProxy: true });
  });
});

describe('ClusterNetworkSetup on a cluster that already exists', () => {
  function importedCluster(stack: Stack, attrs: Partial<eksv2.ClusterAttributes> = {}): eksv2.ICluster {
    return eksv2.Cluster.fromClusterAttributes(stack, 'Existing', {
      clusterName: 'existing',
      vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
        vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-0a', 'subnet-0b'],
      }),
      clusterEndpoint: 'https://ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com',
      openIdConnectProvider: iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, 'Oidc',
        'arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789'),
      kubectlProvider: eksv2.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', {
        serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl-provider',
        role: iam.Role.fromRoleArn(stack, 'KubectlRole', 'arn:aws:iam::111111111111:role/kubectl-provider'),
      }),
      ...attrs,
    });
  }

  test('an imported cluster: the same order, through its kubectl provider; the endpoint host is known at synth time', () => {
    const stack = newStack();
    const setup = new ClusterNetworkSetup(stack, 'Network', {
      cluster: importedCluster(stack),
      network: ClusterNetwork.cilium({ kubeProxyReplacement: true }),
      ifOwnedByOthers: OwnedByOthers.TAKE_OVER,
    });
    const nodes = setup.addNodegroupCapacity('Nodes', { minSize: 2 });
    const template = Template.fromStack(stack);
    const { disableId } = switchSteps(template);
    const ownership = template.toJSON().Resources[disableId];
    expect(ownership.Properties).toMatchObject({ ClusterName: 'existing', IfOwnedByOthers: 'TAKE_OVER' });
    const [chartId, chart] = only(template, HELM_CHART);
    expect(chart.Properties).toMatchObject({ ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl-provider', ClusterName: 'existing' });
    expect(chartValues(chart).k8sServiceHost).toBe('ABCDEF0123456789.gr7.eu-west-1.eks.amazonaws.com');
    const [removalId] = kubeProxyRemoval(template);
    expect(waitsFor(template, removalId, chartId)).toBe(true);
    const [nodegroupId, nodegroup] = only(template, 'AWS::EKS::Nodegroup');
    expect(waitsFor(template, removalId, nodegroupId)).toBe(true);
    expect(nodegroup.Properties).toMatchObject({ ClusterName: 'existing', Subnets: ['subnet-0a', 'subnet-0b'], ScalingConfig: { MinSize: 2 } });
    expectSwitchOrder(template, chartId, [nodegroupId]);
    expect(stack.resolve((nodes.node.defaultChild as any).ref)).toEqual({ Ref: nodegroupId });
  });

  test('an eksv2.Cluster created with its defaults elsewhere in the app: Helm takes over its VPC CNI', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_33,
      kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
      defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
    });
    const setup = new ClusterNetworkSetup(stack, 'Network', { cluster, network: ClusterNetwork.helmManagedVpcCni() });
    const extra = cluster.addNodegroupCapacity('Extra');
    extra.node.addDependency(setup.ready);
    const template = Template.fromStack(stack);
    expect(ownershipAction(template).type).toBe('ADOPT');
    expect(waitsFor(template, stack.resolve((extra.node.defaultChild as any).ref).Ref, only(template, HELM_CHART)[0])).toBe(true);
  });

  test('a cluster without a kubectl provider is refused, naming the prop', () => {
    const stack = newStack();
    expect(() => new ClusterNetworkSetup(stack, 'Network', {
      cluster: importedCluster(stack, { kubectlProvider: undefined }),
      network: ClusterNetwork.calico(),
    })).toThrow(/Stack\/Network: cluster Stack\/Existing has no kubectl provider.*kubectlProviderOptions.*kubectlProvider/);
  });

  test('without the OpenID Connect provider the Cilium operator role cannot be made: the error says what to give', () => {
    const stack = newStack();
    const cluster = importedCluster(stack, { openIdConnectProvider: undefined });
    expect(() => new ClusterNetworkSetup(stack, 'Network', { cluster, network: ClusterNetwork.cilium() }))
      .toThrow(/Stack\/Network: the Cilium operator's IAM role needs the cluster's OpenID Connect provider: import the cluster with openIdConnectProvider, or set createOperatorRole: false/);
    new ClusterNetworkSetup(stack, 'Other', { cluster, network: ClusterNetwork.cilium({ createOperatorRole: false }) });
    Template.fromStack(stack).resourceCountIs(HELM_CHART, 1);
  });

  test('without the cluster endpoint kube-proxy replacement cannot work: the error names clusterEndpoint', () => {
    const stack = newStack();
    expect(() => new ClusterNetworkSetup(stack, 'Network', {
      cluster: importedCluster(stack, { clusterEndpoint: undefined }),
      network: ClusterNetwork.cilium({ kubeProxyReplacement: true, createOperatorRole: false }),
    })).toThrow(/Stack\/Network: the network needs the cluster endpoint \(kubeProxyReplacement or apiServerHostValuePath.*import the cluster with clusterEndpoint/);
  });
});

describe('options are checked at synth time, each error naming the prop', () => {
  test('EksClusterWithNetwork needs kubectlProviderOptions', () => {
    const stack = newStack();
    expect(() => new EksClusterWithNetwork(stack, 'Cluster', { version: eksv2.KubernetesVersion.V1_33, network: ClusterNetwork.calico() }))
      .toThrow(/Stack\/Cluster: kubectlProviderOptions is required/);
  });

  test.each<[string, () => ClusterNetwork, RegExp]>([
    ['empty chart', () => ClusterNetwork.customChart({ chart: ' ' }), /chart must not be empty/],
    ['release not a DNS label', () => ClusterNetwork.customChart({ chart: 'cni', release: 'My_CNI' }), /release "My_CNI" must be a DNS label/],
    ['release from a long chart name', () => ClusterNetwork.customChart({ chart: 'c'.repeat(54) }), /release \(from chart\) "c{54}" is 54 characters; Helm allows at most 53/],
    ['namespace not a DNS label', () => ClusterNetwork.customChart({ chart: 'cni', releaseNamespace: 'kube.system' }), /releaseNamespace "kube.system" must be a DNS label/],
    ['an empty key in apiServerHostValuePath', () => ClusterNetwork.customChart({ chart: 'cni', apiServerHostValuePath: 'k8s..host' }), /apiServerHostValuePath "k8s..host" must be keys joined by '\.', none of them empty/],
    ['originalMatchLabels false', () => ClusterNetwork.helmManagedVpcCni({ values: { originalMatchLabels: false } }), /values\.originalMatchLabels must be true/],
  ])('%s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});
