import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, CfnParameter, Stack, aws_ec2 as ec2, aws_eks as eks, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ClusterTarget, CniAction, CrdPolicy, KubernetesAccess, OwnedByOthers, VpcCniOwnership, VpcCniOwnershipProps } from '../../src';
import { constructAccess, identityAt } from '../support/construct-access';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function newStack(): Stack {
  return new Stack(new App(), 'Stack', { env: ENV });
}

function eksCluster(stack: Stack, props: Partial<eks.ClusterProps> = {}): eks.Cluster {
  return new eks.Cluster(stack, 'Cluster', {
    version: eks.KubernetesVersion.V1_33,
    kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
    defaultCapacity: 0,
    ...props,
  });
}

/** An aws-eks-v2 cluster with node groups (its default, Auto Mode, has no preinstalled add-ons). */
function eksV2Cluster(stack: Stack, props: Partial<eksv2.ClusterProps> = {}): eksv2.Cluster {
  return new eksv2.Cluster(stack, 'Cluster', {
    version: eksv2.KubernetesVersion.V1_33, defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP, defaultCapacity: 0, ...props,
  });
}

function ownership(template: Template): any {
  const resources = Object.values(template.findResources('Custom::VpcCniOwnership'));
  expect(resources).toHaveLength(1);
  return (resources[0] as any).Properties;
}

function handlerFunctions(template: Template) {
  return template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('cdk-vpc-cni-ownership') } });
}

describe('actions', () => {
  test.each([
    ['adoptIntoHelm()', CniAction.adoptIntoHelm(), { ActionType: 'ADOPT', ReleaseName: 'aws-vpc-cni', ReleaseNamespace: 'kube-system', FieldManager: 'helm' }],
    ['adoptIntoHelm(custom)', CniAction.adoptIntoHelm({ releaseName: 'vpc-cni', fieldManager: 'argocd-controller', handOver: ['kubectl-set'] }),
      { ActionType: 'ADOPT', ReleaseName: 'vpc-cni', ReleaseNamespace: 'kube-system', FieldManager: 'argocd-controller', HandOver: ['kubectl-set'] }],
    ['remove()', CniAction.remove(), { ActionType: 'REMOVE', CrdPolicy: 'DELETE_IF_UNUSED' }],
    ['remove(KEEP)', CniAction.remove({ crdPolicy: CrdPolicy.KEEP }), { ActionType: 'REMOVE', CrdPolicy: 'KEEP' }],
    ['remove(DELETE, PolicyEndpoint CRD)', CniAction.remove({ crdPolicy: CrdPolicy.DELETE, deletePolicyEndpointCrd: true }),
      { ActionType: 'REMOVE', CrdPolicy: 'DELETE', DeletePolicyEndpointCrd: 'true' }],
    ['disable()', CniAction.disable(), { ActionType: 'DISABLE' }],
    ['inspect()', CniAction.inspect(), { ActionType: 'INSPECT' }],
  ])('%s: each action field its own property', (_name, action, expected) => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action });
    const props = ownership(Template.fromStack(stack));
    const { ServiceToken, ClusterName, IfOwnedByOthers, DryRun, ...actionFields } = props;
    expect(actionFields).toEqual(expected);
    expect(props).toMatchObject({ ClusterName: 'prod', IfOwnedByOthers: 'FAIL', DryRun: 'false' });
  });

  test('a token cannot rewrite the action: a parameter\'s value is only ever the release name', () => {
    const stack = newStack();
    const releaseName = new CfnParameter(stack, 'ReleaseName', { default: 'aws-vpc-cni","type":"REMOVE' });
    new VpcCniOwnership(stack, 'Cni', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }),
      action: CniAction.adoptIntoHelm({ releaseName: releaseName.valueAsString }),
    });
    const props = ownership(Template.fromStack(stack));
    expect(props.ActionType).toBe('ADOPT');
    expect(props.ReleaseName).toEqual({ Ref: 'ReleaseName' });
    expect(props).not.toHaveProperty('Action');
  });

  test.each([
    ['releaseNamespace', CniAction.adoptIntoHelm({ releaseNamespace: 'networking' }), /releaseNamespace "networking" must be "kube-system".*second aws-node DaemonSet/s],
    ['fieldManager eks', CniAction.adoptIntoHelm({ fieldManager: 'eks' }), /fieldManager "eks" can never own the fields/],
    ['fieldManager kubectl-client-side-apply', CniAction.adoptIntoHelm({ fieldManager: 'kubectl-client-side-apply' }), /can never own the fields/],
    ['handOver of eks', CniAction.adoptIntoHelm({ handOver: ['eks'] }), /handOver entry "eks" is handed over \(or kept\) by the action itself/],
    ['handOver of the fieldManager', CniAction.adoptIntoHelm({ handOver: ['helm'] }), /handOver entry "helm" is the fieldManager itself/],
  ])('%s: a synthesis error naming the prop, nothing synthesized', (_name, action, message) => {
    const stack = newStack();
    expect(() => new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action })).toThrow(message);
  });

  test('ifOwnedByOthers and dryRun reach the handler', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }),
      action: CniAction.remove(),
      ifOwnedByOthers: OwnedByOthers.SKIP,
      dryRun: true,
    });
    expect(ownership(Template.fromStack(stack))).toMatchObject({ IfOwnedByOthers: 'SKIP', DryRun: 'true' });
  });

  test('attributes are tokens of the custom resource', () => {
    const stack = newStack();
    const cni = new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.inspect() });
    expect(stack.resolve(cni.previousOwner)).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Cni/), 'PreviousOwner'] });
    expect(stack.resolve(cni.changedObjects)['Fn::GetAtt'][1]).toBe('ChangedObjects');
    expect(stack.resolve(cni.plan)['Fn::GetAtt'][1]).toBe('Plan');
    expect(stack.resolve(cni.previousOwnerDescription)['Fn::GetAtt'][1]).toBe('PreviousOwnerDescription');
    expect(stack.resolve(cni.installedVersion)['Fn::GetAtt'][1]).toBe('InstalledVersion');
  });
});

