// Adopt the EKS-preinstalled VPC CNI into a Helm release, then let a HelmChart install the
// aws-vpc-cni chart over it (originalMatchLabels=true); node groups come after both.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks as eks } from 'aws-cdk-lib';
import { ClusterTarget, CniAction, VpcCniOwnership } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'VpcCniAdoptHelm');
const cluster = new eks.Cluster(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
  authenticationMode: eks.AuthenticationMode.API_AND_CONFIG_MAP,
  defaultCapacity: 0,
});

const vpcCni = new VpcCniOwnership(stack, 'VpcCni', {
  cluster: ClusterTarget.fromEksCluster(cluster),
  action: CniAction.adoptIntoHelm({ releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system' }),
});

const chart = cluster.addHelmChart('AwsVpcCni', {
  repository: 'https://aws.github.io/eks-charts',
  chart: 'aws-vpc-cni',
  release: 'aws-vpc-cni',
  namespace: 'kube-system',
  values: { originalMatchLabels: true, env: { ENABLE_PREFIX_DELEGATION: 'true' } },
});
chart.node.addDependency(vpcCni);

const nodes = cluster.addNodegroupCapacity('Nodes', {
  instanceTypes: [new ec2.InstanceType('m6i.large')],
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
  minSize: 1,
});
nodes.node.addDependency(chart);

new CfnOutput(stack, 'PreviousOwner', { value: vpcCni.previousOwner });
new CfnOutput(stack, 'ChangedObjects', { value: vpcCni.changedObjects });

new IntegTest(app, 'AdoptHelm', { testCases: [stack] });
checkAwsSolutions(app);
