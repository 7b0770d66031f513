// EksClusterWithNetwork that keeps the VPC CNI and hands it to Helm: the EKS-preinstalled VPC CNI
// is adopted into release aws-vpc-cni, the aws-vpc-cni chart is installed over it
// (originalMatchLabels=true, prefix delegation on), then the node group is created.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterNetwork, EksClusterWithNetwork } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'ClusterWithHelmVpcCni');
const cluster = new EksClusterWithNetwork(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  network: ClusterNetwork.helmManagedVpcCni({ values: { env: { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' } } }),
  defaultNodegroup: { amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, instanceTypes: [new ec2.InstanceType('m6i.large')], minSize: 2 },
});

new CfnOutput(stack, 'PreviousOwner', { value: cluster.networkSetup.vpcCniOwnership.previousOwner });

new IntegTest(app, 'ClusterHelmVpcCni', { testCases: [stack] });
checkAwsSolutions(app);