describe('the handler', () => {
  test('runs on Node.js 24, bundled, one function and one provider per stack for two constructs', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'A', { cluster: ClusterTarget.fromClusterName({ clusterName: 'a' }), action: CniAction.remove() });
    new VpcCniOwnership(stack, 'B', { cluster: ClusterTarget.fromClusterName({ clusterName: 'b' }), action: CniAction.adoptIntoHelm() });
    const template = Template.fromStack(stack);
    const fns = handlerFunctions(template);
    expect(Object.keys(fns)).toHaveLength(1);
    expect(Object.values(fns)[0]).toMatchObject({ Properties: { Runtime: 'nodejs24.x', Handler: 'index.handler', Timeout: 300 } });
    // Our function plus the provider framework's onEvent function.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('Custom::VpcCniOwnership', 2);
  });

  test('IAM: DescribeCluster on the cluster, DescribeAddon on its vpc-cni add-on; DeleteAddon only for TAKE_OVER', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove() });
    const statements = policyStatements(Template.fromStack(stack));
    expect(statements).toEqual(expect.arrayContaining([
      { Action: 'eks:DescribeCluster', Effect: 'Allow', Resource: arn('cluster/prod') },
      { Action: 'eks:DescribeAddon', Effect: 'Allow', Resource: arn('addon/prod/vpc-cni/*') },
    ]));
    expect(JSON.stringify(statements)).not.toContain('DeleteAddon');
    expect(JSON.stringify(statements)).not.toMatch(/"Resource":"\*"/);

    const takeOver = newStack();
    new VpcCniOwnership(takeOver, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove(), ifOwnedByOthers: OwnedByOthers.TAKE_OVER });
    expect(policyStatements(Template.fromStack(takeOver))).toEqual(expect.arrayContaining([
      { Action: ['eks:DescribeAddon', 'eks:DeleteAddon'], Effect: 'Allow', Resource: arn('addon/prod/vpc-cni/*') },
    ]));
  });

  test('one construct per cluster', () => {
    const stack = newStack();
    const cluster = ClusterTarget.fromClusterName({ clusterName: 'prod' });
    new VpcCniOwnership(stack, 'A', { cluster, action: CniAction.remove() });
    expect(() => new VpcCniOwnership(stack, 'B', { cluster, action: CniAction.disable() }))
      .toThrow(/Stack\/B: cluster prod already has a VpcCniOwnership \(Stack\/A\); use one per cluster/);
  });
});

