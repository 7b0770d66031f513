// ClusterNetworkSetup on a cluster that already exists (created with the default
// bootstrapSelfManagedAddons, which cannot change without replacing it), imported with its kubectl
// provider, OpenID Connect provider and endpoint: kube-proxy-free Cilium, then a new node group.
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Stack, aws_ec2 as ec2, aws_eks_v2 as eks, aws_iam as iam } from 'aws-cdk-lib';
import { ClusterNetwork, ClusterNetworkSetup, OwnedByOthers } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'ExistingClusterNetwork', { env: { account: '111111111111', region: 'us-east-1' } });
const cluster = eks.Cluster.fromClusterAttributes(stack, 'Cluster', {
  clusterName: 'existing-cluster',
  vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-0123456789abcdef0',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  }),
  clusterEndpoint: 'https://0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com',
  openIdConnectProvider: iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, 'Oidc',
    'arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF'),
  // The kubectl provider of the stack that created the cluster.
  kubectlProvider: eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', {
    serviceToken: 'arn:aws:lambda:us-east-1:111111111111:function:existing-cluster-kubectl-provider',
    role: iam.Role.fromRoleArn(stack, 'KubectlRole', 'arn:aws:iam::111111111111:role/existing-cluster-kubectl-provider'),
  }),
});

const network = new ClusterNetworkSetup(stack, 'Network', {
  cluster,
  network: ClusterNetwork.cilium({ kubeProxyReplacement: true }),
  // The VPC CNI of this cluster is an EKS managed add-on: delete it through the EKS API first.
  ifOwnedByOthers: OwnedByOthers.TAKE_OVER,
});
// Nodes of the old node groups keep the VPC CNI's configuration: replace them with this one.
network.addNodegroupCapacity('CiliumNodes', {
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
  instanceTypes: [new ec2.InstanceType('m6i.large')],
  minSize: 2,
});

new IntegTest(app, 'ExistingCluster', { testCases: [stack] });
checkAwsSolutions(app);