function arn(resource: string) {
  return { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:eks:eu-west-1:111111111111:${resource}`]] };
}

function policyStatements(template: Template): any[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => JSON.stringify(p).includes('eks:'))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('cluster access', () => {
  test('aws-eks in API mode: an access entry mapping the handler role to the RBAC group, the RBAC manifest, and the custom resource after both', () => {
    const stack = newStack();
    const cluster = eksCluster(stack, { authenticationMode: eks.AuthenticationMode.API });
    const construct = new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.adoptIntoHelm() });
    const template = Template.fromStack(stack);
    // Its own identity: two stacks on one cluster never share access objects.
    const p = identityAt('Stack', 'Stack/Cni').prefix;
    expect(p).toMatch(/^cdk-vpc-cni-ownership-[0-9a-f]{10}$/);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: { Ref: Match.stringLikeRegexp('Cluster') },
      KubernetesGroups: [p],
      Username: `${p}-handler`,
      PrincipalArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('VpcCniOwnershipHandlerFunctionServiceRole'), 'Arn'] },
    });
    const access = constructAccess(template);
    const ids = (manifest: any[]) => manifest.map((m: any) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`);
    expect(ids(access.limits)).toEqual([
      `ValidatingAdmissionPolicy//${p}-daemonset`, `ValidatingAdmissionPolicyBinding//${p}-daemonset`,
      `ValidatingAdmissionPolicy//${p}`, `ValidatingAdmissionPolicyBinding//${p}`,
      `ConfigMap/kube-system/${p}-probe`, `Role/kube-system/${p}-probe`, `RoleBinding/kube-system/${p}-probe`,
    ]);
    expect(ids(access.grants)).toEqual([
      `ClusterRole//${p}-adopt`, `Role/kube-system/${p}-adopt`, `ClusterRoleBinding//${p}-adopt`, `RoleBinding/kube-system/${p}-adopt`,
    ]);
    const [clusterRole, role] = access.grants;
    expect(clusterRole.rules.slice(0, 4)).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['aws-node'], verbs: ['get', 'patch'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], resourceNames: ['aws-node'], verbs: ['get', 'patch'] },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['eniconfigs.crd.k8s.amazonaws.com'], verbs: ['get', 'patch'] },
      { apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['policyendpoints.networking.k8s.aws'], verbs: ['get', 'patch'] },
    ]);
    expect(role.rules).toContainEqual({ apiGroups: ['apps'], resources: ['daemonsets'], resourceNames: ['aws-node'], verbs: ['get', 'patch'] });
    expect(JSON.stringify([clusterRole, role])).not.toMatch(/"\*"|"escalate"|"bind"/);
    const dependsOn = Object.values(template.findResources('Custom::VpcCniOwnership'))[0].DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^CniAccessEntry/), expect.stringMatching(/^CniRbac/)]));
    expect(construct.kubernetesGroup).toBe(p);
  });

  test('aws-eks in API_AND_CONFIG_MAP mode also uses an access entry', () => {
    const stack = newStack();
    const cluster = eksCluster(stack, { authenticationMode: eks.AuthenticationMode.API_AND_CONFIG_MAP });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.remove() });
    Template.fromStack(stack).resourceCountIs('AWS::EKS::AccessEntry', 1);
  });

  test('aws-eks in CONFIG_MAP mode: the handler role is mapped in aws-auth to the RBAC group; no access entry', () => {
    const stack = newStack();
    const cluster = eksCluster(stack);
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.disable() });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EKS::AccessEntry', 0);
    const awsAuth = Object.values(template.findResources('Custom::AWSCDK-EKS-KubernetesResource'))
      .find((r: any) => JSON.stringify(r).includes('aws-auth')) as any;
    const mapRoles = JSON.stringify(awsAuth.Properties.Manifest);
    const p = identityAt('Stack', 'Stack/Cni').prefix;
    expect(mapRoles).toContain(`${p}-handler`);
    expect(mapRoles).toContain(`\\\\\\"${p}\\\\\\"`);
    // The access check waits for aws-auth too: it probes as the handler.
    expect(constructAccess(template).check!.dependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/AwsAuth/)]));
    const dependsOn = Object.values(template.findResources('Custom::VpcCniOwnership'))[0].DependsOn;
    expect(dependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/AwsAuth/)]));
  });

  test('adopt asked to read Helm\'s release records lists them in kube-system only, and says so in its properties', () => {
    const stack = newStack();
    const cluster = eksCluster(stack, { authenticationMode: eks.AuthenticationMode.API });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.adoptIntoHelm({ readHelmReleaseRecords: true }) });
    Template.fromStack(stack).hasResourceProperties('Custom::VpcCniOwnership', { ActionType: 'ADOPT', ReadReleaseRecords: 'true' });
    const roles = constructAccess(Template.fromStack(stack)).grants.filter((m: any) => m.kind === 'Role');
    expect(roles.map((r: any) => r.metadata.namespace)).toEqual(['kube-system']);
    expect(roles[0].rules).toContainEqual({ apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['list'] });
  });

  test('aws-eks-v2 without a kubectl provider: an access entry with AmazonEKSClusterAdminPolicy at cluster scope', () => {
    const stack = newStack();
    const cluster = eksV2Cluster(stack);
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: { Ref: Match.stringLikeRegexp('Cluster') },
      AccessPolicies: [{
        AccessScope: { Type: 'cluster' },
        PolicyArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy']] },
      }],
    });
    expect(ownership(template).ClusterName).toEqual({ Ref: expect.stringMatching(/^Cluster/) });
  });

  test('aws-eks-v2 with a kubectl provider: RBAC through it and an access entry with the group', () => {
    const stack = newStack();
    const cluster = eksV2Cluster(stack, { kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') } });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    const template = Template.fromStack(stack);
    const p = identityAt('Stack', 'Stack/Cni').prefix;
    template.hasResourceProperties('AWS::EKS::AccessEntry', { KubernetesGroups: [p] });
    expect(constructAccess(template).grants.map((m: any) => m.metadata.name)).toContain(`${p}-remove`);
  });

  test('an imported cluster: cluster-admin access entry by default; manual() creates nothing', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove() });
    Template.fromStack(stack).hasResourceProperties('AWS::EKS::AccessEntry', { ClusterName: 'prod', AccessPolicies: Match.anyValue() });

    const manual = newStack();
    new VpcCniOwnership(manual, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove(), kubernetesAccess: KubernetesAccess.manual() });
    Template.fromStack(manual).resourceCountIs('AWS::EKS::AccessEntry', 0);
    // What you apply yourself, limits first: the policies and the probe, then the roles and bindings.
    expect(VpcCniOwnership.rbacManifest(CniAction.remove()).map((m: any) => m.kind)).toEqual([
      'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding',
      'ConfigMap', 'Role', 'RoleBinding', 'ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding',
    ]);
  });
});

describe('imported aws-eks clusters', () => {
  function imported(stack: Stack, attrs: Partial<eks.ClusterAttributes> = {}): eks.ICluster {
    return eks.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'imported', ...attrs });
  }

  test('without a kubectl role or provider: no manifest to apply, so the default is a cluster-admin access entry (and it synthesizes)', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(imported(stack)), action: CniAction.remove() });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::EKS::AccessEntry', {
      ClusterName: 'imported',
      AccessPolicies: [Match.objectLike({ AccessScope: { Type: 'cluster' } })],
    });
    template.resourceCountIs('Custom::AWSCDK-EKS-KubernetesResource', 0);
    expect(() => new VpcCniOwnership(newStack(), 'Cni', {
      cluster: ClusterTarget.fromEksCluster(imported(newStack())), action: CniAction.remove(), kubernetesAccess: KubernetesAccess.rbac(),
    })).toThrow(/kubernetesAccess rbac\(\) needs a cluster construct with a kubectl provider/);
  });

  test('with a kubectl role: RBAC through the kubectl handler aws-cdk-lib creates for it', () => {
    const stack = newStack();
    const cluster = imported(stack, { kubectlRoleArn: 'arn:aws:iam::111111111111:role/kubectl', kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.remove() });
    const template = Template.fromStack(stack);
    const p = identityAt('Stack', 'Stack/Cni').prefix;
    template.hasResourceProperties('AWS::EKS::AccessEntry', { ClusterName: 'imported', KubernetesGroups: [p] });
    expect(constructAccess(template).grants).toContainEqual(expect.objectContaining({ kind: 'ClusterRoleBinding', subjects: [expect.objectContaining({ name: p })] }));
  });
});

describe('endpoint access', () => {
  test('public endpoint: the handler runs outside any VPC', () => {
    const stack = newStack();
    const cluster = eksCluster(stack, { authenticationMode: eks.AuthenticationMode.API, endpointAccess: eks.EndpointAccess.PUBLIC });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.remove() });
    expect(Object.values(handlerFunctions(Template.fromStack(stack)))[0]).not.toHaveProperty('Properties.VpcConfig');
  });

  test('aws-eks private endpoint: the handler runs in the cluster VPC with the cluster security group', () => {
    const stack = newStack();
    const cluster = eksCluster(stack, { authenticationMode: eks.AuthenticationMode.API, endpointAccess: eks.EndpointAccess.PRIVATE });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.remove() });
    const fn: any = Object.values(handlerFunctions(Template.fromStack(stack)))[0];
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'ClusterSecurityGroupId'] }]);
    expect(fn.Properties.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
  });

  test.each<[string, eksv2.EndpointAccess]>([
    ['PRIVATE', eksv2.EndpointAccess.PRIVATE],
    ['PUBLIC_AND_PRIVATE limited to CIDRs', eksv2.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('203.0.113.0/24')],
  ])('aws-eks-v2 %s: the handler runs in the cluster VPC\'s private subnets with the cluster security group', (_name, endpointAccess) => {
    const stack = newStack();
    const cluster = eksV2Cluster(stack, { endpointAccess });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    const fn: any = Object.values(handlerFunctions(Template.fromStack(stack)))[0];
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'ClusterSecurityGroupId'] }]);
    expect(fn.Properties.VpcConfig.SubnetIds).toEqual(stack.resolve(cluster.vpc.privateSubnets.map((subnet) => subnet.subnetId)));
  });

  test.each<[string, eksv2.EndpointAccess]>([
    ['PUBLIC', eksv2.EndpointAccess.PUBLIC],
    ['PUBLIC_AND_PRIVATE', eksv2.EndpointAccess.PUBLIC_AND_PRIVATE],
    ['PUBLIC_AND_PRIVATE open to 0.0.0.0/0', eksv2.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom('0.0.0.0/0')],
  ])('aws-eks-v2 %s: the public endpoint is open to the handler, which runs outside any VPC', (_name, endpointAccess) => {
    const stack = newStack();
    const cluster = eksV2Cluster(stack, { endpointAccess });
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.remove() });
    expect(Object.values(handlerFunctions(Template.fromStack(stack)))[0]).not.toHaveProperty('Properties.VpcConfig');
  });

  test('the shared handler\'s network includes its subnets: the same VPC and security groups with other subnets are refused', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    const network = (subnetType: ec2.SubnetType) => ({ vpc, vpcSubnets: { subnetType }, securityGroups: [sg] });
    new VpcCniOwnership(stack, 'A', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'a', handlerNetwork: network(ec2.SubnetType.PRIVATE_WITH_EGRESS) }), action: CniAction.remove(),
    });
    // The same subnets, selected another way (the VPC's default selection is its private subnets): shared.
    new VpcCniOwnership(stack, 'B', { cluster: ClusterTarget.fromClusterName({ clusterName: 'b', handlerNetwork: { vpc, securityGroups: [sg] } }), action: CniAction.remove() });
    expect(() => new VpcCniOwnership(stack, 'C', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'c', handlerNetwork: network(ec2.SubnetType.PUBLIC) }), action: CniAction.remove(),
    })).toThrow(/shares one handler, so all must run it in the same network/);
    expect(Object.keys(handlerFunctions(Template.fromStack(stack)))).toHaveLength(1);
  });

  test('an imported cluster with handlerNetwork; a second construct in another network is refused', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    new VpcCniOwnership(stack, 'Cni', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'prod', handlerNetwork: { vpc, securityGroups: [sg] } }),
      action: CniAction.remove(),
    });
    const fn: any = Object.values(handlerFunctions(Template.fromStack(stack)))[0];
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Sg/), 'GroupId'] }]);
    expect(() => new VpcCniOwnership(stack, 'Other', { cluster: ClusterTarget.fromClusterName({ clusterName: 'dev' }), action: CniAction.remove() }))
      .toThrow(/shares one handler, so all must run it in the same network/);
  });
});

describe('props are checked at synth time, each error naming the prop', () => {
  const cluster = ClusterTarget.fromClusterName({ clusterName: 'prod' });
  test.each<[string, Partial<VpcCniOwnershipProps>, RegExp]>([
    ['release name too long', { action: CniAction.adoptIntoHelm({ releaseName: 'a'.repeat(54) }) }, /releaseName "a{54}" is 54 characters; Helm allows at most 53/],
    ['release name not a DNS label', { action: CniAction.adoptIntoHelm({ releaseName: 'AWS_VPC_CNI' }) }, /releaseName "AWS_VPC_CNI" must be a DNS label/],
    ['namespace not a DNS label', { action: CniAction.adoptIntoHelm({ releaseNamespace: 'kube.system' }) }, /releaseNamespace "kube.system" must be "kube-system"/],
    ['field manager empty', { action: CniAction.adoptIntoHelm({ fieldManager: '' }) }, /fieldManager must not be empty/],
    ['field manager too long', { action: CniAction.adoptIntoHelm({ fieldManager: 'm'.repeat(129) }) }, /fieldManager is 129 characters; Kubernetes allows at most 128/],
    ['field manager not printable', { action: CniAction.adoptIntoHelm({ fieldManager: 'helm\n' }) }, /fieldManager "helm\n" must contain printable ASCII characters only/],
    ['inspect with ifOwnedByOthers', { action: CniAction.inspect(), ifOwnedByOthers: OwnedByOthers.TAKE_OVER }, /ifOwnedByOthers has no meaning for action inspect\(\)/],
    ['inspect with dryRun', { action: CniAction.inspect(), dryRun: true }, /dryRun has no meaning for action inspect\(\)/],
  ])('%s', (_name, props, message) => {
    const stack = newStack();
    expect(() => new VpcCniOwnership(stack, 'Cni', { cluster, action: CniAction.remove(), ...props })).toThrow(message);
    expect(() => new VpcCniOwnership(newStack(), 'Cni', { cluster, action: CniAction.remove(), ...props })).toThrow(/Stack\/Cni: invalid VpcCniOwnership props/);
  });

  test('clusterAdminPolicy() on a CONFIG_MAP-only cluster, and rbac() on a cluster without kubectl', () => {
    const stack = newStack();
    expect(() => new VpcCniOwnership(stack, 'Cni', {
      cluster: ClusterTarget.fromEksCluster(eksCluster(stack)), action: CniAction.remove(), kubernetesAccess: KubernetesAccess.clusterAdminPolicy(),
    })).toThrow(/kubernetesAccess clusterAdminPolicy\(\) needs access entries/);
    expect(() => new VpcCniOwnership(newStack(), 'Cni', { cluster, action: CniAction.remove(), kubernetesAccess: KubernetesAccess.rbac() }))
      .toThrow(/kubernetesAccess rbac\(\) needs a cluster construct with a kubectl provider/);
  });
});
